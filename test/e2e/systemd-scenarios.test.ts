// The systemd issue's scenarios, end to end: real systemd as PID 1 in private namespaces, test units
// that crash, get OOM-killed, hang and stop for real, and the BUILT preflight running as a unit from
// `preflight unit`'s output (its own non-root user, in the journal group).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Snapshot } from '../../src/incident/snapshot';
import { STATE_DIR, installPreflightUnit, type InstalledPreflight } from './preflight-unit';
import { Sandbox, flakyUnit, httpGet, sandboxUnavailable, untilHealthy } from './sandbox';
import { waitFor } from './wait';

const skip = sandboxUnavailable();
const opts = { skip: skip ?? false, timeout: 120_000 };
const PORTS = { crash: 18410, hog: 18411, hang: 18412, stop: 18413 };

// interval 5 s for `crash`: its restart (RestartSec=500ms) lands between two health checks
const config = `snapshot_dir: ${STATE_DIR}
interval_seconds: 1
timeout_seconds: 1
failure_threshold: 2
confirm_interval_seconds: 0.5
sample_seconds: 1
journal_lines: 200
listen: off
services:
  - name: crash
    health_url: http://127.0.0.1:${PORTS.crash}/health
    unit: crash.service
    interval_seconds: 5
  - name: hog
    health_url: http://127.0.0.1:${PORTS.hog}/health
    unit: hog.service
  - name: hang
    health_url: http://127.0.0.1:${PORTS.hang}/health
    unit: hang.service
  - name: stop
    health_url: http://127.0.0.1:${PORTS.stop}/health
    unit: stop.service
`;

describe('systemd scenarios: crash, OOM kill, hang, stop', { skip: skip ?? false }, () => {
  // a name of its own per run: the kernel lines of earlier runs carry earlier cgroup names
  const name = `scen-${randomBytes(3).toString('hex')}`;
  let sb: Sandbox;
  let pf: InstalledPreflight;

  const snapshots = (service: string): Snapshot[] => {
    const dir = path.join(pf.hostSnapshotDir, service);
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
      .sort()
      .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Snapshot);
  };
  const firstSnapshot = (service: string): Promise<Snapshot> =>
    waitFor(`a snapshot of ${service}`, 30_000, async () => snapshots(service)[0]);

  before(async () => {
    if (skip !== null) return;
    sb = await Sandbox.up(name, {
      units: {
        'crash.service': flakyUnit({ port: PORTS.crash, restartSec: 0.5 }),
        'hog.service': flakyUnit({ port: PORTS.hog, restartSec: 2, service: ['MemoryMax=64M'] }),
        'hang.service': flakyUnit({ port: PORTS.hang }),
        'stop.service': flakyUnit({ port: PORTS.stop }),
      },
    });
    for (const u of ['crash', 'hog', 'hang', 'stop']) assert.equal((await sb.exec(['systemctl', 'start', `${u}.service`])).exitCode, 0);
    for (const port of Object.values(PORTS)) {
      await untilHealthy(port, 10_000);
    }
    pf = await installPreflightUnit(sb, { configText: config });
    // let every service be seen healthy and the unit watcher take its first poll
    await new Promise((r) => setTimeout(r, 2500));
  });
  after(async () => {
    if (skip !== null) return;
    await sb?.down();
  });

  test('1. a crash (exit 3) restarted within 1 s between two checks: one unit_restart snapshot with the dead run', opts, async (t) => {
    assert.equal(await httpGet(PORTS.crash, '/crash'), 200);
    const s = await firstSnapshot('crash');
    t.diagnostic(`findings: ${JSON.stringify(s.findings.map((f) => f.cause))}; errors ${JSON.stringify(s.capture.errors)}`);
    assert.equal(s.trigger, 'unit_restart');
    assert.deepEqual({ code: s.exit?.code, status: s.exit?.status }, { code: 'exited', status: 3 });
    assert.ok(
      s.journal.some((l) => l.message === 'about to crash with exit 3'),
      `the dead run's last line: ${JSON.stringify(s.journal.map((l) => l.message))}`,
    );
    assert.equal(s.findings[0]?.cause, 'exited with status 3');
    assert.deepEqual([s.findings[0]?.scope, s.findings[0]?.confidence], ['invocation', 'certain']);
    // it recovers (the new run answers) and stays one incident
    await waitFor('recovery', 20_000, () => snapshots('crash')[0]?.recovery);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(snapshots('crash').length, 1);
  });

  test('2. MemoryMax=64M and a hog: the kernel OOM-kills it; first finding names the OOM kill', opts, async (t) => {
    assert.equal(await httpGet(PORTS.hog, '/hog'), 200);
    const s = await firstSnapshot('hog');
    t.diagnostic(`trigger ${s.trigger}; findings ${JSON.stringify(s.findings.map((f) => f.cause))}; kernel ${s.kernel.length} lines`);
    // the hog's own cgroup, never "OOM kill of another process" (which an /OOM kill/ pattern would also match)
    assert.match(s.findings[0]?.cause ?? '', /^killed by the kernel's OOM killer: node \(pid \d+\) at the unit's memory limit$/);
    assert.deepEqual([s.findings[0]?.scope, s.findings[0]?.confidence], ['unit', 'certain']);
    const killed = s.kernel.filter((k) => /Killed process \d+ \(node\)/.test(k.message));
    assert.ok(killed.length > 0, `kernel lines: ${JSON.stringify(s.kernel.map((k) => k.message))}`);
    assert.ok(
      s.kernel.some((k) => k.message.includes(`/preflight-e2e-${name}/system.slice/hog.service`)),
      "the kernel's line names this run's hog.service cgroup",
    );
  });

  test('3. the unit stays active but its endpoint hangs: timeout, "hung, not crashed"', opts, async (t) => {
    assert.equal(await httpGet(PORTS.hang, '/freeze'), 200);
    const s = await firstSnapshot('hang');
    t.diagnostic(`findings ${JSON.stringify(s.findings.map((f) => f.cause))}`);
    assert.equal(s.trigger, 'health_check');
    assert.equal(s.error?.kind, 'timeout');
    assert.equal(s.unit?.ActiveState, 'active');
    // the hog's OOM kill a moment earlier is a neighbour's: context, never this unit's cause
    assert.equal(s.findings[0]?.cause, 'hung, not crashed: hang.service stayed active (running) but timed out', JSON.stringify(s.findings));
    assert.deepEqual([s.findings[0]?.scope, s.findings[0]?.confidence], ['unit', 'likely']);
    assert.ok(!s.findings.some((f) => /OOM/.test(f.cause)), JSON.stringify(s.findings));
    assert.equal(await httpGet(PORTS.hang, '/thaw'), 200);
  });

  test('4. the unit is stopped on request: connection refused, the finding says so', opts, async (t) => {
    assert.equal((await sb.exec(['systemctl', 'stop', 'stop.service'])).exitCode, 0);
    const s = await firstSnapshot('stop');
    t.diagnostic(`findings ${JSON.stringify(s.findings.map((f) => f.cause))}`);
    assert.equal(s.trigger, 'health_check', 'a stop is not a crash: no unit_restart incident');
    assert.equal(s.error?.kind, 'connection_refused');
    assert.match(s.findings[0]?.cause ?? '', /^stopped on request at \d\d:\d\d:\d\d$/, JSON.stringify(s.findings));
    assert.deepEqual([s.findings[0]?.scope, s.findings[0]?.confidence], ['unit', 'certain']);
  });

  test('preflight itself logged each incident and ran as its own non-root user', opts, async () => {
    const journal = await pf.journal();
    for (const svc of ['crash', 'hog', 'hang', 'stop']) assert.match(journal, new RegExp(`${svc}: DOWN`));
    assert.notEqual((await pf.mainProcess()).uid, 0);
  });
});

// Units without a health URL, against real systemd 252 and the BUILT bundle installed as a real unit:
//  - backup.service, a oneshot run every 2 s by backup.timer, listed with `unit:` alone. Its first run
//    succeeds; then a flag makes each run exit 1. One snapshot (that run's journal, exit status 1), one
//    "down" notification however many runs fail, then one "recovered" when a run succeeds again.
//  - worker.service, a daemon listed with `unit:` alone, exits 2 and is restarted by systemd: one
//    snapshot of the dead run, "restarted", and "recovered" once it is active again.
//  - forgotten.service, listed nowhere, fails (exit 3) while watch_failed_units is on: a service
//    "forgotten" of its own, with its snapshot, its one notification, and its page in the API.
// All run at the same time in ONE boot (the scenarios do not touch each other's units). A boot of its
// own rather than the corpus's or preflight-unit's: watch_failed_units there would make services of
// their boots' failed units and page for them, and both judge a config of health-URL services.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Snapshot } from '../../src/incident/snapshot';
import { receiver, request, type Receiver } from '../daemon/_helpers';
import { INSTALLED_CONFIG, STATE_DIR, installPreflightUnit, type InstalledPreflight } from './preflight-unit';
import { Sandbox, sandboxUnavailable } from './sandbox';
import { waitFor } from './wait';

// port 18320 (18320-18329) belongs to this file (parallel test files share the host network)
const API_PORT = 18320;
const skip = sandboxUnavailable();
const opts = { skip: skip ?? false, timeout: 90_000 };

interface Hook {
  event: string;
  service: string;
  trigger?: string;
  snapshot_id: string;
  text: string;
}

/** findings[0] exactly: its cause, scope, confidence and the line it quotes */
function assertFirstFinding(snap: Snapshot, want: { cause: string; scope: string; confidence: string; quote: string }): void {
  const f = snap.findings[0];
  assert.deepEqual({ cause: f?.cause, scope: f?.scope, confidence: f?.confidence, quote: f?.quote }, want, JSON.stringify(snap.findings, null, 1));
}

const config = (webhook: string): string => `snapshot_dir: ${STATE_DIR}
interval_seconds: 1
timeout_seconds: 1
failure_threshold: 2
# one failure, one file and its recovered message at once (episodes are tested in episodes.test.ts)
flap_window_seconds: 0
confirm_interval_seconds: 0.5
sample_seconds: 1
listen: 127.0.0.1:${API_PORT}
watch_failed_units: true
notifications:
  webhook: ${webhook}
  format: json
services:
  - name: backup
    unit: backup.service
  - name: worker
    unit: worker.service
`;

describe('units without a health URL, in real systemd', { skip: skip ?? false, concurrency: true }, () => {
  let sb: Sandbox;
  let pf: InstalledPreflight;
  let hooks: Receiver;
  let flag = '';
  let crash = '';

  const snapshots = (service: string): Snapshot[] => {
    const dir = path.join(pf.hostSnapshotDir, service);
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Snapshot);
  };
  const received = (service: string): Hook[] => hooks.got.map((r) => JSON.parse(r.body) as Hook).filter((h) => h.service === service);
  /** `systemctl show` properties of a unit inside the sandbox */
  const show = async (unit: string, props: string): Promise<Record<string, string>> => {
    const r = await sb.exec(['systemctl', 'show', '-p', props, '--no-pager', unit]);
    return Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  };
  const runs = async (): Promise<string[]> => (await sb.exec(['journalctl', '-u', 'backup.service', '-o', 'cat', '--no-pager'])).stdout.split('\n');

  before(async () => {
    if (skip !== null) return;
    hooks = await receiver(() => ({ status: 200 }));
    sb = await Sandbox.up(`unit-only-${randomBytes(3).toString('hex')}`, {
      units: {
        // the flag is a file on the host's tree (the sandbox sees it): present, every run fails. The
        // jobs live 0.5 s past their last line: journald attributes a line to its unit (and invocation)
        // from the sender's cgroup, which a process gone at once no longer has (systemd's own limit)
        'backup.service': `[Unit]
Description=Nightly backup (a timer's oneshot job)
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "backup: run starting"; if [ -e "$FLAG" ]; then echo "backup: cannot reach the NAS: No route to host" >&2; sleep 0.5; exit 1; fi; echo "backup: run done"'
`,
        'backup.timer': `[Unit]
Description=Run backup.service every 2 s
[Timer]
OnActiveSec=1s
OnUnitActiveSec=2s
AccuracySec=50ms
`,
        // a daemon with no endpoint: it dies (exit 2) when the crash file appears, and systemd restarts it
        'worker.service': `[Unit]
Description=A queue worker with no health URL
[Service]
ExecStart=/bin/sh -c 'echo "worker: up"; while [ ! -e "$CRASH" ]; do sleep 0.1; done; rm -f "$CRASH"; echo "worker: lost the queue connection" >&2; sleep 0.3; exit 2'
Restart=on-failure
RestartSec=1
`,
        'forgotten.service': `[Unit]
Description=A job nobody listed
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "forgotten: disk quota exceeded" >&2; sleep 0.5; exit 3'
`,
      },
    });
    flag = path.join(sb.stateDir, 'backup-fails');
    fs.mkdirSync(path.join(sb.stateDir, 'units', 'backup.service.d'));
    fs.writeFileSync(path.join(sb.stateDir, 'units', 'backup.service.d', 'flag.conf'), `[Service]\nEnvironment=FLAG=${flag}\n`);
    crash = path.join(sb.stateDir, 'worker-crash');
    fs.mkdirSync(path.join(sb.stateDir, 'units', 'worker.service.d'));
    fs.writeFileSync(path.join(sb.stateDir, 'units', 'worker.service.d', 'crash.conf'), `[Service]\nEnvironment=CRASH=${crash}\n`);
    assert.equal((await sb.exec(['systemctl', 'daemon-reload'])).exitCode, 0);
    assert.equal((await sb.exec(['systemctl', 'start', 'worker.service'])).exitCode, 0);
    pf = await installPreflightUnit(sb, { configText: config(`${hooks.url}/hook`) });
  });

  after(async () => {
    await sb?.down();
    await hooks?.close();
  });

  test('a oneshot run by a timer that exits 1: one snapshot with that run\'s journal and exit 1, one notification, then its recovery', opts, async (t) => {
    assert.equal((await sb.exec(['systemctl', 'start', 'backup.timer'])).exitCode, 0);
    // the first run succeeds: nothing to tell
    await waitFor('a backup run that succeeded', 10_000, async () => (await runs()).includes('backup: run done'));
    fs.writeFileSync(flag, '');
    const snap = await waitFor('a snapshot of backup', 20_000, async () => snapshots('backup')[0]);
    const dead = snap.unit?.InvocationID ?? '';
    assert.equal(snap.service, 'backup');
    assert.equal(snap.health_url, null);
    assert.equal(snap.trigger, 'unit_restart');
    assert.deepEqual({ code: snap.exit?.code, status: snap.exit?.status }, { code: 'exited', status: 1 });
    // that run's journal: its own two lines and systemd's about it, and nothing of the run before
    const own = snap.journal.filter((l) => l.message.startsWith('backup: ')).map((l) => l.message);
    assert.deepEqual(own, ['backup: run starting', 'backup: cannot reach the NAS: No route to host']);
    assert.ok(snap.journal.some((l) => l.message === 'backup.service: Main process exited, code=exited, status=1/FAILURE'), JSON.stringify(snap.journal));
    assertFirstFinding(snap, { cause: 'a dependency was unreachable (EHOSTUNREACH)', scope: 'invocation', confidence: 'likely', quote: 'backup: cannot reach the NAS: No route to host' });
    assert.ok(snap.samples.host.length > 0, 'the host window');
    assert.ok(Array.isArray(snap.kernel), 'the kernel lines (none expected)');
    assert.deepEqual(snap.capture.errors, []);
    assert.match(dead, /^[0-9a-f]{32}$/);

    const last = await pf.cli(['last', 'backup', '--config', INSTALLED_CONFIG]);
    assert.match(last.stdout.split('\n')[0] ?? '', /^backup failed at .* \(its unit failed\); not recovered when captured$/, last.stdout + last.stderr);
    // two more runs fail: they join the open incident, no second file, no second page
    const failedRuns = async (): Promise<number> => (await runs()).filter((l) => l.startsWith('backup: cannot reach')).length;
    await waitFor('two more failed runs', 15_000, async () => (await failedRuns()) >= 3);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(snapshots('backup').length, 1);
    assert.deepEqual(received('backup').map((h) => h.event), ['down']);
    assert.equal(received('backup')[0]?.snapshot_id, snap.id);

    // the next run that succeeds ends it
    fs.rmSync(flag);
    const recovered = await waitFor('backup recovered', 15_000, async () => snapshots('backup')[0]?.recovery ?? undefined);
    assert.ok(recovered.downtime_seconds > 0);
    await waitFor('the recovered notification', 5000, async () => received('backup').length === 2);
    assert.deepEqual(received('backup').map((h) => [h.event, h.snapshot_id]), [['down', snap.id], ['resolved', snap.id]]);
    for (const h of received('backup')) t.diagnostic(h.text);
    assert.ok(received('backup')[0]?.text.startsWith(`backup down on ${snap.host.hostname}: failed (exited 1) · a dependency was unreachable (EHOSTUNREACH) · `), received('backup')[0]?.text);
    assert.equal(snapshots('backup').length, 1);
  });

  test('watch_failed_units: an unlisted unit that fails is a service of its own, with its snapshot and one notification', opts, async (t) => {
    const r = await sb.exec(['systemctl', 'start', 'forgotten.service']);
    assert.notEqual(r.exitCode, 0, 'the job fails');
    assert.equal((await show('forgotten.service', 'ActiveState')).ActiveState, 'failed');
    const snap = await waitFor('a snapshot of forgotten', 15_000, async () => snapshots('forgotten')[0]);
    assert.equal(snap.service, 'forgotten');
    assert.equal(snap.trigger, 'unit_restart');
    assert.equal(snap.unit?.ActiveState, 'failed');
    assert.deepEqual({ code: snap.exit?.code, status: snap.exit?.status }, { code: 'exited', status: 3 });
    assert.ok(snap.journal.some((l) => l.message === 'forgotten: disk quota exceeded'), JSON.stringify(snap.journal));
    assertFirstFinding(snap, { cause: 'disk quota exceeded', scope: 'invocation', confidence: 'likely', quote: 'forgotten: disk quota exceeded' });
    await waitFor('its notification', 5000, async () => received('forgotten').length >= 1);
    await new Promise((r) => setTimeout(r, 2500));
    assert.deepEqual(received('forgotten').map((h) => [h.event, h.snapshot_id]), [['down', snap.id]]);
    for (const h of received('forgotten')) t.diagnostic(h.text);
    assert.ok(received('forgotten')[0]?.text.startsWith(`forgotten down on ${snap.host.hostname}: failed (exited 3) · disk quota exceeded · `), received('forgotten')[0]?.text);
    assert.match(await pf.journal(), /forgotten: DOWN \(forgotten\.service failed \(exited 3\)\); disk quota exceeded; snapshot /);
    assert.equal(snapshots('forgotten').length, 1);
    assert.match(await pf.journal(), /watch_failed_units: forgotten\.service entered failed; watched from now on as service forgotten/);
    // a service of the API too: the link its notification carries answers
    const api = await request(`http://127.0.0.1:${API_PORT}/failure-context/forgotten/last`);
    assert.equal(api.status, 200, api.body);
    assert.equal((JSON.parse(api.body) as Snapshot).id, snap.id);
  });

  test('a daemon without a health URL that systemd restarts: one snapshot of the dead run (exit 2), then recovered once it is active again', opts, async (t) => {
    // the first poll has seen it running
    await waitFor('preflight watching worker', 10_000, async () => /watching \d+ service/.test(await pf.journal()));
    await new Promise((r) => setTimeout(r, 1500));
    fs.writeFileSync(crash, '');
    const snap = await waitFor('a snapshot of worker', 15_000, async () => snapshots('worker')[0]);
    assert.equal(snap.trigger, 'unit_restart');
    assert.equal(snap.health_url, null);
    assert.deepEqual({ code: snap.exit?.code, status: snap.exit?.status }, { code: 'exited', status: 2 });
    assert.deepEqual(
      snap.journal.filter((l) => l.message.startsWith('worker: ')).map((l) => l.message),
      ['worker: up', 'worker: lost the queue connection'],
    );
    assertFirstFinding(snap, { cause: 'exited with status 2', scope: 'invocation', confidence: 'certain', quote: 'worker.service: Main process exited, code=exited, status=2/INVALIDARGUMENT' });
    const recovered = await waitFor('worker recovered', 15_000, async () => snapshots('worker')[0]?.recovery ?? undefined);
    assert.ok(recovered.downtime_seconds > 0 && recovered.downtime_seconds < 10, String(recovered.downtime_seconds));
    await waitFor('the recovered notification', 5000, async () => received('worker').length === 2);
    assert.deepEqual(received('worker').map((h) => [h.event, h.snapshot_id]), [['down', snap.id], ['resolved', snap.id]]);
    assert.ok(received('worker')[0]?.text.startsWith(`worker restarted on ${snap.host.hostname}: restarted by systemd (exited 2) · `), received('worker')[0]?.text);
    assert.equal((await show('worker.service', 'NRestarts')).NRestarts, '1');
  });
});

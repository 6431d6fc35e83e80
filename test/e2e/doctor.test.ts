// `preflight doctor` (the BUILT bundle) inside real systemd 252, run as nobody the way the service's
// user would be: without the journal group it explains the fix; with it, everything passes. Also a
// unit that does not exist, a stopped service's health URL, a snapshot folder it cannot write, and a
// config error, each a failed check with its reason and fix, never a crash.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DoctorReport } from '../../src/doctor/checks';
import type { RunResult } from '../../src/util/exec';
import { requireBundle } from './bundle';
import { Sandbox, flakyUnit, groupId, sandboxUnavailable, untilHealthy, type ExecOptions } from './sandbox';

// ports 18300-18309 belong to this file (parallel test files share the host network)
const FLAKY_PORT = 18300;
const STOPPED_PORT = 18301;
const GHOST_PORT = 18302;
const NOBODY = { uid: 65534, gid: 65534, groups: [] as number[] };

const skip = sandboxUnavailable();
const opts = { skip: skip ?? false };

describe('preflight doctor against real systemd', () => {
  let sb: Sandbox;
  let dir: string;
  let snaps: string;
  const journalGid = groupId('systemd-journal');

  /** Write a config readable by nobody; returns its path. */
  function config(name: string, text: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text, { mode: 0o644 });
    return file;
  }
  const service = (name: string, port: number, unit: string): string =>
    `  - name: ${name}\n    health_url: http://127.0.0.1:${port}/health\n    unit: ${unit}\n    timeout_seconds: 2\n`;

  async function doctor(file: string, as: ExecOptions, json = false): Promise<RunResult> {
    const r = await sb.exec([process.execPath, requireBundle(), 'doctor', '--config', file, ...(json ? ['--json'] : [])], { timeoutMs: 30_000, ...as });
    assert.equal(r.stderr, '', 'doctor prints its verdicts on stdout only');
    return r;
  }
  const failures = (out: string): string[] => out.split('\n').filter((l) => l.startsWith('FAIL '));

  before(async () => {
    if (skip !== null) return;
    sb = await Sandbox.up('pf-doctor', {
      units: {
        'flaky.service': flakyUnit({ port: FLAKY_PORT }),
        'stopped.service': flakyUnit({ port: STOPPED_PORT }),
      },
    });
    assert.equal((await sb.exec(['systemctl', 'start', 'flaky.service'])).exitCode, 0);
    await untilHealthy(FLAKY_PORT, 10_000);
    // a folder nobody can read (the sandbox sees the host's /tmp), holding a snapshot folder nobody owns
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-doctor-e2e-'));
    fs.chmodSync(dir, 0o755);
    snaps = path.join(dir, 'snaps');
    fs.mkdirSync(snaps, { mode: 0o750 });
    fs.chownSync(snaps, NOBODY.uid, NOBODY.gid);
  });
  after(async () => {
    await sb?.down();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('as nobody without systemd-journal: exit 1, one failure per unit, naming the group and SupplementaryGroups=', opts, async (t) => {
    const file = config('one.yaml', `snapshot_dir: ${snaps}\nservices:\n${service('flaky', FLAKY_PORT, 'flaky.service')}`);
    const r = await doctor(file, NOBODY);
    t.diagnostic(`${r.durationMs.toFixed(0)} ms\n${r.stdout}`);
    assert.equal(r.exitCode, 1);
    assert.deepEqual(failures(r.stdout).map((l) => l.split(':')[0]), ['FAIL journal readable for flaky.service']);
    const lines = r.stdout.split('\n');
    const i = lines.findIndex((l) => l.startsWith('FAIL journal readable for flaky.service'));
    assert.match(lines[i] ?? '', /insufficient permissions.*nobody \(uid 65534\) is not seeing messages from other users/);
    assert.match(lines[i + 1] ?? '', /^     fix: add nobody to the systemd-journal group: usermod -aG systemd-journal nobody .*SupplementaryGroups=systemd-journal/);
    for (const ok of [
      `ok   config valid (${file}, 1 service)`,
      `ok   snapshot folder writable (${snaps}, as nobody (uid 65534)`,
      'ok   journalctl present (systemd 252',
      'ok   systemctl reachable (systemd 252',
      'ok   unit flaky.service exists (flaky.service, active/running)',
      `ok   health URL for flaky answers (http://127.0.0.1:${FLAKY_PORT}/health: HTTP 200 in `,
    ]) {
      assert.ok(lines.some((l) => l.startsWith(ok)), `missing line starting ${JSON.stringify(ok)}`);
    }
    assert.ok(lines.some((l) => /^(ok  |warn) PSI available/.test(l)));
    assert.deepEqual(fs.readdirSync(snaps), [], 'the write probe left nothing behind');
  });

  test('as nobody with systemd-journal: exit 0, every check ok (text and --json)', opts, async (t) => {
    if (journalGid === undefined) {
      t.skip('no systemd-journal group on this machine');
      return;
    }
    const file = config('one.yaml', `snapshot_dir: ${snaps}\nservices:\n${service('flaky', FLAKY_PORT, 'flaky.service')}`);
    const r = await doctor(file, { ...NOBODY, groups: [journalGid] });
    assert.equal(r.exitCode, 0, r.stdout);
    assert.deepEqual(failures(r.stdout), []);
    assert.match(r.stdout, /^ok   journal readable for flaky\.service \(as nobody \(uid 65534\)\)$/m);
    assert.match(r.stdout, /^all \d+ checks passed/m);
    const j = await doctor(file, { ...NOBODY, groups: [journalGid] }, true);
    assert.equal(j.exitCode, 0);
    const report = JSON.parse(j.stdout) as DoctorReport;
    assert.equal(report.ok, true);
    assert.ok(report.checks.length >= 8, `${report.checks.length} checks`);
    for (const c of report.checks) {
      assert.equal(c.ok, true, JSON.stringify(c));
      assert.equal(typeof c.name, 'string');
      assert.equal(typeof c.detail, 'string');
    }
  });

  test('a unit that does not exist and a stopped service: each fails with its name and fix', opts, async (t) => {
    const file = config(
      'three.yaml',
      `snapshot_dir: ${snaps}\nservices:\n${service('flaky', FLAKY_PORT, 'flaky.service')}${service('ghost', GHOST_PORT, 'ghost.service')}${service('stopped', STOPPED_PORT, 'stopped.service')}`,
    );
    const r = await doctor(file, { ...NOBODY, groups: journalGid === undefined ? [] : [journalGid] });
    t.diagnostic(`${r.durationMs.toFixed(0)} ms\n${r.stdout}`);
    assert.equal(r.exitCode, 1);
    const lines = r.stdout.split('\n');
    const after = (prefix: string): [string, string] => {
      const i = lines.findIndex((l) => l.startsWith(prefix));
      assert.ok(i >= 0, `no line starting ${JSON.stringify(prefix)}`);
      return [lines[i] as string, lines[i + 1] ?? ''];
    };
    const [ghost, ghostFix] = after('FAIL unit ghost.service exists');
    assert.match(ghost, /systemd has no unit named ghost\.service/);
    assert.match(ghostFix, /^     fix: check the name with `systemctl list-units --type=service --all`/);
    assert.match(after('ok   unit stopped.service exists')[0], /inactive\/dead/);
    const [down, downFix] = after('FAIL health URL for stopped answers');
    assert.match(down, new RegExp(`127\\.0\\.0\\.1:${STOPPED_PORT}/health: connect ECONNREFUSED`));
    assert.match(downFix, /is stopped running \(systemctl status stopped\.service\)/);
    assert.match(after('FAIL health URL for ghost answers')[0], /ECONNREFUSED/);
    assert.ok(!lines.some((l) => l.startsWith('FAIL journal readable for ghost.service')), 'no journal check for a unit that does not exist');
    assert.ok(lines.some((l) => l.startsWith('ok   unit flaky.service exists')));
  });

  test('a snapshot folder nobody cannot write, and a config error: failed checks, not crashes', opts, async (t) => {
    const rootOwned = fs.mkdtempSync(path.join(dir, 'root-'));
    fs.chmodSync(rootOwned, 0o755);
    const file = config('ro.yaml', `snapshot_dir: ${rootOwned}\nservices:\n${service('flaky', FLAKY_PORT, 'flaky.service')}`);
    const r = await doctor(file, NOBODY);
    assert.equal(r.exitCode, 1);
    assert.match(r.stdout, new RegExp(`^FAIL snapshot folder writable: cannot create a file in ${rootOwned} as nobody \\(uid 65534\\) \\(EACCES\\)$`, 'm'));
    assert.match(r.stdout, /^     fix: let nobody \(uid 65534\) write there/m);

    const bad = config('bad.yaml', `snapshot_dir: ${snaps}\nintreval_seconds: 3\nservices:\n${service('flaky', FLAKY_PORT, 'flaky.service')}`);
    const e = await doctor(bad, NOBODY);
    t.diagnostic(e.stdout);
    assert.equal(e.exitCode, 1);
    assert.match(e.stdout, new RegExp(`^FAIL config valid: ${bad}:2:1: unknown key 'intreval_seconds'\\n     fix: did you mean interval_seconds\\?$`, 'm'));
    // the host checks still ran
    assert.match(e.stdout, /^ok   systemctl reachable/m);
  });
});

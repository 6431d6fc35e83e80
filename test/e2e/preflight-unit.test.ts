// The unit `preflight unit` prints, accepted and run by real systemd 252: verified, started as its
// own non-root user with the journal group and the hardening in force, a crash recorded with the
// unit's state and found by `sudo preflight last`; and the --dynamic-user variant with its known
// limit (the system bus refuses dynamic users: systemd issue #22737).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Snapshot } from '../../src/incident/snapshot';
import { NODE_FLAGS } from '../../src/commands/unit';
import { run } from '../../src/util/exec';
import { INSTALLED_BUNDLE, INSTALLED_CONFIG, STATE_DIR, installPreflightUnit, type InstalledPreflight } from './preflight-unit';
import { Sandbox, flakyUnit, groupId, httpGet, sandboxUnavailable, untilHealthy } from './sandbox';
import { waitFor } from './wait';

// ports 18310-18319 belong to this file (parallel test files share the host network)
const PORT = 18310;
const DYNAMIC_PORT = 18311;
const skip = sandboxUnavailable();
const opts = { skip: skip ?? false };
const JOURNAL_GID = groupId('systemd-journal');

/** What docs/install.md writes, pointed at the sandbox's flaky service, with fast checks. */
const config = (port: number): string => `snapshot_dir: ${STATE_DIR}
interval_seconds: 1
timeout_seconds: 1
failure_threshold: 2
confirm_interval_seconds: 0.5
sample_seconds: 1
listen: off
services:
  - name: flaky
    health_url: http://127.0.0.1:${port}/health
    unit: flaky.service
`;

async function bootWithFlaky(name: string, port: number): Promise<Sandbox> {
  // RestartSec=4: down long enough for failure_threshold 2 at confirm_interval 0.5 s to confirm a crash
  const sb = await Sandbox.up(name, { units: { 'flaky.service': flakyUnit({ port, restartSec: 4 }) } });
  assert.equal((await sb.exec(['systemctl', 'start', 'flaky.service'])).exitCode, 0);
  await untilHealthy(port, 10_000);
  return sb;
}

/** Crash flaky, wait for the snapshot file, and read it back with `sudo preflight last flaky --json`. */
async function crashAndRead(t: { diagnostic(message: string): void }, pf: InstalledPreflight, port: number): Promise<{ file: string; doc: Snapshot }> {
  assert.equal(await httpGet(port, '/crash'), 200);
  const dir = path.join(pf.hostSnapshotDir, 'flaky');
  const name = await waitFor('a snapshot of flaky', 20_000, async () => (fs.existsSync(dir) ? fs.readdirSync(dir).find((f) => f.endsWith('.json')) : undefined));
  const text = await pf.cli(['last', 'flaky', '--config', INSTALLED_CONFIG]);
  assert.equal(text.exitCode, 0, text.stderr);
  assert.match(text.stdout, /flaky/);
  const json = await pf.cli(['last', 'flaky', '--json', '--config', INSTALLED_CONFIG]);
  assert.equal(json.exitCode, 0, json.stderr);
  const doc = JSON.parse(json.stdout) as Snapshot;
  assert.equal(`${doc.id}.json`, name);
  t.diagnostic(`snapshot ${name}: trigger ${doc.trigger}; ${doc.journal.length} journal lines; capture errors ${JSON.stringify(doc.capture.errors)}`);
  // SupplementaryGroups=systemd-journal at work: the dead run's last line is in the snapshot
  assert.ok(doc.journal.some((l) => l.message === 'about to crash with exit 3'), JSON.stringify(doc.journal.map((l) => l.message)));
  assert.ok(!doc.capture.errors.some((e) => /insufficient permissions|systemd-journal/.test(e.reason)), JSON.stringify(doc.capture.errors));
  return { file: path.join(dir, name), doc };
}

describe('preflight unit (its own system user), installed into real systemd', () => {
  let sb: Sandbox;
  let pf: InstalledPreflight;
  let installMs = 0;

  before(async () => {
    if (skip !== null) return;
    sb = await bootWithFlaky('pf-unit', PORT);
    const t0 = performance.now();
    pf = await installPreflightUnit(sb, { configText: config(PORT) });
    installMs = performance.now() - t0;
  });
  after(async () => {
    await sb?.down();
  });

  test('preflight unit warns about nothing for a documented install', opts, () => {
    assert.equal(pf.unitStderr, '');
    assert.match(pf.unitText, /^User=preflight$/m);
    assert.match(pf.unitText, /^ExecStart=\S+ --max-semi-space-size=1 "\/srv\/pre flight\/preflight\.js" start --config "\/srv\/pre flight\/preflight\.yaml"$/m);
  });

  test('systemd-analyze verify accepts it', opts, (t) => {
    t.diagnostic(`verify exit ${pf.verify.exitCode} in ${pf.verify.durationMs.toFixed(0)} ms; stderr ${JSON.stringify(pf.verify.stderr)}`);
    assert.equal(pf.verify.exitCode, 0, pf.verify.stderr);
    assert.doesNotMatch(pf.verify.stderr, /preflight\.service/);
  });

  test('it runs: active, as preflight in systemd-journal, with the argv systemd unquoted', opts, async (t) => {
    const u = await pf.show();
    assert.equal(u.activeState, 'active');
    assert.equal(u.subState, 'running');
    assert.equal(u.properties.User, 'preflight');
    const p = await pf.mainProcess();
    t.diagnostic(`install+start ${installMs.toFixed(0)} ms; uid ${p.uid}; groups ${p.gids.join(',')}; VmHWM ${p.vmHwmKiB} KiB; MemoryCurrent ${u.memoryCurrentBytes}`);
    assert.equal(p.uid, pf.user?.uid);
    assert.notEqual(p.uid, 0);
    if (JOURNAL_GID !== undefined) assert.ok(p.gids.includes(JOURNAL_GID), `groups ${p.gids.join(',')}`);
    assert.deepEqual(p.argv, [process.execPath, ...NODE_FLAGS, INSTALLED_BUNDLE, 'start', '--config', INSTALLED_CONFIG]);
    assert.equal(fs.statSync(pf.hostSnapshotDir).uid, p.uid, 'StateDirectory= owned by the service user');
  });

  test('the hardening is in force: read-only /, private /tmp, writable state folder, no privileges', opts, async () => {
    const p = await pf.mainProcess();
    const status = (await sb.exec(['cat', `/proc/${p.pid}/status`])).stdout;
    assert.match(status, /^NoNewPrivs:\s+1$/m);
    assert.match(status, /^CapBnd:\s+0+$/m);
    const mounts = (await sb.exec(['cat', `/proc/${p.pid}/mountinfo`])).stdout.split('\n');
    const last = (mp: string): string[] => mounts.filter((l) => l.split(' ')[4] === mp).at(-1)?.split(' ')[5]?.split(',') ?? [];
    assert.ok(last('/').includes('ro'), 'ProtectSystem=strict: / is read-only');
    assert.ok(last(STATE_DIR).includes('rw'), mounts.filter((l) => l.includes('/var/lib')).join('\n'));
    assert.ok(last('/run/preflight').includes('rw'), 'RuntimeDirectory= is writable');
    assert.ok(mounts.some((l) => l.split(' ')[4] === '/tmp'), 'PrivateTmp: /tmp is its own mount');
  });

  test('the daemon logs to the journal under its own name', opts, async () => {
    assert.match(await pf.journal(), /preflight \S+ watching 1 service\(s\): flaky; snapshots in \/var\/lib\/preflight/);
    const tagged = await sb.exec(['journalctl', '-t', 'preflight', '-o', 'cat', '--no-pager']);
    assert.match(tagged.stdout, /watching 1 service/);
  });

  test('doctor as the service sees things (systemd-run with its User=, groups and StateDirectory=, as docs/install.md says): all ok', opts, async (t) => {
    const r = await sb.exec(
      ['systemd-run', '--wait', '--pipe', '--quiet', '-p', 'User=preflight', '-p', 'SupplementaryGroups=systemd-journal', '-p', 'StateDirectory=preflight',
        process.execPath, INSTALLED_BUNDLE, 'doctor', '--config', INSTALLED_CONFIG],
      { timeoutMs: 30_000 },
    );
    t.diagnostic(`${r.durationMs.toFixed(0)} ms\n${r.stdout}${r.stderr}`);
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^ok   journal readable for flaky\\.service \\(as preflight \\(uid ${pf.user?.uid}\\)\\)$`, 'm'));
    assert.match(r.stdout, /^ok   snapshot folder writable \(\/var\/lib\/preflight, as preflight/m);
    assert.match(r.stdout, /^ok   systemctl reachable/m);
  });

  test('a crash is recorded with the unit state, written by preflight, found by `sudo preflight last`', opts, async (t) => {
    const { file, doc } = await crashAndRead(t, pf, PORT);
    assert.equal(fs.statSync(file).uid, pf.user?.uid);
    assert.deepEqual(doc.capture.errors.filter((e) => e.part === 'unit'), [], 'systemctl show works from a system user');
    assert.equal(doc.unit?.Id, 'flaky.service');
  });

  test('systemctl stop: stopped cleanly, nothing left in the host /tmp', opts, async () => {
    // this service's PrivateTmp folders, from its own mount table (other sandboxes running at the same
    // time make folders of the same name pattern, so only these exact ones are checked)
    const { pid } = await pf.mainProcess();
    const mountinfo = (await sb.exec(['cat', `/proc/${pid}/mountinfo`])).stdout;
    const own = mountinfo
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f[4] === '/tmp' || f[4] === '/var/tmp')
      .map((f) => path.join(f[4]!, path.dirname(f[3]!)));
    assert.equal(own.length, 2, `PrivateTmp gives /tmp and /var/tmp their own folders:\n${mountinfo}`);
    for (const d of own) assert.match(path.basename(d), /^systemd-private-.*-preflight\.service-/);
    const r = await sb.exec(['systemctl', 'stop', 'preflight.service']);
    assert.equal(r.exitCode, 0, r.stderr);
    const u = await pf.show();
    assert.equal(u.activeState, 'inactive');
    assert.equal(u.result, 'success');
    assert.deepEqual(
      own.filter((d) => fs.existsSync(d)),
      [],
    );
  });

  test('[Install] WantedBy works: systemctl --root enable makes the multi-user.target link', opts, async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-enable-'));
    try {
      fs.mkdirSync(path.join(root, 'etc/systemd/system'), { recursive: true });
      fs.writeFileSync(path.join(root, 'etc/systemd/system/preflight.service'), pf.unitText);
      const r = await run('systemctl', ['--root', root, 'enable', 'preflight.service'], { timeoutMs: 10_000, maxBytes: 1 << 16 });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(fs.readlinkSync(path.join(root, 'etc/systemd/system/multi-user.target.wants/preflight.service')), '/etc/systemd/system/preflight.service');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('preflight unit --dynamic-user, installed into real systemd', () => {
  let sb: Sandbox;
  let pf: InstalledPreflight;

  before(async () => {
    if (skip !== null) return;
    sb = await bootWithFlaky('pf-unit-dyn', DYNAMIC_PORT);
    pf = await installPreflightUnit(sb, { configText: config(DYNAMIC_PORT), dynamicUser: true });
  });
  after(async () => {
    await sb?.down();
  });

  test('verified, and runs as a dynamic user in systemd-journal', opts, async () => {
    assert.equal(pf.verify.exitCode, 0, pf.verify.stderr);
    assert.match(pf.unitText, /^DynamicUser=yes$/m);
    const p = await pf.mainProcess();
    assert.ok(p.uid >= 61184 && p.uid <= 65519, `uid ${p.uid} is not in systemd's dynamic range`);
    if (JOURNAL_GID !== undefined) assert.ok(p.gids.includes(JOURNAL_GID), `groups ${p.gids.join(',')}`);
    assert.equal(fs.lstatSync(pf.hostSnapshotDir).isSymbolicLink(), true, '/var/lib/preflight -> private/preflight');
  });

  test('a crash is recorded and `sudo preflight last` follows the private/ symlink; the unit state is lost (systemd #22737)', opts, async (t) => {
    const { doc } = await crashAndRead(t, pf, DYNAMIC_PORT);
    const unitErrors = doc.capture.errors.filter((e) => e.part === 'unit').map((e) => e.reason);
    // if this starts failing, the bus accepts dynamic users here: DynamicUser=yes could become the default again
    assert.ok(
      unitErrors.some((r) => /Transport endpoint is not connected/.test(r)),
      `expected systemctl to be refused by the bus from a dynamic user; unit errors: ${JSON.stringify(unitErrors)}`,
    );
  });
});

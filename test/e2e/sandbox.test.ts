// The harness and the systemd readers against the real systemd booted in private namespaces: a crash and
// restart, an OOM kill, the journal as root and as a user with and without the systemd-journal group.
// The readers run INSIDE the sandbox (test/e2e/sandbox/call.ts), as they would on a host.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { JournalEntry, JournalRead } from '../../src/systemd/journal';
import { KERNEL_GREP, collectOomKills, unitOwnsCgroup, type OomKill } from '../../src/systemd/kernel';
import type { Unavailable } from '../../src/systemd/unavailable';
import { parseSystemctlShow, systemctlShowArgs, type UnitState, type UnitsRead } from '../../src/systemd/unit';
import { Sandbox, flakyUnit, groupId, httpGet, sandboxUnavailable, untilHealthy, type ExecOptions } from './sandbox';
import { waitFor } from './wait';
import { randomBytes } from 'node:crypto';

// ports 18180-18189 belong to this file (parallel test files share the host network)
const FLAKY_PORT = 18180;
const HOG_PORT = 18181;
const ROOT = path.join(__dirname, '..', '..');
const CALL = path.join(__dirname, 'sandbox', 'call.ts');
const NOBODY = { uid: 65534, gid: 65534 };

// every test carries the reason, so a machine that cannot boot the sandbox reports 7 skipped, not 0 run
const skip = sandboxUnavailable();
const opts = { skip: skip ?? false };

describe('real systemd 252 in a sandbox', () => {
  let sb: Sandbox;
  const t0 = new Date(Date.now() - 2000);
  let flakyBefore: UnitState;
  let hogBefore: UnitState;

  /** Run a reader inside the sandbox and return what it returned. */
  async function call<T>(fn: string, args: Record<string, unknown>, as: ExecOptions = {}): Promise<T> {
    const r = await sb.exec([process.execPath, '--import', 'tsx', CALL, fn, JSON.stringify(args)], { cwd: ROOT, timeoutMs: 30_000, ...as });
    assert.equal(r.exitCode, 0, `${fn}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }
  async function show(unit: string): Promise<UnitState> {
    const r = await sb.exec(['systemctl', ...systemctlShowArgs([unit])], { env: { TZ: 'UTC', LC_ALL: 'C' } });
    const u = parseSystemctlShow(r.stdout)[0];
    assert.ok(u, `no state for ${unit}: ${r.stderr}`);
    return u;
  }
  const units = (r: UnitsRead): UnitState[] => {
    assert.equal(r.ok, true, JSON.stringify(r));
    return r.ok ? r.units : [];
  };
  const entries = (r: JournalRead): JournalEntry[] => {
    assert.equal(r.ok, true, JSON.stringify(r));
    return r.ok ? r.entries : [];
  };
  const ourKills = async (): Promise<OomKill[]> => {
    const kernel = entries(await call<JournalRead>('readKernelJournal', { since: t0.toISOString(), maxBytes: 8 << 20, grep: KERNEL_GREP }));
    // the kernel log is the machine's (other sandboxes' kills are in it): keep the kills in our cgroup tree
    return collectOomKills(kernel).filter((k) => k.memcg?.startsWith(`/${sb.cgroup}/`));
  };

  before(async () => {
    if (skip !== null) return;
    // a name of its own per run: the kernel log keeps earlier runs' OOM kills, and counting "ours" by a
    // reused cgroup name inside journalctl's newest-2000-lines window could miss the new one
    sb = await Sandbox.up(`selftest-${randomBytes(3).toString('hex')}`, {
      units: {
        'flaky.service': flakyUnit({ port: FLAKY_PORT, restartSec: 1 }),
        'hog.service': flakyUnit({ port: HOG_PORT, restartSec: 2, service: ['MemoryMax=64M'] }),
      },
    });
    const r = await sb.exec(['systemctl', 'start', 'flaky.service', 'hog.service']);
    assert.equal(r.exitCode, 0, r.stderr);
    await untilHealthy(FLAKY_PORT, 10_000);
    await untilHealthy(HOG_PORT, 10_000);
  });

  after(async () => {
    await sb?.down();
  });

  test('boots in well under the limit', opts, (t) => {
    t.diagnostic(`boot ${sb.bootMs.toFixed(0)} ms`);
    assert.ok(sb.pid > 1);
    assert.ok(sb.bootMs < 10_000);
  });

  test('showUnits: two running units and a missing one, in one call, in the order asked', opts, async () => {
    const [flaky, hog, nope] = units(await call<UnitsRead>('showUnits', { units: ['flaky.service', 'hog.service', 'nope.service'] }));
    assert.ok(flaky && hog && nope);
    for (const u of [flaky, hog]) {
      assert.equal(u.loadState, 'loaded');
      assert.equal(u.activeState, 'active');
      assert.equal(u.subState, 'running');
      assert.equal(u.nRestarts, 0);
      assert.match(u.invocationId ?? '', /^[0-9a-f]{32}$/);
      assert.ok((u.mainPid ?? 0) > 1);
      assert.ok((u.memoryCurrentBytes ?? 0) > 1 << 20, `MemoryCurrent ${u.memoryCurrentBytes}`);
      assert.ok((u.tasksCurrent ?? 0) >= 1);
      assert.ok(Date.parse(u.activeEnterAt ?? '') >= t0.getTime(), `ActiveEnterTimestamp ${u.activeEnterAt}`);
      assert.equal(u.controlGroup, `/${sb.cgroup}/system.slice/${u.id}`);
    }
    assert.deepEqual([flaky.id, hog.id, nope.id], ['flaky.service', 'hog.service', 'nope.service']);
    assert.equal(nope.loadState, 'not-found');
    assert.equal(nope.invocationId, undefined);
    assert.equal(nope.memoryCurrentBytes, undefined);
    flakyBefore = flaky;
    hogBefore = hog;
  });

  test('a crash: exit status 3 in auto-restart, then NRestarts=1 and a new InvocationID', opts, async () => {
    assert.equal(await httpGet(FLAKY_PORT, '/crash'), 200);
    const crashed = await waitFor('flaky in auto-restart', 5000, async () => {
      const u = await show('flaky.service');
      return u.subState === 'auto-restart' ? u : undefined;
    });
    assert.equal(crashed.result, 'exit-code');
    assert.equal(crashed.execMainCode, 1); // CLD_EXITED
    assert.equal(crashed.execMainStatus, 3);
    assert.equal(crashed.execMainPid, flakyBefore.mainPid);
    assert.equal(crashed.mainPid, undefined);
    assert.equal(crashed.invocationId, flakyBefore.invocationId);

    await waitFor('flaky restarted', 10_000, async () => (await show('flaky.service')).nRestarts === 1);
    const [again] = units(await call<UnitsRead>('showUnits', { units: ['flaky.service'] }));
    assert.equal(again?.nRestarts, 1);
    assert.equal(again?.result, 'success');
    assert.notEqual(again?.invocationId, flakyBefore.invocationId);
    assert.match(again?.invocationId ?? '', /^[0-9a-f]{32}$/);
    assert.notEqual(again?.mainPid, flakyBefore.mainPid);
    await untilHealthy(FLAKY_PORT, 10_000);
  });

  test("the dead run's journal by its invocation ID, with its last line and systemd's exit line", opts, async () => {
    const dead = flakyBefore.invocationId;
    assert.ok(dead);
    const lines = entries(await call<JournalRead>('readUnitJournal', { unit: 'flaky.service', since: t0.toISOString(), lines: 200, invocationId: dead }));
    assert.ok(lines.every((e) => e.invocationId === dead && e.unit === 'flaky.service'), JSON.stringify(lines));
    assert.ok(lines.every((e, i) => i === 0 || e.at >= (lines[i - 1]?.at ?? '')), 'in time order');
    const own = lines.filter((e) => e.pid === flakyBefore.mainPid);
    assert.equal(own.at(-1)?.message, 'about to crash with exit 3');
    const exit = lines.find((e) => e.pid === 1 && e.message.includes('Main process exited'));
    assert.equal(exit?.message, 'flaky.service: Main process exited, code=exited, status=3/NOTIMPLEMENTED');
    assert.equal(exit?.identifier, 'systemd');

    // journalctl's own match on the trusted field gives the run's lines (not systemd's)
    const raw = await sb.exec(['journalctl', '-o', 'cat', '--no-pager', `_SYSTEMD_INVOCATION_ID=${dead}`]);
    assert.deepEqual(raw.stdout.trim().split('\n'), own.map((e) => e.message));

    // without the ID: both runs, and systemd's lines about the unit (UNIT=, sent by PID 1)
    const all = entries(await call<JournalRead>('readUnitJournal', { unit: 'flaky.service', since: t0.toISOString(), lines: 200 }));
    const runs = new Set(all.map((e) => e.invocationId));
    assert.ok(runs.has(dead) && runs.size === 2, [...runs].join(' '));
    assert.ok(all.some((e) => e.pid === 1 && e.message.startsWith('flaky.service: Scheduled restart job, restart counter is at 1')));
  });

  test("an OOM kill: the unit's state and the kernel's line, attributed to the unit's cgroup", opts, async () => {
    const before = (await ourKills()).length;
    assert.equal(await httpGet(HOG_PORT, '/hog'), 200);
    const killed = await waitFor('hog OOM-killed', 15_000, async () => {
      const u = await show('hog.service');
      return u.execMainCode === 2 ? u : undefined;
    });
    // cgroup v1: systemd sees only SIGKILL (Result=oom-kill needs cgroup v2's memory.events)
    assert.equal(killed.execMainStatus, 9);
    assert.equal(killed.result, 'signal');
    assert.equal(killed.execMainPid, hogBefore.mainPid);

    const kills = await waitFor('the kernel OOM line in the journal', 5000, async () => {
      const k = await ourKills();
      return k.length > before ? k : undefined;
    });
    assert.equal(kills.length, before + 1);
    const kill = kills.at(-1);
    assert.ok(kill);
    assert.match(kill.line, /^Memory cgroup out of memory: Killed process \d+ \(node\) /);
    assert.equal(kill.constraint, 'CONSTRAINT_MEMCG');
    assert.equal(kill.comm, 'node');
    assert.ok((kill.anonRssBytes ?? 0) > 48 << 20 && (kill.anonRssBytes ?? 0) <= 64 << 20, `anon-rss ${kill.anonRssBytes}`);
    assert.equal(unitOwnsCgroup(hogBefore.controlGroup ?? '', kill.memcg ?? ''), true);
    assert.equal(unitOwnsCgroup(flakyBefore.controlGroup ?? '', kill.memcg ?? ''), false);
    // what the kernel path looks like to systemd inside a cgroup namespace (no sandbox prefix)
    assert.equal(unitOwnsCgroup('/system.slice/hog.service', kill.memcg ?? ''), true);
  });

  test('non-root: no journal without the systemd-journal group, the lines with it; systemctl works', opts, async (t) => {
    const denied = await call<JournalRead>('readUnitJournal', { unit: 'flaky.service', since: t0.toISOString(), lines: 20 }, NOBODY);
    assert.equal(denied.ok, false);
    assert.equal((denied as Unavailable).kind, 'permission');
    assert.match((denied as Unavailable).reason, /systemd-journal/);

    const hint = await sb.exec(['journalctl', '-u', 'flaky.service', '--no-pager', '-n', '20'], NOBODY);
    assert.match(hint.stderr, /You are currently not seeing messages from other users/);
    assert.doesNotMatch(hint.stdout, /flaky starting/);

    const state = units(await call<UnitsRead>('showUnits', { units: ['flaky.service'] }, NOBODY));
    assert.equal(state[0]?.nRestarts, 1);

    const gid = groupId('systemd-journal');
    if (gid === undefined) {
      t.skip('no systemd-journal group on this machine');
      return;
    }
    const allowed = entries(await call<JournalRead>('readUnitJournal', { unit: 'flaky.service', since: t0.toISOString(), lines: 20 }, { ...NOBODY, groups: [gid] }));
    assert.ok(allowed.some((e) => e.message.startsWith('flaky starting')), JSON.stringify(allowed.map((e) => e.message)));
  });

  test('down() leaves no process, cgroup, folder or listener behind', opts, async (t) => {
    const started = performance.now();
    await sb.down();
    t.diagnostic(`teardown ${sb.teardownMs.toFixed(0)} ms (down() ${(performance.now() - started).toFixed(0)} ms)`);
    assert.deepEqual(sb.leftovers(), []);
    assert.equal(await httpGet(FLAKY_PORT, '/health', 500), 'ECONNREFUSED');
    assert.equal(await httpGet(HOG_PORT, '/health', 500), 'ECONNREFUSED');
  });
});

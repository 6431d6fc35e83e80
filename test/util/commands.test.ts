// Deadlines that end: run() and follow().stop() settle when a child never exits (not even on SIGKILL),
// the child is counted until it does; every command waits for a slot of its pool, and the wait counts
// against its deadline; runLines hands over lines as they arrive and stops when told "enough".
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CommandPool } from '../../src/util/commands';
import { SETTLE_GRACE_MS, follow, run, runChecked, runLines } from '../../src/util/exec';
import { hangSome } from './_never-child';

describe('a child that never emits close', () => {
  test('run() settles at its deadline plus the grace, abandoned, and the child is counted until it exits', async () => {
    const pool = new CommandPool({ limit: 2 });
    const hung = hangSome(pool, () => true);
    const t0 = performance.now();
    const r = await run('journalctl', ['-k'], { timeoutMs: 100, maxBytes: 1024, pool });
    const took = performance.now() - t0;
    assert.deepEqual(
      { timedOut: r.timedOut, abandoned: r.abandoned, exitCode: r.exitCode, signals: hung.children[0]?.signals },
      { timedOut: true, abandoned: true, exitCode: null, signals: ['SIGKILL'] },
    );
    assert.ok(took >= 100 + SETTLE_GRACE_MS - 5 && took < 100 + SETTLE_GRACE_MS + 500, `settled after ${took} ms`);
    // its slot is given back (a few D-state children must not stop every later command); it stays counted
    assert.deepEqual(pool.stats(), { limit: 2, running: 0, waiting: 0, abandonedTotal: 1, unreaped: 1 });
    hung.children[0]?.exit();
    assert.deepEqual(pool.stats(), { limit: 2, running: 0, waiting: 0, abandonedTotal: 1, unreaped: 0 });
  });

  test('runChecked says so: a timeout that did not exit on SIGKILL', async () => {
    const pool = new CommandPool();
    hangSome(pool, () => true);
    await assert.rejects(runChecked('journalctl', ['-u', 'x'], { timeoutMs: 50, maxBytes: 10, pool }), /journalctl -u x: timed out after 50 ms \(did not exit on SIGKILL; left to the kernel\)/);
  });

  test('a program with maxUnreapedPerFile children stuck is not started again until one exits; other programs still are', async () => {
    const pool = new CommandPool({ maxUnreapedPerFile: 2 });
    const hung = hangSome(pool, (file) => file === 'journalctl');
    for (let i = 0; i < 2; i++) assert.equal((await run('journalctl', ['-k'], { timeoutMs: 20, maxBytes: 10, pool })).abandoned, true);
    await assert.rejects(
      run('journalctl', ['-k'], { timeoutMs: 20, maxBytes: 10, pool }),
      /journalctl -k: not started: 2 earlier runs of journalctl are stuck in the kernel/,
    );
    assert.equal(hung.children.length, 2, 'the third was never spawned');
    assert.equal((await run('true', [], { timeoutMs: 5000, maxBytes: 10, pool })).exitCode, 0, 'another program runs');
    hung.children[0]?.exit();
    assert.equal((await run('journalctl', ['-k'], { timeoutMs: 20, maxBytes: 10, pool })).abandoned, true, 'started again once one exited');
    assert.deepEqual(pool.stats(), { limit: 8, running: 0, waiting: 0, abandonedTotal: 3, unreaped: 2 });
  });

  test('follow().stop() settles `exited` after SIGTERM, SIGKILL and the grace', async () => {
    const pool = new CommandPool();
    const hung = hangSome(pool, () => true);
    const f = follow('journalctl', ['-f'], { onLine: () => undefined, maxLineBytes: 100, pool });
    const t0 = performance.now();
    f.stop();
    const r = await f.exited;
    const took = performance.now() - t0;
    assert.deepEqual({ ...r, signals: hung.children[0]?.signals }, { exitCode: null, signal: null, stderr: '', abandoned: true, signals: ['SIGTERM', 'SIGKILL'] });
    assert.ok(took < 1000 + SETTLE_GRACE_MS + 500, `settled after ${took} ms`);
    assert.equal(pool.stats().unreaped, 1);
  });
});

describe('the pool', () => {
  test('never runs more commands than its limit; the rest wait in order', async () => {
    const pool = new CommandPool({ limit: 3 });
    let peak = 0;
    const watch = setInterval(() => (peak = Math.max(peak, pool.stats().running)), 1);
    const order: number[] = [];
    await Promise.all(Array.from({ length: 12 }, (_, i) => run('sleep', ['0.05'], { timeoutMs: 10_000, maxBytes: 10, pool }).then(() => order.push(i))));
    clearInterval(watch);
    assert.equal(peak, 3);
    assert.deepEqual(order.slice(0, 3).sort(), [0, 1, 2]);
    assert.deepEqual(pool.stats(), { limit: 3, running: 0, waiting: 0, abandonedTotal: 0, unreaped: 0 });
  });

  test('a wait for a slot past the deadline is a timeout, and nothing is started', async () => {
    const pool = new CommandPool({ limit: 1 });
    const hung = hangSome(pool, (_f, args) => args[0] === 'hang');
    const first = run('x', ['hang'], { timeoutMs: 300, maxBytes: 10, pool });
    const t0 = performance.now();
    const second = await run('x', ['wait'], { timeoutMs: 50, maxBytes: 10, pool });
    assert.deepEqual({ timedOut: second.timedOut, exitCode: second.exitCode, started: hung.children.length }, { timedOut: true, exitCode: null, started: 1 });
    assert.ok(performance.now() - t0 < 250, 'the wait ended at its own deadline');
    await first;
  });
});

describe('runLines', () => {
  const opts = { timeoutMs: 5000, maxBytes: 1 << 20 };
  const cases: { name: string; script: string; maxBytes?: number; stopAt?: number; want: { lines: string[]; truncated: boolean; enough: boolean } }[] = [
    { name: 'every line, the last without its newline too', script: 'printf "a\\nb\\nc"', want: { lines: ['a', 'b', 'c'], truncated: false, enough: false } },
    { name: 'a cap: the cut line is not handed over', script: 'printf "aaaa\\nbbbb\\ncccc\\n"', maxBytes: 7, want: { lines: ['aaaa'], truncated: true, enough: false } },
    { name: '"enough" stops an endless producer, no error', script: 'yes line', stopAt: 3, want: { lines: ['line', 'line', 'line'], truncated: false, enough: true } },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const lines: string[] = [];
      const r = await runLines('sh', ['-c', c.script], {
        ...opts,
        ...(c.maxBytes ? { maxBytes: c.maxBytes } : {}),
        onLine: (l) => {
          lines.push(l);
          return c.stopAt === undefined || lines.length < c.stopAt;
        },
      });
      assert.deepEqual({ lines, truncated: r.truncated, enough: r.enough }, c.want);
    });
  }
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CommandError } from '../../src/util/errors';
import { InFlight, TimeoutError, describeCommand, follow, run, runChecked, withTimeout } from '../../src/util/exec';

const opts = { timeoutMs: 5000, maxBytes: 1 << 20 };

describe('run', () => {
  test('collects stdout, stderr and the exit code', async () => {
    const r = await run('sh', ['-c', 'echo out; echo err >&2; exit 3'], opts);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(r.exitCode, 3);
    assert.equal(r.timedOut, false);
    assert.equal(r.truncated, false);
  });

  test('kills a command at its deadline', async () => {
    const r = await run('sleep', ['30'], { timeoutMs: 100, maxBytes: 1024 });
    assert.equal(r.timedOut, true);
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(r.durationMs < 10_000, `took ${r.durationMs} ms`);
  });

  test('caps stdout and stops an endless producer', async () => {
    const r = await run('yes', [], { timeoutMs: 10_000, maxBytes: 1000 });
    assert.equal(r.truncated, true);
    assert.equal(r.timedOut, false);
    assert.equal(Buffer.byteLength(r.stdout), 1000);
    assert.match(r.stdout, /^(y\n)+y?$/);
  });

  test('a missing command rejects with CommandError', async () => {
    await assert.rejects(run('preflight-no-such-command', [], opts), (err: unknown) => {
      assert.ok(err instanceof CommandError);
      assert.equal(err.exitCode, null);
      assert.match(err.message, /preflight-no-such-command: could not start/);
      return true;
    });
  });
});

describe('runChecked', () => {
  test('non-zero exit is a CommandError with the exit code and stderr', async () => {
    await assert.rejects(runChecked('sh', ['-c', 'echo "no such unit" >&2; exit 4'], opts), (err: unknown) => {
      assert.ok(err instanceof CommandError);
      assert.equal(err.exitCode, 4);
      assert.equal(err.stderr, 'no such unit');
      assert.equal(err.message, "sh -c 'echo \"no such unit\" >&2; exit 4': exited with status 4: no such unit");
      return true;
    });
  });

  test('a timeout is a CommandError marked timedOut', async () => {
    await assert.rejects(runChecked('sleep', ['30'], { timeoutMs: 50, maxBytes: 10 }), (err: unknown) => {
      assert.ok(err instanceof CommandError);
      assert.equal(err.timedOut, true);
      return true;
    });
  });

  test('a truncated but otherwise fine output is returned', async () => {
    const r = await runChecked('yes', [], { timeoutMs: 10_000, maxBytes: 10 });
    assert.equal(r.stdout, 'y\ny\ny\ny\ny\n');
  });
});

describe('describeCommand', () => {
  const cases = [
    { name: 'plain words', input: ['journalctl', '-u', 'x.service'], want: 'journalctl -u x.service' },
    { name: 'spaces are quoted', input: ['sh', '-c', 'a b'], want: "sh -c 'a b'" },
    { name: 'single quotes escaped', input: ['echo', "it's"], want: "echo 'it'\\''s'" },
    { name: 'empty argument', input: ['x', ''], want: "x ''" },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(describeCommand(c.input[0]!, c.input.slice(1)), c.want));
  }
});

describe('withTimeout and InFlight', () => {
  const never = (): Promise<never> => new Promise(() => {});

  test('withTimeout passes a value through', async () => {
    assert.equal(await withTimeout(Promise.resolve(7), 1000, 'x'), 7);
  });

  test('withTimeout rejects with TimeoutError naming the call', async () => {
    await assert.rejects(withTimeout(never(), 20, 'statfs /mnt/nfs'), (err: unknown) => {
      assert.ok(err instanceof TimeoutError);
      assert.match(err.message, /^statfs \/mnt\/nfs: no answer after 20 ms$/);
      return true;
    });
  });

  test('InFlight refuses a second call while the first still hangs, and allows it after', async () => {
    const f = new InFlight();
    let release!: (v: number) => void;
    const hung = new Promise<number>((resolve) => (release = resolve));
    let starts = 0;
    await assert.rejects(
      f.run('statfs /a', 20, () => {
        starts++;
        return hung;
      }),
      TimeoutError,
    );
    await assert.rejects(
      f.run('statfs /a', 20, () => {
        starts++;
        return Promise.resolve(1);
      }),
      /previous call still pending/,
    );
    assert.equal(starts, 1, 'the second call must not start while the first is pending');
    assert.equal(await f.run('statfs /b', 20, () => Promise.resolve(2)), 2, 'other keys are independent');
    release(0);
    await hung;
    await new Promise((r) => setImmediate(r));
    assert.equal(await f.run('statfs /a', 20, () => Promise.resolve(3)), 3);
  });
});

describe('run and follow edge cases', () => {
  test('a timeout ends the call even when a grandchild holds the output pipe', async () => {
    const r = await run('sh', ['-c', 'sleep 30 & sleep 30'], { timeoutMs: 200, maxBytes: 1024 });
    assert.equal(r.timedOut, true);
    assert.ok(r.durationMs < 10_000, `took ${r.durationMs} ms`);
  });

  test('output of exactly maxBytes is complete, not truncated', async () => {
    const r = await run('printf', ['abcd'], { timeoutMs: 5000, maxBytes: 4 });
    assert.equal(r.stdout, 'abcd');
    assert.equal(r.truncated, false);
    assert.equal(r.exitCode, 0);
  });

  test('follow hands over a last line without its newline', async () => {
    const lines: string[] = [];
    const f = follow('printf', ['a\\nb\\nlast'], { onLine: (l) => lines.push(l), maxLineBytes: 100 });
    await f.exited;
    assert.deepEqual(lines, ['a', 'b', 'last']);
  });

  test('follow drops a line longer than maxLineBytes, whole', async () => {
    const lines: string[] = [];
    let dropped = 0;
    const f = follow('printf', [`ok\\n${'x'.repeat(50)}\\nok2\\n`], { onLine: (l) => lines.push(l), onDropped: () => dropped++, maxLineBytes: 10 });
    await f.exited;
    assert.deepEqual(lines, ['ok', 'ok2']);
    assert.equal(dropped, 1);
  });

  test('stopping a follower that ignores SIGTERM still ends it', async () => {
    const f = follow('sh', ['-c', "trap '' TERM; sleep 30"], { onLine: () => undefined, maxLineBytes: 100 });
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    f.stop();
    const r = await f.exited;
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(Date.now() - t0 < 10_000);
  });
});

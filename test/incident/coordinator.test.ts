// The capture coordinator under a blip that fails 100 services, a journalctl that never exits, a part
// that never answers and a stop while captures wait. The commands are fake systemctl/journalctl scripts
// first on PATH (real processes, counted live from /proc) or, for the hung ones, children that never
// emit close (test/util/_never-child.ts).
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ServiceConfig } from '../../src/config/config';
import type { CaptureOptions } from '../../src/incident/capture';
import { CaptureCoordinator } from '../../src/incident/coordinator';
import { ProcessTable } from '../../src/sample/procs';
import { commands } from '../../src/util/commands';
import { SETTLE_GRACE_MS } from '../../src/util/exec';
import { hangSome } from '../util/_never-child';

const bin = mkdtempSync(path.join(tmpdir(), 'preflight-coord-'));
const savedPath = process.env.PATH;
before(() => {
  // each fake takes 30 ms, long enough for children to overlap and be seen
  writeFileSync(path.join(bin, 'systemctl'), '#!/bin/sh\nsleep 0.03\nprintf "Id=x.service\\nActiveState=failed\\nLoadState=loaded\\n"\n');
  // the kernel read (-k) gets an OOM kill line, the unit read its last words; both stamped now
  writeFileSync(
    path.join(bin, 'journalctl'),
    [
      '#!/bin/sh',
      'sleep 0.03',
      'msg=bye; [ "$1" = -k ] && msg="Memory cgroup out of memory: Killed process 42 (node) total-vm:100kB, anon-rss:50kB"',
      'printf \'{"__REALTIME_TIMESTAMP":"%s000000","MESSAGE":"%s"}\\n\' "$(date +%s)" "$msg"',
      '',
    ].join('\n'),
  );
  for (const f of ['systemctl', 'journalctl']) chmodSync(path.join(bin, f), 0o755);
  process.env.PATH = `${bin}:${savedPath}`;
});
after(() => {
  process.env.PATH = savedPath;
  rmSync(bin, { recursive: true, force: true });
});

/** Live child processes of this test process (from /proc, not from anyone's bookkeeping). */
function liveChildren(): number {
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid) n++;
    } catch {
      // gone between readdir and read
    }
  }
  return n;
}

const processes = new ProcessTable();
function options(unit: string, over: Partial<CaptureOptions> = {}): CaptureOptions {
  const service = { name: unit, unit, healthUrl: 'http://127.0.0.1:1/health' } as ServiceConfig;
  return { service, since: new Date(Date.now() - 60_000), journalLines: 50, timeoutMs: 2000, processes, scene: false, ...over };
}

describe('capture coordinator', () => {
  test('100 failing services: never more than 8 live children nor 4 captures, one kernel read', async (t) => {
    const c = new CaptureCoordinator({ maxCaptures: 4, maxCommands: 8 });
    // children this process has anyway (tsx's esbuild service): not ours to count
    const baseline = liveChildren();
    let peakChildren = 0;
    let peakCaptures = 0;
    const watch = setInterval(() => {
      peakChildren = Math.max(peakChildren, liveChildren() - baseline);
      peakCaptures = Math.max(peakCaptures, c.status().capturesRunning);
    }, 3);
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => c.capture(options(`s${i}.service`))));
    clearInterval(watch);
    t.diagnostic(`peak ${peakChildren} live children, ${peakCaptures} captures, ${c.kernelReads} kernel read(s)`);
    assert.equal(results.length, 100);
    assert.ok(peakChildren <= 8, `${peakChildren} live children at once`);
    assert.ok(peakChildren >= 4, `only ${peakChildren} children at once: the test saw no concurrency`);
    assert.equal(peakCaptures, 4);
    // every capture asked at once: one read gathers them all
    assert.equal(c.kernelReads, 1);
    assert.deepEqual(results[99]?.errors, []);
    assert.deepEqual(results[99]?.journal.map((l) => l.message), ['bye']);
    assert.deepEqual(results[99]?.kernel.map((l) => l.message), ['Memory cgroup out of memory: Killed process 42 (node) total-vm:100kB, anon-rss:50kB']);
    assert.deepEqual(c.status(), { limit: 8, running: 0, waiting: 0, abandonedTotal: 0, unreaped: 0, capturesRunning: 0, capturesWaiting: 0 });
  });

  test("a journalctl that never exits delays the next service's capture by no more than its deadline", async () => {
    const hung = hangSome(commands, (_f, args) => args.includes('_SYSTEMD_UNIT=hung.service'));
    try {
      // one capture at a time: the next one has to wait for the hung one, the worst case
      const c = new CaptureCoordinator({ maxCaptures: 1 });
      const abandonedBefore = commands.stats().abandonedTotal;
      const t0 = performance.now();
      const [a, b] = await Promise.all([
        c.capture(options('hung.service', { timeoutMs: 300 })).then((r) => ({ r, at: performance.now() - t0 })),
        c.capture(options('next.service', { timeoutMs: 300 })).then((r) => ({ r, at: performance.now() - t0 })),
      ]);
      assert.deepEqual(a.r.errors.map((e) => e.part), ['journal'], JSON.stringify(a.r.errors));
      assert.match(a.r.errors[0]?.reason ?? '', /timed out after 300 ms \(did not exit on SIGKILL; left to the kernel\)/);
      assert.deepEqual(b.r.errors, []);
      assert.deepEqual(b.r.journal.map((l) => l.message), ['bye']);
      assert.ok(a.at < 300 + SETTLE_GRACE_MS + 400, `the hung capture returned after ${a.at} ms`);
      assert.ok(b.at < 300 + SETTLE_GRACE_MS + 800, `the next capture was done after ${b.at} ms`);
      assert.equal(commands.stats().abandonedTotal - abandonedBefore, 1);
      assert.equal(hung.children.length, 1);
      hung.children[0]?.exit();
    } finally {
      hung.restore();
    }
  });

  test('a part that never answers becomes a capture error at the total deadline', async () => {
    const c = new CaptureCoordinator({ readKernel: () => new Promise(() => undefined), deadlineMs: () => 200 });
    const t0 = performance.now();
    const r = await c.capture(options('x.service'));
    const took = performance.now() - t0;
    assert.deepEqual(r.errors, [{ part: 'kernel', reason: "no answer within the capture's deadline (200 ms)" }]);
    assert.deepEqual(r.journal.map((l) => l.message), ['bye']);
    assert.ok(took >= 195 && took < 600, `returned after ${took} ms`);
  });

  test('stop(): captures waiting for their turn return at once, saying why; later ones too', async () => {
    const c = new CaptureCoordinator({ maxCaptures: 1, readKernel: () => new Promise(() => undefined), deadlineMs: () => 400 });
    const running = c.capture(options('a.service'));
    const waiting = c.capture(options('b.service'));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual([c.status().capturesRunning, c.status().capturesWaiting], [1, 1]);
    const t0 = performance.now();
    c.stop();
    const w = await waiting;
    assert.ok(performance.now() - t0 < 50);
    const stopped = [{ part: 'capture', reason: 'preflight was stopping; the capture did not run' }];
    assert.deepEqual(w.errors, stopped);
    assert.deepEqual((await c.capture(options('c.service'))).errors, stopped);
    assert.deepEqual((await running).errors.map((e) => e.part), ['kernel']);
  });
});

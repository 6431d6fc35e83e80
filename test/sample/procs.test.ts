import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessTable, type ProcessInfo } from '../../src/sample/procs';
import { FIXTURES } from '../proc/_helpers';

const PAGE = 4096;
const HZ = 100;
const snapshot = (name: string) => join(FIXTURES, 'edge', name, 'proc');

/** A fake /proc that the test swaps from one snapshot to the next between scans. */
function fakeProc(): { root: string; load(name: string): void; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'pf-procs-'));
  const root = join(dir, 'proc');
  return {
    root,
    load(name) {
      rmSync(root, { recursive: true, force: true });
      cpSync(snapshot(name), root, { recursive: true });
    },
    done() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const pick = (list: ProcessInfo[]) => list.map((p) => ({ pid: p.pid, cpu: Number(p.cpuPercent.toFixed(3)), rss: p.rssBytes }));

describe('ProcessTable on two fixture snapshots of /proc (1 s apart)', () => {
  // Ticks from the snapshots (utime+stime, starttime), USER_HZ 100:
  // 4244 node: 879 at t0, 979 at t1, same starttime -> 100 ticks in 1 s = 100%.
  // 4251 appears at t1: 200 ticks, started at 473.08 s, uptime 476.08 s -> 2 s / 3 s = 66.667% (lifetime).
  // 4252 at t0 is sleep (starttime 46625); at t1 a new node (starttime 47400, 150 ticks) -> 1.5 s / 2.08 s.
  // 4250 exits before t1; 4253 has a folder but no stat (vanished mid-scan); sys/ and loadavg are not pids.
  const cases = [
    {
      name: 'first scan alone: lifetime averages like ps (uptime 475.07 s)',
      scans: ['procs-t0'],
      want: {
        seen: 7,
        topCpu: [{ pid: 4244, cpu: Number(((879 / HZ / (475.07 - 466.24)) * 100).toFixed(3)), rss: 10894 * PAGE }],
      },
    },
    {
      name: 'second scan: delta for survivors, lifetime for new and reused pids',
      scans: ['procs-t0', 'procs-t1'],
      want: {
        seen: 7,
        topCpu: [
          { pid: 4244, cpu: 100, rss: 10894 * PAGE },
          { pid: 4252, cpu: Number(((150 / HZ / (476.08 - 474.0)) * 100).toFixed(3)), rss: 2000 * PAGE },
          { pid: 4251, cpu: Number(((200 / HZ / (476.08 - 473.08)) * 100).toFixed(3)), rss: 10894 * PAGE },
        ],
      },
    },
  ];
  for (const { name, scans, want } of cases) {
    it(name, () => {
      const fake = fakeProc();
      try {
        const table = new ProcessTable({ root: fake.root, pageSizeBytes: PAGE, clockTicksPerSecond: HZ });
        let seen = 0;
        scans.forEach((s, i) => {
          fake.load(s);
          seen = table.scan(1_000_000 + i * 1000);
        });
        assert.equal(seen, want.seen);
        const { topCpu } = table.top(want.topCpu.length);
        assert.deepEqual(pick(topCpu), want.topCpu);
      } finally {
        fake.done();
      }
    });
  }

  it('top by memory, with command lines read for those only; pids that left are gone', () => {
    const fake = fakeProc();
    try {
      const table = new ProcessTable({ root: fake.root, pageSizeBytes: PAGE, cmdlineMax: 64 });
      fake.load('procs-t0');
      table.scan(0);
      fake.load('procs-t1');
      table.scan(1000);
      const { topCpu, topMemory } = table.top(10);
      assert.deepEqual(
        topMemory.map((p) => [p.pid, p.comm, p.state, p.rssBytes, p.cmdline]),
        [
          [4244, 'node', 'R', 10894 * PAGE, 'node -e const t=Date.now(); for(;;){}'],
          [4251, 'node', 'R', 10894 * PAGE, 'node -e spin()'],
          [4252, 'node', 'R', 2000 * PAGE, 'node reused.js'],
          [4242, 'sleep', 'S', 393 * PAGE, 'sleep 3600'],
          [4243, 'my (weird) proc', 'S', 393 * PAGE, '/tmp/cap/my (weird) proc 3600'],
          [2, 'kthreadd', 'S', 0, ''],
          [4245, 'python3', 'Z', 0, ''],
        ],
      );
      assert.equal(topCpu.length, 7);
      assert.ok(!topCpu.some((p) => p.pid === 4250), 'exited pid 4250 must not be listed');
      assert.equal(table.lastParseError, undefined);
    } finally {
      fake.done();
    }
  });

  it('n = 0 and n = 1', () => {
    const table = new ProcessTable({ root: snapshot('procs-t1'), pageSizeBytes: PAGE });
    table.scan(0);
    assert.deepEqual(table.top(0), { topCpu: [], topMemory: [] });
    const one = table.top(1);
    assert.deepEqual([one.topCpu.map((p) => p.pid), one.topMemory.map((p) => p.pid)], [[4244], [4244]]);
  });

  it('a malformed stat skips that pid and is kept for diagnostics', () => {
    const table = new ProcessTable({ root: join(FIXTURES, 'edge', 'truncated', 'proc'), pageSizeBytes: PAGE });
    assert.equal(table.scan(0), 0);
    assert.match(table.lastParseError?.message ?? '', /4249\/stat:1: session \(field 6\)/);
  });
});

describe('ProcessTable on the real /proc', () => {
  it('finds a busy child in topCpu above 50% and reads its command line', async () => {
    const child = spawn(process.execPath, ['-e', 'const marker = "preflight-busy"; for (;;) {}'], { stdio: 'ignore' });
    try {
      await new Promise((r) => child.once('spawn', r));
      const table = new ProcessTable({ cmdlineMax: 4096 });
      assert.ok(table.scan(Date.now()) > 2);
      await new Promise((r) => setTimeout(r, 1000));
      table.scan(Date.now());
      const { topCpu, topMemory } = table.top(5);
      const busy = topCpu.find((p) => p.pid === child.pid);
      assert.ok(busy, `child ${child.pid} not in topCpu: ${JSON.stringify(topCpu.map((p) => [p.pid, p.comm, p.cpuPercent]))}`);
      assert.ok(busy.cpuPercent > 50 && busy.cpuPercent < 150, `cpu ${busy.cpuPercent}`);
      assert.match(busy.cmdline, /preflight-busy/);
      assert.ok(busy.rssBytes > 1024 * 1024);
      assert.equal(topMemory.length, 5);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

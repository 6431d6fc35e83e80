import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { HostSampler, type HostSample } from '../../src/sample/host';
import { summaryLine } from '../../src/sample/format';

const FIXTURES = path.resolve(__dirname, '..', '..', 'fixtures');
const tmp = mkdtempSync(path.join(tmpdir(), 'preflight-host-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A writable copy of the captured /proc so a test can change /proc/stat between two readings. */
function procCopy(name: string): string {
  const root = path.join(tmp, name, 'proc');
  cpSync(path.join(FIXTURES, 'proc'), root, { recursive: true });
  return root;
}

/** One reading, derived. */
async function take(s: HostSampler, now: number): Promise<HostSample> {
  await s.sample(now);
  return s.latest()!;
}

const statLine = (t: number[]): string => `cpu  ${t.join(' ')} 0 0\ncpu0 ${t.join(' ')} 0 0\nprocs_running 3\nprocs_blocked 1\n`;

describe('HostSampler', () => {
  test('one reading of the captured /proc: memory, load, PSI; no CPU rate yet', async () => {
    const s = new HostSampler({ root: path.join(FIXTURES, 'proc'), disks: [], capacity: 4 });
    const x = await take(s, Date.UTC(2026, 10, 25, 3, 0, 0));
    assert.equal(x.at, '2026-11-25T03:00:00.000Z');
    assert.equal(x.cpu_percent, null, 'a rate needs two readings');
    assert.equal(x.mem_total_bytes, 24684084 * 1024);
    assert.equal(x.mem_available_bytes, 24343500 * 1024);
    assert.equal(x.mem_used_percent, Math.round(((24684084 - 24343500) / 24684084) * 10000) / 100);
    assert.equal(x.swap_total_bytes, 0);
    assert.equal(x.swap_used_percent, null, 'no swap is not 0% of swap');
    assert.deepEqual([x.load1, x.load5, x.load15], [0.22, 0.21, 0.1]);
    assert.equal(x.psi_memory_full_avg10, 0);
    assert.deepEqual(s.lastErrors, []);
  });

  const rates: { name: string; input: [number[], number[]]; want: { cpu: number; iowait: number; steal: number } }[] = [
    // columns: user nice system idle iowait irq softirq steal
    { name: 'half busy', input: [[100, 0, 0, 100, 0, 0, 0, 0], [150, 0, 0, 150, 0, 0, 0, 0]], want: { cpu: 50, iowait: 0, steal: 0 } },
    { name: 'iowait is not busy', input: [[0, 0, 0, 0, 0, 0, 0, 0], [10, 0, 10, 40, 40, 0, 0, 0]], want: { cpu: 20, iowait: 40, steal: 0 } },
    { name: 'steal counts as busy', input: [[0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 75, 0, 0, 0, 25]], want: { cpu: 25, iowait: 0, steal: 25 } },
    { name: 'fully busy across all kinds', input: [[0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 0, 0, 1, 1, 1]], want: { cpu: 100, iowait: 0, steal: 16.67 } },
  ];
  for (const c of rates) {
    test(`CPU rates from the delta of two readings: ${c.name}`, async () => {
      const root = procCopy(c.name.replace(/\W/g, '-'));
      const s = new HostSampler({ root, disks: [], capacity: 4 });
      writeFileSync(path.join(root, 'stat'), statLine(c.input[0]));
      await s.sample(1000);
      writeFileSync(path.join(root, 'stat'), statLine(c.input[1]));
      const x = await take(s, 2000);
      assert.deepEqual({ cpu: x.cpu_percent, iowait: x.iowait_percent, steal: x.steal_percent }, c.want);
      assert.deepEqual([x.procs_running, x.procs_blocked], [3, 1]);
    });
  }

  test('no counter movement (same reading twice) gives no rate instead of dividing by zero', async () => {
    const s = new HostSampler({ root: path.join(FIXTURES, 'proc'), disks: [], capacity: 4 });
    await s.sample(1000);
    assert.equal((await take(s, 2000)).cpu_percent, null);
  });

  test('a host without PSI (and with missing files) degrades to nulls and reasons, never throws', async () => {
    const s = new HostSampler({ root: path.join(FIXTURES, 'edge', 'no-psi', 'proc'), disks: [], capacity: 4 });
    const x = await take(s, 1000);
    assert.equal(x.psi_cpu_some_avg10, null);
    assert.equal(x.mem_used_percent, null);
    assert.equal(x.load1, 0.22);
    assert.equal(s.lastErrors.length, 2, s.lastErrors.join('\n'));
    assert.match(s.lastErrors.join('\n'), /no-psi\/proc\/stat/);
    assert.match(s.lastErrors.join('\n'), /no-psi\/proc\/meminfo/);
  });

  test('PSI cpu without a full line gives null for full only', async () => {
    const root = procCopy('psi-some-only');
    cpSync(path.join(FIXTURES, 'edge', 'psi-cpu-some-only', 'proc', 'pressure', 'cpu'), path.join(root, 'pressure', 'cpu'));
    const x = await take(new HostSampler({ root, disks: [], capacity: 2 }), 1);
    assert.equal(typeof x.psi_cpu_some_avg10, 'number');
    assert.equal(x.psi_cpu_full_avg10, null);
  });

  test('disks: a real filesystem is measured, a missing path is null with its reason', async () => {
    const s = new HostSampler({ root: path.join(FIXTURES, 'proc'), disks: [tmp, path.join(tmp, 'nope')], capacity: 2 });
    const x = await take(s, 1);
    const used = x.disk_used_percent[tmp];
    assert.ok(typeof used === 'number' && used > 0 && used <= 100, `used ${used}`);
    assert.ok((x.disk_available_bytes[tmp] ?? 0) > 0);
    assert.equal(x.disk_used_percent[path.join(tmp, 'nope')], null);
    assert.equal(s.lastErrors.length, 1);
    assert.match(s.lastErrors[0]!, /nope/);
  });

  test('the ring keeps the newest `capacity` readings and window() derives them', async () => {
    const root = procCopy('window');
    const s = new HostSampler({ root, disks: [], capacity: 3 });
    for (let i = 0; i < 5; i++) {
      writeFileSync(path.join(root, 'stat'), statLine([i * 30, 0, 0, i * 70, 0, 0, 0, 0]));
      await s.sample(1000 * (i + 1));
    }
    const w = s.window();
    assert.deepEqual(
      w.map((x) => x.at),
      [3000, 4000, 5000].map((t) => new Date(t).toISOString()),
    );
    assert.deepEqual(
      w.map((x) => x.cpu_percent),
      [null, 30, 30],
      'the oldest row in the ring has no previous row to derive from',
    );
    assert.deepEqual(
      s.window(4000).map((x) => x.at),
      [4000, 5000].map((t) => new Date(t).toISOString()),
    );
    assert.equal(s.latest()?.at, new Date(5000).toISOString());
  });

  test('concurrent readings (the timer and a capture) share one reading instead of racing on one row', async () => {
    const s = new HostSampler({ root: path.join(FIXTURES, 'proc'), disks: [tmp], capacity: 4 });
    await Promise.all([s.sample(1000), s.sample(1001), s.sample(1002)]);
    assert.equal(s.ring.length, 1);
    await s.sample(2000);
    assert.equal(s.ring.length, 2, 'a later call takes a new reading');
  });

  test('summaryLine reads like the snapshot summary', async () => {
    const root = procCopy('summary');
    const meminfo = readFileSync(path.join(root, 'meminfo'), 'utf8')
      .replace(/^SwapTotal:.*$/m, 'SwapTotal:       1000000 kB')
      .replace(/^SwapFree:.*$/m, 'SwapFree:         600000 kB');
    writeFileSync(path.join(root, 'meminfo'), meminfo);
    const s = new HostSampler({ root, disks: [tmp], capacity: 2 });
    writeFileSync(path.join(root, 'stat'), statLine([0, 0, 0, 0, 0, 0, 0, 0]));
    await s.sample(1);
    writeFileSync(path.join(root, 'stat'), statLine([99, 0, 0, 1, 0, 0, 0, 0]));
    const line = summaryLine(await take(s, 2));
    assert.match(line, new RegExp(`^RAM 1% \\| swap 40% \\| disk ${tmp} \\d+% \\| load 0\\.22 \\| cpu 99%$`));
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseStat, readStat, type CpuTicks } from '../../src/proc/stat';
import { assertParseError, procRoot } from './_helpers';

const U64_MAX = 18446744073709551615;

function ticks(v: number[], cpu?: number): CpuTicks {
  const [u = 0, n = 0, s = 0, i = 0, w = 0, q = 0, sq = 0, st = 0] = v;
  const t: CpuTicks = {
    userTicks: u,
    niceTicks: n,
    systemTicks: s,
    idleTicks: i,
    iowaitTicks: w,
    irqTicks: q,
    softirqTicks: sq,
    stealTicks: st,
  };
  if (cpu !== undefined) t.cpu = cpu;
  return t;
}

describe('readStat on fixture roots', () => {
  const cases = [
    {
      name: 'real capture (6.18, 2 CPUs, 10 columns; guest columns not added to user)',
      root: procRoot(),
      want: {
        cpu: ticks([5301, 0, 2385, 86944, 102, 0, 37, 23]),
        cpus: [ticks([1917, 0, 1039, 44422, 11, 0, 9, 11], 0), ticks([3384, 0, 1346, 42521, 90, 0, 28, 12], 1)],
        contextSwitches: 569923,
        bootTimeSeconds: 1795623689,
        processesRunning: 3,
        processesBlocked: 0,
      },
    },
    {
      name: '2.4 shape: 4 columns, no procs_running/blocked',
      root: procRoot('stat-2.4'),
      want: {
        cpu: ticks([1257342, 2913, 301558, 94726215]),
        cpus: [ticks([628671, 1456, 150779, 47363108], 0), ticks([628671, 1457, 150779, 47363107], 1)],
        contextSwitches: 115315,
        bootTimeSeconds: 769041601,
      },
    },
    {
      name: '2.6.9 shape: 7 columns, steal is 0',
      root: procRoot('stat-2.6.9'),
      want: {
        cpu: ticks([2255, 34, 2290, 22625563, 6290, 127, 456]),
        cpus: [ticks([1132, 34, 1441, 11311718, 3675, 127, 438], 0), ticks([1123, 0, 849, 11313845, 2614, 0, 18], 1)],
        contextSwitches: 1990473,
        bootTimeSeconds: 1062191376,
        processesRunning: 1,
        processesBlocked: 0,
      },
    },
    {
      name: 'offline CPU: cpu0 and cpu2 only, ids kept',
      root: procRoot('stat-offline-cpu'),
      want: {
        cpu: ticks([5301, 0, 2385, 86944, 102, 0, 37, 23]),
        cpus: [ticks([1917, 0, 1039, 44422, 11, 0, 9, 11], 0), ticks([3384, 0, 1346, 42521, 90, 0, 28, 12], 2)],
        contextSwitches: 569923,
        bootTimeSeconds: 1795623689,
        processesRunning: 3,
        processesBlocked: 0,
      },
    },
    {
      name: 'u64 max counters parse as (rounded) numbers',
      root: procRoot('u64-max'),
      want: {
        cpu: ticks([U64_MAX, 0, 2385, 86944, 102, 0, 37, 23]),
        cpus: [ticks([U64_MAX, 0, 1039, 44422, 11, 0, 9, 11], 0), ticks([3384, 0, 1346, 42521, 90, 0, 28, 12], 1)],
        contextSwitches: U64_MAX,
        bootTimeSeconds: 1795623689,
        processesRunning: 3,
        processesBlocked: 0,
      },
    },
  ];
  for (const { name, root, want } of cases) {
    it(name, () => assert.deepEqual(readStat(root), want));
  }
});

describe('malformed /proc/stat is a ParseError naming file, line and field', () => {
  const cases = [
    { name: 'empty file (fixture)', root: procRoot('empty'), want: { field: 'cpu' } },
    {
      name: 'truncated mid cpu0 line (fixture): fewer columns than the aggregate',
      root: procRoot('truncated'),
      want: { line: 2, field: 'cpu0', input: 'cpu0 1917 0 1039 4442' },
    },
  ];
  for (const { name, root, want } of cases) {
    it(name, () => assertParseError(() => readStat(root), { ...want, file: `${root}/stat` }));
  }

  const inline = [
    { name: 'no aggregate line', input: 'cpu0 1 2 3 4\nctxt 5\n', want: { line: 1, field: 'cpu' } },
    { name: 'three columns only', input: 'cpu  1 2 3\n', want: { line: 1, field: 'cpu' } },
    { name: 'letters in a column', input: 'cpu  1 2 x 4\n', want: { line: 1, field: 'cpu system', input: 'cpu  1 2 x 4' } },
    { name: 'digits glued to letters', input: 'cpu  1 2 3 4\ncpu0 1 2 3 4x\n', want: { line: 2, field: 'cpu0 idle' } },
    { name: 'bad ctxt', input: 'cpu  1 2 3 4\nctxt -5\n', want: { line: 2, field: 'ctxt' } },
    { name: 'cpu with no number', input: 'cpu  1 2 3 4\ncpuX 1 2 3 4\n', want: { line: 2, field: 'cpuN' } },
    { name: 'two aggregate lines', input: 'cpu  1 2 3 4\ncpu  1 2 3 4\n', want: { line: 2, field: 'cpu' } },
  ];
  for (const { name, input, want } of inline) {
    it(name, () => assertParseError(() => parseStat(input), { ...want, file: '/proc/stat' }));
  }
});

it('a missing trailing newline and unknown lines are fine', () => {
  const s = parseStat('cpu  1 2 3 4 5 6 7 8 9 10 11\nfuture_key 1 2\nbtime 7');
  assert.deepEqual(s, { cpu: ticks([1, 2, 3, 4, 5, 6, 7, 8]), cpus: [], bootTimeSeconds: 7 });
});

it('reads the real /proc/stat: one line per online CPU and counters that only grow', () => {
  const a = readStat();
  const b = readStat();
  assert.ok(a.cpus.length >= 1);
  assert.ok(b.cpu.idleTicks >= a.cpu.idleTicks);
  assert.ok((b.contextSwitches ?? 0) >= (a.contextSwitches ?? 0));
  assert.ok((a.bootTimeSeconds ?? 0) > 1_000_000_000);
});

describe('parseStat with perCpu: false (the host sampler)', () => {
  const text = readFileSync(`${procRoot()}/stat`, 'utf8');
  it('keeps the aggregate and the task counts, skips the cpuN lines', () => {
    const all = parseStat(text);
    const lean = parseStat(text, '/proc/stat', { perCpu: false });
    assert.ok(all.cpus.length > 0);
    assert.deepEqual(lean.cpus, []);
    assert.deepEqual(lean.cpu, all.cpu);
    assert.equal(lean.processesRunning, all.processesRunning);
    assert.equal(lean.processesBlocked, all.processesBlocked);
    assert.equal(lean.contextSwitches, all.contextSwitches);
  });
  it('still rejects a missing aggregate line', () => {
    assert.throws(() => parseStat('cpu0 1 2 3 4\n', '/proc/stat', { perCpu: false }), /no aggregate "cpu " line/);
  });
});

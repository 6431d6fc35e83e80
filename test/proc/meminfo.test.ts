import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { estimateMemAvailableBytes, parseMeminfo, parseMeminfoSummary, readMeminfo } from '../../src/proc/meminfo';
import { assertParseError, procRoot } from './_helpers';

const KB = 1024;

describe('readMeminfo on fixture roots', () => {
  const cases = [
    {
      name: 'real capture (6.18): MemAvailable given',
      root: procRoot(),
      want: {
        memTotalBytes: 24684084 * KB,
        memFreeBytes: 24347968 * KB,
        memAvailableBytes: 24343500 * KB,
        memAvailableEstimated: false,
        buffersBytes: 2076 * KB,
        cachedBytes: 194200 * KB,
        swapTotalBytes: 0,
        swapFreeBytes: 0,
        lines: 54,
      },
    },
    {
      // procps-ng formula with min_free_kbytes at the kernel default for 16464260 kB:
      // floor(sqrt(16464260 * 16)) = 16230 kB, low = floor(16230 * 5 / 4) = 20287 kB.
      // 5206868 - 20287 + (3398964 + 4009588) - 20287 + 884568 - 20287 = 13439127 kB
      name: 'pre-3.14 (RHEL 6 era): MemAvailable estimated from page cache and SReclaimable',
      root: procRoot('meminfo-no-memavailable'),
      want: {
        memTotalBytes: 16464260 * KB,
        memFreeBytes: 5206868 * KB,
        memAvailableBytes: 13439127 * KB,
        memAvailableEstimated: true,
        buffersBytes: 17980 * KB,
        cachedBytes: 7395552 * KB,
        swapTotalBytes: 2096476 * KB,
        swapFreeBytes: 1264996 * KB,
        lines: 42,
      },
    },
    {
      // No Active(file)/Inactive(file): MemFree + Buffers + Cached = 13634064 + 3656 + 1195708 kB
      name: '2.6.9 shape: no file LRU split, falls back to MemFree + Buffers + Cached',
      root: procRoot('meminfo-2.6.9'),
      want: {
        memTotalBytes: 16344972 * KB,
        memFreeBytes: 13634064 * KB,
        memAvailableBytes: 14833428 * KB,
        memAvailableEstimated: true,
        buffersBytes: 3656 * KB,
        cachedBytes: 1195708 * KB,
        swapTotalBytes: 0,
        swapFreeBytes: 0,
        lines: 23,
      },
    },
  ];
  for (const { name, root, want } of cases) {
    it(name, () => {
      const { values, ...m } = readMeminfo(root);
      const { lines, ...rest } = want;
      assert.deepEqual(m, rest);
      assert.equal(Object.keys(values).length, lines);
    });
  }

  it('keeps every line keyed as the kernel spells it; unitless lines are counts', () => {
    const real = readMeminfo(procRoot()).values;
    assert.equal(real['Active(file)'], 95904 * KB);
    assert.equal(real.HugePages_Total, 0);
    assert.equal(real.Hugepagesize, 2048 * KB);
    assert.equal(real.VmallocTotal, 34359738367 * KB);
    const old = readMeminfo(procRoot('meminfo-2.6.9')).values;
    assert.equal(old.ReverseMaps, 1080904);
    assert.equal(old.LowTotal, 747444 * KB);
  });
});

describe('estimateMemAvailableBytes', () => {
  const cases = [
    {
      name: 'LowTotal (32-bit highmem) bounds the watermark: sqrt(747444*16) = 3458 kB, low 4322 kB',
      input: { MemTotal: 16000000, MemFree: 100000, LowTotal: 747444, 'Active(file)': 1000, 'Inactive(file)': 1000, SReclaimable: 0 },
      // 100000 - 4322 + 2000 - min(1000, 4322) + 0 - 0
      want: 96678,
    },
    {
      name: 'watermark clamps at 65536 kB min_free (low 81920 kB) on big machines',
      input: { MemTotal: 1024 * 1024 * 1024, MemFree: 10000000, 'Active(file)': 100000000, 'Inactive(file)': 0, SReclaimable: 1000000 },
      // 10000000 - 81920 + 100000000 - 81920 + 1000000 - 81920
      want: 110754240,
    },
    {
      name: 'never below zero',
      input: { MemTotal: 1000000, MemFree: 10, 'Active(file)': 0, 'Inactive(file)': 0 },
      want: 0,
    },
    {
      name: 'never above MemTotal (fallback on a shape that double counts)',
      input: { MemTotal: 100, MemFree: 90, Buffers: 50, Cached: 50 },
      want: 100,
    },
  ];
  for (const { name, input, want } of cases) {
    it(name, () => {
      const bytes = Object.fromEntries(Object.entries(input).map(([k, v]) => [k, v * KB]));
      assert.equal(estimateMemAvailableBytes(bytes), want * KB);
    });
  }

  it('on this machine lands within 5% of the kernel\'s own MemAvailable', () => {
    const m = readMeminfo();
    const estimate = estimateMemAvailableBytes(m.values);
    assert.equal(m.memAvailableEstimated, false);
    assert.ok(Math.abs(estimate - m.memAvailableBytes) / m.memTotalBytes < 0.05, `${estimate} vs ${m.memAvailableBytes}`);
  });
});

describe('malformed /proc/meminfo', () => {
  const fixtures = [
    { name: 'empty file (fixture)', root: procRoot('empty'), want: { field: 'MemTotal' } },
    { name: 'truncated after "MemFree:" (fixture)', root: procRoot('truncated'), want: { line: 2, field: 'MemFree', input: 'MemFree:' } },
  ];
  for (const { name, root, want } of fixtures) {
    it(name, () => assertParseError(() => readMeminfo(root), { ...want, file: `${root}/meminfo` }));
  }
  const inline = [
    { name: 'no MemTotal', input: 'MemFree: 1 kB\n', want: { field: 'MemTotal' } },
    { name: 'no MemFree', input: 'MemTotal: 1 kB\n', want: { field: 'MemFree' } },
    { name: 'no colon', input: 'MemTotal: 1 kB\nMemFree 2 kB\n', want: { line: 2, field: 'key' } },
    { name: 'unit other than kB', input: 'MemTotal: 1 MB\nMemFree: 1 kB\n', want: { line: 1, field: 'MemTotal' } },
    { name: 'cut unit', input: 'MemTotal: 1 kB\nMemFree: 1 k', want: { line: 2, field: 'MemFree' } },
    { name: 'text after the unit', input: 'MemTotal: 1 kB x\nMemFree: 1 kB\n', want: { line: 1, field: 'MemTotal' } },
    { name: 'negative', input: 'MemTotal: -1 kB\nMemFree: 1 kB\n', want: { line: 1, field: 'MemTotal' } },
  ];
  for (const { name, input, want } of inline) {
    it(name, () => assertParseError(() => parseMeminfo(input), { ...want, file: '/proc/meminfo' }));
  }
});

describe('parseMeminfoSummary (the sampler reads four lines by search)', () => {
  const roots = [
    { name: 'real capture', root: procRoot() },
    { name: 'pre-3.14 (no MemAvailable): falls back to the full parse and its estimate', root: procRoot('meminfo-no-memavailable') },
    { name: 'early 2.6', root: procRoot('meminfo-2.6.9') },
  ];
  for (const { name, root } of roots) {
    it(`agrees with parseMeminfo: ${name}`, () => {
      const text = readFileSync(`${root}/meminfo`, 'utf8');
      const full = parseMeminfo(text);
      const s = parseMeminfoSummary(text);
      assert.deepEqual(
        [s.memTotalBytes, s.memAvailableBytes, s.swapTotalBytes, s.swapFreeBytes],
        [full.memTotalBytes, full.memAvailableBytes, full.swapTotalBytes, full.swapFreeBytes],
      );
    });
  }
  const cases = [
    { name: 'first line', input: 'MemTotal: 2 kB\nMemAvailable: 1 kB\n', want: { memTotalBytes: 2048, memAvailableBytes: 1024 } },
    { name: 'a key that only starts like another is not it', input: 'MemTotalX: 9 kB\nMemTotal: 2 kB\nMemFree: 1 kB\nMemAvailable: 1 kB\n', want: { memTotalBytes: 2048, memAvailableBytes: 1024 } },
    { name: 'swap lines kept', input: 'MemTotal: 2 kB\nMemAvailable: 1 kB\nSwapTotal: 4 kB\nSwapFree: 3 kB\n', want: { memTotalBytes: 2048, memAvailableBytes: 1024, swapTotalBytes: 4096, swapFreeBytes: 3072 } },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual({ ...parseMeminfoSummary(c.input) }, c.want));
  const bad = [
    { name: 'a malformed line it reads', input: 'MemTotal: 2 kB\nMemAvailable: x kB\n', want: { line: 2, field: 'MemAvailable' } },
    { name: 'a wrong unit', input: 'MemTotal: 2 MB\nMemAvailable: 1 kB\n', want: { line: 1, field: 'MemTotal' } },
    { name: 'no MemTotal at all', input: 'MemAvailable: 1 kB\nMemFree: 1 kB\n', want: { field: 'MemTotal' } },
  ];
  for (const { name, input, want } of bad) {
    it(`rejects ${name}`, () => assertParseError(() => parseMeminfoSummary(input), { ...want, file: '/proc/meminfo' }));
  }
});

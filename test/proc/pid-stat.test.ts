import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePidStat, readPidStat } from '../../src/proc/pid-stat';
import { assertParseError, procRoot } from './_helpers';

const U64_MAX = 18446744073709551615;

describe('readPidStat on fixture roots', () => {
  const cases = [
    {
      name: 'sleep (real capture)',
      root: procRoot(),
      pid: 4242,
      want: { pid: 4242, comm: 'sleep', state: 'S', ppid: 1, utimeTicks: 0, stimeTicks: 0, numThreads: 1, startTimeTicks: 46625, vsizeBytes: 2990080, rssPages: 393 },
    },
    {
      name: 'busy node, 7 threads (real capture)',
      root: procRoot(),
      pid: 4244,
      want: { pid: 4244, comm: 'node', state: 'R', ppid: 1, utimeTicks: 878, stimeTicks: 1, numThreads: 7, startTimeTicks: 46624, vsizeBytes: 812822528, rssPages: 10894 },
    },
    {
      name: 'kernel thread: no memory (real capture)',
      root: procRoot(),
      pid: 2,
      want: { pid: 2, comm: 'kthreadd', state: 'S', ppid: 0, utimeTicks: 0, stimeTicks: 0, numThreads: 1, startTimeTicks: 25, vsizeBytes: 0, rssPages: 0 },
    },
    {
      name: 'comm with spaces and parentheses: "(my (weird) proc)" split at the last ")"',
      root: procRoot('comm-parens'),
      pid: 4243,
      want: { pid: 4243, comm: 'my (weird) proc', state: 'S', ppid: 1, utimeTicks: 0, stimeTicks: 0, numThreads: 1, startTimeTicks: 46625, vsizeBytes: 2990080, rssPages: 393 },
    },
    {
      name: 'comm with ") " and a newline (set by prctl)',
      root: procRoot('comm-newline'),
      pid: 4246,
      want: { pid: 4246, comm: 'a) b\nc (d', state: 'S', ppid: 6448, utimeTicks: 3, stimeTicks: 0, numThreads: 1, startTimeTicks: 46625, vsizeBytes: 17145856, rssPages: 3434 },
    },
    {
      name: 'zombie: state Z, no memory',
      root: procRoot('zombie'),
      pid: 4245,
      want: { pid: 4245, comm: 'python3', state: 'Z', ppid: 6449, utimeTicks: 0, stimeTicks: 0, numThreads: 1, startTimeTicks: 46641, vsizeBytes: 0, rssPages: 0 },
    },
    {
      name: 'u64 max in utime, stime, starttime, vsize, rss',
      root: procRoot('u64-max'),
      pid: 4247,
      want: { pid: 4247, comm: 'node', state: 'R', ppid: 1, utimeTicks: U64_MAX, stimeTicks: U64_MAX, numThreads: 7, startTimeTicks: U64_MAX, vsizeBytes: U64_MAX, rssPages: U64_MAX },
    },
  ];
  for (const { name, root, pid, want } of cases) it(name, () => assert.deepEqual(readPidStat(pid, root), want));

  it('a vanished pid is null', () => assert.equal(readPidStat(999999, procRoot()), null));
});

describe('malformed /proc/[pid]/stat', () => {
  const fixtures = [
    { name: 'empty file (fixture)', root: procRoot('empty'), pid: 4248, want: { field: 'pid' } },
    { name: 'truncated after ppid and pgrp (fixture)', root: procRoot('truncated'), pid: 4249, want: { line: 1, field: 'session (field 6)', input: '4249 (sleep) S 1 6446' } },
  ];
  for (const { name, root, pid, want } of fixtures) {
    it(name, () => assertParseError(() => readPidStat(pid, root), { ...want, file: `${root}/${pid}/stat` }));
  }
  const tail = ' S 1 2 3 0 -1 4194304 1 0 0 0 5 6 0 0 20 0 1 0 100 2000 30';
  const bad = [
    { name: 'no parentheses', input: '1 init S 0', want: { line: 1, field: 'comm' } },
    { name: 'pid not a number', input: `x (a)${tail}`, want: { line: 1, field: 'pid (field 1)' } },
    { name: 'no space between pid and comm', input: `1(a)${tail}`, want: { line: 1, field: 'pid (field 1)' } },
    { name: 'state is two letters', input: `1 (a) SS 1 2 3`, want: { line: 1, field: 'state (field 3)' } },
    { name: 'nothing after comm', input: '1 (a)', want: { line: 1, field: 'state (field 3)' } },
    { name: 'utime negative', input: `1 (a) S 1 2 3 0 -1 4194304 1 0 0 0 -5 6 0 0 20 0 1 0 100 2000 30`, want: { line: 1, field: 'utime (field 14)' } },
    { name: 'stops before rss', input: `1 (a) S 1 2 3 0 -1 4194304 1 0 0 0 5 6 0 0 20 0 1 0 100 2000`, want: { line: 1, field: 'rss (field 24)' } },
    { name: 'error after a newline in comm counts lines', input: `1 (a\nb) S x`, want: { line: 2, field: 'ppid (field 4)' } },
  ];
  for (const { name, input, want } of bad) it(name, () => assertParseError(() => parsePidStat(input), { ...want, file: '/proc/[pid]/stat' }));

  it('negative priority, nice, tty and a trailing newline are fine', () => {
    const s = parsePidStat('7 (x) S 1 7 7 -1 -1 0 0 0 0 0 10 20 0 0 -2 -20 3 0 500 4096 30\n');
    assert.deepEqual(s, { pid: 7, comm: 'x', state: 'S', ppid: 1, utimeTicks: 10, stimeTicks: 20, numThreads: 3, startTimeTicks: 500, vsizeBytes: 4096, rssPages: 30 });
  });
});

it('reads this process from the real /proc', () => {
  const s = readPidStat(process.pid);
  assert.ok(s !== null);
  assert.equal(s.pid, process.pid);
  assert.equal(s.ppid, process.ppid);
  assert.ok(s.numThreads >= 1 && s.rssPages > 0);
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLoadavg, readLoadavg } from '../../src/proc/loadavg';
import { assertParseError, procRoot } from './_helpers';

describe('loadavg', () => {
  it('reads the real capture', () => {
    assert.deepEqual(readLoadavg(procRoot()), { load1: 0.22, load5: 0.21, load15: 0.1, runningTasks: 3, totalTasks: 114, lastPid: 6625 });
  });

  const ok = [
    { name: 'no trailing newline', input: '12.50 3.00 0.00 10/2000 4194304', want: { load1: 12.5, load5: 3, load15: 0, runningTasks: 10, totalTasks: 2000, lastPid: 4194304 } },
  ];
  for (const { name, input, want } of ok) it(name, () => assert.deepEqual(parseLoadavg(input), want));

  const fixtures = [
    { name: 'empty file (fixture)', root: procRoot('empty'), want: { line: 1, field: 'load1' } },
    { name: 'truncated after two averages (fixture)', root: procRoot('truncated'), want: { line: 1, field: 'load15', input: '0.94 0.30' } },
  ];
  for (const { name, root, want } of fixtures) {
    it(name, () => assertParseError(() => readLoadavg(root), { ...want, file: `${root}/loadavg` }));
  }

  const bad = [
    { name: 'no slash', input: '0.1 0.2 0.3 1 89 4885\n', want: { field: 'running/total' } },
    { name: 'missing total', input: '0.1 0.2 0.3 1/ 4885\n', want: { field: 'running/total' } },
    { name: 'missing last pid', input: '0.1 0.2 0.3 1/89\n', want: { field: 'lastPid' } },
    { name: 'extra text', input: '0.1 0.2 0.3 1/89 4885 x\n', want: { field: 'lastPid' } },
    { name: 'comma decimal', input: '0,1 0.2 0.3 1/89 4885\n', want: { field: 'load1' } },
  ];
  for (const { name, input, want } of bad) it(name, () => assertParseError(() => parseLoadavg(input), { ...want, line: 1, file: '/proc/loadavg' }));

  it('reads the real /proc/loadavg', () => {
    const l = readLoadavg();
    assert.ok(l.totalTasks >= l.runningTasks && l.totalTasks > 0 && l.lastPid > 0);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseUptime, readUptime } from '../../src/proc/uptime';
import { assertParseError, procRoot } from './_helpers';

describe('uptime', () => {
  it('reads the real capture', () => assert.deepEqual(readUptime(procRoot()), { uptimeSeconds: 476.09, idleSeconds: 869.44 }));

  const ok = [
    { name: 'a year of uptime', input: '31536000.99 63000000.01\n', want: { uptimeSeconds: 31536000.99, idleSeconds: 63000000.01 } },
    { name: 'no newline', input: '1.00 0.50', want: { uptimeSeconds: 1, idleSeconds: 0.5 } },
  ];
  for (const { name, input, want } of ok) it(name, () => assert.deepEqual(parseUptime(input), want));

  const fixtures = [
    { name: 'empty file (fixture)', root: procRoot('empty'), want: { field: 'uptime' } },
    { name: 'truncated, idle missing (fixture)', root: procRoot('truncated'), want: { field: 'idle', input: '314.5' } },
  ];
  for (const { name, root, want } of fixtures) {
    it(name, () => assertParseError(() => readUptime(root), { ...want, line: 1, file: `${root}/uptime` }));
  }
  const bad = [
    { name: 'negative', input: '-1.00 2.00\n', want: { field: 'uptime' } },
    { name: 'third value', input: '1.00 2.00 3.00\n', want: { field: 'idle' } },
  ];
  for (const { name, input, want } of bad) it(name, () => assertParseError(() => parseUptime(input), { ...want, line: 1 }));

  it('reads the real /proc/uptime', () => assert.ok(readUptime().uptimeSeconds > 0));
});

import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePressure, readAllPressure, readPressure } from '../../src/proc/pressure';
import { assertParseError, procRoot } from './_helpers';

const U64_MAX = 18446744073709551615;
const line = (avg10: number, avg60: number, avg300: number, totalMicros: number) => ({ avg10, avg60, avg300, totalMicros });

describe('readPressure / readAllPressure on fixture roots', () => {
  const cases = [
    {
      name: 'real capture (6.18): some and full for all three',
      root: procRoot(),
      want: {
        cpu: { some: line(0.29, 1.09, 1.69, 12118442), full: line(0, 0, 0, 0) },
        memory: { some: line(0, 0, 0, 1739), full: line(0, 0, 0, 1034) },
        io: { some: line(0, 0.05, 0.07, 1051408), full: line(0, 0.03, 0.03, 737391) },
      },
    },
    {
      name: 'cpu with only "some" (kernels 4.20-5.12): full absent, not zero',
      root: procRoot('psi-cpu-some-only'),
      want: {
        cpu: { some: line(0.29, 1.09, 1.69, 12118442) },
        memory: { some: line(0, 0, 0, 1739), full: line(0, 0, 0, 1034) },
        io: { some: line(0, 0.05, 0.07, 1051408), full: line(0, 0.03, 0.03, 737391) },
      },
    },
    { name: 'no /proc/pressure folder: PSI unavailable is null', root: procRoot('no-psi'), want: null },
  ];
  for (const { name, root, want } of cases) it(name, () => assert.deepEqual(readAllPressure(root), want));

  it('a missing resource alone is null, the others still read', () => {
    const root = procRoot('u64-max');
    assert.equal(readPressure('cpu', root), null);
    assert.deepEqual(readAllPressure(root), { cpu: null, memory: null, io: { some: line(0, 0, 0, U64_MAX), full: line(0, 0, 0, U64_MAX) } });
  });

  it('an unreadable pressure file that is not missing (EISDIR) is an error, not "unavailable"', () => {
    const root = mkdtempSync(join(tmpdir(), 'pf-psi-'));
    try {
      mkdirSync(join(root, 'pressure', 'cpu'), { recursive: true });
      assert.throws(() => readPressure('cpu', root), { code: 'EISDIR' });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('malformed pressure files', () => {
  const fixtures = [
    { name: 'empty file (fixture)', root: procRoot('empty'), want: { field: 'some' } },
    { name: 'truncated inside avg60: avg300 missing (fixture)', root: procRoot('truncated'), want: { line: 1, field: 'some avg300', input: 'some avg10=0.29 avg60=1.0' } },
  ];
  for (const { name, root, want } of fixtures) {
    it(name, () => assertParseError(() => readPressure('cpu', root), { ...want, file: `${root}/pressure/cpu` }));
  }
  const some = 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n';
  const bad = [
    { name: 'only full', input: 'full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n', want: { field: 'some' } },
    { name: 'unknown kind', input: `${some}half avg10=1.00\n`, want: { line: 2, field: 'kind' } },
    { name: 'keys out of order', input: 'some avg60=0.00 avg10=0.00 avg300=0.00 total=0\n', want: { line: 1, field: 'some avg10' } },
    { name: 'total not an integer', input: 'some avg10=0.00 avg60=0.00 avg300=0.00 total=1.5\n', want: { line: 1, field: 'some total' } },
    { name: 'total missing', input: 'some avg10=0.00 avg60=0.00 avg300=0.00\n', want: { line: 1, field: 'some total' } },
    { name: 'two some lines', input: `${some}${some}`, want: { line: 2, field: 'some' } },
  ];
  for (const { name, input, want } of bad) it(name, () => assertParseError(() => parsePressure(input), want));
});

test('reads the real /proc/pressure when this kernel has PSI', (t) => {
  const all = readAllPressure();
  if (all === null) return t.skip('no PSI on this kernel');
  assert.ok(all.cpu !== null && all.cpu.some.avg10 >= 0 && all.cpu.some.avg10 <= 100);
});

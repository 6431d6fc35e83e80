import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execFileSync } from 'node:child_process';
import { parseBootId, parseHostname, parseOsRelease, readBootId, readHostname, readOsRelease } from '../../src/proc/sys-kernel';
import { assertParseError, procRoot } from './_helpers';

describe('/proc/sys/kernel readers on fixture roots', () => {
  const cases = [
    { name: 'real capture', root: procRoot(), want: { bootId: 'a2713330-b71d-441a-8210-db83e7b561f0', hostname: 'vm', osRelease: '6.18.44-fc-v669' } },
    { name: 'missing files are undefined', root: procRoot('no-psi'), want: { bootId: undefined, hostname: undefined, osRelease: undefined } },
  ];
  for (const { name, root, want } of cases) {
    it(name, () => assert.deepEqual({ bootId: readBootId(root), hostname: readHostname(root), osRelease: readOsRelease(root) }, want));
  }

  it('empty hostname and osrelease are undefined; an empty boot_id is malformed (fixture)', () => {
    const root = procRoot('empty');
    assert.equal(readHostname(root), undefined);
    assert.equal(readOsRelease(root), undefined);
    assertParseError(() => readBootId(root), { field: 'boot_id', file: `${root}/sys/kernel/random/boot_id` });
  });

  it('a truncated boot_id is malformed (fixture)', () => {
    const root = procRoot('truncated');
    assertParseError(() => readBootId(root), { field: 'boot_id', input: 'a2713330-b71d-441' });
  });
});

describe('parse functions', () => {
  const bootIds = [
    { name: 'uppercase is not what the kernel prints', input: 'A2713330-B71D-441A-8210-DB83E7B561F0\n' },
    { name: 'no hyphens', input: 'a2713330b71d441a8210db83e7b561f0\n' },
    { name: 'two ids', input: 'a2713330-b71d-441a-8210-db83e7b561f0\na2713330-b71d-441a-8210-db83e7b561f0\n' },
  ];
  for (const { name, input } of bootIds) it(`boot_id: ${name}`, () => assertParseError(() => parseBootId(input), { field: 'boot_id' }));

  it('trims', () => {
    assert.equal(parseBootId('  a2713330-b71d-441a-8210-db83e7b561f0\n'), 'a2713330-b71d-441a-8210-db83e7b561f0');
    assert.equal(parseHostname('web-1\n'), 'web-1');
    assert.equal(parseOsRelease('5.15.0-91-generic\n'), '5.15.0-91-generic');
  });
  it('a hostname over two lines is malformed', () => assertParseError(() => parseHostname('a\nb\n'), { field: 'hostname' }));
});

it('matches uname on this machine', () => {
  assert.equal(readOsRelease(), execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim());
  assert.equal(readHostname(), execFileSync('uname', ['-n'], { encoding: 'utf8' }).trim());
  assert.match(readBootId() ?? '', /^[0-9a-f-]{36}$/);
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execFileSync } from 'node:child_process';
import { parseKernelPageSize, readPageSize } from '../../src/proc/smaps';
import { assertParseError, procRoot } from './_helpers';

describe('page size from smaps', () => {
  const head = '5643e6a98000-5643e6a9a000 r--p 00000000 fe:00 260386  /usr/bin/head\nSize:                  8 kB\n';
  const cases = [
    { name: 'x86_64 capture: 4 kB', input: `${head}KernelPageSize:        4 kB\nMMUPageSize:           4 kB\n`, want: 4096 },
    { name: '64 kB pages (ppc64, some arm64)', input: `${head}KernelPageSize:       64 kB\n`, want: 65536 },
    { name: 'cut before the line', input: head, want: undefined },
    { name: 'empty', input: '', want: undefined },
  ];
  for (const { name, input, want } of cases) it(name, () => assert.equal(parseKernelPageSize(input), want));

  it('a malformed KernelPageSize line is a ParseError', () => {
    assertParseError(() => parseKernelPageSize(`${head}KernelPageSize:   4 MB\n`), { line: 3, field: 'KernelPageSize' });
  });

  it('matches getconf PAGESIZE on this machine', () => {
    assert.equal(readPageSize(), Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()));
  });

  it('falls back to 4096 where there is no smaps (fixture root)', () => assert.equal(readPageSize(procRoot()), 4096));
});

// Reading the captured outputs under fixtures/signatures/ as the journal would hold them: one entry per
// printed line, in order.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { scanSignatures } from '../../../src/diagnosis/signatures/index';
import type { SignatureMatch } from '../../../src/diagnosis/signatures/types';

export const FIXTURES = join(__dirname, '..', '..', '..', 'fixtures', 'signatures');

/** The lines of fixtures/signatures/<family>/<name>.txt (the final newline ends the last line). */
export function fixtureLines(family: string, name: string): string[] {
  const text = readFileSync(join(FIXTURES, family, `${name}.txt`), 'utf8');
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
}

/** from..to inclusive */
export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, k) => from + k);
}

/** A match with the line it quotes, so a table can assert the quote next to the index. */
export type Seen = SignatureMatch & { quote: string };

export function withQuotes(lines: readonly string[], matches: readonly SignatureMatch[]): Seen[] {
  return matches.map((m) => ({ ...m, quote: lines[m.line]! }));
}

/** The capture's temp folder as printed (`/tmp/sig-capture.XXXXXX`): it changes with every capture. */
export function captureDir(lines: readonly string[]): string {
  const m = /\/tmp\/sig-capture\.\w+/.exec(lines.join('\n'));
  if (!m) throw new Error('no capture folder in the fixture');
  return m[0];
}

/** A fixture and the FULL list of matches scanSignatures must give for it (values read back from its lines). */
export interface FixtureCase {
  name: string;
  dir: string;
  file: string;
  want: (lines: string[]) => Seen[];
}

/** One test per fixture: every match, exactly, with the line each quotes. */
export function describeFixtures(title: string, cases: readonly FixtureCase[]): void {
  describe(title, () => {
    for (const { name, dir, file, want } of cases) {
      it(`${dir}/${file}: ${name}`, () => {
        const lines = fixtureLines(dir, file);
        assert.deepEqual(withQuotes(lines, scanSignatures(lines)), want(lines));
      });
    }
  });
}

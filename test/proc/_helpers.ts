// Shared by the /proc parser tests: where the fixtures are, and a ParseError assertion on fields
// (file, 1-based line, field) rather than on message text.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParseError } from '../../src/util/errors';

export const FIXTURES = join(__dirname, '..', '..', 'fixtures');

/** A fixture root usable as a reader's `root`: fixtures/proc or fixtures/edge/<name>/proc. */
export function procRoot(edge?: string): string {
  return edge === undefined ? join(FIXTURES, 'proc') : join(FIXTURES, 'edge', edge, 'proc');
}

export function readFixture(...parts: string[]): string {
  return readFileSync(join(FIXTURES, ...parts), 'utf8');
}

export interface WantError {
  line?: number;
  field?: string;
  file?: string;
  /** A substring of the quoted input. */
  input?: string;
}

export function assertParseError(fn: () => unknown, want: WantError): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ParseError, `expected ParseError, got ${String(err)}`);
    if (want.file !== undefined) assert.equal(err.file, want.file);
    if (want.line !== undefined) assert.equal(err.line, want.line, err.message);
    if (want.field !== undefined) assert.equal(err.field, want.field, err.message);
    if (want.input !== undefined) assert.ok((err.input ?? '').includes(want.input), `input ${JSON.stringify(err.input)} lacks ${want.input}`);
    assert.ok(err.message.startsWith(err.file), 'message starts with the file');
    return true;
  });
}

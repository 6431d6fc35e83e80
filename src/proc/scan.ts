// Shared scanning for the /proc parsers. They run every few seconds next to a bare readFileSync, so
// they walk the text with indexOf/charCodeAt (no split, no regex per line) and build the expensive
// parts of an error (line number, quoted line) only on the failure path.
import { readFileSync } from 'node:fs';
import { ParseError, isErrno } from '../util/errors';

const TAB = 9;
const NL = 10;
const SPACE = 32;
const DOT = 46;
const MINUS = 45;
const ZERO = 48;
const NINE = 57;

/**
 * Up to 15 decimal digits, `n * 10 + d` is exact in a double. Longer runs (u64 counters reach 20
 * digits) go through Number(), which rounds once and correctly; precision past 2^53 is lost by design.
 */
const EXACT_DIGITS = 15;

/** 1-based number of the line holding `pos`. */
export function lineNumberAt(text: string, pos: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < pos; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** The line holding `pos`, without its newline, for quoting in an error. */
export function lineAt(text: string, pos: number): string {
  const start = pos > 0 ? text.lastIndexOf('\n', pos - 1) + 1 : 0;
  const end = text.indexOf('\n', start);
  return text.slice(start, end === -1 ? text.length : end);
}

export function parseErrorAt(text: string, file: string, pos: number, field: string, reason: string): ParseError {
  const at = Math.min(Math.max(pos, 0), text.length);
  return new ParseError({ file, line: lineNumberAt(text, at), field, input: lineAt(text, at) }, reason);
}

/** A read position in one kernel file's text; one per parse call. */
export class Cursor {
  pos = 0;
  readonly text: string;
  readonly file: string;

  constructor(text: string, file: string) {
    this.text = text;
    this.file = file;
  }

  get atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  /** At the end of the text or of the current line. */
  get atLineEnd(): boolean {
    return this.pos >= this.text.length || this.text.charCodeAt(this.pos) === NL;
  }

  /** At a character that may end a number: blank, newline or the end of the text. */
  get atSeparator(): boolean {
    if (this.pos >= this.text.length) return true;
    const c = this.text.charCodeAt(this.pos);
    return c === SPACE || c === TAB || c === NL;
  }

  /** Skip spaces and tabs, never a newline. */
  blanks(): void {
    const t = this.text;
    let i = this.pos;
    for (let c = t.charCodeAt(i); c === SPACE || c === TAB; c = t.charCodeAt(++i));
    this.pos = i;
  }

  /** Index of the newline ending the current line, or the text's length. */
  lineEnd(): number {
    const i = this.text.indexOf('\n', this.pos);
    return i === -1 ? this.text.length : i;
  }

  /** Move to the start of the next line (or to the end). */
  nextLine(): void {
    const i = this.text.indexOf('\n', this.pos);
    this.pos = i === -1 ? this.text.length : i + 1;
  }

  /** Consume `s` if the text continues with it. */
  eat(s: string): boolean {
    if (!this.text.startsWith(s, this.pos)) return false;
    this.pos += s.length;
    return true;
  }

  /** An unsigned decimal integer at the cursor; NaN (cursor unmoved) when there is no digit. */
  uint(): number {
    const t = this.text;
    const start = this.pos;
    let i = start;
    let n = 0;
    for (let c = t.charCodeAt(i); c >= ZERO && c <= NINE; c = t.charCodeAt(++i)) n = n * 10 + (c - ZERO);
    if (i === start) return NaN;
    this.pos = i;
    return i - start > EXACT_DIGITS ? Number(t.slice(start, i)) : n;
  }

  /** A decimal integer with an optional leading '-'; NaN (cursor unmoved) when malformed. */
  int(): number {
    if (this.text.charCodeAt(this.pos) !== MINUS) return this.uint();
    this.pos++;
    const v = this.uint();
    if (Number.isNaN(v)) this.pos--;
    return -v;
  }

  /**
   * A non-negative decimal such as `32.08` or `314`; NaN (cursor unmoved) when malformed. Computed as
   * digits / 10^k, one correctly rounded division, so it equals what parseFloat would give.
   */
  decimal(): number {
    const t = this.text;
    const start = this.pos;
    let i = start;
    let m = 0;
    let digits = 0;
    let scale = 1;
    let dot = false;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c >= ZERO && c <= NINE) {
        m = m * 10 + (c - ZERO);
        digits++;
        if (dot) scale *= 10;
      } else if (c === DOT && !dot && digits > 0) {
        dot = true;
      } else {
        break;
      }
      i++;
    }
    if (digits === 0 || (dot && scale === 1)) return NaN;
    this.pos = i;
    return digits > EXACT_DIGITS ? Number(t.slice(start, i)) : m / scale;
  }

  /** Skip blanks, then read an unsigned integer that must end at a separator. */
  uintField(field: string): number {
    this.blanks();
    const v = this.uint();
    if (Number.isNaN(v) || !this.atSeparator) this.fail(field, 'expected an unsigned integer');
    return v;
  }

  /** Skip blanks, then read a signed integer that must end at a separator. */
  intField(field: string): number {
    this.blanks();
    const v = this.int();
    if (Number.isNaN(v) || !this.atSeparator) this.fail(field, 'expected an integer');
    return v;
  }

  /** Skip blanks, then read a decimal that must end at a separator. */
  decimalField(field: string): number {
    this.blanks();
    const v = this.decimal();
    if (Number.isNaN(v) || !this.atSeparator) this.fail(field, 'expected a decimal number');
    return v;
  }

  /** Skip one blank-separated token on the current line; fail when the line has ended. */
  skipToken(field: string): void {
    this.blanks();
    if (this.atLineEnd) this.fail(field, 'missing (line ends early)');
    const t = this.text;
    let i = this.pos;
    for (let c = t.charCodeAt(i); i < t.length && c !== SPACE && c !== TAB && c !== NL; c = t.charCodeAt(++i));
    this.pos = i;
  }

  fail(field: string, reason: string, at: number = this.pos): never {
    throw parseErrorAt(this.text, this.file, at, field, reason);
  }
}

/** errno codes meaning "the thing is not there": a missing file, or a pid that exited under us. */
export const GONE: ReadonlySet<string> = new Set(['ENOENT', 'ESRCH']);


/** One readFileSync; null when it fails with one of `absent` (the thing is not there), else throws. */
export function readTextOr(file: string, absent: ReadonlySet<string>): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if (isErrno(err, absent)) return null;
    throw err;
  }
}

// Error classes carry the context a user needs to act (which file, which line, which command),
// so the CLI can print one clear line and tests can assert on fields instead of message text.
import { firstLine } from './text';

/** Quote at most `max` characters of bad input so an error never floods a terminal or a log. */
export function quote(input: string, max = 80): string {
  const s = input.length > max ? `${input.slice(0, max)}…` : input;
  return JSON.stringify(s);
}

/** A kernel file or command output that does not have the shape its source promises. */
export class ParseError extends Error {
  override name = 'ParseError';
  readonly file: string;
  readonly line: number | undefined;
  readonly field: string | undefined;
  readonly input: string | undefined;
  constructor(
    at: { file: string; line?: number; field?: string; input?: string },
    reason: string,
    options?: { cause?: unknown },
  ) {
    const where = at.line === undefined ? at.file : `${at.file}:${at.line}`;
    const field = at.field === undefined ? '' : ` ${at.field}:`;
    const got = at.input === undefined ? '' : ` (got ${quote(at.input)})`;
    super(`${where}:${field} ${reason}${got}`, options);
    this.file = at.file;
    this.line = at.line;
    this.field = at.field;
    this.input = at.input;
  }
}

/** An external command that failed, timed out, or could not be started. */
export class CommandError extends Error {
  override name = 'CommandError';
  readonly command: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stderr: string;
  readonly timedOut: boolean;
  constructor(
    r: { command: string; exitCode: number | null; signal?: string | null; stderr?: string; timedOut?: boolean },
    reason: string,
    options?: { cause?: unknown },
  ) {
    const stderr = (r.stderr ?? '').trim();
    const line = firstLine(stderr);
    super(`${r.command}: ${reason}${line ? `: ${line}` : ''}`, options);
    this.command = r.command;
    this.exitCode = r.exitCode;
    this.signal = r.signal ?? null;
    this.stderr = stderr;
    this.timedOut = r.timedOut ?? false;
  }
}

/** A configuration file (or flag) the user must fix; line and column are 1-based. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly file: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly hint: string | undefined;
  constructor(
    at: { file: string; line?: number; column?: number },
    reason: string,
    hint?: string,
    options?: { cause?: unknown },
  ) {
    const pos = at.line === undefined ? '' : at.column === undefined ? `:${at.line}` : `:${at.line}:${at.column}`;
    super(`${at.file}${pos}: ${reason}${hint ? ` (${hint})` : ''}`, options);
    this.file = at.file;
    this.line = at.line;
    this.column = at.column;
    this.hint = hint;
  }
}

/** The user asked for something the CLI does not understand; exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Node's errno errors, narrowed without `any`. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** True when `err` is an errno error whose code is in `codes`. */
export function isErrno(err: unknown, codes: ReadonlySet<string>): boolean {
  const code = errnoCode(err);
  return code !== undefined && codes.has(code);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

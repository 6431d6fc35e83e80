// Journal lines from `journalctl -o json`: the parse is pure, the readers are one journalctl call each.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { capMessage } from '../util/text';

export { capMessage }; // its tests live with the journal reader, its first user
import { CommandError, quote } from '../util/errors';
import { describeCommand, runLinesChecked } from '../util/exec';
import { unavailableFrom, type Unavailable } from './unavailable';
import { firstLine } from '../util/text';

/**
 * One journal entry (source: `journalctl -o json`, one JSON object per line; field names from
 * systemd.journal-fields(7)).
 */
export interface JournalEntry {
  /** ISO UTC, from __REALTIME_TIMESTAMP (microseconds since the epoch; kept to the millisecond) */
  at: string;
  /** syslog priority 0 (emerg) .. 7 (debug) */
  priority?: number;
  /** _PID (trusted), else SYSLOG_PID */
  pid?: number;
  /** MESSAGE, decoded (journald stores non-UTF-8 as bytes) and capped at maxMessageChars with '…' */
  message: string;
  /** journalctl gave no text for MESSAGE: null (over 4096 bytes without --all) or absent */
  messageOmitted?: true;
  /**
   * The unit the line is about: UNIT= for systemd's own lines about a unit ("Main process exited", sent
   * by PID 1 with _SYSTEMD_UNIT=init.scope), else the sender's _SYSTEMD_UNIT.
   */
  unit?: string;
  /** INVOCATION_ID= of the run systemd's line is about, else the sender's _SYSTEMD_INVOCATION_ID */
  invocationId?: string;
  /** the line is the manager's about a unit (it carries UNIT= or USER_UNIT=), not the unit's own output */
  fromManager?: true;
  cursor?: string;
  /** SYSLOG_IDENTIFIER: "kernel", "systemd", the program name */
  identifier?: string;
  /** _TRANSPORT: stdout (the service's stdout/stderr), journal, syslog, kernel, driver, audit */
  transport?: string;
  /**
   * JOB_TYPE= and JOB_RESULT= of PID 1's job lines about a unit ("Stopping x...", "Stopped x."):
   * start, stop, restart, reload, ...; done, failed, canceled, timeout, dependency, skipped, ...
   */
  jobType?: string;
  jobResult?: string;
  /** MESSAGE_ID= (128-bit id of a catalogued message: unit started, stopped, failed, coredump, ...) */
  messageId?: string;
}

export interface JournalParse {
  entries: JournalEntry[];
  /** Lines that were not a journal entry (bad JSON, a cut last line, no timestamp). */
  skipped: number;
  /** The first skipped line, for the capture's error list. */
  firstSkipped?: { line: number; reason: string; input: string };
}

type FieldValue = string | null | number[] | Array<string | null | number[]>;

function isBytes(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((b) => typeof b === 'number');
}

/**
 * journalctl's JSON field encodings: a string; null when the value is over 4096 bytes (without --all);
 * an array of byte values when it is not valid UTF-8; an array of those when the field repeats.
 * A repeated field gives its first value.
 */
function fieldText(v: unknown): string | null | undefined {
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (typeof v === 'string') return v;
  if (isBytes(v)) return Buffer.from(v).toString('utf8');
  if (Array.isArray(v)) return v.length > 0 ? fieldText((v as FieldValue[])[0]) : undefined;
  return undefined;
}

function str(v: unknown): string | undefined {
  const t = fieldText(v);
  return t === null || t === undefined || t === '' ? undefined : t;
}

function int(v: unknown): number | undefined {
  const t = str(v);
  return t !== undefined && /^\d+$/.test(t) ? Number(t) : undefined;
}

/** Journal fields kept as they are, by the entry's name for them. */
const TEXT_FIELDS: ReadonlyArray<readonly ['cursor' | 'identifier' | 'transport' | 'jobType' | 'jobResult' | 'messageId', string]> = [
  ['cursor', '__CURSOR'],
  ['identifier', 'SYSLOG_IDENTIFIER'],
  ['transport', '_TRANSPORT'],
  ['jobType', 'JOB_TYPE'],
  ['jobResult', 'JOB_RESULT'],
  ['messageId', 'MESSAGE_ID'],
];

/**
 * One line of `journalctl -o json`: its entry, or why it is none (bad JSON, not an object, no timestamp).
 * Null for a blank line.
 */
export function parseJournalLine(raw: string, opts: { maxMessageChars: number }): JournalEntry | { skip: string } | null {
  if (raw.trim() === '') return null;
  let obj: unknown;
  try {
    obj = JSON.parse(raw);
  } catch {
    return { skip: 'not JSON (a cut line?)' };
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return { skip: 'not a JSON object' };
  const f = obj as Record<string, unknown>;
  const realtime = str(f.__REALTIME_TIMESTAMP);
  if (realtime === undefined || !/^\d{1,17}$/.test(realtime)) return { skip: 'no __REALTIME_TIMESTAMP' };
  const message = fieldText(f.MESSAGE);
  const e: JournalEntry = {
    at: new Date(Math.floor(Number(realtime) / 1000)).toISOString(),
    message: typeof message === 'string' ? capMessage(message, opts.maxMessageChars) : '',
  };
  if (typeof message !== 'string') e.messageOmitted = true;
  const priority = int(f.PRIORITY);
  if (priority !== undefined) e.priority = priority;
  const pid = int(f._PID) ?? int(f.SYSLOG_PID);
  if (pid !== undefined) e.pid = pid;
  const aboutUnit = str(f.UNIT) ?? str(f.USER_UNIT);
  if (aboutUnit !== undefined) e.fromManager = true;
  const unit = aboutUnit ?? str(f._SYSTEMD_UNIT);
  if (unit !== undefined) e.unit = unit;
  const invocationId = aboutUnit !== undefined ? (str(f.INVOCATION_ID) ?? str(f._SYSTEMD_INVOCATION_ID)) : str(f._SYSTEMD_INVOCATION_ID);
  if (invocationId !== undefined) e.invocationId = invocationId;
  for (const [key, field] of TEXT_FIELDS) {
    const v = str(f[field]);
    if (v !== undefined) e[key] = v;
  }
  return e;
}

/**
 * Journal lines parsed as they arrive: keeps entries that pass `keep` until it has `limit` of them
 * (then says "enough"), counts the rest. Memory is the kept entries, never the output.
 */
export class JournalCollector {
  readonly result: JournalParse = { entries: [], skipped: 0 };
  private line = 0;

  constructor(private readonly opts: { maxMessageChars: number; limit?: number; keep?: (e: JournalEntry) => boolean }) {}

  /** False once `limit` entries are kept. */
  push(raw: string): boolean {
    this.line += 1;
    const p = parseJournalLine(raw, this.opts);
    if (p === null) return true;
    if ('skip' in p) {
      this.result.skipped += 1;
      this.result.firstSkipped ??= { line: this.line, reason: p.skip, input: quote(raw) };
      return true;
    }
    if (this.opts.keep && !this.opts.keep(p)) return true;
    this.result.entries.push(p);
    return this.opts.limit === undefined || this.result.entries.length < this.opts.limit;
  }
}

/**
 * Parse `journalctl -o json` output. Lines that are not an entry are skipped and counted, never
 * thrown: a capture keeps what it could read (a capped output always ends with a cut line).
 */
export function parseJournalJson(text: string, opts: { maxMessageChars: number }): JournalParse {
  const c = new JournalCollector(opts);
  for (const raw of text.split('\n')) c.push(raw);
  return c.result;
}

export interface JournalReadOptions {
  since: Date;
  timeoutMs: number;
  /** Cap on journalctl's output in bytes; the newest entries are kept. */
  maxBytes: number;
  /** Default 2000 characters. */
  maxMessageChars?: number;
  /** journalctl binary (default: `journalctl` from PATH). */
  journalctl?: string;
  /** Where journald keeps its files, checked only when the answer is empty (default: the standard two). */
  journalRoots?: readonly string[];
}

export type JournalRead =
  | { ok: true; entries: JournalEntry[]; skipped: number; truncated: boolean; command: string; durationMs: number }
  | Unavailable;

const JOURNAL_ROOTS = ['/var/log/journal', '/run/log/journal'];

const PERMISSION_FIX =
  'add the user preflight runs as to the systemd-journal group (usermod -aG systemd-journal USER, or SupplementaryGroups=systemd-journal in its unit)';

/**
 * The journalctl stderr lines that mean "you may not read this" (journalctl 252: the first is an error with
 * exit status 1 when no file could be opened; the hint is printed in text modes only, json implies -q).
 */
const PERMISSION = /insufficient permissions|not seeing messages from other users|Permission denied/;
const NO_FILES = /No journal files were found/;

/** Any journal file under the journald roots (one level of machine-id folders); false when none. */
export function journalFilesPresent(roots: readonly string[] = JOURNAL_ROOTS): boolean {
  for (const root of roots) {
    let dirs: fs.Dirent[];
    try {
      dirs = fs.readdirSync(root, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const d of dirs) {
      if (d.isFile() && d.name.endsWith('.journal')) return true;
      if (!d.isDirectory()) continue;
      try {
        if (fs.readdirSync(path.join(root, d.name)).some((n) => n.endsWith('.journal') || n.endsWith('.journal~'))) return true;
      } catch {
        // an unreadable folder still means journald writes there
        return true;
      }
    }
  }
  return false;
}

function sinceArg(since: Date): string {
  const ms = since.getTime();
  if (Number.isNaN(ms)) throw new RangeError('journal reader: since is an invalid Date');
  return `@${Math.floor(ms / 1000)}`;
}

/** The argv shared by both readers; -r -n: newest first, so an output cap drops the oldest lines. */
function baseArgs(since: Date, lines: number): string[] {
  return ['-o', 'json', '--no-pager', '--utc', '-q', '--since', sinceArg(since), '-r', '-n', String(Math.max(1, Math.floor(lines)))];
}

/** A unit name as journald stores it: `sshd` is `sshd.service` (journalctl -u mangles the same way). */
export function mangleUnitName(unit: string): string {
  return /\.(service|socket|target|device|mount|automount|swap|timer|path|slice|scope)$/.test(unit) ? unit : `${unit}.service`;
}

/**
 * The argv for one unit's lines. With an invocation ID: that run's own lines (_SYSTEMD_INVOCATION_ID) OR
 * systemd's lines about that run (INVOCATION_ID from root). Without: what `-u` matches (the unit's own
 * lines, root's lines with UNIT=, its core dumps, OBJECT_SYSTEMD_UNIT=), except that systemd's lines
 * about the unit are taken from any root sender, not only PID 1: the child systemd forks to exec the
 * program logs "Failed at step EXEC spawning ..." itself, and journald often cannot tell its unit
 * (fixtures/systemd/exec-203: 3 lines in `-u` against 5 with UNIT=).
 */
export function journalctlUnitArgs(unit: string, opts: { since: Date; lines: number; invocationId?: string }): string[] {
  const args = baseArgs(opts.since, opts.lines);
  if (opts.invocationId !== undefined) {
    if (!/^[0-9a-f]{32}$/.test(opts.invocationId)) throw new RangeError(`journal reader: invocation ID ${quote(opts.invocationId)} is not 32 hex digits`);
    args.push(`_SYSTEMD_INVOCATION_ID=${opts.invocationId}`, '+', `INVOCATION_ID=${opts.invocationId}`, '_UID=0');
  } else {
    const u = mangleUnitName(unit);
    args.push(`_SYSTEMD_UNIT=${u}`, '+', `UNIT=${u}`, '_UID=0', '+', `COREDUMP_UNIT=${u}`, '_UID=0', '+', `OBJECT_SYSTEMD_UNIT=${u}`, '_UID=0');
  }
  return args;
}

export function journalctlKernelArgs(opts: { since: Date; lines: number; grep?: string }): string[] {
  return ['-k', ...baseArgs(opts.since, opts.lines), ...(opts.grep === undefined ? [] : ['--grep', opts.grep])];
}

/**
 * What journalctl's stderr says about access, or undefined when it says nothing that matters (source:
 * journalctl 252 messages; see fixtures/cmd/journalctl-nonroot-*.stderr.txt).
 */
export function classifyJournalStderr(stderr: string): 'permission' | 'no-journal' | undefined {
  if (PERMISSION.test(stderr)) return 'permission';
  if (NO_FILES.test(stderr)) return 'no-journal';
  return undefined;
}

function problem(kind: 'permission' | 'no-journal', stderr: string, command: string): Unavailable {
  const line = firstLine(stderr.replace(/^Hint: .*\n(?:\s+.*\n)*/, ''));
  const reason =
    kind === 'permission'
      ? `journalctl: ${line || 'permission denied'}: ${PERMISSION_FIX}`
      : `journalctl: ${line || 'no journal files'}: journald is not running or keeps nothing (Storage=none?)`;
  return { ok: false, kind, reason, command };
}

/** journalctl built without PCRE2 refuses --grep with this (src/journal/journalctl.c). */
const NO_GREP = /without pattern matching support/;

/** Lines this long are not journal entries worth keeping (a field journald cut at 4096 bytes is null). */
const MAX_LINE_BYTES = 256 * 1024;

/** Which entries a read keeps, and how many: the first `limit` (newest first: the newest). */
interface Keep {
  limit?: number;
  keep?: (e: JournalEntry) => boolean;
}

/**
 * One journalctl call, its output parsed line by line as it arrives (never held whole).
 * `silentExit1IsEmpty`: --grep with no match exits 1 and says nothing (journalctl 252), which is an
 * empty answer, not a failure.
 */
async function readJournal(args: string[], opts: JournalReadOptions, keep: Keep, silentExit1IsEmpty = false): Promise<JournalRead> {
  const file = opts.journalctl ?? 'journalctl';
  const command = describeCommand(file, args);
  try {
    const collector = new JournalCollector({ maxMessageChars: opts.maxMessageChars ?? 2000, ...keep });
    const r = await runLinesChecked(file, args, {
      timeoutMs: opts.timeoutMs,
      maxBytes: opts.maxBytes,
      maxLineBytes: MAX_LINE_BYTES,
      env: { ...process.env, LC_ALL: 'C' },
      onLine: (line) => collector.push(line),
    }).catch((err: unknown) => {
      if (silentExit1IsEmpty && err instanceof CommandError && err.exitCode === 1 && err.stderr === '') {
        return { stderr: '', truncated: false, durationMs: 0, droppedLines: 0 };
      }
      throw err;
    });
    // a permission hint with exit 0 means "only your own lines": for a system unit that is none of them
    const said = classifyJournalStderr(r.stderr);
    if (said === 'permission') return problem(said, r.stderr, command);
    const parsed = collector.result;
    if (parsed.entries.length === 0) {
      // json output implies -q, so journalctl does not say "No journal files were found": look
      const roots = opts.journalRoots ?? JOURNAL_ROOTS;
      if (said === 'no-journal' || !journalFilesPresent(roots)) {
        return problem('no-journal', r.stderr || `No journal files were found in ${roots.join(' or ')}`, command);
      }
    }
    // read newest first (so a cap cuts the oldest); hand back in time order. The line a cap cut is
    // never handed over, so `skipped` counts only lines that were whole and still not entries.
    parsed.entries.reverse();
    return { ok: true, entries: parsed.entries, skipped: parsed.skipped + r.droppedLines, truncated: r.truncated, command, durationMs: r.durationMs };
  } catch (err) {
    const said = err instanceof CommandError ? classifyJournalStderr(err.stderr) : undefined;
    if (err instanceof CommandError && said !== undefined) return problem(said, err.stderr, command);
    return unavailableFrom(err, command, 'journalctl');
  }
}

function argsOrUnavailable(build: () => string[], tool: string): string[] | Unavailable {
  try {
    return build();
  } catch (err) {
    // a bad Date or invocation ID is a caller's bug, but a capture must still not die on it
    return { ok: false, kind: 'failed', reason: err instanceof Error ? err.message : String(err), command: tool };
  }
}

/**
 * A unit's last `lines` journal lines since `since`, in time order, including systemd's own lines about
 * the unit; with `invocationId`, only that run's (the dead run's, after a restart). Never throws:
 * no journalctl, no permission, no journal files, a timeout, bad arguments come back as `ok: false`.
 */
export async function readUnitJournal(
  unit: string,
  opts: JournalReadOptions & { lines: number; invocationId?: string },
): Promise<JournalRead> {
  const args = argsOrUnavailable(() => journalctlUnitArgs(unit, opts), 'journalctl');
  // journalctl -n already stops at `lines`; a journalctl that does not (or a flood) is stopped there too
  return Array.isArray(args) ? readJournal(args, opts, { limit: Math.max(1, Math.floor(opts.lines)) }) : args;
}

/**
 * The kernel's lines (this boot) since `since`, in time order; the newest `lines` (default 2000) at most.
 * With `grep` (a PCRE2 pattern, e.g. KERNEL_GREP) only matching lines, so the cap is spent on them; a
 * journalctl built without pattern support is asked again without it. With `keep`, only the entries it
 * accepts are kept as they arrive, the newest `keepLines` of them (the rest of the output is never held).
 */
export async function readKernelJournal(
  opts: JournalReadOptions & { lines?: number; grep?: string; keep?: (e: JournalEntry) => boolean; keepLines?: number },
): Promise<JournalRead> {
  const keep: Keep = { limit: opts.keepLines ?? opts.lines ?? 2000, ...(opts.keep ? { keep: opts.keep } : {}) };
  const build = (grep: string | undefined) =>
    argsOrUnavailable(() => journalctlKernelArgs({ since: opts.since, lines: opts.lines ?? 2000, ...(grep === undefined ? {} : { grep }) }), 'journalctl');
  const args = build(opts.grep);
  if (!Array.isArray(args)) return args;
  const r = await readJournal(args, opts, keep, opts.grep !== undefined);
  if (!r.ok && opts.grep !== undefined && NO_GREP.test(r.reason)) {
    const plain = build(undefined);
    return Array.isArray(plain) ? readJournal(plain, opts, keep) : plain;
  }
  return r;
}

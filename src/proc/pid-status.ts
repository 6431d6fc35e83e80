// /proc/[pid]/status (human-readable process state: name, peak and current RSS, threads, uid) and
// /proc/[pid]/cmdline (the argument vector, NUL-separated).
import { closeSync, openSync, readSync } from 'node:fs';
import { Cursor, GONE, readTextOr } from './scan';
import { ParseError, isErrno } from '../util/errors';

/**
 * /proc/[pid]/status. Every field is optional: kernel threads and zombies have no Vm* lines.
 * `name` is unescaped (the kernel prints a newline in the name as `\n` and a backslash as `\\`);
 * `state` is the letter only (`S` of `S (sleeping)`); `uid` is the real uid (first of four).
 */
export interface PidStatus {
  name?: string;
  state?: string;
  vmRssBytes?: number;
  vmHwmBytes?: number;
  threads?: number;
  uid?: number;
}

const KB = 1024;

export function parsePidStatus(text: string, file = '/proc/[pid]/status'): PidStatus {
  if (text.length === 0) throw new ParseError({ file, field: 'Name' }, 'empty file');
  const c = new Cursor(text, file);
  const s: PidStatus = {};
  while (!c.atEnd) {
    if (c.eat('Name:')) {
      c.blanks();
      const raw = text.slice(c.pos, c.lineEnd());
      s.name = raw.includes('\\') ? unescapeName(raw) : raw;
    } else if (c.eat('State:')) {
      c.blanks();
      if (c.atLineEnd) c.fail('State', 'missing');
      s.state = text.charAt(c.pos);
    } else if (c.eat('VmRSS:')) {
      s.vmRssBytes = kbField(c, 'VmRSS');
    } else if (c.eat('VmHWM:')) {
      s.vmHwmBytes = kbField(c, 'VmHWM');
    } else if (c.eat('Threads:')) {
      s.threads = c.uintField('Threads');
    } else if (c.eat('Uid:')) {
      s.uid = c.uintField('Uid');
    }
    c.nextLine();
  }
  return s;
}

function kbField(c: Cursor, field: string): number {
  const v = c.uintField(field);
  c.blanks();
  if (!c.eat('kB')) c.fail(field, 'expected "kB"');
  return v * KB;
}

/** Undo the kernel's escaping of the task name (seq_escape with "\n\\", plus \t and friends). */
function unescapeName(raw: string): string {
  return raw.replace(ESCAPED, unescapeOne);
}

const ESCAPED = /\\([\\nt])/g;

function unescapeOne(_match: string, ch: string): string {
  return ch === 'n' ? '\n' : ch === 't' ? '\t' : '\\';
}

/** The status of one pid, or null when the process has exited. */
export function readPidStatus(pid: number, root = '/proc'): PidStatus | null {
  const file = `${root}/${pid}/status`;
  const text = readTextOr(file, GONE);
  if (text === null) return null;
  return parsePidStatus(text, file);
}

// Reused across calls: cmdline is read for the top few processes of every capture.
let buf = Buffer.allocUnsafe(256);

/**
 * The command line of one pid with NULs turned into spaces, trimmed, at most `maxBytes` bytes (only
 * that much is read: a cmdline can be megabytes; a cut multi-byte character is dropped). Empty for
 * kernel threads and zombies; null when the process has exited.
 */
export function readPidCmdline(pid: number, root = '/proc', maxBytes = 256): string | null {
  if (buf.length < maxBytes) buf = Buffer.allocUnsafe(maxBytes);
  let n = 0;
  let fd: number;
  try {
    fd = openSync(`${root}/${pid}/cmdline`, 'r');
  } catch (err) {
    if (isErrno(err, GONE)) return null;
    throw err;
  }
  try {
    // /proc hands out at most a page per read; loop until maxBytes or the end.
    for (let got = -1; n < maxBytes && got !== 0; n += got) got = readSync(fd, buf, n, maxBytes - n, null);
  } catch (err) {
    if (isErrno(err, GONE)) return null;
    throw err;
  } finally {
    closeSync(fd);
  }
  return cmdlineFromBytes(buf, n, n === maxBytes);
}

/** NULs to spaces, trim, and drop a multi-byte character cut by the cap. Exported for tests. */
export function cmdlineFromBytes(bytes: Buffer, length: number, capped: boolean): string {
  let end = length;
  if (capped) end = utf8Boundary(bytes, length);
  for (let i = 0; i < end; i++) if (bytes[i] === 0) bytes[i] = 32;
  return bytes.toString('utf8', 0, end).trim();
}

/** The largest end <= length that does not split a UTF-8 sequence. */
function utf8Boundary(bytes: Buffer, length: number): number {
  let i = length - 1;
  let continuation = 0;
  while (i >= 0 && continuation < 3 && ((bytes[i] ?? 0) & 0xc0) === 0x80) {
    i--;
    continuation++;
  }
  if (i < 0) return length;
  const lead = bytes[i] ?? 0;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return i + need > length ? i : length;
}

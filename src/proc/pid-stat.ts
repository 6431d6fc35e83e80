// /proc/[pid]/stat: one process's state, CPU time and memory in one small read. The command name is
// raw (up to 15 bytes set by the program: spaces, parentheses and even newlines allowed), so the line
// is split at the LAST ')' and every field after it is counted from there.
import { Cursor, GONE, readTextOr } from './scan';
import { ParseError } from '../util/errors';

/**
 * /proc/[pid]/stat (fields as numbered in proc(5)). CPU times are in USER_HZ clock ticks and include
 * all threads; startTimeTicks counts from boot; rssPages is in pages (multiply by the page size).
 */
export interface PidStat {
  pid: number;
  comm: string;
  /** One letter: R running, S sleeping, D disk sleep, Z zombie, T stopped, t traced, X dead, I idle. */
  state: string;
  ppid: number;
  utimeTicks: number;
  stimeTicks: number;
  numThreads: number;
  startTimeTicks: number;
  vsizeBytes: number;
  rssPages: number;
}

const SPACE = 32;

export function parsePidStat(text: string, file = '/proc/[pid]/stat'): PidStat {
  if (text.length === 0) throw new ParseError({ file, field: 'pid' }, 'empty file');
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const c = new Cursor(text, file);
  if (open === -1 || close < open) c.fail('comm', 'expected "pid (comm) state ..."', 0);
  const pid = c.uint();
  if (Number.isNaN(pid) || c.pos !== open - 1 || text.charCodeAt(c.pos) !== SPACE) {
    c.fail('pid (field 1)', 'expected "pid (comm)"', 0);
  }
  const comm = text.slice(open + 1, close);
  c.pos = close + 1;
  if (text.charCodeAt(c.pos) !== SPACE) c.fail('state (field 3)', 'expected a space after the command name');
  c.blanks();
  if (c.atLineEnd) c.fail('state (field 3)', 'missing (line ends early)');
  const state = text.charAt(c.pos);
  c.pos++;
  if (!c.atSeparator) c.fail('state (field 3)', 'expected one letter');
  const ppid = c.uintField('ppid (field 4)');
  for (let f = 5; f <= 13; f++) c.skipToken(FIELD_NAMES[f] ?? '');
  const utimeTicks = c.uintField('utime (field 14)');
  const stimeTicks = c.uintField('stime (field 15)');
  for (let f = 16; f <= 19; f++) c.skipToken(FIELD_NAMES[f] ?? '');
  const numThreads = c.intField('num_threads (field 20)');
  c.skipToken('itrealvalue (field 21)');
  const startTimeTicks = c.uintField('starttime (field 22)');
  const vsizeBytes = c.uintField('vsize (field 23)');
  // proc(5) prints rss as %ld; kernels never show it negative, but a sign must not fail the read.
  const rssPages = c.intField('rss (field 24)');
  return { pid, comm, state, ppid, utimeTicks, stimeTicks, numThreads, startTimeTicks, vsizeBytes, rssPages };
}

const FIELD_NAMES: Record<number, string> = {
  5: 'pgrp (field 5)',
  6: 'session (field 6)',
  7: 'tty_nr (field 7)',
  8: 'tpgid (field 8)',
  9: 'flags (field 9)',
  10: 'minflt (field 10)',
  11: 'cminflt (field 11)',
  12: 'majflt (field 12)',
  13: 'cmajflt (field 13)',
  16: 'cutime (field 16)',
  17: 'cstime (field 17)',
  18: 'priority (field 18)',
  19: 'nice (field 19)',
};

/** The stat of one pid, or null when the process has exited (ENOENT, or ESRCH mid-read). */
export function readPidStat(pid: number, root = '/proc'): PidStat | null {
  const file = `${root}/${pid}/stat`;
  const text = readTextOr(file, GONE);
  if (text === null) return null;
  return parsePidStat(text, file);
}

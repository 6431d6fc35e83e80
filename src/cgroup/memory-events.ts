// A unit's cgroup v2 memory.events: how often its memory cgroup hit its limits and how many of its
// processes the OOM killer took. Cumulative since the cgroup was created, and systemd creates the
// unit's cgroup afresh at every start, so the counts are the current run's.
import * as path from 'node:path';
import { readTextOr } from '../proc/scan';
import { ParseError } from '../util/errors';

/**
 * `<cgroup>/memory.events` (cgroup v2, Documentation/admin-guide/cgroup-v2.rst): one `key value` per
 * line. A key the running kernel does not print is undefined (oom_kill and oom_group_kill came after
 * the file itself); keys this parser does not name (e.g. `sock_throttled` on newer kernels) are kept
 * in `other`.
 */
export interface MemoryEvents {
  /** reclaimed below memory.low (under pressure elsewhere) */
  low?: number;
  /** throttled for going over memory.high */
  high?: number;
  /** about to go over memory.max (and reclaim did not help at once) */
  max?: number;
  /** the cgroup ran out of memory at memory.max (an OOM situation, kill or not) */
  oom?: number;
  /** processes in the cgroup killed by any kind of OOM killer */
  oomKill?: number;
  /** the whole cgroup killed at once (memory.oom.group) */
  oomGroupKill?: number;
  other: Record<string, number>;
}

const NAMED: Readonly<Record<string, Exclude<keyof MemoryEvents, 'other'>>> = {
  low: 'low',
  high: 'high',
  max: 'max',
  oom: 'oom',
  oom_kill: 'oomKill',
  oom_group_kill: 'oomGroupKill',
};

const LINE = /^([a-z_][a-z0-9_]*) (\d+)$/;

export function parseMemoryEvents(text: string, file = '<cgroup>/memory.events'): MemoryEvents {
  if (text.trim() === '') throw new ParseError({ file, input: text }, 'empty file');
  const events: MemoryEvents = { other: {} };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    if (raw === '') continue;
    const m = LINE.exec(raw);
    if (!m) throw new ParseError({ file, line: i + 1, input: raw }, 'expected "<key> <unsigned integer>"');
    const key = m[1] ?? '';
    const value = Number(m[2]);
    const named = NAMED[key];
    if (named !== undefined) events[named] = value;
    else events.other[key] = value;
  }
  return events;
}

/** A ControlGroup= value that can be joined under a root: absolute, no empty or dot segments. */
function safeControlGroup(controlGroup: string): string | null {
  const cg = controlGroup.trim().replace(/\/+$/, '');
  if (!cg.startsWith('/')) return null;
  const parts = cg.split('/').slice(1);
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return null;
  return cg;
}

/** The file is absent: cgroup v1 (no such file), hybrid (no memory controller on the v2 tree), or the cgroup is gone. */
const ABSENT: ReadonlySet<string> = new Set(['ENOENT', 'ENOTDIR']);

/**
 * The unit's OOM counts from `<root><ControlGroup>/memory.events` (cgroup v2), else from the hybrid
 * layout's `<root>/unified<ControlGroup>/memory.events`, which exists only when the memory controller
 * is on the v2 tree (it usually is not: then this is null). Null also for an empty ControlGroup (the
 * unit has no processes) and when the kernel prints no oom/oom_kill. Other read errors (EACCES) throw,
 * naming the path; a malformed file throws ParseError.
 */
export function readUnitMemoryEvents(controlGroup: string, root = '/sys/fs/cgroup'): { oom: number; oomKill: number } | null {
  const cg = safeControlGroup(controlGroup);
  if (cg === null) return null;
  for (const base of [root, path.join(root, 'unified')]) {
    const file = path.join(base, cg, 'memory.events');
    // Node's errno errors already name the path (EACCES: permission denied, open '...')
    const text = readTextOr(file, ABSENT);
    if (text === null) continue;
    const e = parseMemoryEvents(text, file);
    return e.oom === undefined || e.oomKill === undefined ? null : { oom: e.oom, oomKill: e.oomKill };
  }
  return null;
}

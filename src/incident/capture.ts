// Context capture: everything expensive or fleeting about a failure (the unit's journal, the kernel's
// lines, the unit's state, the top processes, host facts), taken at the FIRST failed check and held
// until the failure is confirmed. Every part is independent and bounded: a part that fails or is
// absent becomes a capture error with its reason, and the rest is still taken.
import { isIP } from 'node:net';
import { cpus } from 'node:os';
import { readUnitMemoryEvents } from '../cgroup/memory-events';
import { hostPort, type ServiceConfig } from '../config/config';
import { ownerOfSocket } from '../proc/port-owner';
import { listenerOnPort, listenersOf } from '../proc/sockets';
import { readBootId, readHostname, readOsRelease } from '../proc/sys-kernel';
import { readUptime } from '../proc/uptime';
import type { DependencyState, Listening } from '../diagnosis/input';
import { unitSettings } from '../systemd/timespan';
import type { ProcessInfo, ProcessTable } from '../sample/procs';
import { readKernelJournal, readUnitJournal, type JournalEntry } from '../systemd/journal';
import { KERNEL_GREP, classifyKernelLine } from '../systemd/kernel';
import { showUnits, type UnitState } from '../systemd/unit';
import { errorMessage } from '../util/errors';
import { sleep } from '../util/time';
import { union } from './merge';
import { VERSION } from '../version';
import type {
  CaptureError,
  Snapshot,
  SnapshotHost,
  SnapshotJournalLine,
  SnapshotKernelLine,
  SnapshotProcess,
} from './snapshot';

/** Journal lines the diagnosis reads at least (the output cap, journalBytes, bounds them too). */
export const ANALYSIS_LINES = 1000;

/** Bounds that keep one snapshot small whatever the logs hold. */
export const CAPTURE_LIMITS = {
  messageChars: 2000,
  journalBytes: 4 << 20,
  kernelBytes: 4 << 20,
  kernelLines: 200,
  topProcesses: 10,
  /** two process scans this far apart give current CPU % per process */
  processScanGapMs: 500,
};

export interface CaptureOptions {
  service: ServiceConfig;
  /** journal and kernel lines from this time on */
  since: Date;
  /**
   * Journal lines read (0: none). The diagnosis reads at least ANALYSIS_LINES, whatever the snapshot
   * keeps: a runtime's fatal error can sit above hundreds of lines of stack dump.
   */
  journalLines: number;
  /** deadline for each external command */
  timeoutMs: number;
  processes: ProcessTable;
  procRoot?: string;
  /** only this run's journal (the dead invocation of a restarted unit) */
  invocationId?: string;
  /** the unit's name as the journal knows it (its Id, when the config names an alias) */
  journalUnit?: string;
  /** the first check's connection was refused: look at what listens on the health port */
  refused?: boolean;
  /**
   * false: only systemd's and the kernel's record (unit, dependencies, journal, kernel), no process scans
   * or listeners; for reading an open incident's record again (default true)
   */
  scene?: boolean;
  now?: () => number;
  /** The whole capture's deadline: parts still running then become capture errors (default: none). */
  deadlineMs?: number;
  /** How the kernel's lines are read (the coordinator shares one read among overlapping captures). */
  readKernel?: (since: Date, timeoutMs: number) => Promise<KernelLines>;
}

/** What a capture took; a snapshot is built from it when the failure is confirmed. */
export interface CapturedContext {
  startedAt: number;
  finishedAt: number;
  host: SnapshotHost;
  unit: UnitState | null;
  journal: SnapshotJournalLine[];
  kernel: SnapshotKernelLine[];
  processes: Snapshot['processes'];
  /** the unit's cgroup v2 memory.events counters (null on cgroup v1, or without a unit) */
  memoryEvents: { oom: number; oomKill: number } | null;
  /** without a unit: the process listening on the health URL's port, when it could be found */
  servicePid?: number | null;
  /** what listens on the health URL's port, and where the unit's processes listen */
  listening?: Listening | null;
  /** the unit's Requires=, Requisite= and BindsTo= units that were not active */
  dependencies?: DependencyState[];
  errors: CaptureError[];
}

/** The value, or null when reading it failed: host facts are niceties, never a reason to lose a capture. */
function orNull<T>(read: () => T | undefined): T | null {
  try {
    return read() ?? null;
  } catch {
    return null;
  }
}

export function hostFacts(procRoot = '/proc'): SnapshotHost {
  return {
    hostname: orNull(() => readHostname(procRoot)),
    kernel: orNull(() => readOsRelease(procRoot)),
    cpus: cpus().length,
    boot_id: orNull(() => readBootId(procRoot)),
    uptime_seconds: orNull(() => readUptime(procRoot).uptimeSeconds),
    preflight_version: VERSION,
  };
}

export function journalLine(e: JournalEntry): SnapshotJournalLine {
  const line: SnapshotJournalLine = { at: e.at, priority: e.priority ?? null, pid: e.pid ?? null, message: e.message };
  if (e.invocationId !== undefined) line.invocation = e.invocationId;
  if (e.fromManager) line.systemd = true;
  if (e.jobType !== undefined) line.job = e.jobResult === undefined ? { type: e.jobType } : { type: e.jobType, result: e.jobResult };
  return line;
}

function processLine(p: ProcessInfo): SnapshotProcess {
  // a cmdline may hold newlines and tabs (node -e '...'): one line per process in every rendering
  return { pid: p.pid, command: p.comm, cmdline: p.cmdline.replace(/\s+/g, ' ').trim(), cpu_percent: Math.round(p.cpuPercent * 10) / 10, rss_bytes: p.rssBytes };
}

/** Read the unit's state with one systemctl call; null plus a reason when it cannot be read. */
export async function readUnit(unit: string, timeoutMs: number): Promise<{ unit: UnitState | null; error?: string }> {
  const r = await showUnits([unit], { timeoutMs });
  if (!r.ok) return { unit: null, error: r.reason };
  const u = r.units[0];
  if (!u) return { unit: null, error: `systemctl show ${unit} printed nothing` };
  if (u.loadState === 'not-found') return { unit: u, error: `unit ${unit} does not exist (LoadState=not-found)` };
  return { unit: u };
}

/**
 * Captures share process scans: those that start together share the pair in flight, and one that
 * starts within PROCESS_SCAN_REUSE_MS of a pair's end takes that pair. A burst of failures (a network
 * blip failing 100 services, captured a few at a time by the coordinator) would otherwise pay the
 * scan gap once per batch: ~30 s for 200 failures instead of a few.
 */
const PROCESS_SCAN_REUSE_MS = 1000;
const scanning = new WeakMap<ProcessTable, Promise<Snapshot['processes']>>();
const scanned = new WeakMap<ProcessTable, { at: number; processes: Snapshot['processes'] }>();

function topProcesses(table: ProcessTable, now: () => number): Promise<Snapshot['processes']> {
  const last = scanned.get(table);
  if (last && performance.now() - last.at <= PROCESS_SCAN_REUSE_MS) return Promise.resolve(last.processes);
  let p = scanning.get(table);
  if (!p) {
    p = (async () => {
      table.scan(now());
      await sleep(CAPTURE_LIMITS.processScanGapMs);
      table.scan(now());
      const { topCpu, topMemory } = table.top(CAPTURE_LIMITS.topProcesses);
      const processes = { top_cpu: topCpu.map(processLine), top_memory: topMemory.map(processLine) };
      scanned.set(table, { at: performance.now(), processes });
      return processes;
    })().finally(() => scanning.delete(table));
    scanning.set(table, p);
  }
  return p;
}

/** The kernel part of a capture: its lines, or why there are none. */
export type KernelLines = { lines: SnapshotKernelLine[]; error?: string };

/** The kernel's lines since `since` that can explain a failure (one journalctl; never throws). */
export async function readKernelLines(since: Date, timeoutMs: number): Promise<KernelLines> {
  try {
    // the kernel log is mostly noise for this purpose: only the lines that can explain a failure are
    // kept, as they arrive (the newest kernelLines of them)
    const r = await readKernelJournal({
      since,
      timeoutMs,
      maxMessageChars: CAPTURE_LIMITS.messageChars,
      maxBytes: CAPTURE_LIMITS.kernelBytes,
      grep: KERNEL_GREP,
      keep: (e) => classifyKernelLine(e.message) !== null,
      keepLines: CAPTURE_LIMITS.kernelLines,
    });
    if (!r.ok) return { lines: [], error: r.reason };
    return { lines: r.entries.map((e) => ({ at: e.at, priority: e.priority ?? null, message: e.message })) };
  } catch (err) {
    return { lines: [], error: errorMessage(err) };
  }
}

/**
 * Settles each part of one capture by the capture's total deadline: a part still running then is a
 * capture error and its fallback, so the capture returns whatever hangs (a statfs, a slot wait).
 */
class Deadline {
  private readonly passed: Promise<void>;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly ms: number | undefined) {
    this.passed = new Promise((resolve) => {
      if (ms !== undefined) this.timer = setTimeout(resolve, ms);
    });
  }

  within<T>(p: Promise<T>, part: string, fallback: T, errors: CaptureError[]): Promise<T> {
    if (this.ms === undefined) return p;
    let answered = false;
    const settled = p.finally(() => {
      answered = true;
    });
    const late = this.passed.then(() => {
      if (!answered) errors.push({ part, reason: `no answer within the capture's deadline (${this.ms} ms)` });
      return fallback;
    });
    return Promise.race([settled, late]);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

export async function captureContext(opts: CaptureOptions): Promise<CapturedContext> {
  const now = opts.now ?? Date.now;
  const startedAt = now();
  const errors: CaptureError[] = [];
  const fail = (part: string) => (err: unknown) => {
    errors.push({ part, reason: errorMessage(err) });
    return null;
  };
  const unitName = opts.service.unit;
  const deadline = new Deadline(opts.deadlineMs);

  const unitP = unitName
    ? readUnit(unitName, opts.timeoutMs).then((r) => {
        if (r.error) errors.push({ part: 'unit', reason: r.error });
        return r.unit;
      }, fail('unit'))
    : Promise.resolve(null);
  const journalP: Promise<SnapshotJournalLine[]> = unitName ? unitJournal(opts, errors) : Promise.resolve([]);
  const kernelP = (opts.readKernel ?? readKernelLines)(opts.since, opts.timeoutMs).then((r) => {
    if (r.error !== undefined) errors.push({ part: 'kernel', reason: r.error });
    return r.lines;
  }, (e: unknown) => fail('kernel')(e) ?? []);
  const processesP = opts.scene === false ? Promise.resolve(null) : topProcesses(opts.processes, now).catch(fail('processes'));
  if (!unitName) errors.push({ part: 'unit', reason: 'no unit configured for this service (add unit: NAME.service)' });

  // the units it needs are read once the unit says which they are (one more systemctl, only when it has any)
  const depsP = unitP.then((u) => (u ? readDependencies(u, opts.timeoutMs) : []), (e: unknown) => fail('dependencies')(e) ?? []);
  const [unit, journal, kernel, processes, dependencies] = await Promise.all([
    deadline.within(unitP, 'unit', null, errors),
    deadline.within(journalP, 'journal', [], errors),
    deadline.within(kernelP, 'kernel', [], errors),
    deadline.within(processesP, 'processes', null, errors),
    // a unit that missed the deadline has no dependencies to report late either
    deadline.within(depsP, 'dependencies', [], errors),
  ]);
  deadline.clear();
  let memoryEvents: CapturedContext['memoryEvents'] = null;
  try {
    memoryEvents = unit?.controlGroup ? readUnitMemoryEvents(unit.controlGroup) : null;
  } catch (err) {
    errors.push({ part: 'memory.events', reason: errorMessage(err) });
  }
  const where = opts.service.healthUrl === null ? null : healthAddress(opts.service.healthUrl);
  const scene = opts.scene !== false;
  const listening = scene && opts.refused && where ? listeningAt(where, unit, opts.procRoot) : null;
  const servicePid = scene && !unitName && where ? portOwner(where, opts.procRoot) : null;
  return {
    startedAt,
    finishedAt: now(),
    host: hostFacts(opts.procRoot),
    unit,
    journal,
    kernel,
    processes,
    memoryEvents,
    ...(listening ? { listening } : {}),
    ...(servicePid ? { servicePid } : {}),
    ...(dependencies.length > 0 ? { dependencies } : {}),
    // a copy: a part that answers after the deadline must not add to what was returned
    errors: [...errors],
  };
}

/** A capture that never ran (the daemon stopped while it waited for a slot): the reason is its one error. */
export function emptyContext(opts: CaptureOptions, reason: string): CapturedContext {
  const at = (opts.now ?? Date.now)();
  return { startedAt: at, finishedAt: at, host: hostFacts(opts.procRoot), unit: null, journal: [], kernel: [], processes: null, memoryEvents: null, errors: [{ part: 'capture', reason }] };
}

/** At most this many dependencies are read: a unit with more is unusual, and the first ones are the unit file's own. */
const MAX_DEPENDENCIES = 32;
/** Units every service gets by default (DefaultDependencies=): their failure is the host's, not this unit's. */
const DEFAULT_DEPENDENCY = /^(-\.mount|sysinit\.target|basic\.target|system\.slice|shutdown\.target)$/;

/** The unit's Requires=, Requisite= and BindsTo= units that are not active, with their result (one systemctl call). */
async function readDependencies(unit: UnitState, timeoutMs: number): Promise<DependencyState[]> {
  const s = unitSettings(unit.properties);
  const relation = new Map<string, DependencyState['relation']>();
  for (const [rel, names] of [['BindsTo', s.bindsTo], ['Requisite', s.requisite], ['Requires', s.requires]] as const) {
    for (const n of names) if (!relation.has(n) && !DEFAULT_DEPENDENCY.test(n)) relation.set(n, rel);
  }
  const names = [...relation.keys()].slice(0, MAX_DEPENDENCIES);
  if (names.length === 0) return [];
  const r = await showUnits(names, { timeoutMs });
  if (!r.ok) throw new Error(r.reason);
  const out: DependencyState[] = [];
  r.units.forEach((d, i) => {
    const name = names[i];
    if (name === undefined || d.activeState === undefined || d.activeState === 'active') return;
    const dep: DependencyState = { unit: d.id || name, relation: relation.get(name) ?? 'Requires', active_state: d.activeState };
    if (d.subState !== undefined) dep.sub_state = d.subState;
    if (d.result !== undefined) dep.result = d.result;
    if (d.inactiveEnterAt !== undefined) dep.inactive_at = d.inactiveEnterAt;
    out.push(dep);
  });
  return out;
}

/** The unit's journal lines for a capture; a failure becomes a capture error and no lines. */
async function unitJournal(opts: CaptureOptions, errors: CaptureError[]): Promise<SnapshotJournalLine[]> {
  const unitName = opts.service.unit;
  if (!unitName) return [];
  try {
    const r = await readUnitJournal(opts.journalUnit ?? unitName, {
      since: opts.since,
      timeoutMs: opts.timeoutMs,
      maxMessageChars: CAPTURE_LIMITS.messageChars,
      lines: opts.journalLines === 0 ? 0 : Math.max(opts.journalLines, ANALYSIS_LINES),
      maxBytes: CAPTURE_LIMITS.journalBytes,
      ...(opts.invocationId ? { invocationId: opts.invocationId } : {}),
    });
    if (r.ok) return r.entries.map(journalLine);
    errors.push({ part: 'journal', reason: r.reason });
  } catch (err) {
    errors.push({ part: 'journal', reason: errorMessage(err) });
  }
  return [];
}

/**
 * A held capture with the unit's journal read again and merged in: what systemd logged since the first
 * failed check (a start timeout, the start limit). One journalctl; the rest of the scene stays as taken.
 */
export { mergeContexts, storedContext } from './merge';

export async function refreshJournal(context: CapturedContext, opts: CaptureOptions): Promise<CapturedContext> {
  const errors: CaptureError[] = [];
  const journal = await unitJournal(opts, errors);
  return { ...context, journal: union(context.journal, journal), errors: [...context.errors, ...errors] };
}

/** The IP address and port a health URL connects to; null for a name other than localhost. */
export function healthAddress(url: string): { address: string; port: number } | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const address = host === 'localhost' ? '127.0.0.1' : host;
  if (isIP(address) === 0) return null;
  const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  return { address, port };
}

/** Whether anything listens on the health port, and where the unit's main process listens (null: unreadable). */
function listeningAt(where: { address: string; port: number }, unit: UnitState | null, procRoot = '/proc'): Listening | null {
  const on = listenerOnPort(where.address, where.port, procRoot);
  if (on === undefined) return null;
  let unitListens: string[] | null = null;
  if (unit?.mainPid !== undefined) {
    const r = listenersOf([unit.mainPid], procRoot);
    if (r.unavailable.length === 0) unitListens = [...new Set(r.listeners.map((l) => hostPort(l.address, l.port)))];
  }
  return { healthAddress: hostPort(where.address, where.port), onHealthPort: on.length > 0, unitListens };
}

/** The process listening on the health port, when it is ours to read (a service without a unit). */
function portOwner(where: { address: string; port: number }, procRoot = '/proc'): number | null {
  const l = listenerOnPort(where.address, where.port, procRoot)?.[0];
  return l === undefined ? null : (ownerOfSocket(l.inode, l.uid, procRoot) ?? null);
}

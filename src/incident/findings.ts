// The probable-cause engine: from what a capture held (the failed check, the unit's state, how its run
// ended, its journal, the kernel's lines, the host samples before the failure) to a ranked list of
// causes, each quoting the lines or figures it rests on. Pure: no I/O, no clock.
//
// Ranking (higher first; equal ranks keep the order below). A direct cause says why the process died;
// an ambient condition is something the host was suffering that can explain it; a symptom only says
// how the failure looked from outside.
//
//   rank  finding                                         kind
//   100   OOM kill of the unit's process                  direct  (the kernel says it killed it)
//    90   killed by a signal / core dump / exit 128+N     direct  (it did not choose to die)
//    85   disk full, with ENOSPC in the unit's log        direct  (the service said why it failed)
//    80   exited with status N                            direct  (it chose to die; its log says why)
//    75   segfault in the kernel log                      direct  (a crash, maybe of another process)
//    70   restart loop                                    pattern (a repeated crash; the why is above)
//    65   the unit is not running (inactive, restarting)  state   (beats any ambient condition)
//    60   disk or inodes ≥ 98% used, no ENOSPC seen       ambient
//    58   filesystem errors in the kernel log             ambient
//    57   block I/O errors in the kernel log              ambient
//    55   memory < 5% available / swap thrashing          ambient
//    50   PSI memory or io `full` stall                   ambient
//    48   OOM kill of ANOTHER process                     ambient (the host was short, or a neighbour)
//    45   hung task in the kernel log                     ambient
//    40   CPU saturated and load > 2 × CPUs               ambient
//    20   health check timed out, unit active: hung       symptom
//    10   health check returned an HTTP error status      symptom (only when nothing else was found)
import type { HostSample } from '../sample/host';
import { capMessage } from '../util/text';
import { classifyKernelLine, collectOomKills, parseOomKill, unitOwnsCgroup, type KernelEventKind, type OomKill } from '../systemd/kernel';
import { unitFrom, type UnitState } from '../systemd/unit';
import {
  CLD_CODES,
  exitStatusName,
  findDeadRunExit,
  isUnitOomKillLine,
  parseFailedResult,
  parseMainProcessExit,
  parseRestartScheduled,
  signalName,
  signalNumber,
} from '../systemd/exit';
import { formatBytes } from './render';
import type { Finding, Snapshot, SnapshotExit, SnapshotJournalLine, SnapshotKernelLine } from './snapshot';

export interface FindingsInput {
  /** The failed check (timeout, connection_refused, http_status, ...), or null for a unit-restart trigger. */
  error: Snapshot['error'];
  trigger: Snapshot['trigger'];
  /** Raw `systemctl show` properties, or null when there is no unit (or systemctl failed). */
  unit: Snapshot['unit'];
  /** How the dead run ended, or null. */
  exit: Snapshot['exit'];
  journal: Snapshot['journal'];
  kernel: Snapshot['kernel'];
  /** Host samples before the failure, oldest first (the last is nearest the failure). */
  samples: HostSample[];
  cpus: number;
  /** The unit's cgroup v2 memory.events, when readable. */
  memoryEvents?: { oom: number; oomKill: number } | null;
  /** NRestarts seen at earlier incidents of this service. */
  previousRestarts?: { at: string; nRestarts: number }[];
}

/** A finding with its place in the ranking table above. */
export interface RankedFinding extends Finding {
  rank: number;
}

// Thresholds, each with the reason it is where it is.
/** statfs usage at which a write may fail any moment (reserved blocks, a burst of logs, a temp file). */
export const DISK_FULL_PERCENT = 98;
/**
 * MemAvailable under 5% of MemTotal: the kernel's own estimate of what can be had without swapping is
 * nearly gone; the page cache has been squeezed and the OOM killer is close.
 */
export const MEMORY_LOW_PERCENT = 5;
/** Half of swap in use: on its own normal (idle pages moved out long ago), a sign only with stalls. */
export const SWAP_HIGH_PERCENT = 50;
/**
 * PSI memory `some` avg10 ≥ 10%: tasks waited for memory (reclaim, swap-in, refaults) one second in
 * ten. A host without memory trouble reads 0.00 (fixtures/proc/pressure/memory).
 */
export const PSI_SOME_THRASHING = 10;
/**
 * PSI `full` avg10 ≥ 10%: for one second in every ten, EVERY non-idle task was stalled on the resource
 * at once, i.e. the machine did no useful work. Brief spikes stay well under this; 10% sustained over
 * 10 s is long enough to miss a health check deadline.
 */
export const PSI_FULL_STALL = 10;
/** CPU busy share (user+system+irq..., not iowait) treated as saturated. */
export const CPU_SATURATED_PERCENT = 95;
/** How many of the last samples must all be saturated (one busy sample is a blip). */
export const CPU_SATURATED_SAMPLES = 3;
/** Runnable tasks per CPU over which work queues up (load1 > 2 × CPUs). */
export const LOAD_PER_CPU = 2;
/** NRestarts rising by this much across incidents is a loop, not a one-off crash and its restart. */
export const RESTART_RISE = 2;
/** NRestarts at which a restart seen in the window makes a loop. */
export const RESTART_LOOP_COUNT = 3;

const MAX_EVIDENCE = 6;
const MAX_LINE_CHARS = 300;

type Owner = 'unit' | 'other' | 'unknown';
/** An OOM kill, and whose it is: matched by the unit's cgroup, by its name alone, or by its pid. */
type AttributedKill = OomKill & { owner: Owner; by?: 'cgroup' | 'name' | 'pid' };

/** What every rule reads, computed once. */
interface Context {
  input: FindingsInput;
  unit: UnitState | null;
  /** Id, else 'the unit' */
  unitName: string;
  kills: AttributedKill[];
  /** the unit's own OOM evidence other than kernel lines: Result=oom-kill, memory.events, systemd's lines */
  unitSaysOom: boolean;
}

// ---------------------------------------------------------------------------------------------------
// Small helpers

function unitStateOf(props: Record<string, string> | null): UnitState | null {
  // one definition of what a property value means ([not set], 2^64-1, ...): systemd/unit.ts's
  return props === null ? null : unitFrom(props);
}

const clean = (message: string): string => capMessage(message.trim().replace(/\s+/g, ' '), MAX_LINE_CHARS);
const journalEvidence = (l: SnapshotJournalLine): string => `${l.at} ${clean(l.message)}`;
const kernelEvidence = (l: { at?: string; message: string }): string => `${l.at ?? '?'} kernel: ${clean(l.message)}`;
const pct1 = (x: number): string => `${Math.round(x * 10) / 10}%`;
const hhmm = (at: string): string => `${at.slice(11, 16)} UTC`;

function signalWords(signo: number): string {
  const name = signalName(signo);
  return name === undefined ? `signal ${signo}` : `signal ${signo} (SIG${name})`;
}

function props(u: UnitState, keys: readonly string[]): string {
  return `systemctl show: ${keys.filter((k) => u.properties[k] !== undefined).map((k) => `${k}=${u.properties[k]}`).join(' ')}`;
}

function take<T>(xs: readonly T[], n: number): T[] {
  return xs.slice(Math.max(0, xs.length - n));
}

function finding(rank: number, cause: string, evidence: string[]): RankedFinding {
  return { rank, cause, evidence: evidence.slice(0, MAX_EVIDENCE) };
}

// ---------------------------------------------------------------------------------------------------
// 1. OOM kills

/**
 * Kernels before 4.19 print no summary line: the cgroup of a memcg kill is in the "Task in <task memcg>
 * killed as a result of limit of <memcg>" line a few lines above the kill (RHEL 8's 4.18 among them).
 * Give such a kill the cgroups of the nearest one before it, but never across an earlier kill.
 */
function withTaskIn(kills: OomKill[], kernel: readonly SnapshotKernelLine[]): OomKill[] {
  return kills.map((kill) => {
    if (kill.taskMemcg !== undefined) return kill;
    const at = kernel.findIndex((l) => l.message.trim() === kill.line);
    for (let i = at - 1; i >= 0; i--) {
      const message = kernel[i]?.message ?? '';
      const kind = classifyKernelLine(message);
      if (kind === 'oom_killed' || kind === 'oom_kill_summary') break;
      const info = kind === 'memcg_oom' ? parseOomKill(message) : null;
      if (info?.taskMemcg !== undefined) return { ...kill, taskMemcg: info.taskMemcg, ...(info.memcg === undefined ? {} : { memcg: info.memcg }) };
    }
    return kill;
  });
}

function attribute(kill: OomKill, unit: UnitState | null): AttributedKill {
  if (unit === null) return { ...kill, owner: 'unknown' };
  // right after the kill the unit has no cgroup (ControlGroup= is empty in auto-restart): its cgroup is
  // then known only by its last segment, the unit's name, which unitOwnsCgroup matches after any prefix
  const by = unit.controlGroup !== undefined ? 'cgroup' : 'name';
  const cgroup = unit.controlGroup ?? (unit.id !== '' ? `/${unit.id}` : undefined);
  const memcg = kill.taskMemcg ?? kill.memcg;
  if (cgroup !== undefined && memcg !== undefined) return unitOwnsCgroup(cgroup, memcg) ? { ...kill, owner: 'unit', by } : { ...kill, owner: 'other' };
  // no cgroup in the kernel's words (before 4.19): the pid, which matches only without a pid namespace
  if (kill.pid !== undefined && (kill.pid === unit.mainPid || kill.pid === unit.execMainPid)) return { ...kill, owner: 'unit', by: 'pid' };
  return { ...kill, owner: 'unknown' };
}

/** The kernel's summary line for this kill (it names the cgroups), if it is not the kill's own line. */
function summaryLineOf(kill: OomKill, kernel: readonly SnapshotKernelLine[]): SnapshotKernelLine | undefined {
  return kernel.find(
    (l) => classifyKernelLine(l.message) === 'oom_kill_summary' && parseOomKill(l.message)?.pid === kill.pid && l.message.trim() !== kill.line,
  );
}

function killEvidence(kill: OomKill, kernel: readonly SnapshotKernelLine[]): string[] {
  const out = [kernelEvidence({ at: kill.at, message: kill.line })];
  const summary = summaryLineOf(kill, kernel);
  if (summary) out.push(kernelEvidence(summary));
  return out;
}

function whoWasKilled(kill: OomKill): string {
  const who = kill.comm ?? 'a process';
  return kill.pid === undefined ? who : `${who} (pid ${kill.pid})`;
}

function unitOomKill(ctx: Context): RankedFinding | null {
  const { input, unit } = ctx;
  const own = ctx.kills.filter((k) => k.owner === 'unit');
  // with systemd's own word for an OOM kill, a kill the kernel did not tie to a cgroup is taken as the unit's
  const candidates = own.length > 0 ? own : ctx.unitSaysOom ? ctx.kills.filter((k) => k.owner === 'unknown') : [];
  if (candidates.length === 0 && !ctx.unitSaysOom) return null;
  const evidence: string[] = [];
  const last = candidates[candidates.length - 1];
  if (last !== undefined) evidence.push(...killEvidence(last, input.kernel));
  if (last?.by === 'name') evidence.push(`task_memcg ends in ${unit?.id ?? '?'} (ControlGroup= is empty after the kill: matched by name)`);
  else if (last?.by === 'pid') evidence.push(`pid ${last.pid} is the unit's main process (the kernel line names no cgroup)`);
  if (unit?.result === 'oom-kill') evidence.push(props(unit, ['Result', 'ExecMainCode', 'ExecMainStatus']));
  const ev = input.memoryEvents;
  if (ev && ev.oomKill > 0) evidence.push(`memory.events: oom_kill ${ev.oomKill}, oom ${ev.oom} (this run of the unit)`);
  const said = input.journal.filter((l) => isUnitOomKillLine(l.message) || parseFailedResult(l.message) === 'oom-kill');
  for (const l of take(said, 2)) evidence.push(journalEvidence(l));
  let cause = 'OOM kill';
  if (last !== undefined) {
    cause = `OOM kill of ${whoWasKilled(last)}`;
    if (last.constraint === 'CONSTRAINT_MEMCG') cause += ', cgroup memory limit';
    else if (last.constraint === 'CONSTRAINT_NONE') cause += ', host out of memory';
    if (candidates.length > 1) cause += ` (+${candidates.length - 1} more)`;
  } else if (unit?.result === 'oom-kill') {
    cause = 'OOM kill (systemd Result=oom-kill)';
  } else if (ev && ev.oomKill > 0) {
    cause = `OOM kill (memory.events oom_kill ${ev.oomKill})`;
  } else if (said.length > 0) {
    cause = 'OOM kill (reported by systemd)';
  }
  return finding(100, cause, evidence);
}

function otherOomKill(ctx: Context): RankedFinding | null {
  // unknown kills were taken as the unit's when the unit itself reported an OOM kill
  const others = ctx.kills.filter((k) => k.owner === 'other' || (k.owner === 'unknown' && !ctx.unitSaysOom));
  const last = others[others.length - 1];
  if (last === undefined) return null;
  const more = others.length > 1 ? ` (+${others.length - 1} more)` : '';
  const evidence = take(others, 2).flatMap((k) => killEvidence(k, ctx.input.kernel));
  const cause =
    last.owner === 'other' ? `OOM kill of another process: ${whoWasKilled(last)}${more}` : `OOM kill of ${whoWasKilled(last)}, not tied to this unit${more}`;
  return finding(48, cause, evidence);
}

// ---------------------------------------------------------------------------------------------------
// 2. How the main process ended

/** The dead run's end: the capture's, else systemd's line in the journal, else ExecMainCode/Status. */
function exitOf(ctx: Context): { exit: SnapshotExit; from: 'capture' | 'journal' | 'unit' } | null {
  const { input, unit } = ctx;
  if (input.exit) return { exit: input.exit, from: 'capture' };
  const fromJournal = findDeadRunExit(input.journal);
  if (fromJournal) return { exit: fromJournal, from: 'journal' };
  if (unit?.execMainCode === undefined || unit.execMainStatus === undefined) return null;
  const code = CLD_CODES[unit.execMainCode];
  // a clean exit seen only in the properties is a oneshot that finished, not a failure
  if (code === undefined || (code === 'exited' && unit.execMainStatus === 0)) return null;
  return { exit: { code, status: unit.execMainStatus, at: null }, from: 'unit' };
}

function statusNumber(status: number | string): number | undefined {
  if (typeof status === 'number') return status;
  return /^\d+$/.test(status) ? Number(status) : undefined;
}

/** `killed 9` and `killed KILL` are the same end. */
function sameExit(a: SnapshotExit, b: SnapshotExit): boolean {
  const norm = (e: SnapshotExit): string => (e.code === 'exited' ? String(e.status) : String(signalNumber(String(e.status)) ?? e.status));
  return a.code === b.code && norm(a) === norm(b);
}

/** Why systemd says the run failed: Result= unless a restart has reset it to success, else its last line. */
function unitResult(ctx: Context): string | undefined {
  const now = ctx.unit?.result;
  if (now !== undefined && now !== 'success') return now;
  let said: string | undefined;
  for (const l of ctx.input.journal) said = parseFailedResult(l.message) ?? said;
  return said ?? now;
}

/** The service's own last words before it died: its last error line and its last line. */
function lastWords(journal: readonly SnapshotJournalLine[], until: string | null, unitId: string): SnapshotJournalLine[] {
  // systemd's lines about the unit come from PID 1, or from a user manager with the "<unit>: " prefix
  const prefix = unitId === '' ? null : `${unitId}: `;
  const own = journal.filter(
    (l) =>
      (until === null || l.at <= until) &&
      l.pid !== 1 &&
      (prefix === null || !l.message.startsWith(prefix)) &&
      parseMainProcessExit(l.message, l.at) === null &&
      parseFailedResult(l.message) === null &&
      parseRestartScheduled(l.message) === null,
  );
  const lastError = [...own].reverse().find((l) => l.priority !== null && l.priority <= 3);
  const last = own[own.length - 1];
  const out: SnapshotJournalLine[] = [];
  if (lastError) out.push(lastError);
  if (last && last !== lastError) out.push(last);
  return out;
}

function processExit(ctx: Context): RankedFinding | null {
  const found = exitOf(ctx);
  if (found === null) return null;
  const { exit, from } = found;
  const { input, unit } = ctx;
  let rank = 90;
  let cause: string;
  if (exit.code === 'exited') {
    const status = statusNumber(exit.status);
    const shellSignal = status !== undefined && status > 128 ? signalName(status - 128) : undefined;
    if (status === undefined) {
      cause = `exited with status ${exit.status}`;
      rank = 80;
    } else if (shellSignal !== undefined) {
      // how a shell (or a wrapper script, or docker) reports a child killed by signal N
      cause = `exited with status ${status}: killed by ${signalWords(status - 128)}`;
    } else {
      const name = exitStatusName(status);
      cause = `exited with status ${status}${name === undefined ? '' : ` (${name})`}`;
      rank = 80;
    }
  } else {
    const signo = typeof exit.status === 'number' ? exit.status : signalNumber(exit.status);
    const what = signo === undefined ? `signal ${exit.status}` : signalWords(signo);
    cause = exit.code === 'dumped' ? `crashed on ${what}, core dumped` : `killed by ${what}`;
  }
  const result = unitResult(ctx);
  if (result === 'watchdog') cause += ' after a watchdog timeout';
  else if (result === 'timeout') cause += ' after a systemd timeout';

  const evidence: string[] = [];
  const line = [...input.journal].reverse().find((l) => {
    const e = parseMainProcessExit(l.message, l.at);
    return e !== null && sameExit(e, exit);
  });
  if (line) evidence.push(journalEvidence(line));
  else if (from !== 'unit') evidence.push(`exit: code=${exit.code} status=${exit.status}${exit.at ? ` at ${exit.at}` : ''}`);
  const failed = [...input.journal].reverse().find((l) => parseFailedResult(l.message) !== null);
  if (failed) evidence.push(journalEvidence(failed));
  if (unit && unit.execMainCode !== undefined && unit.execMainCode !== 0) {
    evidence.push(props(unit, ['Result', 'ExecMainCode', 'ExecMainStatus']));
  }
  const died = exit.at ?? line?.at ?? unit?.inactiveEnterAt ?? null;
  for (const l of lastWords(input.journal, died, unit?.id ?? '')) evidence.push(journalEvidence(l));
  return finding(rank, cause, evidence);
}

// ---------------------------------------------------------------------------------------------------
// 3. Restart loop

function restartLoop(ctx: Context): RankedFinding | null {
  const { input, unit } = ctx;
  const now = unit?.nRestarts;
  const scheduled = input.journal.filter((l) => parseRestartScheduled(l.message) !== null);
  const evidence: string[] = [];
  let cause: string | undefined;
  if (now !== undefined) {
    // the counter resets when the unit is started by hand: only the run that leads up to now counts
    const prev = [...(input.previousRestarts ?? [])].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    const run: { at: string; nRestarts: number }[] = [];
    let next = now;
    for (let i = prev.length - 1; i >= 0; i--) {
      const p = prev[i];
      if (p === undefined || p.nRestarts > next) break;
      run.unshift(p);
      next = p.nRestarts;
    }
    const first = run[0];
    if (first !== undefined && now - first.nRestarts >= RESTART_RISE) {
      cause = `restart loop: NRestarts ${first.nRestarts} → ${now} since ${hhmm(first.at)}`;
      for (const p of take(run, 3)) evidence.push(`${p.at} NRestarts=${p.nRestarts} (earlier incident)`);
    } else if (now >= RESTART_LOOP_COUNT && (scheduled.length > 0 || input.trigger === 'unit_restart')) {
      cause = `restart loop: restarted ${now} times (NRestarts=${now})`;
    }
    if (cause !== undefined) evidence.push(`systemctl show: NRestarts=${now}`);
  }
  if (cause === undefined && scheduled.length >= RESTART_LOOP_COUNT) {
    cause = `restart loop: ${scheduled.length} restarts in the window`;
  }
  if (cause === undefined) return null;
  for (const l of take(scheduled, 3)) evidence.push(journalEvidence(l));
  return finding(70, cause, evidence);
}

// ---------------------------------------------------------------------------------------------------
// 4. Disk full

// strerror(ENOSPC) as libc prints it, and the errno name as Node, Go and Rust print it
const ENOSPC = /no space left on device|\bENOSPC\b/i;

function diskFull(ctx: Context): RankedFinding | null {
  const { input } = ctx;
  const peaks = new Map<string, { what: string; value: number; sample: HostSample; path: string }>();
  for (const s of input.samples) {
    for (const [what, table] of [
      ['disk', s.disk_used_percent],
      ['inodes', s.disk_inodes_used_percent],
    ] as const) {
      for (const [p, v] of Object.entries(table)) {
        if (v === null || v < DISK_FULL_PERCENT) continue;
        const key = `${what} ${p}`;
        const seen = peaks.get(key);
        if (seen === undefined || v >= seen.value) peaks.set(key, { what, value: v, sample: s, path: p });
      }
    }
  }
  const logLines = input.journal.filter((l) => ENOSPC.test(l.message));
  if (peaks.size === 0 && logLines.length === 0) return null;
  const parts = [...peaks.values()].map((p) => (p.what === 'disk' ? `${p.path} ${pct1(p.value)}` : `${p.path} inodes ${pct1(p.value)}`));
  let cause = parts.length > 0 ? `disk full: ${parts.slice(0, 2).join(', ')}` : 'no space left on device';
  if (logLines.length > 0) cause += parts.length > 0 ? ', ENOSPC in the log' : ' (ENOSPC in the log)';
  const evidence = [...peaks.values()].map((p) => {
    if (p.what === 'inodes') return `${p.sample.at} inodes ${p.path} ${pct1(p.value)} used`;
    const free = p.sample.disk_available_bytes[p.path];
    return `${p.sample.at} disk ${p.path} ${pct1(p.value)} used${free === null || free === undefined ? '' : `, ${formatBytes(free)} free`}`;
  });
  for (const l of take(logLines, 2)) evidence.push(journalEvidence(l));
  return finding(logLines.length > 0 ? 85 : 60, cause, evidence);
}

// ---------------------------------------------------------------------------------------------------
// 5. Memory exhausted, swap thrashing

function availablePercent(s: HostSample): number | null {
  const total = s.mem_total_bytes;
  const avail = s.mem_available_bytes;
  return total === null || avail === null || total <= 0 ? null : (avail / total) * 100;
}

function memoryLow(ctx: Context): RankedFinding | null {
  let lowest: { s: HostSample; p: number } | undefined;
  let lowCount = 0;
  let thrash: HostSample | undefined;
  for (const s of ctx.input.samples) {
    const p = availablePercent(s);
    if (p !== null && p < MEMORY_LOW_PERCENT) {
      lowCount++;
      if (lowest === undefined || p <= lowest.p) lowest = { s, p };
    }
    const swap = s.swap_used_percent;
    const some = s.psi_memory_some_avg10;
    if (swap !== null && some !== null && swap >= SWAP_HIGH_PERCENT && some >= PSI_SOME_THRASHING) {
      if (thrash === undefined || some >= (thrash.psi_memory_some_avg10 ?? 0)) thrash = s;
    }
  }
  if (lowest === undefined && thrash === undefined) return null;
  const causes: string[] = [];
  const evidence: string[] = [];
  if (lowest !== undefined) {
    const { s, p } = lowest;
    causes.push(`memory exhausted: ${pct1(p)} available`);
    evidence.push(
      `${s.at} memory ${pct1(p)} available (${formatBytes(s.mem_available_bytes)} of ${formatBytes(s.mem_total_bytes)})` +
        (s.swap_used_percent === null ? '' : `, swap ${pct1(s.swap_used_percent)} used`) +
        (lowCount > 1 ? `; under ${MEMORY_LOW_PERCENT}% in ${lowCount} of ${ctx.input.samples.length} samples` : ''),
    );
  }
  if (thrash !== undefined) {
    causes.push(`swap thrashing: swap ${pct1(thrash.swap_used_percent ?? 0)} used, memory stall ${pct1(thrash.psi_memory_some_avg10 ?? 0)}`);
    evidence.push(
      `${thrash.at} swap ${pct1(thrash.swap_used_percent ?? 0)} used (${formatBytes(thrash.swap_used_bytes)}), PSI memory some avg10 ${pct1(thrash.psi_memory_some_avg10 ?? 0)}` +
        (thrash.psi_memory_full_avg10 === null ? '' : `, full ${pct1(thrash.psi_memory_full_avg10)}`),
    );
  }
  return finding(55, causes.join('; '), evidence);
}

// ---------------------------------------------------------------------------------------------------
// 6. PSI full stalls

function pressureStalls(ctx: Context): RankedFinding[] {
  const out: RankedFinding[] = [];
  const resources = [
    { name: 'memory', label: 'memory', full: (s: HostSample) => s.psi_memory_full_avg10, some: (s: HostSample) => s.psi_memory_some_avg10 },
    { name: 'io', label: 'I/O', full: (s: HostSample) => s.psi_io_full_avg10, some: (s: HostSample) => s.psi_io_some_avg10 },
  ];
  for (const r of resources) {
    let peak: HostSample | undefined;
    let count = 0;
    for (const s of ctx.input.samples) {
      const v = r.full(s);
      if (v === null || v < PSI_FULL_STALL) continue;
      count++;
      if (peak === undefined || v >= (r.full(peak) ?? 0)) peak = s;
    }
    if (peak === undefined) continue;
    const full = r.full(peak) ?? 0;
    const some = r.some(peak);
    out.push(
      finding(50, `${r.label} stall: all tasks stalled ${pct1(full)} of the time`, [
        `${peak.at} PSI ${r.name} full avg10 ${pct1(full)}${some === null ? '' : ` (some ${pct1(some)})`}` +
          (count > 1 ? `; ≥ ${PSI_FULL_STALL}% in ${count} of ${ctx.input.samples.length} samples` : ''),
      ]),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// 7. CPU saturated

function cpuSaturated(ctx: Context): RankedFinding | null {
  const { samples, cpus } = ctx.input;
  if (!(cpus > 0)) return null;
  const withCpu = samples.filter((s) => s.cpu_percent !== null);
  // at least two readings: a single busy sample is a blip
  if (withCpu.length < 2) return null;
  const last = take(withCpu, CPU_SATURATED_SAMPLES);
  if (!last.every((s) => (s.cpu_percent ?? 0) >= CPU_SATURATED_PERCENT)) return null;
  const load = [...last].reverse().find((s) => s.load1 !== null)?.load1;
  if (load === undefined || load === null || load <= LOAD_PER_CPU * cpus) return null;
  const busy = Math.min(...last.map((s) => s.cpu_percent ?? 0));
  return finding(
    40,
    `CPU saturated: ≥ ${Math.floor(busy)}% busy, load ${load.toFixed(2)} on ${cpus} CPU${cpus === 1 ? '' : 's'}`,
    [
      ...last.map((s) => `${s.at} cpu ${pct1(s.cpu_percent ?? 0)}${s.load1 === null ? '' : `, load1 ${s.load1.toFixed(2)}`}`),
      `load1 ${load.toFixed(2)} > ${LOAD_PER_CPU} × ${cpus} CPUs`,
    ],
  );
}

// ---------------------------------------------------------------------------------------------------
// 8, 9. What the unit was doing when the check failed

function checkEvidence(error: NonNullable<Snapshot['error']>): string {
  const latency = error.latency_ms === null ? '' : ` after ${Math.round(error.latency_ms)} ms`;
  return `health check: ${error.kind}${error.status === null ? '' : ` ${error.status}`}${error.message ? `: ${clean(error.message)}` : ''}${latency}`;
}

function hung(ctx: Context): RankedFinding | null {
  const { input, unit } = ctx;
  if (input.error?.kind !== 'timeout' || unit?.activeState !== 'active') return null;
  // "not crashed" would contradict a crash or an OOM kill quoted above it
  if (exitOf(ctx) !== null || ctx.unitSaysOom || ctx.kills.some((k) => k.owner === 'unit')) return null;
  return finding(20, `hung, not crashed: ${ctx.unitName} stayed active (${unit.subState ?? '?'}) but timed out`, [
    checkEvidence(input.error),
    props(unit, ['ActiveState', 'SubState', 'MainPID', 'NRestarts']),
  ]);
}

function notRunning(ctx: Context): RankedFinding | null {
  const { input, unit } = ctx;
  const error = input.error;
  if (error === null || error.kind === 'unit' || unit === null) return null;
  const active = unit.activeState;
  if (active === undefined || active === 'active' || active === 'reloading') return null;
  // a Result other than success says why it stopped (start-limit-hit: systemd gave up restarting it)
  const why = unit.result !== undefined && unit.result !== 'success' ? `, ${unit.result}` : '';
  const state = `${active}/${unit.subState ?? '?'}${why}`;
  let cause: string;
  if (active === 'activating') cause = unit.subState === 'auto-restart' ? `${ctx.unitName} is restarting (${state})` : `${ctx.unitName} is starting (${state})`;
  else if (active === 'deactivating') cause = `${ctx.unitName} is stopping (${state})`;
  else cause = `${ctx.unitName} is not running (${state})`;
  return finding(65, cause, [checkEvidence(error), props(unit, ['ActiveState', 'SubState', 'Result', 'MainPID'])]);
}

function httpStatus(ctx: Context): RankedFinding | null {
  const error = ctx.input.error;
  if (error?.kind !== 'http_status') return null;
  return finding(10, `health check returned HTTP ${error.status ?? '?'}`, [checkEvidence(error)]);
}

// ---------------------------------------------------------------------------------------------------
// Kernel events other than OOM

const KERNEL_EVENTS: ReadonlyArray<{ kind: KernelEventKind; rank: number; cause: (m: string) => string }> = [
  {
    kind: 'segfault',
    rank: 75,
    cause: (m) => {
      const r = /^(?:traps: )?(.+?)\[(\d+)\]:? (?:segfault at|general protection)/.exec(m);
      return r ? `segfault in ${r[1]}[${r[2]}]` : 'segfault';
    },
  },
  {
    kind: 'fs_error',
    rank: 58,
    cause: (m) => {
      const r = /\(device ([^)]+)\)|^[A-Za-z0-9]+(?:-fs)? \(([^)]+)\)|on device (\S+?)\.?$/.exec(m);
      const dev = r?.[1] ?? r?.[2] ?? r?.[3];
      return dev === undefined ? 'filesystem errors' : `filesystem errors on ${dev}`;
    },
  },
  {
    kind: 'io_error',
    rank: 57,
    cause: (m) => {
      const r = /error, dev ([^,\s]+),|^Buffer I\/O error on dev ([^,\s]+),/.exec(m);
      const dev = r?.[1] ?? r?.[2];
      return dev === undefined ? 'disk I/O errors' : `disk I/O errors on ${dev}`;
    },
  },
  {
    kind: 'hung_task',
    rank: 45,
    cause: (m) => {
      const r = /^INFO: task (.+):(\d+) blocked for more than (\d+) seconds/.exec(m);
      return r ? `hung task: ${r[1]} blocked > ${r[3]} s` : 'hung task';
    },
  },
];

function kernelEvents(ctx: Context): RankedFinding[] {
  const byKind = new Map<KernelEventKind, SnapshotKernelLine[]>();
  for (const l of ctx.input.kernel) {
    const kind = classifyKernelLine(l.message);
    if (kind === null) continue;
    const list = byKind.get(kind) ?? [];
    list.push(l);
    byKind.set(kind, list);
  }
  const out: RankedFinding[] = [];
  for (const k of KERNEL_EVENTS) {
    const lines = byKind.get(k.kind);
    const last = lines?.[lines.length - 1];
    if (lines === undefined || last === undefined) continue;
    const evidence = take(lines, 3).map(kernelEvidence);
    if (lines.length > 3) evidence.push(`${lines.length} such kernel lines in the window`);
    out.push(finding(k.rank, k.cause(last.message.trim()), evidence));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------

type Rule = (ctx: Context) => RankedFinding | RankedFinding[] | null;

/** In the order of the ranking table; equal ranks keep this order. */
const RULES: readonly Rule[] = [
  unitOomKill,
  processExit,
  diskFull,
  restartLoop,
  notRunning,
  kernelEvents,
  memoryLow,
  pressureStalls,
  otherOomKill,
  cpuSaturated,
  hung,
];

function contextOf(input: FindingsInput): Context {
  const unit = unitStateOf(input.unit);
  const kills = withTaskIn(collectOomKills(input.kernel), input.kernel).map((k) => attribute(k, unit));
  const unitSaysOom =
    unit?.result === 'oom-kill' ||
    (input.memoryEvents?.oomKill ?? 0) > 0 ||
    input.journal.some((l) => isUnitOomKillLine(l.message) || parseFailedResult(l.message) === 'oom-kill');
  return { input, unit, unitName: unit?.id || 'the unit', kills, unitSaysOom };
}

/** All findings with their ranks, most probable first. */
export function rankFindings(input: FindingsInput): RankedFinding[] {
  const ctx = contextOf(input);
  const found: RankedFinding[] = [];
  for (const rule of RULES) {
    const r = rule(ctx);
    if (r === null) continue;
    if (Array.isArray(r)) found.push(...r);
    else found.push(r);
  }
  // the bare HTTP status says only how the failure looked: worth saying when nothing else is
  if (found.length === 0) {
    const h = httpStatus(ctx);
    if (h) found.push(h);
  }
  // Array.prototype.sort is stable: equal ranks keep the rule order
  return found.sort((a, b) => b.rank - a.rank);
}

/** Ranked probable causes, most probable first; [] when nothing stands out. */
export function computeFindings(input: FindingsInput): Finding[] {
  return rankFindings(input).map(({ cause, evidence }) => ({ cause, evidence }));
}

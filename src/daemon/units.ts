// Restart detection: what a health check cannot see. systemd's Restart= can bring a crashed service
// back between two checks; the only traces are its counters and its own journal lines. Two sources:
//  - events: one long-running `journalctl -f` filtered to PID 1's lines about the configured units.
//    "Main process exited, code=exited, status=3/..." arrives within a second of the exit, so the
//    capture runs while the scene is fresh, and it names how the dead run ended.
//  - polling: ONE `systemctl show` for all units every interval: NRestarts, InvocationID, the unit
//    entering failed or auto-restart. The fallback when the journal cannot be followed, and the
//    source of MemoryCurrent/TasksCurrent for the service rings.
// Both report the dead run by its invocation ID; an ID already reported is never reported twice.
// The follower also reports systemd's job lines (a requested stop, restart or start, and how it ended),
// so a deploy that comes back is not mistaken for a failure. Units are matched by every name they
// answer to (Id and Names=, from the first poll): `unit: sshd` is ssh.service in the journal.
import { parseJournalJson, type JournalEntry } from '../systemd/journal';
import { parseMainProcessExit, parseRestartScheduled } from '../systemd/exit';
import { isStartLimitLine, parseJobLine } from '../systemd/records';
import { parseUnitList } from '../systemd/timespan';
import { showUnits, type UnitState } from '../systemd/unit';
import type { SnapshotExit } from '../incident/snapshot';
import { follow, type Follower } from '../util/exec';
import type { Logger } from './log';

export interface RestartEvent {
  unit: string;
  /** epoch ms: when systemd logged the exit, or when the poll saw the change */
  at: number;
  /** the invocation that ended (its journal is the one worth keeping); null when unknown */
  deadInvocationId: string | null;
  /** how the dead run ended, when systemd's line said so */
  exit: SnapshotExit | null;
  /** one line for the log: what was seen */
  reason: string;
  /**
   * systemd will not restart it (the unit entered failed, or hit its start limit): the end of the
   * episode's story, which the open incident reads again. `start-limit` is no restart of its own.
   */
  gaveUp?: 'failed' | 'start-limit';
  nRestarts: number | null;
}

/** A job systemd began or finished for a unit: someone's `systemctl restart`, or systemd's own. */
export interface JobEvent {
  /** the unit as configured */
  unit: string;
  type: string;
  phase: 'begin' | 'end';
  /** JOB_RESULT at the end: done, failed, timeout, dependency, canceled, ... */
  result?: string;
  at: number;
  /** queued by systemd itself after the unit died (Restart=), not by anyone's request */
  automatic: boolean;
}

export interface UnitWatcherOptions {
  units: readonly string[];
  intervalMs: number;
  timeoutMs: number;
  log: Logger;
  onRestart: (e: RestartEvent) => void;
  /** every poll, each configured unit's state (for the service rings) */
  onState?: (unit: string, u: UnitState, at: number) => void;
  /** systemd's job lines about a unit, as the follower sees them */
  onJob?: (e: JobEvent) => void;
  /** follow the journal for events (default true) */
  follow?: boolean;
  journalctl?: string;
  now?: () => number;
}

/** Follower restarts allowed per window before it is left for dead (polling carries on). */
const FOLLOW_RESTARTS = 5;
const FOLLOW_WINDOW_MS = 10 * 60_000;
/** Invocation IDs remembered per unit, to report each dead run once. */
const REMEMBERED = 32;
/** A job line this soon after "Scheduled restart job" is systemd's own restart, not a request. */
const AUTOMATIC_MS = 2000;

/**
 * What changed between two polls of one unit that means its run ended badly, or null. A manual
 * `systemctl restart` (new invocation, NRestarts unchanged, never failed) is not an incident.
 */
export function restartFromPoll(prev: UnitState, cur: UnitState): Pick<RestartEvent, 'deadInvocationId' | 'reason' | 'gaveUp'> | null {
  const restarts = (cur.nRestarts ?? 0) - (prev.nRestarts ?? 0);
  const newRun = prev.invocationId !== undefined && cur.invocationId !== undefined && cur.invocationId !== prev.invocationId;
  // a unit that failed for good (a crash loop systemd gave up on) says so first, whatever the counter did
  if (cur.activeState === 'failed' && prev.activeState !== 'failed' && restarts > 0) {
    return {
      deadInvocationId: newRun ? (prev.invocationId ?? null) : (cur.invocationId ?? null),
      reason: `entered failed (result ${cur.result ?? '?'}) after NRestarts ${prev.nRestarts ?? 0} -> ${cur.nRestarts}`,
      gaveUp: 'failed',
    };
  }
  if (restarts > 0) {
    return {
      deadInvocationId: newRun ? (prev.invocationId ?? null) : (cur.invocationId ?? null),
      reason: `NRestarts ${prev.nRestarts ?? 0} -> ${cur.nRestarts}`,
    };
  }
  if (cur.subState === 'auto-restart' && prev.subState !== 'auto-restart') {
    return { deadInvocationId: cur.invocationId ?? null, reason: `${cur.activeState}/auto-restart (result ${cur.result ?? '?'})` };
  }
  if (cur.activeState === 'failed' && prev.activeState !== 'failed') {
    return { deadInvocationId: cur.invocationId ?? null, reason: `entered failed (result ${cur.result ?? '?'})`, gaveUp: 'failed' };
  }
  return null;
}

export class UnitWatcher {
  private readonly last = new Map<string, UnitState>();
  /** configured name -> every name the unit answers to (its Id, its Names=, the configured one) */
  private readonly names = new Map<string, Set<string>>();
  /** unit -> when systemd last scheduled an automatic restart of it */
  private readonly scheduledAt = new Map<string, number>();
  private readonly reported = new Map<string, string[]>();
  private timer: NodeJS.Timeout | null = null;
  private follower: Follower | null = null;
  private followerStarts: number[] = [];
  private stopped = false;
  private polling: Promise<void> | null = null;
  private readonly now: () => number;

  constructor(private readonly o: UnitWatcherOptions) {
    this.now = o.now ?? Date.now;
  }

  async start(): Promise<void> {
    if (this.o.units.length === 0) return;
    await this.poll(); // the first poll only records where every unit stands
    if (this.o.follow !== false) this.startFollower();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.follower?.stop();
    await this.follower?.exited;
    await this.polling;
  }

  /** The unit's real name (its Id) once a poll has seen it; the configured name until then. */
  canonical(unit: string): string {
    return this.last.get(unit)?.id || unit;
  }

  /** The configured units that answer to `name` (an Id or an alias). */
  private configuredFor(name: string): string[] {
    return this.o.units.filter((u) => u === name || this.names.get(u)?.has(name) === true);
  }

  /** Report a dead run unless that invocation was reported already (by the other source). */
  private report(e: RestartEvent): void {
    const seen = this.reported.get(e.unit) ?? [];
    if (e.deadInvocationId !== null && seen.includes(e.deadInvocationId)) return;
    if (e.deadInvocationId !== null) {
      seen.push(e.deadInvocationId);
      if (seen.length > REMEMBERED) seen.shift();
      this.reported.set(e.unit, seen);
    }
    this.o.onRestart(e);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.polling = this.poll().finally(() => {
        this.polling = null;
        this.schedule();
      });
    }, this.o.intervalMs);
  }

  private async poll(): Promise<void> {
    const r = await showUnits(this.o.units, { timeoutMs: this.o.timeoutMs });
    const at = this.now();
    if (!r.ok) {
      this.o.log.debug(`unit poll: ${r.reason}`);
      return;
    }
    r.units.forEach((cur, i) => {
      const unit = this.o.units[i];
      if (unit === undefined) return;
      this.names.set(unit, new Set([unit, ...(cur.id ? [cur.id] : []), ...parseUnitList(cur.properties.Names)]));
      this.o.onState?.(unit, cur, at);
      const prev = this.last.get(unit);
      this.last.set(unit, cur);
      if (!prev) return;
      const change = restartFromPoll(prev, cur);
      if (change) this.report({ unit, at, exit: null, nRestarts: cur.nRestarts ?? null, ...change });
    });
  }

  private startFollower(): void {
    if (this.stopped) return;
    // a window of time, so the monotonic clock: a wall-clock step must not forgive or condemn the follower
    const t = performance.now();
    this.followerStarts = this.followerStarts.filter((s) => t - s < FOLLOW_WINDOW_MS);
    if (this.followerStarts.length >= FOLLOW_RESTARTS) {
      this.o.log.warn(`journal follower died ${FOLLOW_RESTARTS} times in ${FOLLOW_WINDOW_MS / 60_000} min; restarts are now seen by polling only`);
      return;
    }
    this.followerStarts.push(t);
    // PID 1's lines about these units: "Main process exited", "Failed with result", "Scheduled restart job"
    // the journal names a unit by its Id: an alias in the config is matched through the first poll
    const ids = [...new Set(this.o.units.map((u) => this.canonical(u)))];
    // --since now, not -n 0: journalctl 252 following with -n 0 a UNIT= that has no earlier entry shows only
    // the last few lines and drops the rest (fixtures/systemd/README.md: 13 of 15 cases lost lines)
    const args = ['-f', '-o', 'json', '--since', 'now', '--no-pager', '-q', '_PID=1', ...ids.map((u) => `UNIT=${u}`)];
    const f = follow(this.o.journalctl ?? 'journalctl', args, {
      maxLineBytes: 256 * 1024,
      onLine: (line) => this.onJournalLine(line),
    });
    this.follower = f;
    void f.exited.then(({ exitCode, signal, stderr }) => {
      if (this.stopped) return;
      const why = stderr.trim().split('\n')[0] || (signal ? `killed by ${signal}` : `exit status ${exitCode}`);
      this.o.log.warn(`journal follower stopped (${why}); restarting it`);
      const backoff = 1000 * 2 ** (this.followerStarts.length - 1);
      setTimeout(() => this.startFollower(), backoff).unref();
    });
  }

  private onJournalLine(line: string): void {
    const { entries } = parseJournalJson(line, { maxMessageChars: 2000 });
    for (const e of entries) {
      if (!e.unit) continue;
      const at = Date.parse(e.at);
      if (parseRestartScheduled(e.message) !== null) this.scheduledAt.set(e.unit, at);
      for (const unit of this.configuredFor(e.unit)) this.onEntry(unit, e, at);
    }
  }

  private onEntry(unit: string, e: JournalEntry, at: number): void {
    // "Start request repeated too quickly.": systemd gave up restarting it; the open incident looks again
    if (isStartLimitLine(e.message)) {
      this.o.onRestart({ unit, at, deadInvocationId: null, exit: null, reason: e.message, nRestarts: null, gaveUp: 'start-limit' });
      return;
    }
    const job = parseJobLine(e);
    if (job) {
      const scheduled = this.scheduledAt.get(e.unit ?? unit);
      // systemd's own restart ends ("Stopped", JOB_TYPE=restart) right after "Scheduled restart job" and
      // never begins with "Stopping": a begin line is somebody's request (or a BindsTo='s)
      const automatic = job.phase === 'end' && job.type === 'restart' && scheduled !== undefined && at - scheduled >= 0 && at - scheduled < AUTOMATIC_MS;
      this.o.onJob?.({ unit, type: job.type, phase: job.phase, ...(job.result !== undefined ? { result: job.result } : {}), at, automatic });
      return;
    }
    const exit = parseMainProcessExit(e.message, e.at);
    if (!exit) return;
    this.report({ unit, at, deadInvocationId: e.invocationId ?? null, exit, reason: e.message, nRestarts: null });
  }
}

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
import { listFailedUnits } from '../systemd/failed-units';
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
  /** every poll, each configured unit's state (for the service rings); `polledMono`: when the poll began */
  onState?: (unit: string, u: UnitState, at: number, polledMono: number) => void;
  /**
   * watch_failed_units: each poll also lists the host's failed service units, and each one no watched
   * unit answers to is shown once and handed here (then polled with the others: see add())
   */
  onFailedUnit?: (unit: string, u: UnitState, at: number) => void;
  /** systemd's job lines about a unit, as the follower sees them */
  onJob?: (e: JobEvent) => void;
  /** follow the journal for events (default true) */
  follow?: boolean;
  journalctl?: string;
  systemctl?: string;
  now?: () => number;
  /** the monotonic clock (default performance.now()) */
  mono?: () => number;
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
  /** the configured units, and those watch_failed_units added since */
  private readonly units: string[];
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
  private readonly mono: () => number;
  /** the failed-units listing is down: said once until it answers again */
  private listingDown = false;

  constructor(private readonly o: UnitWatcherOptions) {
    this.now = o.now ?? Date.now;
    this.mono = o.mono ?? (() => performance.now());
    this.units = [...o.units];
  }

  async start(): Promise<void> {
    if (this.units.length === 0 && !this.o.onFailedUnit) return;
    await this.poll(); // the first poll only records where every unit stands
    // units found later by watch_failed_units are followed by the poll alone (the follower's matches are fixed)
    if (this.o.follow !== false && this.units.length > 0) this.startFollower();
    this.schedule();
  }

  /** Poll `unit` with the others from now on (a failed unit watch_failed_units found). */
  add(unit: string): void {
    if (!this.units.includes(unit)) this.units.push(unit);
  }

  /** Whether some watched unit answers to `name` (its Id, an alias, or the name as configured). */
  watches(name: string): boolean {
    return this.configuredFor(name).length > 0;
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
    return this.units.filter((u) => u === name || this.names.get(u)?.has(name) === true);
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
    const polledMono = this.mono();
    const asked = [...this.units];
    const r = await showUnits(asked, { timeoutMs: this.o.timeoutMs, ...(this.o.systemctl ? { systemctl: this.o.systemctl } : {}) });
    const at = this.now();
    if (!r.ok) {
      this.o.log.debug(`unit poll: ${r.reason}`);
    } else this.record(asked, r.units, at, polledMono);
    if (this.o.onFailedUnit) await this.findFailed();
  }

  /** watch_failed_units: the host's failed service units that no watched unit answers to, each handed on once. */
  private async findFailed(): Promise<void> {
    const listed = await listFailedUnits({ timeoutMs: this.o.timeoutMs, ...(this.o.systemctl ? { systemctl: this.o.systemctl } : {}) });
    if (!listed.ok) {
      if (!this.listingDown) this.o.log.warn(`watch_failed_units: cannot list failed units (${listed.reason}); said once until it works again`);
      this.listingDown = true;
      return;
    }
    this.listingDown = false;
    const fresh = listed.units.filter((u) => !this.watches(u));
    if (fresh.length === 0) return;
    // shown first, so the new service's first capture has the dead run's invocation and its names are known
    const shown = await showUnits(fresh, { timeoutMs: this.o.timeoutMs, ...(this.o.systemctl ? { systemctl: this.o.systemctl } : {}) });
    if (!shown.ok) return; // the next poll lists them again
    const at = this.now();
    shown.units.forEach((cur, i) => {
      const unit = fresh[i];
      if (unit === undefined || this.stopped) return;
      this.names.set(unit, new Set([unit, ...(cur.id ? [cur.id] : []), ...parseUnitList(cur.properties.Names)]));
      this.last.set(unit, cur);
      this.o.onFailedUnit?.(unit, cur, at);
    });
  }

  private record(asked: readonly string[], units: readonly UnitState[], at: number, polledMono: number): void {
    units.forEach((cur, i) => {
      const unit = asked[i];
      if (unit === undefined) return;
      this.names.set(unit, new Set([unit, ...(cur.id ? [cur.id] : []), ...parseUnitList(cur.properties.Names)]));
      this.o.onState?.(unit, cur, at, polledMono);
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
    const ids = [...new Set(this.units.map((u) => this.canonical(u)))];
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

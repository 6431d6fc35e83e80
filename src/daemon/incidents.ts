// What the daemon writes about an incident, in the service's queue: the capture, the commit (the
// snapshot built and saved, or a later failure appended to the episode it joins: episodes.ts), a
// restart joining an open incident (its diagnosis taken again when the unit gives up), the recovery,
// the episode's end, notifications and their outcomes (notices.ts), and .state.json.
import path from 'node:path';
import type { Config } from '../config/config';
import { buildSnapshot, minimalSnapshot, rediagnose, type BuildInput } from '../incident/build';

/** Re-exported: it was here before build.ts held it. */
export { minimalSnapshot };
import { captureContext, mergeContexts, readUnit, refreshJournal, storedContext, type CaptureOptions, type CapturedContext } from '../incident/capture';
import { SNAPSHOT_SCHEMA, iso, type Snapshot, type SnapshotError } from '../incident/snapshot';
import { SnapshotSerializeError, type SnapshotStore } from '../incident/store';
import type { CaptureCoordinator } from '../incident/coordinator';
import { unitFailed } from '../incident/unit-failed';
import type { HostSample, HostSampler } from '../sample/host';
import type { ProcessTable } from '../sample/procs';
import { errorMessage } from '../util/errors';
import { formatDuration } from '../util/units';
import { countRestart, downtimeSeconds, recordRecovery, resolveEpisode, startEpisode } from './episodes';
import type { Logger } from './log';
import type { Effect } from './monitor';
import { EpisodeFlow } from './episode-flow';
import { Notices } from './notices';
import type { Notifier, NotifyEvent } from './notify';
import { commandTimeoutMs, enqueue, noteEpisode, persistedState, type PersistedState, type ServiceRuntime } from './runtime';
import type { RestartEvent, UnitWatcher } from './units';

/** NRestarts remembered per service across incidents (restart-loop finding). */
const RESTART_HISTORY = 10;
/** A held capture older than this at commit gets the unit's journal read again and merged. */
const STALE_CAPTURE_MS = 1000;
/** An open incident's diagnosis is taken again on a unit restart at most this often (and always when the unit gives up). */
const JOIN_REFRESH_MS = 10_000;

export interface IncidentsOptions {
  config: Config;
  store: SnapshotStore;
  sampler: HostSampler;
  processes: ProcessTable;
  services: readonly ServiceRuntime[];
  units: UnitWatcher | null;
  log: Logger;
  now: () => number;
  /** the monotonic clock, for the ages compared here (default performance.now()) */
  mono?: () => number;
  procRoot?: string;
  notifier?: Notifier;
  /** runs captures under the global limits and deadlines (absent: each capture runs at once, unbounded) */
  coordinator?: CaptureCoordinator;
  events: {
    onIncident?: (snapshot: Snapshot, path: string) => void;
    onRecovery?: (snapshot: Snapshot, path: string) => void;
  };
  /**
   * Notifications held for `service` now (mute or maintenance: B's mute.ts), or null to send. While
   * held, a message is not sent, the snapshot says `muted`, and releaseHeld() sends it later.
   */
  held?: (service: string) => { until: string; reason: string | null } | null;
}

export class Incidents {
  lastCaptureDurationMs: number | null = null;
  private persisting: Promise<void> = Promise.resolve();
  /** when each capture ended on the monotonic clock: a held capture's age decides if it is read again */
  private readonly finishedMono = new WeakMap<CapturedContext, number>();
  private failing = false;
  private readonly notices: Notices;
  private readonly episodes: EpisodeFlow;

  constructor(private readonly o: IncidentsOptions) {
    this.notices = new Notices({
      ...(o.notifier ? { notifier: o.notifier } : {}),
      ...(o.held ? { held: o.held } : {}),
      log: o.log,
      update: (rt, id, change) => this.update(rt, id, change),
      read: async (rt, id) => {
        const found = await o.store.read(rt.cfg.name, id);
        return found ? (JSON.parse(found.text) as Snapshot) : null;
      },
    });
    this.episodes = new EpisodeFlow({
      config: o.config,
      services: o.services,
      log: o.log,
      now: o.now,
      mono: () => this.mono(),
      update: (rt, id, change) => this.update(rt, id, change),
      read: async (rt, id) => {
        const found = await o.store.read(rt.cfg.name, id);
        return found ? (JSON.parse(found.text) as Snapshot) : null;
      },
      persist: () => this.persist(),
      notices: this.notices,
    });
  }

  /** After a restart of preflight: the timers of the episodes .state.json kept (episode-flow.ts). */
  resume(): void {
    this.episodes.resume();
  }

  /** No timer fires after this (the store may be closing). */
  stop(): void {
    this.episodes.stop();
  }

  /** The last .state.json write failed (said once per outage): the daemon retries it on its timer. */
  get stateFailing(): boolean {
    return this.failing;
  }

  /** Settles once every .state.json write queued so far is done. */
  get persisted(): Promise<void> {
    return this.persisting;
  }

  /** `invocation`: only that run's journal (default: the dead run of the restart that opened the suspicion). */
  private captureOptions(rt: ServiceRuntime, firstFailureAt: number, refused = false, invocation = rt.restart?.deadInvocationId ?? undefined): CaptureOptions {
    const journalUnit = rt.cfg.unit ? this.o.units?.canonical(rt.cfg.unit) : undefined;
    return {
      service: rt.cfg,
      since: new Date(firstFailureAt - this.windowMs()),
      journalLines: this.o.config.journalLines,
      timeoutMs: commandTimeoutMs(rt.cfg.timeoutSeconds),
      processes: this.o.processes,
      // after a restart the log worth keeping is the dead run's, not the new run's first lines
      ...(invocation ? { invocationId: invocation } : {}),
      ...(journalUnit ? { journalUnit } : {}),
      refused,
      ...(this.o.procRoot ? { procRoot: this.o.procRoot } : {}),
      now: this.o.now,
    };
  }

  capture(rt: ServiceRuntime, firstFailureAt: number, refused = false, invocation = rt.restart?.deadInvocationId ?? undefined): Promise<CapturedContext> {
    return this.run(this.captureOptions(rt, firstFailureAt, refused, invocation));
  }

  private run(opts: CaptureOptions): Promise<CapturedContext> {
    const p = this.o.coordinator ? this.o.coordinator.capture(opts) : captureContext(opts);
    return p.then((c) => {
      this.finishedMono.set(c, this.mono());
      return c;
    });
  }

  private mono(): number {
    return this.o.mono ? this.o.mono() : performance.now();
  }

  /** The journal/kernel window: as far back as the host ring reaches, at least a minute. */
  private windowMs(): number {
    return Math.max(60_000, this.o.config.bufferSamples * this.o.config.sampleSeconds * 1000);
  }

  async commit(
    rt: ServiceRuntime,
    e: Extract<Effect, { kind: 'commit' }>,
    held: Promise<CapturedContext> | null,
    failureSample: Promise<HostSample | null> | null,
    error: SnapshotError | null,
    restart: RestartEvent | null,
  ): Promise<void> {
    const cfg = rt.cfg;
    let context = (await held) ?? (await this.capture(rt, e.firstFailureAt));
    // a capture held through a requested restart (or a slow confirmation) is older than what systemd did
    // since: its journal and kernel lines are read again and added (the first capture's processes stay)
    const finished = this.finishedMono.get(context);
    const age = finished === undefined ? this.o.now() - context.finishedAt : this.mono() - finished;
    if (age > STALE_CAPTURE_MS) {
      context = await refreshJournal(context, this.captureOptions(rt, e.firstFailureAt, false, restart?.deadInvocationId ?? undefined));
    }
    // the unit's state is cheap to re-read and tells what systemd did since the first failure
    const unitNow = cfg.unit ? (await readUnit(cfg.unit, commandTimeoutMs(cfg.timeoutSeconds))).unit : null;
    const id = this.o.store.newId(cfg.name, new Date(e.firstFailureAt));
    const input: BuildInput = {
      ...this.buildArgs(rt),
      id,
      trigger: e.trigger,
      firstFailureAt: e.firstFailureAt,
      confirmedAt: e.confirmedAt,
      consecutiveFailures: e.consecutiveFailures,
      error,
      context,
      unitNow,
      failureSample: failureSample ? await failureSample : null,
      restartExit: restart?.exit ?? null,
      deadInvocation: restart?.deadInvocationId ?? null,
    };
    let snapshot: Snapshot;
    try {
      snapshot = buildSnapshot(input);
    } catch (err) {
      // a bug in a rule or a field nobody foresaw must not cost the incident: what is known is kept
      snapshot = minimalSnapshot(input, 'build', err);
      this.o.log.error(`${cfg.name}: snapshot ${id} could not be built (${errorMessage(err)}); saving what is known`);
    }
    const nRestarts = unitNow?.nRestarts ?? context.unit?.nRestarts;
    if (nRestarts !== undefined) {
      rt.restartHistory = [...rt.restartHistory, { at: snapshot.transition.first_failure_at, nRestarts }].slice(-RESTART_HISTORY);
    }
    rt.restart = null;
    if (await this.episodes.joinIfDue(rt, snapshot, e.firstFailureAt, error, restart)) return;
    // a new episode; an older one whose flap window has passed (its timer not fired yet) ends first
    if (rt.episode) await this.episodes.resolve(rt, rt.episode.id);
    startEpisode(snapshot);
    this.prepare(rt, 'down', snapshot);
    // save parks what the dir refuses (it does not throw for that); only what cannot be JSON comes back
    let file: string;
    try {
      file = await this.o.store.save(snapshot);
    } catch (err) {
      if (!(err instanceof SnapshotSerializeError)) throw err;
      this.o.log.error(`${cfg.name}: ${errorMessage(err)}; saving what is known`);
      snapshot = startEpisode(minimalSnapshot(input, 'serialise', err));
      this.prepare(rt, 'down', snapshot);
      file = await this.o.store.save(snapshot);
    }
    this.lastCaptureDurationMs = context.finishedAt - context.startedAt;
    rt.incidentsTotal[snapshot.trigger]++;
    rt.openIncident = { id: snapshot.id, firstFailureAt: e.firstFailureAt };
    rt.lastIncident = { firstFailureAt: snapshot.transition.first_failure_at, recoveredAt: null };
    // the snapshot first, the state second: a kill between them leaves the state behind, which the
    // next start reconciles from the store (reconcile.ts); the other order would leave an open
    // incident in the state with no file
    await this.persist();
    // a unit-only service's unit failed (a oneshot's exit 1): systemd restarted nothing
    const unitOnlyWhat = restart && unitFailed(snapshot) ? `${restart.unit} failed${snapshot.exit ? ` (${snapshot.exit.code} ${snapshot.exit.status})` : ''}` : null;
    const what = error?.message ?? unitOnlyWhat ?? (restart ? `${restart.unit} restarted` : 'failed');
    const parked = this.o.store.parkedIn(cfg.name, snapshot.id);
    const where = parked === 'memory' ? `snapshot ${snapshot.id} parked in memory (not on disk yet; served by the API)` : `snapshot ${file}`;
    this.o.log.error(`${cfg.name}: DOWN (${what}); ${snapshot.probable_cause}; ${where}`);
    this.o.events.onIncident?.(snapshot, file);
    this.episodes.opened(rt, snapshot.id);
    noteEpisode(rt, snapshot);
    this.notify(rt, 'down', snapshot);
  }

  /**
   * A unit restart during an open incident: noted in that incident's snapshot, no new one. Its diagnosis
   * is taken again from a fresh read of the unit's journal when the unit has given up (entered failed: a
   * crash loop systemd stopped restarting), and at most every JOIN_REFRESH_MS otherwise, so the file says
   * what the episode turned out to be, not only how it began.
   */
  async join(rt: ServiceRuntime, restart: RestartEvent): Promise<void> {
    const id = rt.openIncident?.id;
    if (!id) return;
    const due = restart.gaveUp !== undefined || rt.refreshedAt === null || this.mono() - rt.refreshedAt >= JOIN_REFRESH_MS;
    let fresh: CapturedContext | null = null;
    if (due) {
      rt.refreshedAt = this.mono();
      // the scene (processes, listeners) stays the first capture's: only systemd's record is read again
      fresh = await this.run({ ...this.captureOptions(rt, rt.openIncident?.firstFailureAt ?? restart.at, false, undefined), scene: false });
    }
    const done = await this.update(rt, id, (snapshot) => {
      countRestart(snapshot);
      if (fresh && snapshot.schema === SNAPSHOT_SCHEMA) {
        rediagnose(snapshot, {
          ...this.buildArgs(rt),
          context: mergeContexts(storedContext(snapshot), fresh),
          unitNow: fresh.unit,
          // the latest run's end: the restart's own, else the journal's last (deadRunExit)
          restartExit: restart.exit,
          deadInvocation: restart.deadInvocationId,
        });
        return true;
      }
      const exitBefore = snapshot.exit;
      if (exitBefore === null && restart.exit) snapshot.exit = restart.exit;
      return snapshot.episode !== undefined || snapshot.exit !== exitBefore;
    });
    this.o.log.info(`${rt.cfg.name}: ${restart.unit} restart joined incident ${id}${done && fresh ? `; now: ${done.snapshot.probable_cause}` : ''}`);
  }

  /** What every build of this service's snapshot shares: its rings, history and settings. */
  private buildArgs(rt: ServiceRuntime): Pick<BuildInput, 'service' | 'hostSamples' | 'probeSamples' | 'unitSamples' | 'previousRestarts' | 'previous' | 'journalLines'> {
    const unitSamples = rt.unitRing?.samples();
    return {
      service: rt.cfg,
      hostSamples: this.o.sampler.window(),
      probeSamples: rt.probes.samples(),
      ...(unitSamples ? { unitSamples } : {}),
      previousRestarts: rt.restartHistory,
      previous: rt.lastIncident,
      journalLines: this.o.config.journalLines,
    };
  }

  /**
   * Read a stored snapshot, let `change` edit it, and rewrite it atomically when it says it changed.
   * Runs inside the service's work queue, so two updates of one file never interleave. Null when the
   * snapshot is gone.
   */
  private async update(
    rt: ServiceRuntime,
    id: string,
    change: (s: Snapshot) => boolean,
  ): Promise<{ snapshot: Snapshot; file: string } | null> {
    const found = await this.o.store.read(rt.cfg.name, id);
    if (!found) return null;
    const snapshot = JSON.parse(found.text) as Snapshot;
    const file = change(snapshot) ? await this.o.store.rewrite(snapshot) : found.entry.path;
    noteEpisode(rt, snapshot);
    return { snapshot, file };
  }

  async recover(rt: ServiceRuntime, at: number, downtimeMs: number): Promise<void> {
    const cfg = rt.cfg;
    const id = rt.openIncident?.id ?? null;
    // one rounding, said alike in the log, the snapshot and the message
    const seconds = downtimeSeconds(downtimeMs);
    // no flap window: the episode ends with this recovery, in the same rewrite (one write, as before episodes)
    const atOnce = this.o.config.flapWindowSeconds === 0;
    // the recovery into the snapshot first, the state second: a kill between them leaves an open
    // incident in the state whose file says recovered, which the next start drops (reconcile.ts); the
    // other order would leave a recovered-in-state incident whose file says it is still open
    let done: { snapshot: Snapshot; file: string } | null = null;
    try {
      if (id) {
        done = await this.update(rt, id, (snapshot) => {
          snapshot.recovery = {
            at: iso(at),
            downtime_seconds: seconds,
            samples: this.o.sampler.window(Date.parse(snapshot.transition.first_failure_at)),
          };
          recordRecovery(snapshot, seconds);
          if (atOnce) {
            resolveEpisode(snapshot, at);
            this.prepare(rt, 'resolved', snapshot);
          }
          return true;
        });
      }
    } finally {
      rt.openIncident = null;
      if (rt.lastIncident) rt.lastIncident = { ...rt.lastIncident, recoveredAt: iso(at) };
      // the episode stays joinable for the flap window: a failure in it is the same episode
      if (id && rt.episode?.id === id) rt.episode = atOnce ? null : { id, recoveredAt: at };
      await this.persist();
    }
    if (!id) {
      this.o.log.info(`${cfg.name}: recovered after ${formatDuration(seconds)}`);
      return;
    }
    if (!done) {
      this.o.log.warn(`${cfg.name}: recovered after ${formatDuration(seconds)}, but snapshot ${id} is gone; recovery not recorded`);
      rt.episode = null;
      return;
    }
    const parked = this.o.store.parkedIn(cfg.name, id);
    const n = done.snapshot.episode?.occurrences ?? 1;
    const window = this.o.config.flapWindowSeconds;
    const waits = window > 0 ? `; the episode ends if it stays up ${formatDuration(window)}` : '';
    const sofar = n > 1 ? ` (${n} occurrences so far)` : '';
    this.o.log.info(`${cfg.name}: recovered after ${formatDuration(seconds)}${sofar}; ${path.basename(done.file)} updated${parked ? ` (parked in ${parked}: it lands with its recovery)` : ''}${waits}`);
    this.o.events.onRecovery?.(done.snapshot, done.file);
    await this.episodes.recovered(rt, id, atOnce ? done.snapshot : null);
  }

  // --- notifications (notices.ts): every message goes through notify(), the one place a mute holds it

  /** Before a snapshot is written: `pending` for the message about it, or `muted` when it will be held. */
  private prepare(rt: ServiceRuntime, event: NotifyEvent, snapshot: Snapshot): void {
    this.notices.prepare(rt, event, snapshot);
  }

  notify(rt: ServiceRuntime, event: NotifyEvent, snapshot: Snapshot, detail: string | null = null): void {
    this.notices.notify(rt, event, snapshot, detail);
  }

  /** A mute or maintenance window of this service ended: what it held goes out if the failure is still open. */
  releaseHeld(rt: ServiceRuntime): Promise<void> {
    return this.notices.releaseHeld(rt);
  }

  /**
   * Write .state.json. Writes from several services' queues go one after another, each with the state
   * as it is when it runs, so an older state can never be renamed in last.
   */
  persist(): Promise<void> {
    this.persisting = this.persisting
      .then(() => this.o.store.saveState<PersistedState>(persistedState(this.o.services)))
      .then(
        () => {
          if (!this.failing) return;
          this.failing = false;
          this.o.log.info('state saved again');
        },
        (err: unknown) => {
          // every check of every service writes the state: an unwritable dir would say so each time
          if (this.failing) return;
          this.failing = true;
          this.o.log.error(`state not saved: ${errorMessage(err)} (said once until it works again)`);
        },
      );
    return this.persisting;
  }
}

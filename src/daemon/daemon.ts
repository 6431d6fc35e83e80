// The daemon: a host sampler on its own timer, and per service a probe loop driving the monitor's
// state machine. Effects (capture, commit, discard, recover) run off the probe loop so a slow
// journalctl never delays a recheck, and per service they run in order (a recovery waits for its
// commit). Only committed snapshots reach disk; the small per-service state survives restarts.
// Checks are timed on the monotonic clock (`mono`); the wall clock (`now`) only stamps what is written.
import type { Config } from '../config/config';
import { CaptureCoordinator, type CoordinatorOptions } from '../incident/coordinator';
import type { Snapshot } from '../incident/snapshot';
import { SnapshotStore } from '../incident/store';
import { ExpiryNotices } from '../probe/expiry';
import { probe, type ProbeResult } from '../probe/http';
import { HostSampler, type HostSample } from '../sample/host';
import { ProcessTable } from '../sample/procs';
import { unitSettings } from '../systemd/timespan';
import type { UnitState } from '../systemd/unit';
import { errorMessage } from '../util/errors';
import { withTimeout } from '../util/waits';
import { Incidents } from './incidents';
import type { Logger } from './log';
import { maxCheckAgeMs, maxJobAgeMs } from './health';
import { checkDelay, step, stepRestart, type Effect, type Step } from './monitor';
import { Mutes } from './mute';
import type { Notifier } from './notify';
import { prepareStore } from './reconcile';
import { nextRequested } from './requested';
import { DEFAULT_UNIT_TIMEOUT_MS, commandTimeoutMs, enqueue, newRuntime, oldestJobAgeMs, restoreRuntime, statusExtras, type PersistedState, type ServiceRuntime } from './runtime';
import { UnitOnlyFeed, unitOnly } from './unit-only';
import { UnitWatcher, type JobEvent, type RestartEvent } from './units';

/** How long stop() tries to move parked snapshots back before giving up on them. */
const STOP_FLUSH_MS = 3000;
/** A host reading younger than this serves a capture as its sample at the failure. */
const FRESH_SAMPLE_MS = 1000;

/** What caused an effect: a health check, a unit restart, or a unit-only service's unit seen up again. */
type Cause = { check: ProbeResult; restart?: undefined } | { restart: RestartEvent; check?: undefined } | { unitUp: true; check?: undefined; restart?: undefined };

import type { DaemonStatus } from './status';

export type { DaemonStatus, ServiceStatus } from './status';

export interface DaemonOptions {
  procRoot?: string;
  /** the wall clock, for what is written (default Date.now) */
  now?: () => number;
  /** the monotonic clock, for what is timed and compared (default performance.now()) */
  mono?: () => number;
  /** Sends "down" after each commit and "resolved" after each recovery (src/daemon/notify.ts). */
  notifier?: Notifier;
  /** follow the journal for unit exits (default true; polling systemctl always runs) */
  followJournal?: boolean;
  /** the capture coordinator's limits (default: 4 captures, 8 children, deadlines from the timeouts) */
  coordinator?: CoordinatorOptions;
}

export interface DaemonEvents {
  /** a snapshot was committed (durable) */
  onIncident?: (snapshot: Snapshot, path: string) => void;
  /** a snapshot was rewritten with its recovery */
  onRecovery?: (snapshot: Snapshot, path: string) => void;
}

export class Daemon {
  readonly store: SnapshotStore;
  readonly sampler: HostSampler;
  readonly services: ServiceRuntime[];
  private readonly processes: ProcessTable;
  private readonly units: UnitWatcher | null;
  /** services with unit: and no health_url:, and watch_failed_units (unit-only.ts) */
  private readonly unitOnly: UnitOnlyFeed;
  private restored: PersistedState | null = null;
  private sampleTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly now: () => number;
  private readonly mono: () => number;
  lastSampleAt: number | null = null;
  private lastSampleMono: number | null = null;
  lastSampleDurationMs: number | null = null;
  private startedAt = 0;
  private startedMono: number | null = null;
  private readonly incidents: Incidents;
  /** certificates near their end, told once each (not at every check) */
  private readonly expiry = new ExpiryNotices();
  /** one for the daemon: the global limits on captures and children, the shared kernel read, deadlines */
  readonly coordinator: CaptureCoordinator;
  /** mutes (the mute file) and maintenance windows: what holds notifications */
  private readonly mutes: Mutes;

  constructor(
    readonly config: Config,
    private readonly log: Logger,
    events: DaemonEvents = {},
    private readonly opts: DaemonOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.mono = opts.mono ?? (() => performance.now());
    this.store = new SnapshotStore({
      dir: config.snapshotDir,
      retention: config.retention,
      warn: (m) => log.warn(m),
      error: (m) => log.error(m),
    });
    this.sampler = new HostSampler({
      ...(opts.procRoot ? { root: opts.procRoot } : {}),
      disks: config.disks,
      capacity: config.bufferSamples,
    });
    this.processes = new ProcessTable(opts.procRoot ? { root: opts.procRoot } : {});
    this.services = config.services.map((cfg) => newRuntime(cfg, config, this.mono));
    const unitNames = [...new Set(config.services.flatMap((c) => (c.unit ? [c.unit] : [])))];
    this.unitOnly = new UnitOnlyFeed({
      config,
      services: this.services,
      log,
      mono: this.mono,
      restored: () => this.restored,
      fail: (e) => this.onRestart(e),
      recover: (rt, at) => this.apply(rt, step(rt.state, true, { wall: at, mono: this.mono() }, rt.policy), { unitUp: true }),
      watch: (unit) => this.units?.add(unit),
    });
    this.units =
      unitNames.length === 0 && config.watchFailedUnits !== true
        ? null
        : new UnitWatcher({
            units: unitNames,
            intervalMs: config.intervalSeconds * 1000,
            timeoutMs: commandTimeoutMs(config.timeoutSeconds),
            log,
            onRestart: (e) => this.onRestart(e),
            onState: (unit, u, at, polledMono) => this.onUnitState(unit, u, at, polledMono),
            onJob: (e) => this.onJob(e),
            ...(config.watchFailedUnits === true ? { onFailedUnit: (unit: string, u: UnitState, at: number) => this.unitOnly.discover(unit, u, at) } : {}),
            mono: this.mono,
            ...(opts.followJournal === false ? { follow: false } : {}),
            now: this.now,
          });
    this.coordinator = new CaptureCoordinator(opts.coordinator);
    this.mutes = new Mutes({
      snapshotDir: config.snapshotDir,
      services: this.services.map((rt) => rt.cfg.name),
      windows: config.maintenance ?? [],
      log,
      now: this.now,
      // a hold ended: what it held goes out, in the service's queue (after any commit under way)
      onRelease: (name) => {
        const rt = this.services.find((x) => x.cfg.name === name);
        if (rt) enqueue(rt, () => this.incidents.releaseHeld(rt), log);
      },
    });
    this.incidents = new Incidents({
      config,
      store: this.store,
      sampler: this.sampler,
      processes: this.processes,
      services: this.services,
      units: this.units,
      coordinator: this.coordinator,
      log,
      now: this.now,
      mono: this.mono,
      ...(opts.procRoot ? { procRoot: opts.procRoot } : {}),
      ...(opts.notifier ? { notifier: opts.notifier } : {}),
      events,
      held: (service) => this.mutes.heldFor(service),
    });
  }

  async start(): Promise<void> {
    this.startedAt = this.now();
    this.startedMono = this.mono();
    const state = await prepareStore(this.store, this.log, {
      services: this.services.map((rt) => rt.cfg.name),
      now: this.now(),
      windowMs: Math.max(60_000, this.config.bufferSamples * this.config.sampleSeconds * 1000),
    });
    this.restored = state;
    for (const rt of this.services) restoreRuntime(rt, state, this.log);
    await this.mutes.start();
    this.incidents.resume();
    // (while running, flushParked() retries after every host sample as long as something is parked)
    await this.sampleHost();
    this.scheduleSampling();
    await this.units?.start();
    for (const rt of this.services) {
      if (rt.probeSpec === null) continue; // unit-only: the unit watcher is its feed
      // spread the first checks over one interval so services are not probed in lockstep
      this.schedule(rt, Math.random() * Math.min(rt.cfg.intervalSeconds * 1000, 5000));
    }
  }

  /**
   * Stop timers, let running checks and captures finish, write what is pending; then give queued
   * notifications `notifyGraceMs` and write the outcomes they reported.
   */
  async stop(notifyGraceMs = 0): Promise<void> {
    this.stopped = true;
    if (this.sampleTimer) clearTimeout(this.sampleTimer);
    for (const rt of this.services) if (rt.timer) clearTimeout(rt.timer);
    this.incidents.stop();
    // captures waiting for a slot end now; running ones end by their deadlines (commands settle by theirs
    // even when a child ignores SIGKILL), so nothing below waits on a hung process
    this.coordinator.stop();
    await this.mutes.stop();
    await this.units?.stop();
    await Promise.all(this.services.map((rt) => rt.checking));
    // a capture in progress finishes (its journalctl and scans end) even if nothing will commit it
    await Promise.all(this.services.map((rt) => rt.held));
    await Promise.all(this.services.map((rt) => rt.work));
    if (this.opts.notifier) {
      await this.opts.notifier.stop(notifyGraceMs);
      // the outcomes just reported were queued behind the work awaited above
      await Promise.all(this.services.map((rt) => rt.work));
    }
    await this.incidents.persisted;
    // the last chance for snapshots parked in memory, which do not outlive the process (bounded: a
    // hung disk must not hold the stop)
    await withTimeout(this.flushParked(), STOP_FLUSH_MS, 'moving parked snapshots back').catch(() => undefined);
    const lost = this.store.stats().parkedMemory;
    if (lost > 0) {
      this.log.error(`stopping with ${lost} snapshot(s) parked only in memory: they are lost with the process (the err lines logged as each was parked hold its summary and first finding)`);
    }
  }

  status(): DaemonStatus {
    const mono = this.mono();
    const age = (since: number | null): number | null => (since === null ? null : Math.max(0, mono - since));
    return {
      startedAt: this.startedAt,
      lastSampleAt: this.lastSampleAt,
      lastSampleAgeMs: age(this.lastSampleMono),
      uptimeMs: age(this.startedMono) ?? 0,
      lastSampleDurationMs: this.lastSampleDurationMs,
      lastCaptureDurationMs: this.incidents.lastCaptureDurationMs,
      services: this.services.map((rt) => ({
        name: rt.cfg.name,
        health: rt.state.health,
        consecutiveFailures: rt.state.consecutiveFailures,
        lastProbe: rt.lastProbe,
        openIncidentId: rt.openIncident?.id ?? null,
        ...statusExtras(rt),
        incidentsTotal: { ...rt.incidentsTotal },
        unitRestartsTotal: rt.unitRestartsTotal,
        lastCheckAgeMs: age(rt.lastCheckDone),
        maxCheckAgeMs: maxCheckAgeMs(rt.cfg.intervalSeconds, rt.cfg.timeoutSeconds),
        oldestJobAgeMs: oldestJobAgeMs(rt, mono),
        maxJobAgeMs: maxJobAgeMs(rt.cfg.timeoutSeconds),
        muted: this.mutes.current(rt.cfg.name),
      })),
      notifications: this.opts.notifier?.stats() ?? null,
      store: this.store.stats(),
      commands: this.coordinator.status(),
    };
  }

  private scheduleSampling(): void {
    if (this.stopped) return;
    this.sampleTimer = setTimeout(() => {
      void this.sampleHost()
        .then(() => this.flushParked())
        .finally(() => this.scheduleSampling());
    }, this.config.sampleSeconds * 1000);
  }

  /**
   * Snapshots parked (on tmpfs, or in memory) while the snapshot dir refused writes go back as soon as
   * it takes them again: neither survives what often follows (a reboot, a restart).
   */
  private async flushParked(): Promise<void> {
    // a state write that failed is retried here too: nothing else may write it until the next incident
    if (this.incidents.stateFailing) await this.incidents.persist();
    if (!this.store.parking) return;
    const moved = await this.store.flushFallback().catch(() => 0);
    if (moved > 0) this.log.info(`moved ${moved} parked snapshot(s) back into ${this.config.snapshotDir}`);
  }

  /**
   * Take a host reading; with `derive`, return it as a sample (for the snapshot's summary). A reading
   * under a second old is reused: a second row moments after the first has no CPU rate to give.
   */
  private async sampleHost(derive = false): Promise<HostSample | null> {
    if (derive && this.lastSampleMono !== null && this.mono() - this.lastSampleMono < FRESH_SAMPLE_MS) return this.sampler.latest();
    try {
      const t0 = performance.now();
      await this.sampler.sample(this.now());
      this.lastSampleDurationMs = performance.now() - t0;
      this.lastSampleAt = this.now();
      this.lastSampleMono = this.mono();
      for (const e of this.sampler.lastErrors) this.log.debug(`sample: ${e}`);
      return derive ? this.sampler.latest() : null;
    } catch (err) {
      this.log.warn(`host sample failed: ${errorMessage(err)}`);
      return null;
    }
  }

  private schedule(rt: ServiceRuntime, delayMs: number): void {
    if (this.stopped) return;
    rt.timer = setTimeout(() => {
      rt.timer = null;
      rt.checking = this.check(rt).finally(() => {
        rt.checking = null;
      });
    }, Math.max(0, delayMs));
  }

  private async check(rt: ServiceRuntime): Promise<void> {
    const cfg = rt.cfg;
    const started = this.mono();
    if (rt.probeSpec === null) return;
    const result = await probe(rt.probeSpec);
    const expiring = this.expiry.note(cfg.name, result.tls, result.at);
    if (expiring) this.log.warn(expiring);
    rt.lastProbe = result;
    rt.probes.push(result);
    // a requested restart under way: its failed checks wait for it to come back (or time out)
    if (rt.requested && started >= rt.requested.until && rt.state.health === 'healthy') rt.requested = null;
    const r = step(rt.state, result.ok, { wall: result.at, mono: started }, rt.policy, rt.requested?.until ?? null);
    if (!result.ok) {
      this.log.debug(`${cfg.name}: check failed (${result.errorKind}: ${result.message})`);
    }
    this.apply(rt, r, { check: result });
    rt.lastCheckDone = this.mono();
    // keep the cadence: the next check is due `next` after this one started, not after it ended
    this.schedule(rt, checkDelay(r.nextCheckMs, started, this.mono()));
  }

  private apply(rt: ServiceRuntime, r: Step, cause: Cause): void {
    rt.state = r.state;
    for (const e of r.effects) this.perform(rt, e, cause);
  }

  /** systemd restarted a unit (or it failed): every service on that unit opens or joins an incident. */
  private onRestart(e: RestartEvent): void {
    for (const rt of this.services) {
      if (rt.cfg.unit !== e.unit) continue;
      // systemd giving up is no restart of its own, but the end of a crash loop the incident must say
      const limit = e.gaveUp === 'start-limit';
      if (!limit) rt.unitRestartsTotal++;
      this.log.warn(`${rt.cfg.name}: ${e.unit} ${limit ? 'will not be restarted' : e.exit ? 'exited' : e.gaveUp === 'failed' ? 'failed' : 'restarted'} (${e.reason})`);
      // the restart that opens (or confirms) an incident is kept for its commit; one that joins an open
      // incident travels with its join effect and is not kept, so it cannot leak into a later incident
      if (rt.state.health !== 'unhealthy') rt.restart = e;
      if (unitOnly(rt)) this.unitOnly.failed(rt, e);
      // the journal's time is written down; the downtime is timed from when preflight learnt of it
      const r = stepRestart(rt.state, { wall: e.at, mono: this.mono() }, rt.policy);
      this.apply(rt, r, { restart: e });
      // look again soon: does the new run answer?
      if (rt.timer && !rt.checking) {
        clearTimeout(rt.timer);
        this.schedule(rt, r.nextCheckMs);
      }
    }
  }

  private onUnitState(unit: string, u: UnitState, at: number, polledMono: number): void {
    for (const rt of this.services) {
      if (rt.cfg.unit !== unit) continue;
      if (unitOnly(rt)) this.unitOnly.onState(rt, unit, u, at, polledMono);
      const t = unitSettings(u.properties);
      // "infinity" waits as long as the default: a deploy that never comes back must still be told
      const timeout = (ms: number | undefined): number => (ms === undefined || !Number.isFinite(ms) ? DEFAULT_UNIT_TIMEOUT_MS : ms);
      rt.unitTimeouts = { stopMs: timeout(t.timeoutStopMs), startMs: timeout(t.timeoutStartMs) };
      rt.unitRing?.push(u, at);
    }
  }

  /** systemd began or finished a job for a unit: what a requested restart holds (requested.ts). */
  private onJob(e: JobEvent): void {
    for (const rt of this.services) {
      if (rt.cfg.unit === e.unit && unitOnly(rt)) this.unitOnly.onJob(rt, e);
      if (rt.cfg.unit !== e.unit || rt.state.health === 'unhealthy' || unitOnly(rt)) continue;
      const before = rt.requested;
      rt.requested = nextRequested(before, e, rt.unitTimeouts, this.mono());
      if (rt.requested?.type === 'restart' && before?.type !== 'restart') {
        this.log.info(`${rt.cfg.name}: ${e.unit} restart requested; failed checks wait up to ${Math.round((rt.requested.until - this.mono()) / 1000)}s for it to come back`);
      }
    }
  }

  private perform(rt: ServiceRuntime, e: Effect, cause: Cause): void {
    const name = rt.cfg.name;
    switch (e.kind) {
      case 'capture': {
        const result = cause.check;
        if (result) {
          // a suspicion, not a failure: warnings and errors are for what is confirmed (the DOWN line);
          // a blip, or a requested restart whose job line arrives a moment later, ends at info
          this.log.info(`${name}: check failed (${result.message ?? result.errorKind})${rt.requested ? ` during the requested ${rt.requested.type}` : ''}; capturing context`);
          rt.firstError = {
            kind: result.errorKind ?? 'http_status',
            status: result.status ?? null,
            message: result.message ?? '',
            latency_ms: Math.round(result.latencyMs),
            // what the service answered is its own word on why
            ...(result.bodySnippet ? { body: result.bodySnippet } : {}),
            ...(result.tls
              ? { tls: { code: result.tls.code, subject: result.tls.subject, issuer: result.tls.issuer, valid_from: result.tls.validFrom, valid_to: result.tls.validTo } }
              : {}),
          };
        } else {
          rt.firstError = null;
        }
        rt.failureSample = this.sampleHost(true);
        rt.held = this.incidents.capture(rt, e.firstFailureAt, result?.errorKind === 'connection_refused');
        return;
      }
      case 'discard':
        if (rt.requested) {
          const took = Math.max(0, Math.round((this.mono() - rt.requested.since) / 100) / 10);
          this.log.info(`${name}: back ${took}s after the requested ${rt.requested.type} of ${rt.cfg.unit}; no incident`);
          rt.requested = null;
        } else this.log.info(`${name}: recovered before confirmation; nothing written`);
        rt.held = null;
        rt.failureSample = null;
        rt.firstError = null;
        rt.restart = null;
        return;
      case 'join': {
        const restart = cause.restart;
        if (restart) enqueue(rt, () => this.incidents.join(rt, restart), this.log);
        return;
      }
      case 'commit': {
        rt.requested = null;
        const held = rt.held;
        const failureSample = rt.failureSample;
        const error = rt.firstError;
        const restart = rt.restart;
        rt.held = null;
        rt.failureSample = null;
        enqueue(rt, () => this.incidents.commit(rt, e, held, failureSample, error, restart), this.log);
        return;
      }
      case 'recover':
        rt.restart = null;
        enqueue(rt, () => this.incidents.recover(rt, e.at, e.downtimeMs), this.log);
        return;
    }
  }
}

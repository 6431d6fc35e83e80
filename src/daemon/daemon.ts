// The daemon: a host sampler on its own timer, and per service a probe loop driving the monitor's
// state machine. Effects (capture, commit, discard, recover) run off the probe loop so a slow
// journalctl never delays a recheck, and per service they run in order (a recovery waits for its
// commit). Only committed snapshots reach disk; the small per-service state survives restarts.
import path from 'node:path';
import type { Config, ServiceConfig } from '../config/config';
import { captureContext, mergeContexts, readUnit, refreshJournal, storedContext, type CaptureOptions, type CapturedContext } from '../incident/capture';
import type { UnitState } from '../systemd/unit';
import { buildSnapshot, rediagnose, type BuildInput } from '../incident/build';
import { SNAPSHOT_SCHEMA, iso, type ProbeSample, type Snapshot, type SnapshotError, type Trigger, type UnitSample } from '../incident/snapshot';
import { SnapshotStore } from '../incident/store';
import { probe, type ProbeResult, type ProbeSpec } from '../probe/http';
import { HostSampler, type HostSample } from '../sample/host';
import { ProcessTable } from '../sample/procs';
import { errorMessage } from '../util/errors';
import type { Logger } from './log';
import { HEALTHY, step, stepRestart, type Effect, type Health, type MonitorPolicy, type MonitorState, type Step } from './monitor';
import { UnitWatcher, type JobEvent, type RestartEvent } from './units';
import { unitSettings } from '../systemd/timespan';
import { nextRequested, type Requested } from './requested';
import { ProbeRing, UnitRing } from './service-rings';
import { applyOutcome, type Notifier, type NotifierStats, type NotifyEvent } from './notify';

/** Deadline for journalctl/systemctl: the check's own timeout, at least 2 s (a busy host is slow to fork). */
const commandTimeoutMs = (timeoutSeconds: number): number => Math.max(2000, timeoutSeconds * 1000);
/** A host reading younger than this serves a capture as its sample at the failure. */
const FRESH_SAMPLE_MS = 1000;
/** NRestarts remembered per service across incidents (restart-loop finding). */
const RESTART_HISTORY = 10;
/** A held capture older than this at commit gets the unit's journal read again and merged. */
const STALE_CAPTURE_MS = 1000;
/** An open incident's diagnosis is taken again on a unit restart at most this often (and always when the unit gives up). */
const JOIN_REFRESH_MS = 10_000;
/** systemd's DefaultTimeoutStartSec= and DefaultTimeoutStopSec=, until a poll says the unit's own. */
const DEFAULT_UNIT_TIMEOUT_MS = 90_000;

/** Persisted in <snapshot_dir>/.state.json: enough to not re-report an open incident after a restart. */
interface PersistedState {
  version: 1;
  services: Record<string, { incidentId: string; firstFailureAt: number; consecutiveFailures: number }>;
  /** NRestarts seen at each service's recent incidents */
  restarts?: Record<string, { at: string; nRestarts: number }[]>;
  /** each service's newest incident and when it recovered */
  last?: Record<string, { firstFailureAt: string; recoveredAt: string | null }>;
}

interface ServiceRuntime {
  cfg: ServiceConfig;
  /** fixed per service: built once, not per check */
  probeSpec: ProbeSpec;
  policy: MonitorPolicy;
  state: MonitorState;
  probes: ProbeRing;
  timer: NodeJS.Timeout | null;
  /** the context taken at the first failure, held until commit or discard */
  held: Promise<CapturedContext> | null;
  /** the host sample taken at the first failure */
  failureSample: Promise<HostSample | null> | null;
  firstError: SnapshotError | null;
  /** the unit restart that opened or joined the current suspicion, if any */
  restart: RestartEvent | null;
  /** a restart or start someone asked for, under way: failures are not confirmed before `until` */
  requested: Requested | null;
  /** the unit's stop and start timeouts (ms), from its last poll: how long a requested restart may take */
  unitTimeouts: { stopMs: number; startMs: number };
  /** when the open incident's diagnosis was last taken again (join) */
  refreshedAt: number;
  /** MemoryCurrent/TasksCurrent/NRestarts per systemctl poll; null without a unit */
  unitRing: UnitRing | null;
  restartHistory: { at: string; nRestarts: number }[];
  /** effects run in order per service */
  work: Promise<void>;
  checking: Promise<void> | null;
  lastProbe: ProbeResult | null;
  /** the committed, not yet recovered incident (persisted so a restart does not report it twice) */
  openIncident: { id: string; firstFailureAt: number } | null;
  /** the newest incident and its recovery: what happened up to then is never a later incident's cause */
  lastIncident: { firstFailureAt: string; recoveredAt: string | null } | null;
  incidentsTotal: Record<Trigger, number>;
  unitRestartsTotal: number;
}

/** What caused an effect: a health check, or a unit restart. */
type Cause = { check: ProbeResult; restart?: undefined } | { restart: RestartEvent; check?: undefined };

/** What the HTTP API and /metrics show about one service. */
export interface ServiceStatus {
  name: string;
  health: Health;
  consecutiveFailures: number;
  lastProbe: ProbeResult | null;
  openIncidentId: string | null;
  incidentsTotal: Record<Trigger, number>;
  unitRestartsTotal: number;
}

/** What the HTTP API and /metrics show about the daemon. */
export interface DaemonStatus {
  startedAt: number;
  lastSampleAt: number | null;
  lastSampleDurationMs: number | null;
  lastCaptureDurationMs: number | null;
  services: ServiceStatus[];
  /** null without `notifications:` */
  notifications: NotifierStats | null;
}

export interface DaemonOptions {
  procRoot?: string;
  now?: () => number;
  /** Sends "down" after each commit and "recovered" after each recovery (src/daemon/notify.ts). */
  notifier?: Notifier;
  /** follow the journal for unit exits (default true; polling systemctl always runs) */
  followJournal?: boolean;
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
  private sampleTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly now: () => number;
  lastSampleAt: number | null = null;
  lastSampleDurationMs: number | null = null;
  lastCaptureDurationMs: number | null = null;
  private startedAt = 0;
  private persisting: Promise<void> = Promise.resolve();

  constructor(
    readonly config: Config,
    private readonly log: Logger,
    private readonly events: DaemonEvents = {},
    private readonly opts: DaemonOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.store = new SnapshotStore({
      dir: config.snapshotDir,
      retention: config.retention,
      warn: (m) => log.warn(m),
    });
    this.sampler = new HostSampler({
      ...(opts.procRoot ? { root: opts.procRoot } : {}),
      disks: config.disks,
      capacity: config.bufferSamples,
    });
    this.processes = new ProcessTable(opts.procRoot ? { root: opts.procRoot } : {});
    this.services = config.services.map((cfg) => ({
      cfg,
      probeSpec: {
        url: cfg.healthUrl,
        timeoutMs: cfg.timeoutSeconds * 1000,
        expectStatus: cfg.expectStatus,
        ...(cfg.expectBody !== undefined ? { expectBody: cfg.expectBody } : {}),
      },
      policy: {
        failureThreshold: config.failureThreshold,
        intervalMs: cfg.intervalSeconds * 1000,
        confirmIntervalMs: config.confirmIntervalSeconds * 1000,
      },
      state: HEALTHY,
      probes: new ProbeRing(cfg.bufferSamples),
      timer: null,
      held: null,
      failureSample: null,
      firstError: null,
      restart: null,
      requested: null,
      unitTimeouts: { stopMs: DEFAULT_UNIT_TIMEOUT_MS, startMs: DEFAULT_UNIT_TIMEOUT_MS },
      refreshedAt: 0,
      unitRing: cfg.unit ? new UnitRing(cfg.bufferSamples) : null,
      restartHistory: [],
      work: Promise.resolve(),
      checking: null,
      lastProbe: null,
      openIncident: null,
      lastIncident: null,
      incidentsTotal: { health_check: 0, unit_restart: 0, manual: 0 },
      unitRestartsTotal: 0,
    }));
    const unitNames = [...new Set(config.services.flatMap((c) => (c.unit ? [c.unit] : [])))];
    this.units =
      unitNames.length === 0
        ? null
        : new UnitWatcher({
            units: unitNames,
            intervalMs: config.intervalSeconds * 1000,
            timeoutMs: commandTimeoutMs(config.timeoutSeconds),
            log,
            onRestart: (e) => this.onRestart(e),
            onState: (unit, u, at) => this.onUnitState(unit, u, at),
            onJob: (e) => this.onJob(e),
            ...(opts.followJournal === false ? { follow: false } : {}),
            now: this.now,
          });
  }

  async start(): Promise<void> {
    this.startedAt = this.now();
    const state = await this.store.loadState<PersistedState>();
    for (const rt of this.services) {
      const open = state?.version === 1 ? state.services[rt.cfg.name] : undefined;
      if (open) {
        rt.state = { health: 'unhealthy', consecutiveFailures: open.consecutiveFailures, firstFailureAt: open.firstFailureAt };
        rt.openIncident = { id: open.incidentId, firstFailureAt: open.firstFailureAt };
        this.log.info(`${rt.cfg.name}: incident ${open.incidentId} still open from before the restart`);
      }
      rt.restartHistory = state?.restarts?.[rt.cfg.name] ?? [];
      rt.lastIncident = state?.last?.[rt.cfg.name] ?? null;
    }
    const flushed = await this.store.flushFallback().catch(() => 0);
    if (flushed > 0) this.log.info(`moved ${flushed} parked snapshot(s) back into ${this.config.snapshotDir}`);
    // (while running, flushParked() retries after every host sample as long as something is parked)
    await this.sampleHost();
    this.scheduleSampling();
    await this.units?.start();
    for (const rt of this.services) {
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
    await this.persisting;
  }

  status(): DaemonStatus {
    return {
      startedAt: this.startedAt,
      lastSampleAt: this.lastSampleAt,
      lastSampleDurationMs: this.lastSampleDurationMs,
      lastCaptureDurationMs: this.lastCaptureDurationMs,
      services: this.services.map((rt) => ({
        name: rt.cfg.name,
        health: rt.state.health,
        consecutiveFailures: rt.state.consecutiveFailures,
        lastProbe: rt.lastProbe,
        openIncidentId: rt.openIncident?.id ?? null,
        incidentsTotal: { ...rt.incidentsTotal },
        unitRestartsTotal: rt.unitRestartsTotal,
      })),
      notifications: this.opts.notifier?.stats() ?? null,
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
   * Snapshots parked on tmpfs while the snapshot disk was full go back as soon as it takes writes
   * again: tmpfs does not survive the reboot that often follows a full disk.
   */
  private async flushParked(): Promise<void> {
    if (!this.store.parking) return;
    const moved = await this.store.flushFallback().catch(() => 0);
    if (moved > 0) this.log.info(`moved ${moved} parked snapshot(s) back into ${this.config.snapshotDir}`);
  }

  /**
   * Take a host reading; with `derive`, return it as a sample (for the snapshot's summary). A reading
   * under a second old is reused: a second row moments after the first has no CPU rate to give.
   */
  private async sampleHost(derive = false): Promise<HostSample | null> {
    if (derive && this.lastSampleAt !== null && this.now() - this.lastSampleAt < FRESH_SAMPLE_MS) return this.sampler.latest();
    try {
      const t0 = performance.now();
      await this.sampler.sample(this.now());
      this.lastSampleDurationMs = performance.now() - t0;
      this.lastSampleAt = this.now();
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
    const result = await probe(rt.probeSpec);
    rt.lastProbe = result;
    rt.probes.push(result);
    // a requested restart under way: its failed checks wait for it to come back (or time out)
    if (rt.requested && result.at >= rt.requested.until && rt.state.health === 'healthy') rt.requested = null;
    const r = step(rt.state, result.ok, result.at, rt.policy, rt.requested?.until ?? null);
    if (!result.ok) {
      this.log.debug(`${cfg.name}: check failed (${result.errorKind}: ${result.message})`);
    }
    this.apply(rt, r, { check: result });
    // keep the cadence: the next check is due `next` after this one started, not after it ended
    this.schedule(rt, r.nextCheckMs - (this.now() - result.at));
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
      const gaveUp = e.reason.startsWith('gave up');
      if (!gaveUp) rt.unitRestartsTotal++;
      this.log.warn(`${rt.cfg.name}: ${e.unit} ${gaveUp ? 'will not be restarted' : e.exit ? 'exited' : 'restarted'} (${e.reason})`);
      // the restart that opens (or confirms) an incident is kept for its commit; one that joins an open
      // incident travels with its join effect and is not kept, so it cannot leak into a later incident
      if (rt.state.health !== 'unhealthy') rt.restart = e;
      const r = stepRestart(rt.state, e.at, rt.policy);
      this.apply(rt, r, { restart: e });
      // look again soon: does the new run answer?
      if (rt.timer && !rt.checking) {
        clearTimeout(rt.timer);
        this.schedule(rt, r.nextCheckMs);
      }
    }
  }

  private onUnitState(unit: string, u: UnitState, at: number): void {
    for (const rt of this.services) {
      if (rt.cfg.unit !== unit) continue;
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
      if (rt.cfg.unit !== e.unit || rt.state.health === 'unhealthy') continue;
      const before = rt.requested;
      rt.requested = nextRequested(before, e, rt.unitTimeouts);
      if (rt.requested?.type === 'restart' && before?.type !== 'restart') {
        this.log.info(`${rt.cfg.name}: ${e.unit} restart requested; failed checks wait up to ${Math.round((rt.requested.until - this.now()) / 1000)}s for it to come back`);
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
        rt.held = this.capture(rt, e.firstFailureAt, result?.errorKind === 'connection_refused');
        return;
      }
      case 'discard':
        if (rt.requested) {
          const took = Math.max(0, Math.round((this.now() - rt.requested.at) / 100) / 10);
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
        if (restart) this.enqueue(rt, () => this.join(rt, restart));
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
        this.enqueue(rt, () => this.commit(rt, e, held, failureSample, error, restart));
        return;
      }
      case 'recover':
        rt.restart = null;
        this.enqueue(rt, () => this.recover(rt, e.at, e.downtimeMs));
        return;
    }
  }

  private enqueue(rt: ServiceRuntime, job: () => Promise<void>): void {
    rt.work = rt.work.then(job).catch((err: unknown) => this.log.error(`${rt.cfg.name}: ${errorMessage(err)}`));
  }

  /** `invocation`: only that run's journal (default: the dead run of the restart that opened the suspicion). */
  private captureOptions(rt: ServiceRuntime, firstFailureAt: number, refused = false, invocation = rt.restart?.deadInvocationId ?? undefined): CaptureOptions {
    const journalUnit = rt.cfg.unit ? this.units?.canonical(rt.cfg.unit) : undefined;
    return {
      service: rt.cfg,
      since: new Date(firstFailureAt - this.windowMs()),
      journalLines: this.config.journalLines,
      timeoutMs: commandTimeoutMs(rt.cfg.timeoutSeconds),
      processes: this.processes,
      // after a restart the log worth keeping is the dead run's, not the new run's first lines
      ...(invocation ? { invocationId: invocation } : {}),
      ...(journalUnit ? { journalUnit } : {}),
      refused,
      ...(this.opts.procRoot ? { procRoot: this.opts.procRoot } : {}),
      now: this.now,
    };
  }

  private capture(rt: ServiceRuntime, firstFailureAt: number, refused = false, invocation = rt.restart?.deadInvocationId ?? undefined): Promise<CapturedContext> {
    return captureContext(this.captureOptions(rt, firstFailureAt, refused, invocation));
  }

  private unitSamples(rt: ServiceRuntime): UnitSample[] | undefined {
    return rt.unitRing?.samples();
  }

  /** The journal/kernel window: as far back as the host ring reaches, at least a minute. */
  private windowMs(): number {
    return Math.max(60_000, this.config.bufferSamples * this.config.sampleSeconds * 1000);
  }

  private probeSamples(rt: ServiceRuntime): ProbeSample[] {
    return rt.probes.samples();
  }

  private async commit(
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
    if (this.now() - context.finishedAt > STALE_CAPTURE_MS) {
      context = await refreshJournal(context, this.captureOptions(rt, e.firstFailureAt, false, restart?.deadInvocationId ?? undefined));
    }
    // the unit's state is cheap to re-read and tells what systemd did since the first failure
    const unitNow = cfg.unit ? (await readUnit(cfg.unit, commandTimeoutMs(cfg.timeoutSeconds))).unit : null;
    const id = this.store.newId(cfg.name, new Date(e.firstFailureAt));
    const unitSamples = this.unitSamples(rt);
    const snapshot = buildSnapshot({
      id,
      service: cfg,
      trigger: e.trigger,
      firstFailureAt: e.firstFailureAt,
      confirmedAt: e.confirmedAt,
      consecutiveFailures: e.consecutiveFailures,
      error,
      context,
      unitNow,
      hostSamples: this.sampler.window(),
      failureSample: failureSample ? await failureSample : null,
      probeSamples: this.probeSamples(rt),
      ...(unitSamples ? { unitSamples } : {}),
      restartExit: restart?.exit ?? null,
      deadInvocation: restart?.deadInvocationId ?? null,
      previousRestarts: rt.restartHistory,
      previous: rt.lastIncident,
      journalLines: this.config.journalLines,
    });
    const nRestarts = unitNow?.nRestarts ?? context.unit?.nRestarts;
    if (nRestarts !== undefined) {
      rt.restartHistory = [...rt.restartHistory, { at: snapshot.transition.first_failure_at, nRestarts }].slice(-RESTART_HISTORY);
    }
    rt.restart = null;
    this.opts.notifier?.markPending('down', snapshot);
    const file = await this.store.save(snapshot);
    this.lastCaptureDurationMs = context.finishedAt - context.startedAt;
    rt.incidentsTotal[snapshot.trigger]++;
    rt.openIncident = { id: snapshot.id, firstFailureAt: e.firstFailureAt };
    rt.lastIncident = { firstFailureAt: snapshot.transition.first_failure_at, recoveredAt: null };
    await this.persist();
    const what = error?.message ?? (restart ? `${restart.unit} restarted` : 'failed');
    this.log.error(`${cfg.name}: DOWN (${what}); ${snapshot.probable_cause}; snapshot ${file}`);
    this.events.onIncident?.(snapshot, file);
    this.notify(rt, 'down', snapshot);
  }

  /**
   * A unit restart during an open incident: noted in that incident's snapshot, no new one. Its diagnosis
   * is taken again from a fresh read of the unit's journal when the unit has given up (entered failed: a
   * crash loop systemd stopped restarting), and at most every JOIN_REFRESH_MS otherwise, so the file says
   * what the episode turned out to be, not only how it began.
   */
  private async join(rt: ServiceRuntime, restart: RestartEvent): Promise<void> {
    const id = rt.openIncident?.id;
    if (!id) return;
    const gaveUp = restart.reason.startsWith('entered failed') || restart.reason.startsWith('gave up');
    const due = gaveUp || this.now() - rt.refreshedAt >= JOIN_REFRESH_MS;
    let fresh: CapturedContext | null = null;
    if (due) {
      rt.refreshedAt = this.now();
      fresh = await this.capture(rt, rt.openIncident?.firstFailureAt ?? restart.at);
    }
    const unitNow = fresh && rt.cfg.unit ? (await readUnit(rt.cfg.unit, commandTimeoutMs(rt.cfg.timeoutSeconds))).unit : null;
    const done = await this.update(rt, id, (snapshot) => {
      if (fresh && snapshot.schema === SNAPSHOT_SCHEMA) {
        rediagnose(snapshot, {
          ...this.buildArgs(rt),
          context: mergeContexts(storedContext(snapshot), fresh),
          unitNow,
          // the latest run's end: the restart's own, else the journal's last (deadRunExit)
          restartExit: restart.exit,
          deadInvocation: restart.deadInvocationId,
        });
        return true;
      }
      if (snapshot.exit !== null || !restart.exit) return false;
      snapshot.exit = restart.exit;
      return true;
    });
    this.log.info(`${rt.cfg.name}: ${restart.unit} restart joined incident ${id}${done && fresh ? `; now: ${done.snapshot.probable_cause}` : ''}`);
  }

  /** What every build of this service's snapshot shares: its rings, history and settings. */
  private buildArgs(rt: ServiceRuntime): Pick<BuildInput, 'service' | 'hostSamples' | 'probeSamples' | 'unitSamples' | 'previousRestarts' | 'previous' | 'journalLines'> {
    const unitSamples = this.unitSamples(rt);
    return {
      service: rt.cfg,
      hostSamples: this.sampler.window(),
      probeSamples: this.probeSamples(rt),
      ...(unitSamples ? { unitSamples } : {}),
      previousRestarts: rt.restartHistory,
      previous: rt.lastIncident,
      journalLines: this.config.journalLines,
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
    const found = await this.store.read(rt.cfg.name, id);
    if (!found) return null;
    const snapshot = JSON.parse(found.text) as Snapshot;
    const file = change(snapshot) ? await this.store.rewrite(snapshot) : found.entry.path;
    return { snapshot, file };
  }

  private async recover(rt: ServiceRuntime, at: number, downtimeMs: number): Promise<void> {
    const cfg = rt.cfg;
    const id = rt.openIncident?.id ?? null;
    rt.openIncident = null;
    if (rt.lastIncident) rt.lastIncident = { ...rt.lastIncident, recoveredAt: iso(at) };
    await this.persist();
    const seconds = Math.round(downtimeMs / 1000);
    if (!id) {
      this.log.info(`${cfg.name}: recovered after ${seconds}s`);
      return;
    }
    const done = await this.update(rt, id, (snapshot) => {
      snapshot.recovery = {
        at: iso(at),
        downtime_seconds: Math.round(downtimeMs / 100) / 10,
        samples: this.sampler.window(Date.parse(snapshot.transition.first_failure_at)),
      };
      this.opts.notifier?.markPending('recovered', snapshot);
      return true;
    });
    if (!done) {
      this.log.warn(`${cfg.name}: recovered after ${seconds}s, but snapshot ${id} is gone; recovery not recorded`);
      return;
    }
    this.log.info(`${cfg.name}: recovered after ${seconds}s; ${path.basename(done.file)} updated`);
    this.events.onRecovery?.(done.snapshot, done.file);
    this.notify(rt, 'recovered', done.snapshot);
  }

  // --- notifications: queued once the snapshot is durable; the outcome is written back through this
  // service's work queue, so it never races the recovery rewrite.
  private notify(rt: ServiceRuntime, event: NotifyEvent, snapshot: Snapshot): void {
    this.opts.notifier?.notify(event, snapshot, (outcome) =>
      // retention may have removed it first: then there is nothing to record the outcome in
      this.enqueue(rt, () => this.update(rt, snapshot.id, (current) => applyOutcome(current, event, outcome)).then(() => undefined)),
    );
  }

  /**
   * Write .state.json. Writes from several services' queues go one after another, each with the state
   * as it is when it runs, so an older state can never be renamed in last.
   */
  private persist(): Promise<void> {
    this.persisting = this.persisting
      .then(() => {
        const services: PersistedState['services'] = {};
        const restarts: NonNullable<PersistedState['restarts']> = {};
        const last: NonNullable<PersistedState['last']> = {};
        for (const rt of this.services) {
          if (rt.restartHistory.length > 0) restarts[rt.cfg.name] = rt.restartHistory;
          if (rt.lastIncident) last[rt.cfg.name] = rt.lastIncident;
          if (rt.openIncident) {
            services[rt.cfg.name] = {
              incidentId: rt.openIncident.id,
              firstFailureAt: rt.openIncident.firstFailureAt,
              consecutiveFailures: rt.state.consecutiveFailures,
            };
          }
        }
        return this.store.saveState<PersistedState>({ version: 1, services, restarts, last });
      })
      .catch((err: unknown) => this.log.error(`state not saved: ${errorMessage(err)}`));
    return this.persisting;
  }

}

// One service's runtime state in the daemon: its config, state machine, rings, the capture held at the
// first failure, the incident it has open, and the queue its effects run in (one after another, so a
// recovery waits for its commit). Also what of it survives a restart of preflight (.state.json).
import type { Config, ServiceConfig } from '../config/config';
import type { CapturedContext } from '../incident/capture';
import type { Snapshot, SnapshotError, Trigger } from '../incident/snapshot';
import type { ProbeResult, ProbeSpec } from '../probe/http';
import { probeSpecOf } from '../probe/options';
import type { HostSample } from '../sample/host';
import { errorMessage } from '../util/errors';
import type { EpisodeRef } from './episodes';
import type { Logger } from './log';
import { HEALTHY, type MonitorPolicy, type MonitorState } from './monitor';
import type { Requested } from './requested';
import { ProbeRing, UnitRing } from './service-rings';
import type { ServiceStatus } from './status';
import type { RestartEvent } from './units';

/** Deadline for journalctl/systemctl: the check's own timeout, at least 2 s (a busy host is slow to fork). */
export const commandTimeoutMs = (timeoutSeconds: number): number => Math.max(2000, timeoutSeconds * 1000);
/** systemd's DefaultTimeoutStartSec= and DefaultTimeoutStopSec=, until a poll says the unit's own. */
export const DEFAULT_UNIT_TIMEOUT_MS = 90_000;

export interface ServiceRuntime {
  cfg: ServiceConfig;
  /** fixed per service: built once, not per check; null for a unit-only service (no health URL, no check) */
  probeSpec: ProbeSpec | null;
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
  /** when the open incident's diagnosis was last taken again (join; monotonic ms); null: never */
  refreshedAt: number | null;
  /** MemoryCurrent/TasksCurrent/NRestarts per systemctl poll; null without a unit */
  unitRing: UnitRing | null;
  restartHistory: { at: string; nRestarts: number }[];
  /** effects run in order per service */
  work: Promise<void>;
  /** the jobs in `work` not yet finished, and when the one running started (monotonic ms): /healthz's job age */
  jobs: { pending: number; runningSince: number | null };
  /** the monotonic clock (performance.now(); a test's own): job ages and check times are read on it */
  mono: () => number;
  checking: Promise<void> | null;
  lastProbe: ProbeResult | null;
  /** monotonic ms when the last check completed (its result applied); null before the first */
  lastCheckDone: number | null;
  /** the committed, not yet recovered incident (persisted so a restart does not report it twice) */
  openIncident: { id: string; firstFailureAt: number } | null;
  /** the newest incident and its recovery: what happened up to then is never a later incident's cause */
  lastIncident: { firstFailureAt: string; recoveredAt: string | null } | null;
  /** the service's latest unresolved episode: a failure within the flap window of its recovery joins it */
  episode: EpisodeRef | null;
  /** the episode's counts as its file last said them (`preflight status`); null before a file was read */
  episodeCounts: EpisodeCounts | null;
  /** the episode's last flapping / still-down reminder (monotonic ms); null: none sent yet */
  reminderSentAt: number | null;
  /** the episode's one cause_changed message went out */
  causeChangedSent: boolean;
  incidentsTotal: Record<Trigger, number>;
  unitRestartsTotal: number;
}

export function newRuntime(cfg: ServiceConfig, config: Config, mono: () => number = () => performance.now()): ServiceRuntime {
  return {
      cfg,
      probeSpec: cfg.healthUrl === null ? null : probeSpecOf(cfg),
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
      refreshedAt: null,
      unitRing: cfg.unit ? new UnitRing(cfg.bufferSamples) : null,
      restartHistory: [],
      work: Promise.resolve(),
      jobs: { pending: 0, runningSince: null },
      mono,
      checking: null,
      lastProbe: null,
      lastCheckDone: null,
      openIncident: null,
      lastIncident: null,
      episode: null,
      episodeCounts: null,
      reminderSentAt: null,
      causeChangedSent: false,
      incidentsTotal: { health_check: 0, unit_restart: 0, manual: 0 },
      unitRestartsTotal: 0,
    };
}

/**
 * Run `job` after the service's earlier effects; a failure is logged and does not stop the queue.
 * The jobs run one at a time, so a queue that does not move is the running job taking too long: its
 * start is kept (`rt.jobs.runningSince`) for /healthz, and a job waiting behind it is late only by it.
 */
export function enqueue(rt: ServiceRuntime, job: () => Promise<void>, log: Logger): void {
  rt.jobs.pending++;
  rt.work = rt.work
    .then(() => {
      rt.jobs.runningSince = rt.mono();
      return job();
    })
    .catch((err: unknown) => log.error(`${rt.cfg.name}: ${errorMessage(err)}`))
    .finally(() => {
      rt.jobs.pending--;
      rt.jobs.runningSince = null;
    });
}

/** How long the service's oldest unfinished job has been running (monotonic ms); null when none is. */
export function oldestJobAgeMs(rt: ServiceRuntime, now: number): number | null {
  if (rt.jobs.pending === 0) return null;
  // between two jobs (a microtask) the next one has not started yet: it is not late
  return rt.jobs.runningSince === null ? 0 : Math.max(0, now - rt.jobs.runningSince);
}

/** What `preflight status` adds to a service's status (GET /status): the open incident's start, the unit's state. */
export function statusExtras(rt: ServiceRuntime): Pick<ServiceStatus, 'openIncidentSince' | 'unit' | 'episode'> {
  const u = rt.unitRing?.last ?? null;
  const counts = rt.episode && rt.episodeCounts?.id === rt.episode.id ? rt.episodeCounts : null;
  return {
    openIncidentSince: rt.openIncident?.firstFailureAt ?? null,
    unit: rt.cfg.unit && u ? { name: rt.cfg.unit, ...u } : null,
    episode: counts ? { state: counts.state, occurrences: counts.occurrences, restarts: counts.restarts } : null,
  };
}

/** What `preflight status` shows of an open episode, kept from the last write (or read) of its file. */
export interface EpisodeCounts {
  id: string;
  state: string;
  occurrences: number;
  restarts: number;
}

/** Keep the counts of `s` when it is the file of the service's episode (a schema 1/2 file has none). */
export function noteEpisode(rt: ServiceRuntime, s: Snapshot): void {
  if (!s.episode || rt.episode?.id !== s.id) return;
  rt.episodeCounts = { id: s.id, state: s.episode.state, occurrences: s.episode.occurrences, restarts: s.episode.restarts };
}

/** Persisted in <snapshot_dir>/.state.json: enough to not re-report an open incident after a restart. */
export interface PersistedState {
  version: 1;
  services: Record<string, { incidentId: string; firstFailureAt: number; consecutiveFailures: number }>;
  /** NRestarts seen at each service's recent incidents */
  restarts?: Record<string, { at: string; nRestarts: number }[]>;
  /** each service's newest incident and when it recovered */
  last?: Record<string, { firstFailureAt: string; recoveredAt: string | null }>;
  /** each service's unresolved episode: a restart of preflight inside the flap window still joins it */
  episodes?: Record<string, EpisodeRef>;
}

/** What of the services goes into .state.json. */
export function persistedState(services: readonly ServiceRuntime[]): PersistedState {
  const out: Required<PersistedState> = { version: 1, services: {}, restarts: {}, last: {}, episodes: {} };
  for (const rt of services) {
    if (rt.restartHistory.length > 0) out.restarts[rt.cfg.name] = rt.restartHistory;
    if (rt.lastIncident) out.last[rt.cfg.name] = rt.lastIncident;
    if (rt.episode) out.episodes[rt.cfg.name] = rt.episode;
    if (rt.openIncident) {
      out.services[rt.cfg.name] = {
        incidentId: rt.openIncident.id,
        firstFailureAt: rt.openIncident.firstFailureAt,
        consecutiveFailures: rt.state.consecutiveFailures,
      };
    }
  }
  return out;
}

/** A service as .state.json left it: its open incident (so it is not reported twice), its history. */
export function restoreRuntime(rt: ServiceRuntime, state: PersistedState | null, log: Logger): void {
  const open = state?.version === 1 ? state.services[rt.cfg.name] : undefined;
  if (open) {
    rt.state = { health: 'unhealthy', consecutiveFailures: open.consecutiveFailures, firstFailureAt: open.firstFailureAt };
    rt.openIncident = { id: open.incidentId, firstFailureAt: open.firstFailureAt };
    log.info(`${rt.cfg.name}: incident ${open.incidentId} still open from before the restart`);
  }
  const episode = state?.episodes?.[rt.cfg.name];
  // an open incident is its episode's open failure, whatever an older entry says
  rt.episode = open ? { id: open.incidentId, recoveredAt: null } : episode && typeof episode.id === 'string' ? episode : null;
  rt.restartHistory = state?.restarts?.[rt.cfg.name] ?? [];
  rt.lastIncident = state?.last?.[rt.cfg.name] ?? null;
}

// What the daemon shows of itself, read by the HTTP API (/healthz, health.ts) and /metrics (metrics.ts):
// plain values, so they can be built and tested without a running daemon.
import type { CommandsStatus } from '../incident/coordinator';
import type { StoreStats } from '../incident/store';
import type { Trigger } from '../incident/snapshot';
import type { ProbeResult } from '../probe/http';
import type { Health } from './monitor';
import type { NotifierStats } from './notify';

/** What the HTTP API and /metrics show about one service. */
export interface ServiceStatus {
  name: string;
  health: Health;
  consecutiveFailures: number;
  lastProbe: ProbeResult | null;
  openIncidentId: string | null;
  incidentsTotal: Record<Trigger, number>;
  unitRestartsTotal: number;
  /** since the last check completed (monotonic ms); null before the first */
  lastCheckAgeMs: number | null;
  /** past this the checks are late (health.ts) */
  maxCheckAgeMs: number;
  /** how long the job running in the service's queue has run (monotonic ms); null when the queue is empty */
  oldestJobAgeMs: number | null;
  /** past this the queue is stuck (health.ts) */
  maxJobAgeMs: number;
  // Optional, for `preflight status` (GET /status, status-body.ts): a status built elsewhere (a test's,
  // an older daemon's) leaves them out and /status leaves them out too.
  /** the open incident's first failure (epoch ms); null when none is open */
  openIncidentSince?: number | null;
  /** the unit at its last `systemctl show` poll (epoch ms); null without a unit or before the first poll */
  unit?: { name: string; activeState: string | null; subState: string | null; at: number } | null;
  /** the open episode's counts, where the daemon keeps episodes */
  episode?: { state: string; occurrences: number; restarts?: number } | null;
  /** a mute or maintenance window holding its notifications now (absent from a status built elsewhere) */
  muted?: { until: string; reason: string | null } | null;
}

/** What the HTTP API and /metrics show about the daemon. */
export interface DaemonStatus {
  startedAt: number;
  lastSampleAt: number | null;
  /** since the last host sample (monotonic ms); null before the first */
  lastSampleAgeMs: number | null;
  /** since start() (monotonic ms); 0 before it */
  uptimeMs: number;
  lastSampleDurationMs: number | null;
  lastCaptureDurationMs: number | null;
  services: ServiceStatus[];
  /** null without `notifications:` */
  notifications: NotifierStats | null;
  /** snapshots parked (fallback folder, memory) and failed writes (preflight_snapshots_parked...) */
  store?: StoreStats;
  /** captures and child processes under the coordinator's limits (absent from a status built elsewhere) */
  commands?: CommandsStatus;
}

// The file is the product: schema `preflight.snapshot/2`, one self-contained JSON document per
// incident. Field names are snake_case and times ISO-8601 UTC throughout, so the file reads the same
// in jq, in a browser and in `preflight last`. Adding a field is compatible; renaming one is a new schema.
// Version 2 gave findings their scope and confidence and added probable_cause, context and last_words;
// version 3 made the file an episode (`episode`, `occurrences`, `captures`, `muted`): a service that
// flaps is one file, not one per transition. Versions 1 and 2 are still read (upgradeSnapshot) so an
// upgrade never hides an old incident.
import type { Confidence, Scope } from '../diagnosis/evidence';
import type { DependencyState } from '../diagnosis/input';
import type { ProbeErrorKind } from '../probe/http';
import type { HostSample } from '../sample/host';

export const SNAPSHOT_SCHEMA = 'preflight.snapshot/3';
/** Every schema `last`, `show`, `list` and the API read; only SNAPSHOT_SCHEMA is written. */
export const READABLE_SCHEMAS: readonly string[] = ['preflight.snapshot/1', 'preflight.snapshot/2', SNAPSHOT_SCHEMA];

export type Trigger = 'health_check' | 'unit_restart' | 'manual';
/** What the failed health check ran into (the probe's classification). */
export type ErrorKind = ProbeErrorKind;

/** Host facts at capture time (/proc/sys/kernel, /proc/uptime, os.cpus). */
export interface SnapshotHost {
  hostname: string | null;
  kernel: string | null;
  cpus: number;
  boot_id: string | null;
  uptime_seconds: number | null;
  preflight_version: string;
}

/** One health check as kept in the service's ring. */
export interface ProbeSample {
  at: string;
  ok: boolean;
  status: number | null;
  latency_ms: number;
  error_kind: ErrorKind | null;
}

/** One `systemctl show` poll of the service's unit. */
export interface UnitSample {
  at: string;
  memory_current_bytes: number | null;
  tasks_current: number | null;
  n_restarts: number | null;
}

/** The failed check that opened the incident. */
export interface SnapshotError {
  kind: ErrorKind | 'unit';
  status: number | null;
  message: string;
  latency_ms: number | null;
  /** the start of the body the service answered with (its own words about why), when there was one */
  body?: string;
  /**
   * https: the certificate the server presented: on a TLS failure with the refusal's code; on any other
   * failure after the handshake too, `code` then null (verified) or the verify error tls_insecure let pass
   */
  tls?: { code: string | null; subject: string | null; issuer: string | null; valid_from: string | null; valid_to: string | null };
}

/**
 * A probable cause with the lines or figures it rests on; findings[0] is the most probable.
 * `scope` says whose evidence it is (this run, this unit, a dependency, the host), `confidence` how
 * much it proves: only a `certain` or `likely` one is told as the probable cause.
 */
export interface Finding {
  cause: string;
  /** stable slug of the kind of cause: `oom_kill`, `exit_status`, `log.errno.ECONNREFUSED`, ... */
  kind?: string;
  scope?: Scope;
  confidence?: Confidence;
  /** when the evidence says it happened; null for a state read at capture */
  at?: string | null;
  /** the one strongest quoted line */
  quote?: string | null;
  evidence: string[];
}

/** A unit journal line (journalctl -o json). */
export interface SnapshotJournalLine {
  at: string;
  priority: number | null;
  pid: number | null;
  message: string;
  /** the run this line belongs to: the sender's _SYSTEMD_INVOCATION_ID, or systemd's INVOCATION_ID for its lines about a run */
  invocation?: string;
  /** systemd's own line about the unit (it carried UNIT=), not the service's */
  systemd?: true;
  /** systemd's job line: JOB_TYPE (start, stop, restart, ...) and JOB_RESULT when the job ended */
  job?: { type: string; result?: string };
}

/** A kernel log line (journalctl -k -o json). */
export interface SnapshotKernelLine {
  at: string;
  priority: number | null;
  message: string;
}

/** A process from the /proc scan. */
export interface SnapshotProcess {
  pid: number;
  command: string;
  cmdline: string;
  cpu_percent: number;
  rss_bytes: number;
}

/** How the dead run of a restarted unit ended (from systemd's "Main process exited" line). */
export interface SnapshotExit {
  code: 'exited' | 'killed' | 'dumped';
  status: number | string;
  at: string | null;
}

/**
 * What became of the message sent about this snapshot (src/daemon/notify.ts), written back into the
 * file by an atomic rewrite. `pending` until the receiver answers; `failed` after the last retry (or when
 * the queue was full), with the reason; `at` is when the status was set. Absent without `notifications:`.
 */
export interface SnapshotNotification {
  status: 'delivered' | 'failed' | 'pending';
  /** POSTs made so far */
  attempts: number;
  at: string;
  /** why it failed, secrets redacted: "HTTP 500 Internal Server Error", "no answer within 10000 ms" */
  reason?: string;
}

export interface CaptureError {
  part: string;
  reason: string;
}

/**
 * One failure of an episode, compact: what a reader needs to see the pattern of a flapping service
 * without a full capture per failure. `duration_seconds` is null while that failure is still open.
 */
export interface Occurrence {
  at: string;
  trigger: Trigger;
  error: { kind: SnapshotError['kind']; status: number | null; message: string } | null;
  exit: SnapshotExit | null;
  /** the first finding's cause at this failure; null when none was found */
  finding: string | null;
  duration_seconds: number | null;
}

/**
 * A later full capture of the episode, kept only when the probable cause changed (a new cause is worth
 * its evidence; the same one again is not), and at most MAX_CAPTURES per episode.
 */
export interface EpisodeCapture {
  at: string;
  probable_cause: string;
  summary: string;
  findings: Finding[];
  last_words: SnapshotJournalLine[];
  exit: SnapshotExit | null;
  journal: SnapshotJournalLine[];
  kernel: SnapshotKernelLine[];
}

/** What the episode is now (v3). `open`: one failure, not recovered; `flapping`: more than one; `resolved`: over. */
export interface Episode {
  state: 'open' | 'flapping' | 'resolved';
  /** every failure of the episode, the first included (the list below may hold fewer: it is bounded) */
  occurrences: number;
  /** unit restarts seen during the episode */
  restarts: number;
  /** the sum of the occurrences' downtimes, seconds (0.1 s) */
  downtime_seconds: number;
  /** the last failure's start */
  last_failure_at: string;
  /** occurrences left out of `occurrences` (the file's list) because it is bounded */
  occurrences_dropped?: number;
  /** when the episode was resolved: its last recovery plus flap_window_seconds with no new failure */
  resolved_at?: string;
}

export interface Snapshot {
  schema: string;
  id: string;
  service: string;
  /** null for a unit watched without a health URL */
  health_url: string | null;
  unit: Record<string, string> | null;
  host: SnapshotHost;
  trigger: Trigger;
  transition: { first_failure_at: string; confirmed_at: string | null; consecutive_failures: number };
  error: SnapshotError | null;
  /** the host at the failure, one line: `RAM 94% | swap 40% | disk / 87% | load 4.20 | cpu 99%` */
  summary: string;
  /**
   * The one line a person reads first: the first finding's cause when it is `certain` or `likely`, else
   * what was seen and that no cause was found (`HTTP 503, no cause found`).
   */
  probable_cause: string;
  findings: Finding[];
  /** what was seen near the failure and deliberately not blamed: a neighbour's OOM kill, an earlier incident's crash */
  context: Finding[];
  /** the service's last telling lines before the failure, newest last */
  last_words: SnapshotJournalLine[];
  /** the unit's run this incident is about (its _SYSTEMD_INVOCATION_ID): the dead one of a restart (v2) */
  invocation?: string | null;
  /** `unit`: the unit's polls (present when the service has a unit) */
  samples: { host: HostSample[]; probe: ProbeSample[]; unit?: UnitSample[] };
  exit: SnapshotExit | null;
  /** the unit's Requires=, Requisite= and BindsTo= units that were not active at capture (v2; absent when none) */
  dependencies?: DependencyState[];
  /** a refused check: does anything listen on the health port, and where the unit's main process listens (v2) */
  listening?: { health_address: string; on_health_port: boolean; unit_listens: string[] | null };
  /** without a unit: the pid of the process found listening on the health port (v2) */
  service_pid?: number;
  journal: SnapshotJournalLine[];
  kernel: SnapshotKernelLine[];
  processes: { top_cpu: SnapshotProcess[]; top_memory: SnapshotProcess[] } | null;
  /** `notification` there is the outcome of the "resolved" message. */
  recovery: { at: string; downtime_seconds: number; samples: HostSample[]; notification?: SnapshotNotification } | null;
  capture: { started_at: string; finished_at: string; duration_ms: number; errors: CaptureError[] };
  /** The outcome of the "down" message; absent when notifications are not configured (optional: added later). */
  notification?: SnapshotNotification;
  /** the episode this file is (v3; a v1 or v2 file reads as an episode of one occurrence) */
  episode?: Episode;
  /** each failure of the episode, compact, oldest first, bounded (v3) */
  occurrences?: Occurrence[];
  /** later full captures, only where the probable cause changed (v3) */
  captures?: EpisodeCapture[];
  /** notifications were held by a mute or a maintenance window (the "down" is sent when it ends, if still open) */
  muted?: { until: string; reason: string | null };
}

export const iso = (ms: number): string => new Date(ms).toISOString();

/** A stored `notification` field, or null when there is none (or it is not one). */
export function notificationIn(v: unknown): SnapshotNotification | null {
  return typeof v === 'object' && v !== null && typeof (v as { status?: unknown }).status === 'string' ? (v as SnapshotNotification) : null;
}

/**
 * A stored snapshot as this version reads it: a version 1 file gets the fields version 2 added (its
 * first finding as the probable cause, no context, no last words), so every reader handles one shape.
 */
export function upgradeSnapshot(s: Snapshot): Snapshot {
  if (s.schema === SNAPSHOT_SCHEMA) return s;
  const v1 = s as Partial<Snapshot> & Snapshot;
  return {
    ...v1,
    probable_cause: v1.probable_cause ?? v1.findings?.[0]?.cause ?? 'no cause found',
    context: v1.context ?? [],
    last_words: v1.last_words ?? [],
    episode: v1.episode ?? episodeOfOne(v1),
  };
}

/** A v1 or v2 file as an episode: one occurrence, resolved when it recovered. */
function episodeOfOne(s: Snapshot): Episode {
  return {
    state: s.recovery ? 'resolved' : 'open',
    occurrences: 1,
    restarts: 0,
    downtime_seconds: s.recovery?.downtime_seconds ?? 0,
    last_failure_at: s.transition.first_failure_at,
  };
}

// The file is the product: schema `preflight.snapshot/1`, one self-contained JSON document per
// incident. Field names are snake_case and times ISO-8601 UTC throughout, so the file reads the same
// in jq, in a browser and in `preflight last`. Adding a field is compatible; renaming one is a new schema.
import type { ProbeErrorKind } from '../probe/http';
import type { HostSample } from '../sample/host';

export const SNAPSHOT_SCHEMA = 'preflight.snapshot/1';

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
  kind: ErrorKind | 'unit' ;
  status: number | null;
  message: string;
  latency_ms: number | null;
}

/** A probable cause with the lines or figures it rests on; findings[0] is the most probable. */
export interface Finding {
  cause: string;
  evidence: string[];
}

/** A unit journal line (journalctl -o json). */
export interface SnapshotJournalLine {
  at: string;
  priority: number | null;
  pid: number | null;
  message: string;
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

export interface Snapshot {
  schema: typeof SNAPSHOT_SCHEMA;
  id: string;
  service: string;
  health_url: string;
  unit: Record<string, string> | null;
  host: SnapshotHost;
  trigger: Trigger;
  transition: { first_failure_at: string; confirmed_at: string | null; consecutive_failures: number };
  error: SnapshotError | null;
  summary: string;
  findings: Finding[];
  /** `unit`: the unit's polls (present when the service has a unit) */
  samples: { host: HostSample[]; probe: ProbeSample[]; unit?: UnitSample[] };
  exit: SnapshotExit | null;
  journal: SnapshotJournalLine[];
  kernel: SnapshotKernelLine[];
  processes: { top_cpu: SnapshotProcess[]; top_memory: SnapshotProcess[] } | null;
  /** `notification` there is the outcome of the "recovered" message. */
  recovery: { at: string; downtime_seconds: number; samples: HostSample[]; notification?: SnapshotNotification } | null;
  capture: { started_at: string; finished_at: string; duration_ms: number; errors: CaptureError[] };
  /** The outcome of the "down" message; absent when notifications are not configured (optional: added later). */
  notification?: SnapshotNotification;
}

export const iso = (ms: number): string => new Date(ms).toISOString();

/** A stored `notification` field, or null when there is none (or it is not one). */
export function notificationIn(v: unknown): SnapshotNotification | null {
  return typeof v === 'object' && v !== null && typeof (v as { status?: unknown }).status === 'string' ? (v as SnapshotNotification) : null;
}

// /healthz: is preflight doing its job? Host samples keep coming, every service's checks keep completing,
// and no service's queue of effects (capture, commit, recovery) is stuck behind a job that does not end.
// Each age is read on the monotonic clock by Daemon.status(), so a wall-clock step is never a false alarm;
// each has its bound, from the config, and /healthz is 503 while any age is past its bound. Pure: the
// cases are a table in test/daemon/health.test.ts.
import { VERSION } from '../version';
import type { DaemonStatus } from './daemon';
import { commandTimeoutMs } from './runtime';

/** Host samples are stale after 3 sample periods, at least 30 s (a loaded box is allowed a late one). */
export const maxSampleAgeMs = (sampleSeconds: number): number => Math.max(30, 3 * sampleSeconds) * 1000;

/**
 * A service's checks are late when the last completed longer ago than this. Between two completed checks
 * there is at most an interval plus a timeout (a check starts an interval after the previous one started
 * and ends within its timeout; while suspect the confirm interval is shorter). 30 s more is slack for a
 * loaded host (a fork storm of captures, a slow event loop), and 3 intervals keeps a short interval from
 * being called late for one busy moment.
 */
export const maxCheckAgeMs = (intervalSeconds: number, timeoutSeconds: number): number =>
  Math.max(3 * intervalSeconds, intervalSeconds + timeoutSeconds + 30) * 1000;

/**
 * A service's queue is stuck when the job running in it has run longer than this. The longest job is a
 * commit: it waits for the capture taken at the first failure (its commands, each bounded by
 * commandTimeoutMs, run in two or three rounds), reads the journal again and the unit once more, then
 * writes the snapshot and the state file; a capture may also wait for its turn among other services'.
 * Ten command deadlines covers that twice over; 5 minutes at least, as a loaded disk can be slow to write.
 */
export const maxJobAgeMs = (timeoutSeconds: number): number => Math.max(300_000, 10 * commandTimeoutMs(timeoutSeconds));

export type HealthStatus = 'ok' | 'starting' | 'stale' | 'stuck';

const seconds = (ms: number): number => Math.round(ms / 100) / 10;
const secondsOrNull = (ms: number | null): number | null => (ms === null ? null : seconds(ms));

/**
 * `stuck` when a service's check or job is past its bound, `stale` when host samples are (or none came
 * within the bound of the start), `starting` before the first sample; 200 only for `ok`. `problems` says
 * which, in words.
 */
export function healthOf(s: DaemonStatus, sampleSeconds: number): { ok: boolean; status: HealthStatus; body: Record<string, unknown> } {
  const problems: string[] = [];
  const maxSample = maxSampleAgeMs(sampleSeconds);
  let stale = false;
  if (s.lastSampleAgeMs === null) {
    if (s.uptimeMs > maxSample) {
      stale = true;
      problems.push(`host: no sample in the ${seconds(s.uptimeMs)} s since the start (bound ${seconds(maxSample)} s)`);
    }
  } else if (s.lastSampleAgeMs > maxSample) {
    stale = true;
    problems.push(`host: the last sample is ${seconds(s.lastSampleAgeMs)} s old (bound ${seconds(maxSample)} s)`);
  }
  let stuck = false;
  for (const x of s.services) {
    // before its first check a service is measured from the start (its first check comes within an interval)
    const checkAge = x.lastCheckAgeMs ?? s.uptimeMs;
    if (checkAge > x.maxCheckAgeMs) {
      stuck = true;
      problems.push(
        x.lastCheckAgeMs === null
          ? `${x.name}: no check completed in the ${seconds(checkAge)} s since the start (bound ${seconds(x.maxCheckAgeMs)} s)`
          : `${x.name}: the last check completed ${seconds(checkAge)} s ago (bound ${seconds(x.maxCheckAgeMs)} s)`,
      );
    }
    if (x.oldestJobAgeMs !== null && x.oldestJobAgeMs > x.maxJobAgeMs) {
      stuck = true;
      problems.push(`${x.name}: a capture, commit or recovery has been running for ${seconds(x.oldestJobAgeMs)} s (bound ${seconds(x.maxJobAgeMs)} s)`);
    }
  }
  const status: HealthStatus = stuck ? 'stuck' : stale ? 'stale' : s.lastSampleAgeMs === null ? 'starting' : 'ok';
  return {
    ok: status === 'ok',
    status,
    body: {
      status,
      problems,
      version: VERSION,
      started_at: s.startedAt > 0 ? new Date(s.startedAt).toISOString() : null,
      uptime_seconds: Math.round(s.uptimeMs / 1000),
      last_sample_at: s.lastSampleAt === null ? null : new Date(s.lastSampleAt).toISOString(),
      last_sample_age_seconds: secondsOrNull(s.lastSampleAgeMs),
      max_sample_age_seconds: seconds(maxSample),
      services: s.services.map((x) => ({
        name: x.name,
        health: x.health,
        consecutive_failures: x.consecutiveFailures,
        open_incident: x.openIncidentId,
        last_check_age_seconds: secondsOrNull(x.lastCheckAgeMs),
        max_check_age_seconds: seconds(x.maxCheckAgeMs),
        oldest_job_age_seconds: secondsOrNull(x.oldestJobAgeMs),
        max_job_age_seconds: seconds(x.maxJobAgeMs),
        // a mute or maintenance window holding its notifications: {until, reason}, or null (mute.ts)
        ...(x.muted !== undefined ? { muted: x.muted } : {}),
      })),
    },
  };
}

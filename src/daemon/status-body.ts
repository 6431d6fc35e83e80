// GET /status: what the daemon is doing now, per service, for `preflight status` (src/commands/status.ts)
// and anyone with curl. /healthz answers "is preflight doing its job" and stays small for probes;
// this adds what a person asks next: the last check's latency and error, how old the open incident is,
// the unit's state, and (where the daemon has them) the episode's counts and a mute. Pure: the status
// and the wall clock in, the JSON body out (test/daemon/status-body.test.ts).
//
// Decisions:
// - The daemon's own verdict (status, problems) is healthOf's, so /status and /healthz never disagree.
// - Ages are computed here from the daemon's clocks (monotonic for checks, wall for the incident's
//   first failure), so a client on another clock reads the same figures.
// - Optional fields (episode, muted) appear only when the status has them: a reader must not take an
//   absent key for "not muted" from a daemon that does not know mutes.
import type { DaemonStatus, ServiceStatus } from './status';
import { healthOf } from './health';

export const STATUS_SCHEMA = 'preflight.status/1';

const seconds = (ms: number): number => Math.round(ms / 100) / 10;
const secondsOrNull = (ms: number | null): number | null => (ms === null ? null : seconds(ms));

function serviceBody(x: ServiceStatus, now: number): Record<string, unknown> {
  const p = x.lastProbe;
  const since = x.openIncidentSince ?? null;
  const out: Record<string, unknown> = {
    name: x.name,
    health: x.health,
    consecutive_failures: x.consecutiveFailures,
    last_check_age_seconds: secondsOrNull(x.lastCheckAgeMs),
    max_check_age_seconds: seconds(x.maxCheckAgeMs),
    last_check: p
      ? {
          at: new Date(p.at).toISOString(),
          ok: p.ok,
          status: p.status ?? null,
          latency_ms: Math.round(p.latencyMs),
          error_kind: p.errorKind ?? null,
          message: p.message ?? null,
        }
      : null,
    open_incident:
      x.openIncidentId === null
        ? null
        : {
            id: x.openIncidentId,
            since: since === null ? null : new Date(since).toISOString(),
            age_seconds: since === null ? null : seconds(Math.max(0, now - since)),
            ...(x.episode ? { state: x.episode.state, occurrences: x.episode.occurrences, ...(x.episode.restarts === undefined ? {} : { restarts: x.episode.restarts }) } : {}),
          },
    oldest_job_age_seconds: secondsOrNull(x.oldestJobAgeMs),
  };
  if (x.unit !== undefined) {
    out.unit = x.unit === null ? null : { name: x.unit.name, active_state: x.unit.activeState, sub_state: x.unit.subState, age_seconds: seconds(Math.max(0, now - x.unit.at)) };
  }
  if (x.muted !== undefined) out.muted = x.muted;
  return out;
}

/** The /status body; `now` is the wall clock (epoch ms). */
export function statusBody(s: DaemonStatus, sampleSeconds: number, now: number): Record<string, unknown> {
  const h = healthOf(s, sampleSeconds);
  return {
    schema: STATUS_SCHEMA,
    status: h.status,
    problems: h.body.problems,
    version: h.body.version,
    started_at: h.body.started_at,
    uptime_seconds: h.body.uptime_seconds,
    last_sample_age_seconds: h.body.last_sample_age_seconds,
    services: s.services.map((x) => serviceBody(x, now)),
  };
}

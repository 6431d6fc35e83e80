// The per-service state machine, as a pure function: (state, check result, now) -> (state, effects).
// The daemon performs the effects (capture, commit, discard, recover) and schedules the next check;
// keeping the decisions pure lets tests drive every transition with a fake clock.
//
//   healthy --fail--> suspect --(failure_threshold consecutive fails)--> unhealthy --ok--> healthy
//      ^  capture now, hold it  |--ok: discard (a blip writes nothing)    commit        append recovery
//
// A unit restart (systemd brought a dead run back, see units.ts) needs no confirmation: it is a fact.
// It opens an incident from healthy, confirms a suspicion at once, and joins an incident already open.
//
// Two clocks: what is written (first failure, confirmation, recovery) is wall time, epoch ms; what is
// compared or measured (a requested restart's hold, the downtime, when the next check is due) is the
// monotonic clock (performance.now()), so an NTP step or a VM resumed with an old clock cannot hold a
// confirmation for the length of the step, release it early, or shift the downtime by the step.
import type { Trigger as SnapshotTrigger } from '../incident/snapshot';

export type Health = 'healthy' | 'suspect' | 'unhealthy';

/** One moment on both clocks: `wall` (epoch ms) to write down, `mono` (performance.now()) to measure by. */
export interface Instant {
  wall: number;
  mono: number;
}

export interface MonitorState {
  health: Health;
  consecutiveFailures: number;
  /** epoch ms of the first failed check of the current suspicion or incident */
  firstFailureAt: number | null;
  /**
   * the same moment on the monotonic clock; absent in a state restored from .state.json (the monotonic
   * clock starts again with the process), where the downtime falls back on the wall clock
   */
  firstFailureMono?: number;
}

/** The triggers the monitor produces (a snapshot's `manual` comes from elsewhere). */
export type Trigger = Exclude<SnapshotTrigger, 'manual'>;

export type Effect =
  /** first failed check: take the expensive context now, before recovery erases it */
  | { kind: 'capture'; firstFailureAt: number }
  /** failure confirmed: write the snapshot built from the held context */
  | { kind: 'commit'; trigger: Trigger; firstFailureAt: number; confirmedAt: number; consecutiveFailures: number }
  /** a unit restart while an incident is already open: add it to that incident */
  | { kind: 'join'; at: number }
  /** a recheck passed before confirmation: drop the held context */
  | { kind: 'discard' }
  /** first passing check after unhealthy: rewrite the snapshot with `recovery` */
  | { kind: 'recover'; at: number; downtimeMs: number };

export interface MonitorPolicy {
  failureThreshold: number;
  intervalMs: number;
  confirmIntervalMs: number;
}

export interface Step {
  state: MonitorState;
  effects: Effect[];
  /** delay until the next check */
  nextCheckMs: number;
}

export const HEALTHY: MonitorState = { health: 'healthy', consecutiveFailures: 0, firstFailureAt: null };

/** From a moment back to the first failure: monotonic when both have it, else by the wall clock; never negative. */
function downtime(s: MonitorState, at: Instant): number {
  const ms = s.firstFailureMono !== undefined ? at.mono - s.firstFailureMono : at.wall - (s.firstFailureAt ?? at.wall);
  return Math.max(0, ms);
}

/**
 * The check that started at `at`. `holdUntil`: a requested restart or start is under way until then
 * (monotonic ms): failures keep being rechecked but are not confirmed before it, so a deploy that comes
 * back opens no incident.
 */
export function step(s: MonitorState, ok: boolean, at: Instant, p: MonitorPolicy, holdUntil: number | null = null): Step {
  const now = at.wall;
  if (ok) {
    switch (s.health) {
      case 'healthy':
        return { state: HEALTHY, effects: [], nextCheckMs: p.intervalMs };
      case 'suspect':
        return { state: HEALTHY, effects: [{ kind: 'discard' }], nextCheckMs: p.intervalMs };
      case 'unhealthy':
        return {
          state: HEALTHY,
          effects: [
            // a check that started before a restart was seen can pass after it: never a negative downtime
            { kind: 'recover', at: now, downtimeMs: downtime(s, at) },
          ],
          nextCheckMs: p.intervalMs,
        };
    }
  }
  const failures = s.consecutiveFailures + 1;
  if (s.health === 'unhealthy') {
    return { state: { ...s, consecutiveFailures: failures }, effects: [], nextCheckMs: p.intervalMs };
  }
  const first = s.health === 'healthy' ? { firstFailureAt: now, firstFailureMono: at.mono } : firstOf(s, now);
  const { firstFailureAt } = first;
  const effects: Effect[] = s.health === 'healthy' ? [{ kind: 'capture', firstFailureAt }] : [];
  const held = holdUntil !== null && at.mono < holdUntil;
  if (failures >= p.failureThreshold && !held) {
    effects.push({ kind: 'commit', trigger: 'health_check', firstFailureAt, confirmedAt: now, consecutiveFailures: failures });
    return {
      state: { health: 'unhealthy', consecutiveFailures: failures, ...first },
      effects,
      nextCheckMs: p.intervalMs,
    };
  }
  return {
    state: { health: 'suspect', consecutiveFailures: failures, ...first },
    effects,
    nextCheckMs: p.confirmIntervalMs,
  };
}

/** The first failure of a suspicion or incident under way, on both clocks where it has both. */
function firstOf(s: MonitorState, now: number): { firstFailureAt: number; firstFailureMono?: number } {
  return { firstFailureAt: s.firstFailureAt ?? now, ...(s.firstFailureMono !== undefined ? { firstFailureMono: s.firstFailureMono } : {}) };
}

/**
 * The delay until the check after one that started at `startedMono`: `nextCheckMs` after its start, not
 * after its end, so the cadence holds; measured on the monotonic clock, so a wall-clock step moves nothing.
 */
export function checkDelay(nextCheckMs: number, startedMono: number, nowMono: number): number {
  return Math.max(0, nextCheckMs - (nowMono - startedMono));
}

/**
 * systemd restarted the unit (or it entered failed) at `at.wall` (the journal's or the poll's time;
 * `at.mono` is when preflight learnt it). The next check should come soon, to see whether the new run
 * answers: `nextCheckMs` is the confirm interval.
 */
export function stepRestart(s: MonitorState, instant: Instant, p: MonitorPolicy): Step {
  const at = instant.wall;
  switch (s.health) {
    case 'healthy':
      return {
        state: { health: 'unhealthy', consecutiveFailures: 0, firstFailureAt: at, firstFailureMono: instant.mono },
        effects: [
          { kind: 'capture', firstFailureAt: at },
          { kind: 'commit', trigger: 'unit_restart', firstFailureAt: at, confirmedAt: at, consecutiveFailures: 0 },
        ],
        nextCheckMs: p.confirmIntervalMs,
      };
    case 'suspect': {
      const first = firstOf(s, at);
      const { firstFailureAt } = first;
      return {
        state: { ...s, health: 'unhealthy', ...first },
        effects: [
          { kind: 'commit', trigger: 'unit_restart', firstFailureAt, confirmedAt: at, consecutiveFailures: s.consecutiveFailures },
        ],
        nextCheckMs: p.confirmIntervalMs,
      };
    }
    case 'unhealthy':
      return { state: s, effects: [{ kind: 'join', at }], nextCheckMs: p.confirmIntervalMs };
  }
}

// The per-service state machine, as a pure function: (state, check result, now) -> (state, effects).
// The daemon performs the effects (capture, commit, discard, recover) and schedules the next check;
// keeping the decisions pure lets tests drive every transition with a fake clock.
//
//   healthy --fail--> suspect --(failure_threshold consecutive fails)--> unhealthy --ok--> healthy
//      ^  capture now, hold it  |--ok: discard (a blip writes nothing)    commit        append recovery
//
// A unit restart (systemd brought a dead run back, see units.ts) needs no confirmation: it is a fact.
// It opens an incident from healthy, confirms a suspicion at once, and joins an incident already open.
import type { Trigger as SnapshotTrigger } from '../incident/snapshot';

export type Health = 'healthy' | 'suspect' | 'unhealthy';

export interface MonitorState {
  health: Health;
  consecutiveFailures: number;
  /** epoch ms of the first failed check of the current suspicion or incident */
  firstFailureAt: number | null;
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

/**
 * `holdUntil`: a requested restart or start is under way until then (epoch ms): failures keep being
 * rechecked but are not confirmed before it, so a deploy that comes back opens no incident.
 */
export function step(s: MonitorState, ok: boolean, now: number, p: MonitorPolicy, holdUntil: number | null = null): Step {
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
            { kind: 'recover', at: now, downtimeMs: Math.max(0, now - (s.firstFailureAt ?? now)) },
          ],
          nextCheckMs: p.intervalMs,
        };
    }
  }
  const failures = s.consecutiveFailures + 1;
  if (s.health === 'unhealthy') {
    return { state: { ...s, consecutiveFailures: failures }, effects: [], nextCheckMs: p.intervalMs };
  }
  const firstFailureAt = s.health === 'healthy' ? now : (s.firstFailureAt ?? now);
  const effects: Effect[] = s.health === 'healthy' ? [{ kind: 'capture', firstFailureAt }] : [];
  const held = holdUntil !== null && now < holdUntil;
  if (failures >= p.failureThreshold && !held) {
    effects.push({ kind: 'commit', trigger: 'health_check', firstFailureAt, confirmedAt: now, consecutiveFailures: failures });
    return {
      state: { health: 'unhealthy', consecutiveFailures: failures, firstFailureAt },
      effects,
      nextCheckMs: p.intervalMs,
    };
  }
  return {
    state: { health: 'suspect', consecutiveFailures: failures, firstFailureAt },
    effects,
    nextCheckMs: p.confirmIntervalMs,
  };
}

/**
 * systemd restarted the unit (or it entered failed) at `at`. The next check should come soon, to see
 * whether the new run answers: `nextCheckMs` is the confirm interval.
 */
export function stepRestart(s: MonitorState, at: number, p: MonitorPolicy): Step {
  switch (s.health) {
    case 'healthy':
      return {
        state: { health: 'unhealthy', consecutiveFailures: 0, firstFailureAt: at },
        effects: [
          { kind: 'capture', firstFailureAt: at },
          { kind: 'commit', trigger: 'unit_restart', firstFailureAt: at, confirmedAt: at, consecutiveFailures: 0 },
        ],
        nextCheckMs: p.confirmIntervalMs,
      };
    case 'suspect': {
      const firstFailureAt = s.firstFailureAt ?? at;
      return {
        state: { ...s, health: 'unhealthy', firstFailureAt },
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

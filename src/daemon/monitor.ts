// The per-service state machine, as a pure function: (state, check result, now) -> (state, effects).
// The daemon performs the effects (capture, commit, discard, recover) and schedules the next check;
// keeping the decisions pure lets tests drive every transition with a fake clock.
//
//   healthy --fail--> suspect --(failure_threshold consecutive fails)--> unhealthy --ok--> healthy
//      ^  capture now, hold it  |--ok: discard (a blip writes nothing)    commit        append recovery

export type Health = 'healthy' | 'suspect' | 'unhealthy';

export interface MonitorState {
  health: Health;
  consecutiveFailures: number;
  /** epoch ms of the first failed check of the current suspicion or incident */
  firstFailureAt: number | null;
}

export type Effect =
  /** first failed check: take the expensive context now, before recovery erases it */
  | { kind: 'capture'; firstFailureAt: number }
  /** failure confirmed: write the snapshot built from the held context */
  | { kind: 'commit'; firstFailureAt: number; confirmedAt: number; consecutiveFailures: number }
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

export function step(s: MonitorState, ok: boolean, now: number, p: MonitorPolicy): Step {
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
            { kind: 'recover', at: now, downtimeMs: now - (s.firstFailureAt ?? now) },
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
  if (failures >= p.failureThreshold) {
    effects.push({ kind: 'commit', firstFailureAt, confirmedAt: now, consecutiveFailures: failures });
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

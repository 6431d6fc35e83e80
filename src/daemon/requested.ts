// A restart or start someone asked for, under way: while it lasts, failed checks are rechecked but not
// confirmed, so a deploy that comes back opens no incident. Pure: (what is under way, systemd's job line,
// the unit's timeouts) -> what is under way now.
//
// systemd 252 (fixtures/systemd/requested-*): a stop and the stop half of a restart both begin as
// "Stopping x..." with JOB_TYPE=stop; only their end tells them apart ("Stopped x." as JOB_TYPE=stop or
// restart). So a stop begun holds until its end (at most the stop timeout); its end as a stop releases
// it (the unit is down on purpose, and the incident says so); its end as a restart holds until the start
// timeout has passed; a start job that ends badly (failed, timeout, dependency) releases it at once.
import type { JobEvent } from './units';

export interface Requested {
  type: 'stop' | 'restart' | 'start';
  /** epoch ms: when the job began */
  at: number;
  /** epoch ms: failed checks are not confirmed before this */
  until: number;
}

/** Past a start timeout, the time systemd takes to log what it did about it (so the incident has its words). */
export const HOLD_MARGIN_MS = 2000;

export function nextRequested(r: Requested | null, e: JobEvent, timeouts: { stopMs: number; startMs: number }): Requested | null {
  if (e.automatic) return r;
  if (e.phase === 'begin' && e.type === 'stop') return { type: 'stop', at: e.at, until: e.at + timeouts.stopMs + HOLD_MARGIN_MS };
  if (e.phase === 'end' && e.type === 'stop') return null;
  if (e.phase === 'end' && e.type === 'restart' && r) return { type: 'restart', at: r.at, until: e.at + timeouts.startMs + HOLD_MARGIN_MS };
  if (e.phase === 'begin' && e.type === 'start' && r?.type !== 'restart') return { type: 'start', at: e.at, until: e.at + timeouts.startMs + HOLD_MARGIN_MS };
  // the start failed: nothing to wait for any more
  if (e.phase === 'end' && e.type === 'start' && r && e.result !== 'done') return { ...r, until: e.at };
  return r;
}

// A restart or start someone asked for, under way: while it lasts, failed checks are rechecked but not
// confirmed, so a deploy that comes back opens no incident. Pure: (what is under way, systemd's job line,
// the unit's timeouts) -> what is under way now.
//
// systemd 252 (fixtures/systemd/requested-*): a stop and the stop half of a restart both begin as
// "Stopping x..." with JOB_TYPE=stop; only their end tells them apart ("Stopped x." as JOB_TYPE=stop or
// restart). So a stop begun holds until its end (at most the stop timeout); its end as a stop releases
// it (the unit is down on purpose, and the incident says so); its end as a restart holds until the start
// timeout has passed; a start job that ends badly (failed, timeout, dependency) releases it at once.
//
// The hold is measured on the monotonic clock from when preflight read each job line (`mono`), not from
// the journal's wall time: a wall clock stepped back an hour would otherwise hold confirmations for an
// hour more, and one stepped forward would release them at once. The journal hands lines over within
// moments, so the two starts differ by that much; the journal's time is kept (`at`) to be shown.
import type { JobEvent } from './units';

export interface Requested {
  type: 'stop' | 'restart' | 'start';
  /** epoch ms: when the job began (the journal's time) */
  at: number;
  /** monotonic ms (performance.now()): when preflight read that the job began */
  since: number;
  /** monotonic ms: failed checks are not confirmed before this */
  until: number;
}

/** Past a start timeout, the time systemd takes to log what it did about it (so the incident has its words). */
export const HOLD_MARGIN_MS = 2000;

/** What is under way after job line `e`, read at `mono` (performance.now()). */
export function nextRequested(r: Requested | null, e: JobEvent, timeouts: { stopMs: number; startMs: number }, mono: number): Requested | null {
  if (e.automatic) return r;
  if (e.phase === 'begin' && e.type === 'stop') return { type: 'stop', at: e.at, since: mono, until: mono + timeouts.stopMs + HOLD_MARGIN_MS };
  if (e.phase === 'end' && e.type === 'stop') return null;
  if (e.phase === 'end' && e.type === 'restart' && r) return { ...r, type: 'restart', until: mono + timeouts.startMs + HOLD_MARGIN_MS };
  if (e.phase === 'begin' && e.type === 'start' && r?.type !== 'restart') return { type: 'start', at: e.at, since: mono, until: mono + timeouts.startMs + HOLD_MARGIN_MS };
  // the start failed: nothing to wait for any more
  if (e.phase === 'end' && e.type === 'start' && r && e.result !== 'done') return { ...r, until: mono };
  return r;
}

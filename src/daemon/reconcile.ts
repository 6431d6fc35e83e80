// The store at start: before the first check, sweep what a kill -9 left (temp files), move parked
// snapshots back, and make .state.json agree with the snapshots. A commit writes the snapshot and then
// the state, a recovery the snapshot's recovery and then the state (incidents.ts), so after a kill
// between the two writes the state is behind, never ahead: an incident on disk the state does not know
// is adopted as open (else the same ongoing failure would be written again as a second incident), and
// an open one whose file is gone or says recovered is dropped (else it would stay open forever).
import type { SnapshotStore } from '../incident/store';
import { errorMessage } from '../util/errors';
import type { Logger } from './log';
import type { PersistedState } from './runtime';

export interface ReconcileOptions {
  services: readonly string[];
  /** wall clock, ms */
  now: number;
  /** an unrecovered snapshot confirmed longer ago than this is an old episode, not the one under way */
  windowMs: number;
}

interface Stored {
  id: string;
  firstFailureAt: number;
  confirmedAt: number;
  consecutiveFailures: number;
  recoveredAt: string | null;
}

/** The fields reconciling needs from a snapshot's text; null when they are not there. */
function storedFields(text: string): Stored | null {
  try {
    const s = JSON.parse(text) as {
      id?: unknown;
      transition?: { first_failure_at?: unknown; confirmed_at?: unknown; consecutive_failures?: unknown };
      recovery?: { at?: unknown } | null;
    };
    const first = typeof s.transition?.first_failure_at === 'string' ? Date.parse(s.transition.first_failure_at) : Number.NaN;
    if (typeof s.id !== 'string' || Number.isNaN(first)) return null;
    const confirmed = typeof s.transition?.confirmed_at === 'string' ? Date.parse(s.transition.confirmed_at) : first;
    const n = s.transition?.consecutive_failures;
    return {
      id: s.id,
      firstFailureAt: first,
      confirmedAt: Number.isNaN(confirmed) ? first : confirmed,
      consecutiveFailures: typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : 1,
      recoveredAt: s.recovery && typeof s.recovery.at === 'string' ? s.recovery.at : null,
    };
  } catch {
    return null;
  }
}

/**
 * `state` made to agree with the store: returns the state to restore from and what changed, in words.
 * Pure apart from reading the store.
 */
export async function reconcileState(
  state: PersistedState | null,
  store: Pick<SnapshotStore, 'last' | 'read'>,
  o: ReconcileOptions,
): Promise<{ state: PersistedState; notes: string[] }> {
  const last: NonNullable<PersistedState['last']> = { ...(state?.last ?? {}) };
  const out: PersistedState = {
    version: 1,
    services: { ...(state?.version === 1 ? state.services : {}) },
    restarts: { ...(state?.restarts ?? {}) },
    last,
    episodes: { ...(state?.episodes ?? {}) },
  };
  const notes: string[] = [];
  for (const service of o.services) {
    const open = out.services[service];
    if (open) {
      const found = await store.read(service, open.incidentId);
      const f = found ? storedFields(found.text) : null;
      if (!f) {
        delete out.services[service];
        notes.push(`${service}: open incident ${open.incidentId} in the state has no snapshot any more; dropped`);
      } else if (f.recoveredAt !== null) {
        delete out.services[service];
        last[service] = { firstFailureAt: new Date(f.firstFailureAt).toISOString(), recoveredAt: f.recoveredAt };
        // its episode stays joinable for the flap window after that recovery
        out.episodes![service] = { id: open.incidentId, recoveredAt: Date.parse(f.recoveredAt) };
        notes.push(`${service}: incident ${open.incidentId} recovered before the restart (its snapshot says so); closed`);
      }
    }
    const newest = await store.last(service);
    const n = newest ? storedFields(newest.text) : null;
    if (!n || n.recoveredAt !== null || o.now - n.confirmedAt > o.windowMs) continue;
    const current = out.services[service];
    if (current?.incidentId === n.id) continue;
    // the newest snapshot is newer than what the state says is open: the state was not written after it
    if (current && n.firstFailureAt <= current.firstFailureAt) continue;
    out.services[service] = { incidentId: n.id, firstFailureAt: n.firstFailureAt, consecutiveFailures: n.consecutiveFailures };
    last[service] = { firstFailureAt: new Date(n.firstFailureAt).toISOString(), recoveredAt: null };
    out.episodes![service] = { id: n.id, recoveredAt: null };
    notes.push(`${service}: snapshot ${n.id} was saved but the state was not (a kill between the two?); it is the open incident`);
  }
  return { state: out, notes };
}

/**
 * Everything the store needs at start, logged: stale temp files swept, parked snapshots moved back,
 * the state loaded and reconciled. Never throws: a store it cannot read starts with no state.
 */
export async function prepareStore(store: SnapshotStore, log: Logger, o: ReconcileOptions): Promise<PersistedState | null> {
  const swept = await store.sweepTemp().catch((err: unknown) => {
    log.warn(`temp file sweep failed: ${errorMessage(err)}`);
    return [];
  });
  if (swept.length > 0) {
    const shown = swept.slice(0, 10).join(', ');
    log.info(`removed ${swept.length} stale temp file(s) a killed writer left: ${shown}${swept.length > 10 ? ', ...' : ''}`);
  }
  const flushed = await store.flushFallback().catch(() => 0);
  if (flushed > 0) log.info(`moved ${flushed} parked snapshot(s) back into ${store.dir}`);
  const loaded = await store.loadState<PersistedState>();
  try {
    const { state, notes } = await reconcileState(loaded, store, o);
    for (const n of notes) log.info(n);
    return state;
  } catch (err) {
    log.warn(`state not reconciled with the snapshots: ${errorMessage(err)}`);
    return loaded;
  }
}

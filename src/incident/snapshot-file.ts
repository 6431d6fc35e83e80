// What makes a file in the store a snapshot: its id (a UTC time made filesystem-safe), and the fields
// the store lists it by, checked so that a bad file costs one warning, never the listing. Pure.
import { SERVICE_NAME } from '../config/config';
import { errorMessage, quote } from '../util/errors';
import { READABLE_SCHEMAS, notificationIn, type SnapshotNotification } from './snapshot';

/**
 * A snapshot id: the snapshot's UTC time with `:` made filesystem-safe, plus `-N` when several
 * snapshots of one service share a millisecond. Anchored and fixed-shape: the HTTP API uses it to
 * refuse anything else (no `/`, `..`, `%2f`, NUL can match).
 */
export const SNAPSHOT_ID_RE =
  /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3])-[0-5]\d-[0-5]\d\.\d{3}Z(?:-[1-9]\d{0,3})?$/;

/** The part of a snapshot document (any READABLE_SCHEMAS version) the store relies on (src/incident/snapshot.ts owns the rest). */
export interface StoredSnapshot {
  schema: string;
  id: string;
  service: string;
  trigger: string;
  summary: string;
  transition: { first_failure_at: string };
}

/** One snapshot file, as listed from `<dir>/<service>/<id>.json` (or its fallback folder). */
export interface SnapshotEntry {
  service: string;
  id: string;
  /** transition.first_failure_at, as stored (ISO 8601). */
  at: string;
  trigger: string;
  summary: string;
  /** the snapshot's probable cause (a version 1 file: its first finding's cause; '' when it has none) */
  probableCause: string;
  path: string;
  /** true while the file waits in the fallback folder because the snapshot dir could not take it. */
  parked?: boolean;
  /** where a parked snapshot waits: the fallback folder, or memory when the fallback failed too */
  parkedIn?: 'fallback' | 'memory';
  /** How the "down" notification went, when one was sent (see snapshot.ts). */
  notification?: SnapshotNotification;
  /** the episode's state and counts (a v1 or v2 file: one occurrence, resolved when it recovered) */
  episode: EntryEpisode;
}

/** One entry as `list --json` and the API's list show it (each adds where to find the file). */
export function entryJson(e: SnapshotEntry): Record<string, unknown> {
  return {
    service: e.service,
    id: e.id,
    at: e.at,
    trigger: e.trigger,
    summary: e.summary,
    probable_cause: e.probableCause,
    notification: e.notification ?? null,
    episode: e.episode,
  };
}

/** What `list` and the API show of an episode. */
export interface EntryEpisode {
  state: 'open' | 'flapping' | 'resolved';
  occurrences: number;
  restarts: number;
  downtime_seconds: number;
}

/** The counts of a stored episode, from whatever schema wrote it; a field that is not what it should be reads as the v2 default. */
function episodeOf(v: Record<string, unknown>): EntryEpisode {
  const recovery = v.recovery as { downtime_seconds?: unknown } | null | undefined;
  const e = (typeof v.episode === 'object' && v.episode !== null ? v.episode : {}) as Record<string, unknown>;
  const count = (x: unknown, d: number): number => (typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : d);
  const state = e.state === 'open' || e.state === 'flapping' || e.state === 'resolved' ? e.state : recovery ? 'resolved' : 'open';
  return {
    state,
    occurrences: count(e.occurrences, 1),
    restarts: count(e.restarts, 0),
    downtime_seconds: count(e.downtime_seconds, count(recovery?.downtime_seconds, 0)),
  };
}

/** `2026-11-25T03:04:05.123Z` -> `2026-11-25T03-04-05.123Z`. Throws RangeError outside years 0000-9999. */
export function snapshotIdFor(date: Date): string {
  const iso = date.toISOString(); // RangeError for an invalid date
  const id = iso.replace(/:/g, '-');
  if (!SNAPSHOT_ID_RE.test(id)) throw new RangeError(`no snapshot id for ${iso}: years 0000-9999 only`);
  return id;
}

/** The time an id encodes (collision suffix ignored), or null when `id` is not a snapshot id. */
export function snapshotIdTime(id: string): Date | null {
  if (!SNAPSHOT_ID_RE.test(id)) return null;
  const base = id.slice(0, 24);
  const d = new Date(`${base.slice(0, 13)}:${base.slice(14, 16)}:${base.slice(17)}`);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Oldest first; a suffix sorts after its base and numerically (`-2` before `-10`). Ids must match SNAPSHOT_ID_RE. */
export function compareSnapshotIds(a: string, b: string): number {
  const baseA = a.slice(0, 24);
  const baseB = b.slice(0, 24);
  if (baseA !== baseB) return baseA < baseB ? -1 : 1;
  return Number(a.slice(25) || 0) - Number(b.slice(25) || 0);
}

type Checked = { ok: true; entry: Omit<SnapshotEntry, 'path'> } | { ok: false; field?: string; reason: string; line?: number };

/** Parse and check the fields the store relies on; `reason` says what is wrong for a warning or an error. */
export function checkSnapshotText(text: string): Checked {
  if (text.trim() === '') return { ok: false, reason: 'empty file' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const msg = errorMessage(err);
    const pos = /at position (\d+)/.exec(msg);
    const line = pos?.[1] === undefined ? undefined : text.slice(0, Number(pos[1])).split('\n').length;
    return { ok: false, reason: `not valid JSON (truncated or corrupt): ${msg}`, ...(line === undefined ? {} : { line }) };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'not a JSON object' };
  const v = value as Record<string, unknown>;
  if (typeof v.schema !== 'string' || !READABLE_SCHEMAS.includes(v.schema)) {
    return { ok: false, field: 'schema', reason: `schema is ${quote(String(v.schema))}, not one of ${READABLE_SCHEMAS.join(', ')}` };
  }
  const transition = v.transition as Record<string, unknown> | undefined;
  const fields: Array<[string, unknown, RegExp | null]> = [
    ['id', v.id, SNAPSHOT_ID_RE],
    ['service', v.service, SERVICE_NAME],
    ['trigger', v.trigger, null],
    ['summary', v.summary, null],
    ['transition.first_failure_at', typeof transition === 'object' && transition !== null ? transition.first_failure_at : undefined, null],
  ];
  for (const [field, got, re] of fields) {
    if (typeof got !== 'string') return { ok: false, field, reason: `${field} is missing or not a string (partial snapshot?)` };
    if (re && !re.test(got)) return { ok: false, field, reason: `${field} ${quote(got)} is not valid` };
  }
  const notification = notificationIn(v.notification);
  const findings = Array.isArray(v.findings) ? (v.findings as Array<{ cause?: unknown }>) : [];
  const cause = typeof v.probable_cause === 'string' ? v.probable_cause : typeof findings[0]?.cause === 'string' ? findings[0].cause : '';
  return {
    ok: true,
    entry: {
      service: v.service as string,
      id: v.id as string,
      at: (transition as { first_failure_at: string }).first_failure_at,
      trigger: v.trigger as string,
      summary: v.summary as string,
      probableCause: cause,
      ...(notification ? { notification } : {}),
      episode: episodeOf(v),
    },
  };
}

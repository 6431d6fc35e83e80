// The mute file, <snapshot_dir>/.mutes.json: what `preflight mute` writes and the daemon reads
// (mute.ts). It lives in the snapshot folder on purpose: whoever may write there (root, or the user
// preflight runs as) may mute, and nobody else; the HTTP API stays read-only and needs no auth for it.
// Written atomically (write-new-then-rename), so the daemon never reads half a file and a stat's inode
// tells it the file changed. The leading dot keeps it out of every listing of snapshots.
//
// Decisions:
// - One file for every mute, not one per service: the daemon's poll is then one stat a second, and
//   `unmute all` is one rename.
// - Mode 0644, not the snapshots' 0640: a mute written by root must stay readable by the daemon's user,
//   and a mute holds nothing secret (a reason and a user name).
// - "all" is stored as "*": `all` is a valid service name, and the file must not be ambiguous.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic';
import { errnoCode, quote } from '../util/errors';

export const MUTE_FILE = '.mutes.json';
export const MUTE_SCHEMA = 'preflight.mutes/1';
/** the key of a mute of every service */
export const ALL = '*';
/** Longer than this is a maintenance window, written in the config where the next person sees it. */
export const MAX_MUTE_MS = 30 * 86_400_000;
/** A mute file larger than this is not one preflight wrote. */
const MAX_FILE_BYTES = 256 * 1024;

export interface MuteEntry {
  /** a service name, or ALL */
  service: string;
  /** ISO 8601, UTC */
  until: string;
  reason: string | null;
  /** when it was written, and by whom (the user name), for the record */
  at: string;
  by: string | null;
}

export interface MuteFile {
  schema: typeof MUTE_SCHEMA;
  mutes: MuteEntry[];
}

/** A duration, or a mute file, that cannot be read; `input` is what was given. */
export class MuteInputError extends Error {
  override name = 'MuteInputError';
  constructor(
    readonly input: string,
    reason: string,
    readonly hint: string,
  ) {
    super(`${reason} (${hint})`);
  }
}

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
const DURATION_HINT = 'write a number and a unit: 20s, 10m, 2h, 1d, or combined like 1h30m';

/** "20s", "10m", "2h", "1d", "1h30m" → milliseconds; throws MuteInputError saying what to write. */
export function parseDuration(input: string): number {
  const s = input.trim();
  if (s === '') throw new MuteInputError(input, 'the duration is empty', DURATION_HINT);
  if (/^[0-9]+$/.test(s)) throw new MuteInputError(input, `duration ${quote(s)} has no unit`, `write ${s}m for minutes or ${s}s for seconds`);
  if (/^[0-9]*\.[0-9]*[a-z]*$/i.test(s)) throw new MuteInputError(input, `duration ${quote(s)} is not a whole number`, 'write whole units, e.g. 90m rather than 1.5h');
  if (s.startsWith('-')) throw new MuteInputError(input, `duration ${quote(s)} is negative`, DURATION_HINT);
  const m = /^(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$/.exec(s);
  if (!m) {
    const unit = /^[0-9]+([A-Za-z]+)$/.exec(s)?.[1];
    if (unit && !(unit in UNIT_MS)) throw new MuteInputError(input, `duration ${quote(s)}: unknown unit ${quote(unit)}`, 'units are s, m, h and d (lowercase)');
    throw new MuteInputError(input, `duration ${quote(s)} is not one preflight reads`, `${DURATION_HINT}, largest unit first`);
  }
  const ms = [m[1], m[2], m[3], m[4]].reduce((sum, v, i) => sum + (v === undefined ? 0 : Number(v) * (UNIT_MS['dhms'[i] as string] as number)), 0);
  if (ms === 0) throw new MuteInputError(input, `duration ${quote(s)} is zero`, 'to end a mute, use preflight unmute');
  if (ms > MAX_MUTE_MS) throw new MuteInputError(input, `duration ${quote(s)} is longer than 30 days`, 'for a planned window, add it to maintenance: in the config');
  return ms;
}

/**
 * A span of milliseconds in the form `parseDuration` reads ("1h30m", "10m": no zero padding), so
 * `mute` says back what was typed. Not util/units.ts's formatDuration (seconds, "10m00s"), which
 * renders downtimes everywhere else.
 */
export function formatMuteDuration(ms: number): string {
  let rest = Math.max(0, Math.round(ms / 1000));
  let out = '';
  for (const [u, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) out += `${n}${u}`;
  }
  return out || '0s';
}

/** The mute file's text → its entries (empty for no text); throws MuteInputError on anything else. */
export function parseMuteFile(text: string): MuteEntry[] {
  if (text.trim() === '') return [];
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new MuteInputError(text, `not JSON (${err instanceof Error ? err.message : String(err)})`, `rewrite it with preflight mute, or remove ${MUTE_FILE}`);
  }
  const d = doc as Partial<MuteFile> | null;
  if (typeof d !== 'object' || d === null || d.schema !== MUTE_SCHEMA || !Array.isArray(d.mutes)) {
    throw new MuteInputError(text, `not a ${MUTE_SCHEMA} file`, `rewrite it with preflight mute, or remove ${MUTE_FILE}`);
  }
  return d.mutes.map((e, i) => {
    const x = e as Partial<MuteEntry> | null;
    if (typeof x !== 'object' || x === null || typeof x.service !== 'string' || typeof x.until !== 'string' || !Number.isFinite(Date.parse(x.until))) {
      throw new MuteInputError(text, `mutes[${i}] has no service or no valid until`, 'each mute is {service, until, reason}');
    }
    const until = new Date(Date.parse(x.until)).toISOString();
    return {
      service: x.service,
      until,
      reason: typeof x.reason === 'string' ? x.reason : null,
      at: typeof x.at === 'string' ? x.at : until,
      by: typeof x.by === 'string' ? x.by : null,
    };
  });
}

export const muteFilePath = (snapshotDir: string): string => path.join(snapshotDir, MUTE_FILE);

/** The entries in `snapshotDir`'s mute file; none when there is no file. */
export async function readMuteFile(snapshotDir: string): Promise<MuteEntry[]> {
  const file = muteFilePath(snapshotDir);
  let text: string;
  try {
    const fh = await fsp.open(file, 'r');
    try {
      const buf = Buffer.alloc(MAX_FILE_BYTES + 1);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      if (bytesRead > MAX_FILE_BYTES) throw new MuteInputError('', `${file} is larger than ${MAX_FILE_BYTES} bytes`, `remove it; preflight mute writes a new one`);
      text = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
  return parseMuteFile(text);
}

/** Replace the mute file with `entries` (atomically); no entries left: the file is removed. */
export async function writeMuteFile(snapshotDir: string, entries: readonly MuteEntry[]): Promise<void> {
  const file = muteFilePath(snapshotDir);
  if (entries.length === 0) {
    await fsp.unlink(file).catch((err: unknown) => {
      if (errnoCode(err) !== 'ENOENT') throw err;
    });
    return;
  }
  const doc: MuteFile = { schema: MUTE_SCHEMA, mutes: [...entries] };
  await writeFileAtomic(file, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o644 });
}

/** The mute of `service` in force at `now` (its own or an ALL one, the later-ending), or null. */
export function activeMute(entries: readonly MuteEntry[], service: string, now: number): MuteEntry | null {
  let best: MuteEntry | null = null;
  for (const e of entries) {
    if (e.service !== service && e.service !== ALL) continue;
    const until = Date.parse(e.until);
    if (until <= now) continue;
    if (!best || until > Date.parse(best.until)) best = e;
  }
  return best;
}

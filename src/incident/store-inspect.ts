// Reading one stored snapshot for a listing or a read: every file is checked (an operator's notes, a
// truncated copy, a FIFO, a symlink may sit in the folder), so a bad one costs one warning, never the
// listing; a file whose stat has not changed since the last look is not read again.
import { promises as fsp } from 'node:fs';
import type { Stats } from 'node:fs';
import * as path from 'node:path';
import { errnoCode, errorMessage } from '../util/errors';
import { OPEN_IN_STORE, readAtMost } from './store-fs';
import { checkSnapshotText, type SnapshotEntry } from './snapshot-file';

/** Bounds the memory the listing cache may take. */
const MAX_CACHED = 10_000;

export type Inspected =
  | { kind: 'ok'; entry: SnapshotEntry; text?: string }
  | { kind: 'bad'; reason: string }
  | { kind: 'gone' };

/** Where one snapshot lives: the dir, the fallback folder, or memory (`text` then holds it). */
export interface Located {
  service: string;
  id: string;
  path: string;
  parked: false | 'fallback' | 'memory';
  text?: string;
}

function statKey(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

export class SnapshotInspector {
  /** path -> what the file held at that stat key (a rewrite makes a new inode). */
  private readonly cache = new Map<string, { key: string; result: Inspected }>();

  constructor(
    private readonly maxBytes: number,
    private readonly warnOnce: (key: string, message: string) => void,
  ) {}

  /** Listing: a file whose stat has not changed since the last look is not read again. */
  async cached(loc: Located): Promise<Inspected> {
    if (loc.parked === 'memory') return this.inspect(loc, false);
    const cached = this.cache.get(loc.path);
    if (cached) {
      try {
        if (statKey(await fsp.lstat(loc.path)) === cached.key) return cached.result;
      } catch {
        // gone or unreadable: inspect says which
      }
    }
    return this.inspect(loc, false);
  }

  async inspect(loc: Located, withText: boolean): Promise<Inspected> {
    if (loc.text !== undefined) return this.check(loc, loc.text, withText);
    let fh;
    try {
      fh = await fsp.open(loc.path, OPEN_IN_STORE);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return { kind: 'gone' }; // retention or a flush got there first
      const reason = code === 'ELOOP' ? 'a symlink (not followed)' : errorMessage(err);
      this.warnOnce(loc.path, `skipped ${loc.path}: ${reason}`);
      return { kind: 'bad', reason };
    }
    let result: Inspected;
    let key: string | undefined;
    try {
      const st = await fh.stat();
      key = statKey(st);
      if (!st.isFile()) result = { kind: 'bad', reason: 'not a regular file' };
      else if (st.size > this.maxBytes) result = { kind: 'bad', reason: `${st.size} bytes, over the ${this.maxBytes}-byte cap` };
      else result = this.check(loc, (await readAtMost(fh, this.maxBytes)).toString('utf8'), withText);
    } catch (err) {
      result = { kind: 'bad', reason: errorMessage(err) };
    } finally {
      await fh.close().catch(() => undefined);
    }
    if (result.kind === 'bad') this.warnOnce(`${loc.path}@${key ?? ''}`, `skipped ${loc.path}: ${result.reason}`);
    if (key !== undefined) {
      if (this.cache.size >= MAX_CACHED) this.cache.clear();
      const { text: _text, ...keep } = result as { text?: string };
      this.cache.set(loc.path, { key, result: keep as Inspected });
    }
    return result;
  }

  /** Forget cache entries of the listed services' files that are gone. */
  prune(seen: readonly Located[]): void {
    const alive = new Set(seen.map((l) => l.path));
    const folders = new Set(seen.filter((l) => l.parked !== 'memory').map((l) => path.dirname(l.path)));
    for (const p of this.cache.keys()) if (folders.has(path.dirname(p)) && !alive.has(p)) this.cache.delete(p);
  }

  private check(loc: Located, text: string, withText: boolean): Inspected {
    const c = checkSnapshotText(text);
    if (!c.ok) return { kind: 'bad', reason: c.line === undefined ? c.reason : `line ${c.line}: ${c.reason}` };
    if (c.entry.id !== loc.id || c.entry.service !== loc.service) {
      return { kind: 'bad', reason: `holds ${c.entry.service}/${c.entry.id}, which does not match its file name` };
    }
    const parked = loc.parked ? { parked: true, parkedIn: loc.parked } : {};
    const entry: SnapshotEntry = { ...c.entry, path: loc.path, ...parked };
    return withText ? { kind: 'ok', entry, text } : { kind: 'ok', entry };
  }
}


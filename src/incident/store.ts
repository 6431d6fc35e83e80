// The snapshot store: `<dir>/<service>/<id>.json`, one file per incident, written atomically, with
// retention per service. Its one promise is DESIGN.md principle 3, never lose evidence: a snapshot that
// cannot be written because the disk is full (one of the failures it exists to record) is parked in a
// fallback folder on tmpfs, listed like any other, and moved back by `flushFallback` once writes work.
// Listing must survive whatever else lands in the folder (an operator's notes, a truncated copy, a
// FIFO), so every file is checked and a bad one costs one warning, never the listing.
import { createHash } from 'node:crypto';
import { constants as fsc, existsSync, promises as fsp, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SERVICE_NAME } from '../config/config';
import { FileError, writeFileAtomic } from '../util/atomic';
import { ParseError, errnoCode, errorMessage, isErrno, quote } from '../util/errors';
import { mapLimit } from '../util/exec';
import { READABLE_SCHEMAS } from './snapshot';
import { SNAPSHOT_ID_RE, checkSnapshotText, compareSnapshotIds, snapshotIdFor, snapshotIdTime, type SnapshotEntry, type StoredSnapshot } from './snapshot-file';

export { SNAPSHOT_ID_RE, checkSnapshotText, compareSnapshotIds, snapshotIdFor, snapshotIdTime, type SnapshotEntry, type StoredSnapshot } from './snapshot-file';

const SNAPSHOT_FILE_RE = /^(.+)\.json$/;
const MAX_COLLISION_SUFFIX = 9999;
const DEFAULT_MAX_SNAPSHOT_BYTES = 8 * 1024 * 1024;
const FILE_MODE = 0o640;
const DIR_MODE = 0o750;
const STATE_FILE = '.state.json';
/** Errors that mean "this disk cannot take the file now" rather than "you configured it wrong". */
const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO']);
/** Bounds the memory the listing cache and the warned-once set may take. */
const MAX_REMEMBERED = 10_000;
/** Files read at once while listing: enough to overlap I/O, few enough to never exhaust descriptors. */
const LIST_CONCURRENCY = 8;
// O_NOFOLLOW: a symlink planted in the store never makes us read outside it.
// O_NONBLOCK: a FIFO named like a snapshot cannot hang a listing in open().
const OPEN_IN_STORE = fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK;

export interface SnapshotStoreOptions {
  dir: string;
  /** Snapshots kept per service (>= 1). */
  retention: number;
  /** Where snapshots go when `dir` is full or read-only. Default: a per-user folder on tmpfs. */
  fallbackDir?: string;
  /** Told about skipped files and parked snapshots. Default: nothing (library code never prints). */
  warn?: (message: string) => void;
  /** Files larger than this are skipped when listing or reading. Default 8 MiB. */
  maxSnapshotBytes?: number;
}

/** The default fallback: tmpfs survives a full disk; per user and per snapshot dir so stores never mix. */
function defaultFallbackDir(dir: string): { dir: string; sharedRoot: string | null } {
  const tag = `fallback-${createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 12)}`;
  const runtime = process.env.RUNTIME_DIRECTORY?.split(':')[0];
  if (runtime) return { dir: path.join(runtime, tag), sharedRoot: null };
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  let base = os.tmpdir();
  try {
    if (statSync('/dev/shm').isDirectory()) base = '/dev/shm';
  } catch {
    // no /dev/shm: os.tmpdir() it is
  }
  const root = path.join(base, `preflight-${uid}`);
  return { dir: path.join(root, tag), sharedRoot: root };
}

const isDiskFull = (err: unknown): boolean => isErrno(err, DISK_FULL_CODES);

function statKey(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

type Inspected =
  | { kind: 'ok'; entry: SnapshotEntry; text?: string }
  | { kind: 'bad'; reason: string }
  | { kind: 'gone' };

interface Located {
  service: string;
  id: string;
  path: string;
  parked: boolean;
}

export class SnapshotStore {
  readonly dir: string;
  readonly fallbackDir: string;
  readonly retention: number;
  private readonly sharedFallbackRoot: string | null;
  private readonly warnFn: (message: string) => void;
  private readonly maxBytes: number;
  /** Ids handed out by newId and not saved yet, so two captures in one millisecond never share one. */
  private readonly issued = new Set<string>();
  /** Listing cache: path -> what the file held at that stat key (a rewrite makes a new inode). */
  private readonly listCache = new Map<string, { key: string; result: Inspected }>();
  private readonly warned = new Set<string>();
  private parkWarned = false;

  constructor(opts: SnapshotStoreOptions) {
    if (!Number.isInteger(opts.retention) || opts.retention < 1) {
      throw new RangeError(`snapshot retention must be a whole number >= 1 (got ${opts.retention})`);
    }
    this.dir = path.resolve(opts.dir);
    this.retention = opts.retention;
    if (opts.fallbackDir !== undefined) {
      this.fallbackDir = path.resolve(opts.fallbackDir);
      this.sharedFallbackRoot = null;
    } else {
      const d = defaultFallbackDir(this.dir);
      this.fallbackDir = d.dir;
      this.sharedFallbackRoot = d.sharedRoot;
    }
    this.warnFn = opts.warn ?? (() => undefined);
    this.maxBytes = opts.maxSnapshotBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES;
  }

  /** A unique id for `service` at `at`: the time, or the time plus `-1`, `-2`... when taken. */
  newId(service: string, at: Date): string {
    this.checkService(service);
    const base = snapshotIdFor(at);
    for (let n = 0; n <= MAX_COLLISION_SUFFIX; n++) {
      const id = n === 0 ? base : `${base}-${n}`;
      const key = `${service}/${id}`;
      if (this.issued.has(key) || this.exists(service, id)) continue;
      if (this.issued.size >= MAX_REMEMBERED) this.issued.clear();
      this.issued.add(key);
      return id;
    }
    throw new RangeError(`${service}: more than ${MAX_COLLISION_SUFFIX} snapshots at ${base}`);
  }

  /**
   * Write a new snapshot (atomic, 0640, folders 0750), then apply retention to its service. When the
   * snapshot dir is full or read-only it is parked in the fallback folder instead and that path is
   * returned. If another file already holds `snap.id`, the snapshot gets a fresh id (`snap.id` is
   * updated, so a later `rewrite(snap)` finds it); saving identical bytes twice is a no-op.
   */
  async save<T extends StoredSnapshot>(snap: T): Promise<string> {
    this.checkSnapshot(snap);
    let text = serialize(snap);
    const existing = this.locate(snap.service, snap.id);
    if (existing) {
      const same = await fsp.readFile(existing.path, 'utf8').then((t) => t === text, () => false);
      if (same) return existing.path;
      const at = snapshotIdTime(snap.id) ?? new Date();
      snap.id = this.newId(snap.service, at);
      text = serialize(snap);
    }
    this.issued.delete(`${snap.service}/${snap.id}`);
    return this.place(snap.service, snap.id, text);
  }

  /** Atomically replace an existing snapshot (to add `recovery`). Throws FileError ENOENT when there is none. */
  async rewrite<T extends StoredSnapshot>(snap: T): Promise<string> {
    this.checkSnapshot(snap);
    const existing = this.locate(snap.service, snap.id);
    if (!existing) {
      throw new FileError(this.snapshotPath(snap.service, snap.id), 'no such snapshot to rewrite', { code: 'ENOENT' });
    }
    return this.place(snap.service, snap.id, serialize(snap));
  }

  /** Every snapshot (of one service, or all), newest first, including parked ones. */
  async list(service?: string): Promise<SnapshotEntry[]> {
    let services: string[];
    if (service !== undefined) {
      if (!SERVICE_NAME.test(service)) return [];
      services = [service];
    } else {
      const names = new Set([...(await this.serviceDirs(this.dir)), ...(await this.serviceDirs(this.fallbackDir))]);
      services = [...names];
    }
    const located = (await Promise.all(services.map((s) => this.locateAll(s)))).flat();
    const inspected = await mapLimit(located, LIST_CONCURRENCY, (loc) => this.inspectCached(loc));
    this.pruneCache(located);
    const entries: SnapshotEntry[] = [];
    for (const r of inspected) if (r.kind === 'ok') entries.push(r.entry);
    return entries.sort((a, b) => compareSnapshotIds(b.id, a.id) || (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  }

  /** The newest readable snapshot of `service` with its bytes as stored, or null. */
  async last(service: string): Promise<{ entry: SnapshotEntry; text: string } | null> {
    if (!SERVICE_NAME.test(service)) return null;
    for (const loc of await this.locateAll(service)) {
      const r = await this.inspect(loc, true);
      if (r.kind === 'ok' && r.text !== undefined) return { entry: r.entry, text: r.text };
    }
    return null;
  }

  /** One snapshot by service and id, or null. Anything that is not a plain service name or a snapshot id is null. */
  /** The snapshot with this id, whichever service it belongs to (a stat per service folder, not a listing). */
  /**
   * Every snapshot with this id, one per service that has it: an id is a time, unique within a service
   * only (two services failing in the same millisecond share it). Sorted by service.
   */
  async find(id: string): Promise<Array<{ entry: SnapshotEntry; text: string }>> {
    if (!SNAPSHOT_ID_RE.test(id)) return [];
    const services = new Set([...(await this.serviceDirs(this.dir)), ...(await this.serviceDirs(this.fallbackDir))]);
    const out: Array<{ entry: SnapshotEntry; text: string }> = [];
    for (const service of [...services].sort()) {
      const found = await this.read(service, id);
      if (found) out.push(found);
    }
    return out;
  }

  async read(service: string, id: string): Promise<{ entry: SnapshotEntry; text: string } | null> {
    if (!SERVICE_NAME.test(service) || !SNAPSHOT_ID_RE.test(id)) return null;
    const loc = this.locate(service, id);
    if (!loc) return null;
    const r = await this.inspect(loc, true);
    return r.kind === 'ok' && r.text !== undefined ? { entry: r.entry, text: r.text } : null;
  }

  /** Any snapshot file a user names (`preflight show <file>`). Throws FileError or ParseError saying what is wrong. */
  async readPath(file: string): Promise<{ entry: SnapshotEntry; text: string }> {
    const abs = path.resolve(file);
    const text = await this.readBounded(abs, fsc.O_RDONLY | fsc.O_NONBLOCK);
    const c = checkSnapshotText(text);
    if (!c.ok) {
      throw new ParseError({ file: abs, ...(c.line === undefined ? {} : { line: c.line }), ...(c.field === undefined ? {} : { field: c.field }) }, `not a preflight snapshot: ${c.reason}`);
    }
    return { entry: { ...c.entry, path: abs }, text };
  }

  /** The daemon's small state (`<dir>/.state.json`); null when there is none or it is unreadable (with a warning). */
  async loadState<T>(): Promise<T | null> {
    const file = path.join(this.dir, STATE_FILE);
    try {
      return JSON.parse(await this.readBounded(file, OPEN_IN_STORE)) as T;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') this.warnFn(`ignoring state ${file}: ${errorMessage(err)}`);
      return null;
    }
  }

  async saveState<T>(state: T): Promise<void> {
    await this.ensureDir(this.dir, 'snapshot dir');
    await writeFileAtomic(path.join(this.dir, STATE_FILE), `${JSON.stringify(state)}\n`, { mode: FILE_MODE });
  }

  /**
   * Move parked snapshots back into the snapshot dir, each atomically and byte for byte; a parked copy
   * is never older than one in the dir (see `place`), so it replaces it. Stops quietly while the dir is
   * still full. Returns how many were moved.
   */
  /** Snapshots were parked since the last flush that emptied the fallback: try `flushFallback` again. */
  get parking(): boolean {
    return this.parkWarned;
  }

  async flushFallback(): Promise<number> {
    let moved = 0;
    let left = 0;
    for (const service of await this.serviceDirs(this.fallbackDir)) {
      const from = path.join(this.fallbackDir, service);
      const ids = (await this.snapshotIds(from)).sort(compareSnapshotIds);
      let movedHere = 0;
      for (const id of ids) {
        const src = path.join(from, `${id}.json`);
        let bytes: Buffer;
        try {
          bytes = await this.readBoundedBytes(src, OPEN_IN_STORE);
        } catch (err) {
          this.warnOnce(src, `cannot move parked snapshot ${src} back: ${errorMessage(err)}`);
          left++;
          continue;
        }
        try {
          await this.ensureDir(path.join(this.dir, service), 'snapshot dir');
          await writeFileAtomic(this.snapshotPath(service, id), bytes, { mode: FILE_MODE });
        } catch (err) {
          if (isDiskFull(err)) {
            this.parkWarned = true; // still full: `parking` says to try again later
            return moved;
          }
          this.warnOnce(src, `cannot move parked snapshot ${src} back: ${errorMessage(err)}`);
          left++;
          continue;
        }
        await fsp.unlink(src).catch(() => undefined);
        moved++;
        movedHere++;
      }
      if (movedHere > 0) await this.applyRetention(path.join(this.dir, service));
      await fsp.rmdir(from).catch(() => undefined); // only when empty
    }
    if (left === 0) this.parkWarned = false;
    return moved;
  }

  // --- writing ---------------------------------------------------------------------------------

  /** Write into the dir; on a full disk park in the fallback. A successful write clears any parked copy. */
  private async place(service: string, id: string, text: string): Promise<string> {
    const target = this.snapshotPath(service, id);
    try {
      await this.ensureDir(path.join(this.dir, service), 'snapshot dir');
      await writeFileAtomic(target, text, { mode: FILE_MODE });
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      return this.park(service, id, text, err);
    }
    this.parkWarned = false;
    // A parked copy is now stale (or identical): the dir holds the newest.
    await fsp.unlink(this.parkedPath(service, id)).catch(() => undefined);
    await this.applyRetention(path.dirname(target));
    return target;
  }

  private async park(service: string, id: string, text: string, why: unknown): Promise<string> {
    const target = this.parkedPath(service, id);
    try {
      await this.ensureFallbackRoot();
      await this.ensureDir(path.dirname(target), 'fallback dir');
      await writeFileAtomic(target, text, { mode: FILE_MODE });
    } catch (err) {
      throw new FileError(
        this.snapshotPath(service, id),
        `snapshot not saved: ${errorMessage(why)}; the fallback failed too: ${errorMessage(err)}`,
        { cause: err, code: errnoCode(why) },
      );
    }
    if (!this.parkWarned) {
      this.parkWarned = true;
      this.warnFn(
        `snapshot dir ${this.dir} cannot take snapshots (${errnoCode(why)}): parking them in ${this.fallbackDir}; ` +
          'they are listed as usual and moved back when writes work again',
      );
    }
    await this.applyRetention(path.dirname(target));
    return target;
  }

  /** Delete the oldest snapshot files beyond `retention`; never a file whose name is not a snapshot id. */
  private async applyRetention(folder: string): Promise<void> {
    const ids = (await this.snapshotIds(folder)).sort(compareSnapshotIds);
    for (const id of ids.slice(0, Math.max(0, ids.length - this.retention))) {
      const file = path.join(folder, `${id}.json`);
      try {
        if (!(await fsp.lstat(file)).isFile()) continue;
        await fsp.unlink(file);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') this.warnOnce(file, `retention could not delete ${file}: ${errorMessage(err)}`);
      }
    }
  }

  /** Create `dir` and any missing parents with mode 0750 (whatever the umask); existing folders keep their mode. */
  private async ensureDir(dir: string, what: string): Promise<void> {
    try {
      await mkdirs(dir);
    } catch (err) {
      throw new FileError(dir, `${what} cannot be created: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** A shared tmpfs (/dev/shm, /tmp) is writable by all: refuse a fallback root someone else made or can write. */
  private async ensureFallbackRoot(): Promise<void> {
    const root = this.sharedFallbackRoot;
    if (root === null) return;
    await fsp.mkdir(root, { mode: 0o700 }).catch((err: unknown) => {
      if (errnoCode(err) !== 'EEXIST') throw err;
    });
    const st = await fsp.lstat(root);
    const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
      throw new FileError(root, `unsafe fallback folder (must be a directory owned by uid ${uid}, not group/other-writable)`, {
        code: 'EPERM',
      });
    }
  }

  // --- reading ---------------------------------------------------------------------------------

  private snapshotPath(service: string, id: string): string {
    return path.join(this.dir, service, `${id}.json`);
  }

  private parkedPath(service: string, id: string): string {
    return path.join(this.fallbackDir, service, `${id}.json`);
  }

  private exists(service: string, id: string): boolean {
    return existsSync(this.snapshotPath(service, id)) || existsSync(this.parkedPath(service, id));
  }

  /** Where `service/id` lives now; a parked copy is the newest version when both exist. */
  private locate(service: string, id: string): Located | null {
    const parked = this.parkedPath(service, id);
    if (existsSync(parked)) return { service, id, path: parked, parked: true };
    const inDir = this.snapshotPath(service, id);
    if (existsSync(inDir)) return { service, id, path: inDir, parked: false };
    return null;
  }

  /** Every snapshot-named file of `service` in the dir and the fallback, newest first, parked copies winning. */
  private async locateAll(service: string): Promise<Located[]> {
    const byId = new Map<string, Located>();
    for (const id of await this.snapshotIds(path.join(this.dir, service), true)) {
      byId.set(id, { service, id, path: this.snapshotPath(service, id), parked: false });
    }
    for (const id of await this.snapshotIds(path.join(this.fallbackDir, service))) {
      byId.set(id, { service, id, path: this.parkedPath(service, id), parked: true });
    }
    return [...byId.values()].sort((a, b) => compareSnapshotIds(b.id, a.id));
  }

  /** Ids of the `<id>.json` files in a folder; dotfiles (temp files, state) silently ignored, anything else warned once. */
  private async snapshotIds(folder: string, warnForeign = false): Promise<string[]> {
    let names: string[];
    try {
      names = await fsp.readdir(folder);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') this.warnOnce(folder, `cannot list ${folder}: ${errorMessage(err)}`);
      return [];
    }
    const ids: string[] = [];
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const id = SNAPSHOT_FILE_RE.exec(name)?.[1];
      if (id !== undefined && SNAPSHOT_ID_RE.test(id)) ids.push(id);
      else if (warnForeign) this.warnOnce(path.join(folder, name), `skipped ${path.join(folder, name)}: not a snapshot file name`);
    }
    return ids;
  }

  /** Service folders (real directories with a valid name; symlinks are not followed). */
  private async serviceDirs(root: string): Promise<string[]> {
    try {
      const ents = await fsp.readdir(root, { withFileTypes: true });
      return ents.filter((e) => e.isDirectory() && SERVICE_NAME.test(e.name)).map((e) => e.name);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') this.warnOnce(root, `cannot list ${root}: ${errorMessage(err)}`);
      return [];
    }
  }

  /** Listing: a file whose stat has not changed since the last look is not read again. */
  private async inspectCached(loc: Located): Promise<Inspected> {
    const cached = this.listCache.get(loc.path);
    if (cached) {
      try {
        if (statKey(await fsp.lstat(loc.path)) === cached.key) return cached.result;
      } catch {
        // gone or unreadable: inspect says which
      }
    }
    return this.inspect(loc, false);
  }

  private async inspect(loc: Located, withText: boolean): Promise<Inspected> {
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
      else {
        const text = (await readAtMost(fh, this.maxBytes)).toString('utf8');
        const c = checkSnapshotText(text);
        if (!c.ok) result = { kind: 'bad', reason: c.line === undefined ? c.reason : `line ${c.line}: ${c.reason}` };
        else if (c.entry.id !== loc.id || c.entry.service !== loc.service) {
          result = { kind: 'bad', reason: `holds ${c.entry.service}/${c.entry.id}, which does not match its file name` };
        } else {
          result = { kind: 'ok', entry: { ...c.entry, path: loc.path, ...(loc.parked ? { parked: true } : {}) } };
          if (withText) result = { ...result, text };
        }
      }
    } catch (err) {
      result = { kind: 'bad', reason: errorMessage(err) };
    } finally {
      await fh.close().catch(() => undefined);
    }
    if (result.kind === 'bad') this.warnOnce(`${loc.path}@${key ?? ''}`, `skipped ${loc.path}: ${result.reason}`);
    if (key !== undefined) {
      if (this.listCache.size >= MAX_REMEMBERED) this.listCache.clear();
      const { text: _text, ...keep } = result as { text?: string };
      this.listCache.set(loc.path, { key, result: keep as Inspected });
    }
    return result;
  }

  /** Forget cache entries of the listed services' files that are gone. */
  private pruneCache(seen: readonly Located[]): void {
    const alive = new Set(seen.map((l) => l.path));
    const folders = new Set(seen.map((l) => path.dirname(l.path)));
    for (const p of this.listCache.keys()) if (folders.has(path.dirname(p)) && !alive.has(p)) this.listCache.delete(p);
  }

  private async readBoundedBytes(file: string, flags: number): Promise<Buffer> {
    let fh;
    try {
      fh = await fsp.open(file, flags);
    } catch (err) {
      throw new FileError(file, `cannot open: ${errorMessage(err)}`, { cause: err });
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new FileError(file, 'not a regular file', { code: 'EINVAL' });
      if (st.size > this.maxBytes) throw new FileError(file, `${st.size} bytes, over the ${this.maxBytes}-byte cap`, { code: 'EFBIG' });
      return await readAtMost(fh, this.maxBytes);
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  private async readBounded(file: string, flags: number): Promise<string> {
    return (await this.readBoundedBytes(file, flags)).toString('utf8');
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    if (this.warned.size >= MAX_REMEMBERED) this.warned.clear();
    this.warned.add(key);
    this.warnFn(message);
  }

  private checkService(service: string): void {
    if (!SERVICE_NAME.test(service)) {
      throw new RangeError(`service name ${quote(service)} cannot be a snapshot folder (letters, digits, _ . @ -; not starting with . or -)`);
    }
  }

  private checkSnapshot(snap: StoredSnapshot): void {
    this.checkService(snap.service);
    if (!SNAPSHOT_ID_RE.test(snap.id)) throw new RangeError(`snapshot id ${quote(snap.id)} is not a snapshot id (see newId)`);
    // a version 1 file is rewritten as it is (recovery, notification outcome); new ones are written as the current version
    if (!READABLE_SCHEMAS.includes(snap.schema)) throw new RangeError(`snapshot schema ${quote(String(snap.schema))} is not one of ${READABLE_SCHEMAS.join(', ')}`);
  }
}

function serialize(snap: StoredSnapshot): string {
  return `${JSON.stringify(snap, null, 2)}\n`;
}

/** Read to EOF but never more than `max` bytes (a file growing under us cannot blow the bound). */
async function readAtMost(fh: fsp.FileHandle, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(Math.min(1024 * 1024, max + 1 - total));
    const { bytesRead } = await fh.read(buf, 0, buf.length, null);
    if (bytesRead === 0) break;
    chunks.push(buf.subarray(0, bytesRead));
    total += bytesRead;
    if (total > max) throw new FileError('(open file)', `grew over the ${max}-byte cap while being read`, { code: 'EFBIG' });
  }
  return Buffer.concat(chunks, total);
}

/** mkdir -p with an exact mode on the folders it creates (mkdir's mode is filtered by the umask). */
async function mkdirs(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir, { mode: DIR_MODE });
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST') {
      if ((await fsp.stat(dir)).isDirectory()) return;
      throw err;
    }
    if (code !== 'ENOENT' || path.dirname(dir) === dir) throw err;
    await mkdirs(path.dirname(dir));
    try {
      await fsp.mkdir(dir, { mode: DIR_MODE });
    } catch (again) {
      if (errnoCode(again) === 'EEXIST' && (await fsp.stat(dir)).isDirectory()) return;
      throw again;
    }
  }
  await fsp.chmod(dir, DIR_MODE);
}

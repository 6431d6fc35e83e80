// The snapshot store: `<dir>/<service>/<id>.json`, one file per incident, written atomically, with
// retention per service. Its one promise is DESIGN.md principle 3, never lose evidence: a snapshot that
// cannot be written, for any reason (a full disk, one of the failures it exists to record; a permission
// error; too many open files), is parked (parking.ts): in a fallback folder on tmpfs, else in memory
// (bounded). Parked snapshots are listed and read like any other, rewritten where they wait (a recovery
// added while the dir still refuses is kept), and moved back by `flushFallback` once writes work.
// Listing must survive whatever else lands in the folder (store-inspect.ts).
import { constants as fsc, existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { SERVICE_NAME } from '../config/config';
import { FileError, writeFileAtomic, type AtomicWriteResult } from '../util/atomic';
import { ParseError, errnoCode, errorMessage, quote } from '../util/errors';
import { mapLimit } from '../util/exec';
import { Parking, defaultFallbackDir } from './parking';
import { READABLE_SCHEMAS } from './snapshot';
import { SNAPSHOT_ID_RE, checkSnapshotText, compareSnapshotIds, snapshotIdFor, snapshotIdTime, type SnapshotEntry, type StoredSnapshot } from './snapshot-file';
import { FILE_MODE, OPEN_IN_STORE, mkdirs, readBoundedBytes, serviceDirs, snapshotIds, sweepTempFiles } from './store-fs';
import { SnapshotInspector, type Located } from './store-inspect';

export { SNAPSHOT_ID_RE, checkSnapshotText, compareSnapshotIds, snapshotIdFor, snapshotIdTime, type SnapshotEntry, type StoredSnapshot } from './snapshot-file';

const MAX_COLLISION_SUFFIX = 9999;
const DEFAULT_MAX_SNAPSHOT_BYTES = 8 * 1024 * 1024;
const STATE_FILE = '.state.json';
/** Bounds the memory the warned-once and issued-id sets may take. */
const MAX_REMEMBERED = 10_000;
/** Files read at once while listing: enough to overlap I/O, few enough to never exhaust descriptors. */
const LIST_CONCURRENCY = 8;
/** A temp file older than this was left by a writer that died: no live write takes a minute. */
export const STALE_TEMP_MS = 60_000;

export interface SnapshotStoreOptions {
  dir: string;
  /** Snapshots kept per service (>= 1). */
  retention: number;
  /** Where snapshots go when `dir` cannot take them. Default: a per-user folder on tmpfs. */
  fallbackDir?: string;
  /** Told about skipped files, folders that cannot be synced, an outage's start. Default: nothing (library code never prints). */
  warn?: (message: string) => void;
  /** Told (for a log line at err) about each snapshot parked or dropped, with its gist. Default: `warn`. */
  error?: (message: string) => void;
  /** Files larger than this are skipped when listing or reading. Default 8 MiB. */
  maxSnapshotBytes?: number;
  /** Bounds of the memory parking (default 64 snapshots, 32 MiB). */
  memoryPark?: { maxSnapshots?: number; maxBytes?: number };
}

/** What /metrics shows about the store (DaemonStatus.store). */
export interface StoreStats {
  parkedFallback: number;
  parkedMemory: number;
  /** writes of a snapshot into the snapshot dir that failed (each one parked instead) */
  writeFailuresTotal: number;
}

/** A snapshot that cannot be turned into JSON (a BigInt, a cycle): there are no bytes to write or park. */
export class SnapshotSerializeError extends Error {
  override name = 'SnapshotSerializeError';
  constructor(
    readonly service: string,
    readonly id: string,
    cause: unknown,
  ) {
    super(`snapshot ${service}/${id} cannot be serialised: ${errorMessage(cause)}`, { cause });
  }
}

/** The gist a log line keeps of a snapshot that may never reach disk: its summary and first finding. */
export function snapshotGist(snap: StoredSnapshot): string {
  const s = snap as StoredSnapshot & { probable_cause?: unknown; findings?: Array<{ cause?: unknown }> };
  const finding = Array.isArray(s.findings) ? s.findings[0]?.cause : undefined;
  const first = typeof finding === 'string' ? finding : typeof s.probable_cause === 'string' ? s.probable_cause : 'none';
  return `summary: ${s.summary}; first finding: ${first}`;
}

export class SnapshotStore {
  readonly dir: string;
  readonly fallbackDir: string;
  readonly retention: number;
  private readonly sharedFallbackRoot: string | null;
  private readonly warnFn: (message: string) => void;
  private readonly errorFn: (message: string) => void;
  private readonly maxBytes: number;
  /** Ids handed out by newId and not saved yet, so two captures in one millisecond never share one. */
  private readonly issued = new Set<string>();
  private readonly inspector: SnapshotInspector;
  private readonly warned = new Set<string>();
  private readonly parked: Parking;
  /** The "dir cannot take snapshots" warning was given for this outage (cleared by a write that lands). */
  private outageWarned = false;
  private writeFailures = 0;

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
    this.errorFn = opts.error ?? this.warnFn;
    this.maxBytes = opts.maxSnapshotBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES;
    this.parked = new Parking({
      fallbackDir: this.fallbackDir,
      sharedRoot: this.sharedFallbackRoot,
      ...(opts.memoryPark ? { memory: opts.memoryPark } : {}),
      maxFileBytes: this.maxBytes,
      write: (target, data, what) => this.writeInto(target, data, what),
      warnOnce: (k, m) => this.warnOnce(k, m),
      error: (m) => this.errorFn(m),
    });
    this.inspector = new SnapshotInspector(this.maxBytes, (k, m) => this.warnOnce(k, m));
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
   * snapshot dir cannot take it (any error) it is parked, in the fallback folder or else in memory, and
   * nothing is thrown: the returned path is where it waits (for memory: where it will land). If another
   * file already holds `snap.id`, the snapshot gets a fresh id (`snap.id` is updated, so a later
   * `rewrite(snap)` finds it); saving identical bytes twice is a no-op. Throws RangeError for what
   * cannot be a snapshot and SnapshotSerializeError for what cannot be JSON.
   */
  async save<T extends StoredSnapshot>(snap: T): Promise<string> {
    this.checkSnapshot(snap);
    let text = serialize(snap);
    const existing = this.locate(snap.service, snap.id);
    if (existing) {
      const same =
        existing.text !== undefined ? existing.text === text : await fsp.readFile(existing.path, 'utf8').then((t) => t === text, () => false);
      if (same) return existing.path;
      const at = snapshotIdTime(snap.id) ?? new Date();
      snap.id = this.newId(snap.service, at);
      text = serialize(snap);
    }
    this.issued.delete(`${snap.service}/${snap.id}`);
    return this.place(snap, text);
  }

  /** Atomically replace an existing snapshot (to add `recovery`), parked or not. Throws FileError ENOENT when there is none. */
  async rewrite<T extends StoredSnapshot>(snap: T): Promise<string> {
    this.checkSnapshot(snap);
    const existing = this.locate(snap.service, snap.id);
    if (!existing) {
      throw new FileError(this.snapshotPath(snap.service, snap.id), 'no such snapshot to rewrite', { code: 'ENOENT' });
    }
    return this.place(snap, serialize(snap));
  }

  /** Where `service/id` waits when it is parked, else null (in the dir, or unknown). */
  parkedIn(service: string, id: string): 'fallback' | 'memory' | null {
    return this.parked.where(service, id);
  }

  /** Every snapshot (of one service, or all), newest first, including parked ones. */
  async list(service?: string): Promise<SnapshotEntry[]> {
    let services: string[];
    if (service !== undefined) {
      if (!SERVICE_NAME.test(service)) return [];
      services = [service];
    } else {
      services = await this.allServices();
    }
    const located = (await Promise.all(services.map((s) => this.locateAll(s)))).flat();
    const inspected = await mapLimit(located, LIST_CONCURRENCY, (loc) => this.inspector.cached(loc));
    this.inspector.prune(located);
    const entries: SnapshotEntry[] = [];
    for (const r of inspected) if (r.kind === 'ok') entries.push(r.entry);
    return entries.sort((a, b) => compareSnapshotIds(b.id, a.id) || (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  }

  /** The newest readable snapshot of `service` with its bytes as stored, or null. */
  async last(service: string): Promise<{ entry: SnapshotEntry; text: string } | null> {
    if (!SERVICE_NAME.test(service)) return null;
    for (const loc of await this.locateAll(service)) {
      const r = await this.inspector.inspect(loc, true);
      if (r.kind === 'ok' && r.text !== undefined) return { entry: r.entry, text: r.text };
    }
    return null;
  }

  /**
   * Every snapshot with this id, one per service that has it: an id is a time, unique within a service
   * only (two services failing in the same millisecond share it). Sorted by service.
   */
  async find(id: string): Promise<Array<{ entry: SnapshotEntry; text: string }>> {
    if (!SNAPSHOT_ID_RE.test(id)) return [];
    const services = await this.allServices();
    const out: Array<{ entry: SnapshotEntry; text: string }> = [];
    for (const service of [...services].sort()) {
      const found = await this.read(service, id);
      if (found) out.push(found);
    }
    return out;
  }

  /** One snapshot by service and id, or null. Anything that is not a plain service name or a snapshot id is null. */
  async read(service: string, id: string): Promise<{ entry: SnapshotEntry; text: string } | null> {
    if (!SERVICE_NAME.test(service) || !SNAPSHOT_ID_RE.test(id)) return null;
    const loc = this.locate(service, id);
    if (!loc) return null;
    const r = await this.inspector.inspect(loc, true);
    return r.kind === 'ok' && r.text !== undefined ? { entry: r.entry, text: r.text } : null;
  }

  /** Any snapshot file a user names (`preflight show <file>`). Throws FileError or ParseError saying what is wrong. */
  async readPath(file: string): Promise<{ entry: SnapshotEntry; text: string }> {
    const abs = path.resolve(file);
    const text = (await readBoundedBytes(abs, fsc.O_RDONLY | fsc.O_NONBLOCK, this.maxBytes)).toString('utf8');
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
      return JSON.parse((await readBoundedBytes(file, OPEN_IN_STORE, this.maxBytes)).toString('utf8')) as T;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') this.warnFn(`ignoring state ${file}: ${errorMessage(err)}`);
      return null;
    }
  }

  /** Write .state.json. Throws FileError when the dir cannot take it (the caller decides how loudly to say so). */
  async saveState<T>(state: T): Promise<void> {
    await this.ensureDir(this.dir, 'snapshot dir');
    this.noteSync(await writeFileAtomic(path.join(this.dir, STATE_FILE), `${JSON.stringify(state)}\n`, { mode: FILE_MODE }));
  }

  /** Something is parked (in the fallback or in memory): try `flushFallback` again later. */
  get parking(): boolean {
    return this.parked.any;
  }

  stats(): StoreStats {
    const c = this.parked.counts();
    return { parkedFallback: c.fallback, parkedMemory: c.memory, writeFailuresTotal: this.writeFailures };
  }

  /**
   * Remove the temp files a writer killed mid-write left (older than `maxAgeMs`) from the dir, the
   * fallback folder and their service folders. Returns the paths removed.
   */
  async sweepTemp(maxAgeMs = STALE_TEMP_MS, now = Date.now()): Promise<string[]> {
    const warn = (k: string, m: string): void => this.warnOnce(k, m);
    const folders: string[] = [];
    for (const root of [this.dir, this.fallbackDir]) {
      folders.push(root, ...(await serviceDirs(root, warn)).map((s) => path.join(root, s)));
    }
    return sweepTempFiles(folders, maxAgeMs, now, warn);
  }

  /**
   * Move parked snapshots back into the snapshot dir, each atomically and byte for byte (parking.ts
   * says in which order). A parked copy is never older than one in the dir (see `place`), so it
   * replaces it. Stops quietly while the dir still refuses: `parking` stays true. Returns how many landed.
   */
  async flushFallback(): Promise<number> {
    const { moved, services } = await this.parked.flush(async (service, id, data) => {
      try {
        await this.writeInto(this.snapshotPath(service, id), data, 'snapshot dir');
        return true;
      } catch {
        return false;
      }
    });
    if (moved > 0) this.outageWarned = false;
    for (const service of services) await this.applyRetention(path.join(this.dir, service));
    return moved;
  }

  // --- writing ---------------------------------------------------------------------------------

  /** Make the folder and write the file atomically; throws FileError on any failure. */
  private async writeInto(target: string, data: string | Uint8Array, what: string): Promise<void> {
    await this.ensureDir(path.dirname(target), what);
    this.noteSync(await writeFileAtomic(target, data, { mode: FILE_MODE }));
  }

  /** Write into the dir; when that fails for any reason, park. A write that lands clears any parked copy. */
  private async place(snap: StoredSnapshot, text: string): Promise<string> {
    const { service, id } = snap;
    const target = this.snapshotPath(service, id);
    try {
      await this.writeInto(target, text, 'snapshot dir');
    } catch (err) {
      this.writeFailures++;
      return this.park(snap, text, err);
    }
    this.outageWarned = false;
    await this.parked.landed(service, id);
    await this.applyRetention(path.dirname(target));
    return target;
  }

  /** The fallback folder, else memory; the first time a snapshot is parked (or moves to memory) its gist goes to `error`. */
  private async park(snap: StoredSnapshot, text: string, why: unknown): Promise<string> {
    const { service, id } = snap;
    const was = this.parked.where(service, id);
    const r = await this.parked.park(service, id, text);
    const key = `${service}/${id}`;
    if (r.where === 'fallback') {
      const target = this.parked.path(service, id);
      this.warnOutage(why, this.fallbackDir);
      if (was !== 'fallback') this.errorFn(`snapshot ${key} not written (${errorMessage(why)}): parked in ${target}; ${snapshotGist(snap)}`);
      await this.applyRetention(path.dirname(target));
      return target;
    }
    this.warnOutage(why, 'memory');
    if (was !== 'memory') {
      this.errorFn(
        `snapshot ${key} not written (${errorMessage(why)}) and the fallback failed too (${errorMessage(r.fallbackError)}): ` +
          `parked in memory until the dir takes writes; ${snapshotGist(snap)}`,
      );
    }
    return this.snapshotPath(service, id);
  }

  private warnOutage(why: unknown, where: string): void {
    if (this.outageWarned) return;
    this.outageWarned = true;
    this.warnFn(
      `snapshot dir ${this.dir} cannot take snapshots (${errnoCode(why) ?? errorMessage(why)}): parking them in ${where}; ` +
        'they are listed as usual and moved back when writes work again',
    );
  }

  /** The rename is done, the folder not synced: said once per folder, never a failed write. */
  private noteSync(r: AtomicWriteResult): void {
    if (r.folderSyncError) this.warnOnce(`fsync:${r.folderSyncError.path}`, errorMessage(r.folderSyncError));
  }

  /** Delete the oldest snapshot files beyond `retention`; never a file whose name is not a snapshot id. */
  private async applyRetention(folder: string): Promise<void> {
    const ids = (await snapshotIds(folder, (k, m) => this.warnOnce(k, m))).sort(compareSnapshotIds);
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
      await mkdirs(dir, (err) => this.warnOnce(`fsync:${path.dirname(dir)}`, `created ${dir} but cannot fsync its parent: ${errorMessage(err)}`));
    } catch (err) {
      throw new FileError(dir, `${what} cannot be created: ${errorMessage(err)}`, { cause: err });
    }
  }

  // --- locating ---------------------------------------------------------------------------------

  private snapshotPath(service: string, id: string): string {
    return path.join(this.dir, service, `${id}.json`);
  }

  private exists(service: string, id: string): boolean {
    return this.locate(service, id) !== null;
  }

  /** Where `service/id` lives now; a parked copy is the newest version (memory newest of all). */
  private locate(service: string, id: string): Located | null {
    const held = this.parked.memory.get(service, id);
    if (held) return { service, id, path: this.snapshotPath(service, id), parked: 'memory', text: held.text };
    const parked = this.parked.path(service, id);
    if (existsSync(parked)) return { service, id, path: parked, parked: 'fallback' };
    const inDir = this.snapshotPath(service, id);
    if (existsSync(inDir)) return { service, id, path: inDir, parked: false };
    return null;
  }

  /** Every snapshot of `service` in the dir, the fallback and memory, newest first, parked copies winning. */
  private async locateAll(service: string): Promise<Located[]> {
    const warn = (k: string, m: string): void => this.warnOnce(k, m);
    const byId = new Map<string, Located>();
    for (const id of await snapshotIds(path.join(this.dir, service), warn, true)) {
      byId.set(id, { service, id, path: this.snapshotPath(service, id), parked: false });
    }
    for (const id of await snapshotIds(path.join(this.fallbackDir, service), warn)) {
      byId.set(id, { service, id, path: this.parked.path(service, id), parked: 'fallback' });
    }
    for (const id of this.parked.memory.ids(service)) {
      const held = this.parked.memory.get(service, id);
      if (held) byId.set(id, { service, id, path: this.snapshotPath(service, id), parked: 'memory', text: held.text });
    }
    return [...byId.values()].sort((a, b) => compareSnapshotIds(b.id, a.id));
  }

  /** Services with a folder in the dir or the fallback, or a snapshot in memory. */
  private async allServices(): Promise<string[]> {
    const warn = (k: string, m: string): void => this.warnOnce(k, m);
    return [...new Set([...(await serviceDirs(this.dir, warn)), ...(await serviceDirs(this.fallbackDir, warn)), ...this.parked.memory.services()])];
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
  try {
    return `${JSON.stringify(snap, null, 2)}\n`;
  } catch (err) {
    throw new SnapshotSerializeError(snap.service, snap.id, err);
  }
}


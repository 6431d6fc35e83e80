// Where a snapshot waits when the snapshot dir cannot take it (DESIGN.md principle 3: never lose
// evidence): a fallback folder on tmpfs, which survives a full disk, and when that fails too, memory.
// Memory is bounded (a failure storm on a broken disk must not take the daemon's MemoryMax with it):
// past the bound the oldest parked snapshot is dropped, and the caller logs its gist.
import { createHash } from 'node:crypto';
import { existsSync, promises as fsp, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileError } from '../util/atomic';
import { errnoCode, errorMessage } from '../util/errors';
import { checkSnapshotText, compareSnapshotIds } from './snapshot-file';
import { OPEN_IN_STORE, readBoundedBytes, serviceDirs, snapshotIds } from './store-fs';

export const MEMORY_PARK_MAX_SNAPSHOTS = 64;
export const MEMORY_PARK_MAX_BYTES = 32 * 1024 * 1024;

/** The default fallback: tmpfs survives a full disk; per user and per snapshot dir so stores never mix. */
export function defaultFallbackDir(dir: string): { dir: string; sharedRoot: string | null } {
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

/** A shared tmpfs (/dev/shm, /tmp) is writable by all: refuse a fallback root someone else made or can write. */
export async function ensureFallbackRoot(root: string | null): Promise<void> {
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

export interface MemoryParked {
  service: string;
  id: string;
  text: string;
  bytes: number;
}

/**
 * Snapshots held in memory, oldest first (by when they were last put). `put` of a key already held
 * replaces it (a recovery added to a parked snapshot) and makes it the newest.
 */
export class MemoryPark {
  private readonly held = new Map<string, MemoryParked>();
  private total = 0;

  constructor(
    readonly maxSnapshots = MEMORY_PARK_MAX_SNAPSHOTS,
    readonly maxBytes = MEMORY_PARK_MAX_BYTES,
  ) {}

  get size(): number {
    return this.held.size;
  }

  get bytes(): number {
    return this.total;
  }

  /**
   * Hold `text` as `service/id`; returns what was dropped to stay within the bounds, oldest first.
   * A snapshot larger than the whole byte bound is not held: it is returned as dropped itself.
   */
  put(service: string, id: string, text: string): MemoryParked[] {
    this.delete(service, id);
    const p: MemoryParked = { service, id, text, bytes: Buffer.byteLength(text, 'utf8') };
    if (p.bytes > this.maxBytes) return [p];
    const dropped: MemoryParked[] = [];
    for (const [key, old] of this.held) {
      if (this.held.size < this.maxSnapshots && this.total + p.bytes <= this.maxBytes) break;
      this.held.delete(key);
      this.total -= old.bytes;
      dropped.push(old);
    }
    this.held.set(`${service}/${id}`, p);
    this.total += p.bytes;
    return dropped;
  }

  get(service: string, id: string): MemoryParked | undefined {
    return this.held.get(`${service}/${id}`);
  }

  delete(service: string, id: string): boolean {
    const key = `${service}/${id}`;
    const old = this.held.get(key);
    if (!old) return false;
    this.held.delete(key);
    this.total -= old.bytes;
    return true;
  }

  /** Ids held for `service`, oldest id first. */
  ids(service: string): string[] {
    const out: string[] = [];
    for (const p of this.held.values()) if (p.service === service) out.push(p.id);
    return out.sort(compareSnapshotIds);
  }

  services(): string[] {
    return [...new Set([...this.held.values()].map((p) => p.service))];
  }

  /** Everything held, oldest put first (the order a flush writes them back in). */
  all(): MemoryParked[] {
    return [...this.held.values()];
  }
}

export interface ParkingOptions {
  fallbackDir: string;
  /** the shared tmpfs folder the fallback sits in, checked before each use (null: a private one) */
  sharedRoot: string | null;
  memory?: { maxSnapshots?: number; maxBytes?: number };
  /** a parked file larger than this is not read back */
  maxFileBytes: number;
  /** Write a file atomically, making its folder; throws on any failure. */
  write: (target: string, data: string | Uint8Array, what: string) => Promise<void>;
  warnOnce: (key: string, message: string) => void;
  /** told about each snapshot the memory bound drops */
  error: (message: string) => void;
}

/** The two parking places, and moving what waits in them back into the dir. */
export class Parking {
  readonly memory: MemoryPark;
  /** `service/id` of the snapshots waiting in the fallback folder (rebuilt by each flush). */
  private readonly inFallback = new Set<string>();

  constructor(private readonly o: ParkingOptions) {
    this.memory = new MemoryPark(o.memory?.maxSnapshots, o.memory?.maxBytes);
  }

  path(service: string, id: string): string {
    return path.join(this.o.fallbackDir, service, `${id}.json`);
  }

  /** Where `service/id` waits, if it does; memory holds the newest copy when both do. */
  where(service: string, id: string): 'fallback' | 'memory' | null {
    if (this.memory.get(service, id)) return 'memory';
    return existsSync(this.path(service, id)) ? 'fallback' : null;
  }

  get any(): boolean {
    return this.memory.size > 0 || this.inFallback.size > 0;
  }

  counts(): { fallback: number; memory: number } {
    return { fallback: this.inFallback.size, memory: this.memory.size };
  }

  /** Park `text`: in the fallback folder, else in memory (then `fallbackError` says why not the folder). */
  async park(service: string, id: string, text: string): Promise<{ where: 'fallback' } | { where: 'memory'; fallbackError: unknown }> {
    const key = `${service}/${id}`;
    const target = this.path(service, id);
    try {
      await ensureFallbackRoot(this.o.sharedRoot);
      await this.o.write(target, text, 'fallback dir');
    } catch (err) {
      // an older copy in the fallback must not be taken for the newest later
      if (this.inFallback.delete(key) || existsSync(target)) await fsp.unlink(target).catch(() => undefined);
      for (const d of this.memory.put(service, id, text)) this.o.error(dropMessage(d, this.memory));
      return { where: 'memory', fallbackError: err };
    }
    this.memory.delete(service, id);
    this.inFallback.add(key);
    return { where: 'fallback' };
  }

  /** `service/id` was written into the dir: its parked copies are stale (or identical) now. */
  async landed(service: string, id: string): Promise<void> {
    this.memory.delete(service, id);
    const target = this.path(service, id);
    if (this.inFallback.delete(`${service}/${id}`) || existsSync(target)) await fsp.unlink(target).catch(() => undefined);
  }

  /**
   * Move what is parked back with `land` (true when the dir took it): memory first, the least safe
   * place (to the fallback folder when the dir still refuses), then the fallback folder, oldest first.
   * After the first refusal nothing more is tried: the daemon tries again on its timer. Returns how
   * many landed and the services they belong to (for retention).
   */
  async flush(land: (service: string, id: string, data: string | Uint8Array) => Promise<boolean>): Promise<{ moved: number; services: Set<string> }> {
    let moved = 0;
    let refused = false;
    const services = new Set<string>();
    for (const p of this.memory.all()) {
      if (!refused && (await land(p.service, p.id, p.text))) {
        this.memory.delete(p.service, p.id);
        services.add(p.service);
        moved++;
        continue;
      }
      refused = true;
      // tmpfs is safer than memory: it outlives the daemon
      try {
        await ensureFallbackRoot(this.o.sharedRoot);
        await this.o.write(this.path(p.service, p.id), p.text, 'fallback dir');
        this.memory.delete(p.service, p.id);
      } catch {
        // stays in memory
      }
    }
    this.inFallback.clear();
    const fb = this.o.fallbackDir;
    for (const service of await serviceDirs(fb, this.o.warnOnce)) {
      const from = path.join(fb, service);
      for (const id of (await snapshotIds(from, this.o.warnOnce)).sort(compareSnapshotIds)) {
        const src = path.join(from, `${id}.json`);
        let bytes: Buffer | null = null;
        if (!refused) {
          try {
            bytes = await readBoundedBytes(src, OPEN_IN_STORE, this.o.maxFileBytes);
          } catch (err) {
            // stays where it is, counted as parked: the store never deletes evidence it cannot read
            this.o.warnOnce(src, `cannot move parked snapshot ${src} back: ${errorMessage(err)}`);
          }
        }
        if (bytes && (await land(service, id, bytes))) {
          await fsp.unlink(src).catch(() => undefined);
          services.add(service);
          moved++;
          continue;
        }
        if (bytes) refused = true;
        this.inFallback.add(`${service}/${id}`);
      }
      await fsp.rmdir(from).catch(() => undefined); // only when empty
    }
    return { moved, services };
  }
}

/** What the err line says of a snapshot the memory bound pushed out: the last trace of it. */
function dropMessage(d: MemoryParked, m: MemoryPark): string {
  const c = checkSnapshotText(d.text);
  const gist = c.ok ? `summary: ${c.entry.summary}; first finding: ${c.entry.probableCause || 'none'}` : 'unreadable';
  return (
    `snapshot ${d.service}/${d.id} dropped from memory parking (${d.bytes} bytes; bounded to ${m.maxSnapshots} snapshots / ` +
    `${Math.round(m.maxBytes / 1048576)} MiB, oldest dropped first); ${gist}`
  );
}

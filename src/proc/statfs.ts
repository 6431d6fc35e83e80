// Disk usage per path via statfs(2). A statfs on a hung mount (NFS server gone, FUSE daemon stuck)
// blocks a libuv thread until the kernel answers, possibly forever, and cannot be cancelled: so each
// call has a deadline, and a path whose previous call is still pending is refused at once instead of
// queueing another thread behind it (four hung paths would otherwise stall all of Node's fs I/O).
// The trade-off taken for speed: a path an asynchronous statfs found on a local filesystem is read
// synchronously for the next minute. A network mount appearing over that path and hanging within that
// minute would block the event loop until it answers; the minute's re-check catches it after that.
import { promises as fsp, statfsSync } from 'node:fs';
import { readDf } from './df';
import { InFlight } from '../util/exec';

/**
 * Usage of the filesystem holding `path` (from statfs(2), or `df -P -k` on Node < 18.15).
 * usedPercent is used / (used + avail) * 100 like df's Capacity (blocks reserved for root count as
 * neither), unrounded; 0 for filesystems without blocks. Inode fields are undefined where the
 * filesystem reports no inodes (btrfs, vfat, proc) and always from df.
 */
export interface DiskUsage {
  /** The path asked for. */
  path: string;
  /** Where the filesystem is mounted (df only; statfs does not say). */
  mountPoint?: string;
  totalBytes: number;
  freeBytes: number;
  availBytes: number;
  usedBytes: number;
  usedPercent: number;
  inodesTotal?: number;
  inodesFree?: number;
  inodesUsedPercent?: number;
}

/** The fields of Node's fs.StatFs we use; counts are in blocks of bsize bytes. */
export interface StatfsCounts {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
}

export function diskUsageFromStatfs(path: string, s: StatfsCounts): DiskUsage {
  const totalBytes = s.blocks * s.bsize;
  const freeBytes = s.bfree * s.bsize;
  const availBytes = s.bavail * s.bsize;
  const usedBytes = Math.max(0, totalBytes - freeBytes);
  const u: DiskUsage = {
    path,
    totalBytes,
    freeBytes,
    availBytes,
    usedBytes,
    usedPercent: usedBytes + availBytes === 0 ? 0 : (usedBytes / (usedBytes + availBytes)) * 100,
  };
  if (s.files > 0) {
    u.inodesTotal = s.files;
    u.inodesFree = s.ffree;
    u.inodesUsedPercent = ((s.files - s.ffree) / s.files) * 100;
  }
  return u;
}

/** How usage is taken: statfs(2) where Node has it (18.15+), else `df -P -k`. */
export type DiskMethod = 'statfs' | 'df';

/**
 * statfs(2) magic numbers (linux/magic.h) of filesystems whose statfs is answered from in-memory
 * counters, never from a disk or a network: ext2/3/4, xfs, btrfs, tmpfs, ramfs, f2fs, zfs, overlay,
 * squashfs, vfat, exfat, bcachefs. Everything else (nfs, cifs, fuse, ceph, 9p, autofs, unknown) may hang.
 */
const LOCAL_FS_MAGIC: ReadonlySet<number> = new Set([
  0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x858458f6, 0xf2f52010, 0x2fc12fc1, 0x794c7630, 0x73717368, 0x4d44,
  0x2011bab0, 0xca451a4e,
]);

/** A path found on a local filesystem is re-checked asynchronously this often (a mount may appear over it). */
const LOCAL_RECHECK_MS = 60_000;

export class DiskReader {
  private readonly inFlight = new InFlight();
  /** paths last seen on a local filesystem, with when that was checked (performance.now()) */
  private readonly local = new Map<string, number>();
  private readonly timeoutMs: number;
  readonly method: DiskMethod;

  /** `method` is for tests; by default statfs when this Node has it. */
  constructor(opts: { timeoutMs: number; method?: DiskMethod }) {
    this.timeoutMs = opts.timeoutMs;
    this.method = opts.method ?? (typeof fsp.statfs === 'function' ? 'statfs' : 'df');
  }

  /**
   * Usage of the filesystem holding `path`. Rejects with TimeoutError after timeoutMs, or at once
   * while a previous call for the same path is still pending; with the errno error (ENOENT, EACCES)
   * when statfs fails; with CommandError when df does.
   */
  read(path: string): Promise<DiskUsage> {
    try {
      const local = this.readLocal(path);
      if (local) return Promise.resolve(local);
    } catch (err) {
      return Promise.reject(err);
    }
    const timeoutMs = this.timeoutMs;
    return this.inFlight.run(path, timeoutMs, () =>
      this.method === 'df'
        ? readDfOne(path, timeoutMs)
        : fsp.statfs(path).then((s) => {
            if (LOCAL_FS_MAGIC.has(s.type)) this.local.set(path, performance.now());
            else this.local.delete(path);
            return diskUsageFromStatfs(path, s);
          }),
    );
  }

  /**
   * Usage of a path last seen on a local filesystem (checked within the last minute), answered by a
   * synchronous statfs: a local filesystem answers from memory, and the thread-pool round trip is most
   * of a host sample's cost (bench/sample.ts). Undefined when the path needs the asynchronous `read`.
   */
  readLocal(path: string): DiskUsage | undefined {
    const checked = this.local.get(path);
    if (checked === undefined || performance.now() - checked >= LOCAL_RECHECK_MS) return undefined;
    try {
      return diskUsageFromStatfs(path, statfsSync(path));
    } catch (err) {
      this.local.delete(path);
      throw err;
    }
  }

  /**
   * Paths whose statfs has not come back (timed out or not). While one is pending Node cannot exit
   * normally: the event loop waits for the request and process.exit() waits to join its thread, so
   * a daemon shutting down with a hung mount must end itself with a signal (see the report/README).
   */
  get pendingPaths(): string[] {
    return this.inFlight.keys;
  }
}

async function readDfOne(path: string, timeoutMs: number): Promise<DiskUsage> {
  const [u] = await readDf([path], { timeoutMs });
  if (u === undefined) throw new Error(`df ${path}: no row`);
  return u;
}

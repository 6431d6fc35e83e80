// Atomic file replacement: a reader (or a crash) sees either the old file or the complete new one,
// never a prefix. Snapshots are the product (DESIGN.md principle 3), so a power cut or a SIGKILL in
// the middle of a write must leave at worst a temp file that listings ignore.
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { errnoCode, errorMessage } from './errors';

/** A filesystem operation on `path` that failed; `code` is the errno code (ENOSPC, EACCES, ...) when there is one. */
export class FileError extends Error {
  override name = 'FileError';
  readonly path: string;
  readonly code: string | undefined;
  readonly syscall: string | undefined;
  constructor(filePath: string, reason: string, options?: { cause?: unknown; code?: string }) {
    super(`${filePath}: ${reason}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.path = filePath;
    const cause = options?.cause;
    this.code = options?.code ?? errnoCode(cause);
    const syscall = typeof cause === 'object' && cause !== null && 'syscall' in cause ? (cause as { syscall: unknown }).syscall : undefined;
    this.syscall = typeof syscall === 'string' ? syscall : undefined;
  }
}

// Leading dot: every listing in preflight skips dotfiles, so a temp file orphaned by a crash is never
// mistaken for a snapshot. pid + random: two writers (or two processes) never share a temp file.
const TEMP_RE = /^\..*\.tmp-(\d+)-[0-9a-f]{8}$/;

export function tempNameFor(target: string): string {
  // Keep the whole name under NAME_MAX (255) whatever the target's length.
  return `.${path.basename(target).slice(0, 200)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** A name `writeFileAtomic` uses for its temp files (possibly left behind by a killed writer). */
export function isTempName(name: string): boolean {
  return TEMP_RE.test(name);
}

/** The pid of the process that made temp file `name`, or undefined for a name that is not one. */
export function tempWriterPid(name: string): number | undefined {
  const m = TEMP_RE.exec(name);
  return m ? Number(m[1]) : undefined;
}

export interface AtomicWriteOptions {
  /** Applied with fchmod, so the umask does not change it. Default 0o640. */
  mode?: number;
}

/** A write that happened. `folderSyncError`: the rename is done but fsyncing its folder failed. */
export interface AtomicWriteResult {
  folderSyncError?: FileError;
}

/**
 * Write `data` to `target` atomically and durably: temp file in the same folder, write all, fsync,
 * rename over the target, fsync the folder. On failure the temp file is removed and a FileError naming
 * `target` is thrown, keeping the errno code (ENOSPC, EDQUOT, EROFS, EIO...) for the caller to act on.
 * Once the rename is done the file is there and complete: a failed folder fsync after it is returned,
 * not thrown, because treating it as a failed write would park (and later duplicate) a file that exists.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<AtomicWriteResult> {
  const mode = opts.mode ?? 0o640;
  const dir = path.dirname(target);
  const temp = path.join(dir, tempNameFor(target));
  let fh: FileHandle | undefined;
  let stage = 'create a temp file in';
  try {
    fh = await fsp.open(temp, 'wx', mode);
    stage = 'set the mode of';
    await fh.chmod(mode);
    stage = 'write';
    await fh.writeFile(data);
    stage = 'fsync';
    await fh.sync();
    const closing = fh;
    fh = undefined;
    stage = 'close';
    await closing.close();
    stage = 'rename a temp file over';
    await fsp.rename(temp, target);
  } catch (err) {
    if (fh !== undefined) await fh.close().catch(() => undefined);
    await fsp.unlink(temp).catch(() => undefined);
    throw new FileError(target, `cannot ${stage} it: ${errorMessage(err)}`, { cause: err });
  }
  try {
    await fsyncDir(dir);
  } catch (err) {
    return { folderSyncError: new FileError(dir, `wrote ${path.basename(target)} but cannot fsync its folder: ${errorMessage(err)}`, { cause: err }) };
  }
  return {};
}

/** Make a rename in `dir` durable. Filesystems that cannot fsync a folder (EINVAL) are accepted as they are. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } catch (err) {
    if (errnoCode(err) !== 'EINVAL') throw err;
  } finally {
    await fh.close();
  }
}

// The store's filesystem primitives: bounded reads that a FIFO, a symlink or a growing file cannot turn
// into a hang or an unbounded buffer, `mkdir -p` with exact modes whose new folders are made durable,
// the listings of service folders and snapshot files, retention, and the sweep of temp files a kill -9 left.
import { constants as fsc, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { SERVICE_NAME } from '../config/config';
import { FileError, fsyncDir, isTempName, tempWriterPid } from '../util/atomic';
import { errnoCode, errorMessage } from '../util/errors';
import { SNAPSHOT_ID_RE, compareSnapshotIds } from './snapshot-file';

export const FILE_MODE = 0o640;
export const DIR_MODE = 0o750;
// O_NOFOLLOW: a symlink planted in the store never makes us read outside it.
// O_NONBLOCK: a FIFO named like a snapshot cannot hang a listing in open().
export const OPEN_IN_STORE = fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK;
const SNAPSHOT_FILE_RE = /^(.+)\.json$/;

/** Read to EOF but never more than `max` bytes (a file growing under us cannot blow the bound). */
export async function readAtMost(fh: fsp.FileHandle, max: number): Promise<Buffer> {
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

/** A regular file of at most `max` bytes, opened with `flags`; FileError saying why not. */
export async function readBoundedBytes(file: string, flags: number, max: number): Promise<Buffer> {
  let fh;
  try {
    fh = await fsp.open(file, flags);
  } catch (err) {
    throw new FileError(file, `cannot open: ${errorMessage(err)}`, { cause: err });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new FileError(file, 'not a regular file', { code: 'EINVAL' });
    if (st.size > max) throw new FileError(file, `${st.size} bytes, over the ${max}-byte cap`, { code: 'EFBIG' });
    return await readAtMost(fh, max);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * mkdir -p with an exact mode on the folders it creates (mkdir's mode is filtered by the umask). Each
 * folder it creates has its parent fsynced, so a snapshot renamed into a new service folder does not
 * vanish with the folder's own entry on a power cut. A failed parent fsync is reported to `onSyncError`,
 * not thrown: the folder exists, and writing on is better than parking over it.
 */
export async function mkdirs(dir: string, onSyncError: (err: unknown) => void = () => undefined): Promise<void> {
  try {
    await fsp.mkdir(dir, { mode: DIR_MODE });
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST') {
      if ((await fsp.stat(dir)).isDirectory()) return;
      throw err;
    }
    if (code !== 'ENOENT' || path.dirname(dir) === dir) throw err;
    await mkdirs(path.dirname(dir), onSyncError);
    try {
      await fsp.mkdir(dir, { mode: DIR_MODE });
    } catch (again) {
      if (errnoCode(again) === 'EEXIST' && (await fsp.stat(dir)).isDirectory()) return;
      throw again;
    }
  }
  await fsp.chmod(dir, DIR_MODE);
  await fsyncDir(path.dirname(dir)).catch(onSyncError);
}

/** Service folders (real directories with a valid name; symlinks are not followed). */
export async function serviceDirs(root: string, warn: (key: string, message: string) => void): Promise<string[]> {
  try {
    const ents = await fsp.readdir(root, { withFileTypes: true });
    return ents.filter((e) => e.isDirectory() && SERVICE_NAME.test(e.name)).map((e) => e.name);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') warn(root, `cannot list ${root}: ${errorMessage(err)}`);
    return [];
  }
}

/**
 * Ids of the `<id>.json` files in a folder; dotfiles (temp files, state) silently ignored, anything
 * else told to `warn` with `warnForeign` (the caller warns once per key).
 */
export async function snapshotIds(folder: string, warn: (key: string, message: string) => void, warnForeign = false): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(folder);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') warn(folder, `cannot list ${folder}: ${errorMessage(err)}`);
    return [];
  }
  const ids: string[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const id = SNAPSHOT_FILE_RE.exec(name)?.[1];
    if (id !== undefined && SNAPSHOT_ID_RE.test(id)) ids.push(id);
    else if (warnForeign) warn(path.join(folder, name), `skipped ${path.join(folder, name)}: not a snapshot file name`);
  }
  return ids;
}

/**
 * True when no process `pid` exists here (ESRCH). EPERM is a live process of another user; our own pid
 * is a live writer. A pid reused since is taken for alive: that only delays the sweep to the age rule.
 */
function writerGone(pid: number | undefined): boolean {
  if (pid === undefined || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return errnoCode(err) === 'ESRCH';
  }
}

/**
 * Delete the temp files (`isTempName`) in `folders` that a writer killed mid-write left: those whose
 * writer (the pid in the name) is no longer running, and any last modified more than `maxAgeMs`
 * before `now` (a writer in another pid namespace looks alive or gone by chance; age settles it).
 * Returns the paths removed; a folder that cannot be read or a file that cannot be removed goes to `warn`.
 */
export async function sweepTempFiles(
  folders: readonly string[],
  maxAgeMs: number,
  now: number,
  warn: (key: string, message: string) => void,
): Promise<string[]> {
  const removed: string[] = [];
  for (const folder of folders) {
    let names: string[];
    try {
      names = await fsp.readdir(folder);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') warn(folder, `cannot sweep ${folder}: ${errorMessage(err)}`);
      continue;
    }
    for (const name of names) {
      if (!isTempName(name)) continue;
      const file = path.join(folder, name);
      try {
        const st = await fsp.lstat(file);
        if (!st.isFile() || (now - st.mtimeMs <= maxAgeMs && !writerGone(tempWriterPid(name)))) continue;
        await fsp.unlink(file);
        removed.push(file);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') warn(file, `cannot remove stale temp file ${file}: ${errorMessage(err)}`);
      }
    }
  }
  return removed;
}

/** Delete the oldest snapshot files beyond `retention`; never a file whose name is not a snapshot id. */
export async function applyRetention(folder: string, retention: number, warn: (key: string, message: string) => void): Promise<void> {
  const ids = (await snapshotIds(folder, warn)).sort(compareSnapshotIds);
  for (const id of ids.slice(0, Math.max(0, ids.length - retention))) {
    const file = path.join(folder, `${id}.json`);
    try {
      if (!(await fsp.lstat(file)).isFile()) continue;
      await fsp.unlink(file);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') warn(file, `retention could not delete ${file}: ${errorMessage(err)}`);
    }
  }
}

// `df -P -k`: the disk-usage fallback where fs.statfs does not exist (Node < 18.15). POSIX output
// format: one line per filesystem (never wrapped), sizes in 1024-byte blocks, mount point last (it
// may hold spaces, so it is everything after the Capacity column).
import type { DiskUsage } from './statfs';
import { runChecked } from '../util/exec';
import { ParseError } from '../util/errors';

const HEADER = /^Filesystem\s+1024-blocks\s+Used\s+Available\s+Capacity\s+Mounted on\s*$/;
// Filesystem (may hold spaces), blocks, used, available (GNU df prints it negative when root's
// reserve is overdrawn), capacity (`-` when the filesystem has no blocks, e.g. proc), mount point.
const ROW = /^(.+?)\s+(\d+)\s+(\d+)\s+(-?\d+)\s+(\d+%|-)\s+(.+)$/;
const KB = 1024;

/**
 * Rows of `df -P -k` output in order. `path` is the mount point here; readDf replaces it with the
 * path asked for. Inode fields are undefined (df -P does not print them).
 */
export function parseDfP(text: string, file = 'df -P -k'): DiskUsage[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const header = lines[0];
  if (header === undefined || !HEADER.test(header)) {
    throw new ParseError(
      { file, line: 1, field: 'header', input: header ?? '' },
      'expected the POSIX header "Filesystem 1024-blocks Used Available Capacity Mounted on" (run df with LC_ALL=C)',
    );
  }
  const rows: DiskUsage[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const m = ROW.exec(line);
    if (m === null) {
      throw new ParseError({ file, line: i + 1, field: 'row', input: line }, 'expected "filesystem blocks used available capacity mountpoint"');
    }
    const totalBytes = Number(m[2]) * KB;
    const usedBytes = Number(m[3]) * KB;
    const availBytes = Math.max(0, Number(m[4]) * KB);
    const mountPoint = m[6] ?? '';
    rows.push({
      path: mountPoint,
      mountPoint,
      totalBytes,
      freeBytes: Math.max(0, totalBytes - usedBytes),
      availBytes,
      usedBytes,
      usedPercent: usedBytes + availBytes === 0 ? 0 : (usedBytes / (usedBytes + availBytes)) * 100,
    });
  }
  return rows;
}

/** Output cap: a row is under 200 bytes for sane names; 4 KiB per path is generous. */
const BYTES_PER_PATH = 4096;

/**
 * Disk usage of `paths` via one `df -P -k -- paths...` run; row i answers paths[i] (df prints one row
 * per operand, duplicates included). Rejects with CommandError when df fails for any path (exit 1 on
 * a missing path) or times out: ask one path per call to keep the others.
 */
export async function readDf(paths: string[], opts: { timeoutMs: number }): Promise<DiskUsage[]> {
  if (paths.length === 0) return [];
  const r = await runChecked('df', ['-P', '-k', '--', ...paths], {
    timeoutMs: opts.timeoutMs,
    maxBytes: BYTES_PER_PATH * (paths.length + 1),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
  });
  const file = r.command;
  if (r.truncated) throw new ParseError({ file }, `output exceeded ${BYTES_PER_PATH * (paths.length + 1)} bytes`);
  const rows = parseDfP(r.stdout, file);
  if (rows.length !== paths.length) {
    throw new ParseError({ file, field: 'rows' }, `expected ${paths.length} rows (one per path), got ${rows.length}`);
  }
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    const path = paths[i];
    if (row !== undefined && path !== undefined) row.path = path;
  }
  return rows;
}

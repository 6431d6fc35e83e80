// /proc/meminfo: every line kept (kB converted to bytes), plus the handful of fields the sampler and
// the snapshot summary need by name. MemAvailable is estimated on kernels that predate it (< 3.14).
import { readFileSync } from 'node:fs';
import { Cursor, lineAt } from './scan';
import { ParseError } from '../util/errors';

/**
 * /proc/meminfo. `values` holds every line keyed as the kernel spells it (`MemTotal`, `Active(file)`,
 * `HugePages_Total`): lines in kB are converted to bytes, unitless lines (HugePages_*, the old
 * ReverseMaps) are counts. Byte values past 2^53 (VmallocTotal on 64-bit is ~2^45 kB) lose precision.
 */
export interface Meminfo {
  values: Record<string, number>;
  memTotalBytes: number;
  memFreeBytes: number;
  /** MemAvailable, or an estimate of it when the kernel (< 3.14) does not print it; see memAvailableEstimated. */
  memAvailableBytes: number;
  /** True when MemAvailable was absent and memAvailableBytes is our estimate. */
  memAvailableEstimated: boolean;
  buffersBytes?: number;
  cachedBytes?: number;
  swapTotalBytes?: number;
  swapFreeBytes?: number;
}

const KB = 1024;

/** The value after the colon at `colon` (c.pos is moved there), in bytes when the line says kB. */
function valueAfter(c: Cursor, colon: number, key: string): number {
  c.pos = colon + 1;
  c.blanks();
  let v = c.uint();
  if (Number.isNaN(v) || !c.atSeparator) c.fail(key, 'expected an unsigned number');
  c.blanks();
  if (!c.atLineEnd) {
    if (!c.eat('kB')) c.fail(key, 'unknown unit (expected "kB" or none)');
    c.blanks();
    if (!c.atLineEnd) c.fail(key, 'unexpected text after the unit');
    v *= KB;
  }
  return v;
}

export function parseMeminfo(text: string, file = '/proc/meminfo'): Meminfo {
  const c = new Cursor(text, file);
  const values: Record<string, number> = {};
  while (!c.atEnd) {
    const start = c.pos;
    const end = c.lineEnd();
    if (end === start) {
      c.nextLine();
      continue;
    }
    const colon = text.indexOf(':', start);
    if (colon === -1 || colon > end || colon === start) c.fail('key', 'expected "Key: value [kB]"', start);
    const key = text.slice(start, colon);
    values[key] = valueAfter(c, colon, key);
    c.pos = end + 1; // the line was read to its end: no second search for its newline
  }
  if (text.length === 0) throw new ParseError({ file, field: 'MemTotal' }, 'empty file');
  const memTotalBytes = required(values, 'MemTotal', text, file);
  const memFreeBytes = required(values, 'MemFree', text, file);
  const available = values.MemAvailable;
  const m: Meminfo = {
    values,
    memTotalBytes,
    memFreeBytes,
    memAvailableBytes: available ?? estimateMemAvailableBytes(values),
    memAvailableEstimated: available === undefined,
  };
  if (values.Buffers !== undefined) m.buffersBytes = values.Buffers;
  if (values.Cached !== undefined) m.cachedBytes = values.Cached;
  if (values.SwapTotal !== undefined) m.swapTotalBytes = values.SwapTotal;
  if (values.SwapFree !== undefined) m.swapFreeBytes = values.SwapFree;
  return m;
}

function required(values: Record<string, number>, key: string, text: string, file: string): number {
  const v = values[key];
  if (v === undefined) {
    throw new ParseError({ file, field: key, input: lineAt(text, 0) }, `no ${key} line`);
  }
  return v;
}

/**
 * MemAvailable for kernels before 3.14, the way procps-ng `free` (3.3.10+) does it, which mirrors the
 * kernel's own si_mem_available():
 *
 *   MemFree - low + pagecache - min(pagecache / 2, low) + SReclaimable - min(SReclaimable / 2, low)
 *
 * where pagecache = Active(file) + Inactive(file) and `low` is the sum of the zones' low watermarks,
 * which meminfo does not show. procps reads it as /proc/sys/vm/min_free_kbytes * 5/4 (each zone's low
 * mark is min + min/4); a parser has no second file, so we take the kernel's default for
 * min_free_kbytes instead: sqrt(16 * lowmem kB) clamped to 128..65536 kB (init_per_zone_wmark_min),
 * with lowmem = LowTotal on 32-bit highmem kernels, else MemTotal. A hand-tuned vm.min_free_kbytes
 * shifts the estimate by at most 5/4 of that tuning, three times over: small next to the page cache.
 *
 * Kernels without the Active(file)/Inactive(file) split (< 2.6.28) get the older common fallback,
 * MemFree + Buffers + Cached (what `free` printed as "-/+ buffers/cache free"), an overestimate.
 */
export function estimateMemAvailableBytes(values: Record<string, number>): number {
  const free = values.MemFree ?? 0;
  const total = values.MemTotal ?? 0;
  const activeFile = values['Active(file)'];
  const inactiveFile = values['Inactive(file)'];
  let available: number;
  if (activeFile === undefined || inactiveFile === undefined) {
    available = free + (values.Buffers ?? 0) + (values.Cached ?? 0);
  } else {
    const lowmemKb = (values.LowTotal ?? total) / KB;
    const minFreeKb = Math.min(Math.max(Math.floor(Math.sqrt(lowmemKb * 16)), 128), 65536);
    const low = Math.floor((minFreeKb * 5) / 4) * KB;
    const pagecache = activeFile + inactiveFile;
    const reclaimable = values.SReclaimable ?? 0;
    available =
      free - low + pagecache - Math.min(pagecache / 2, low) + reclaimable - Math.min(reclaimable / 2, low);
  }
  return Math.min(Math.max(available, 0), total);
}

export function readMeminfo(root = '/proc'): Meminfo {
  const file = `${root}/meminfo`;
  return parseMeminfo(readFileSync(file, 'utf8'), file);
}

/** The fields the host sampler reads every tick (from `/proc/meminfo`, in bytes). */
export interface MeminfoSummary {
  memTotalBytes: number;
  memAvailableBytes: number;
  swapTotalBytes?: number;
  swapFreeBytes?: number;
}

/** The value of `key` if the file has a line for it (searched, not scanned line by line). */
function findValue(c: Cursor, key: string): number | undefined {
  const text = c.text;
  let at = 0;
  if (!text.startsWith(`${key}:`)) {
    const nl = text.indexOf(`\n${key}:`);
    if (nl === -1) return undefined;
    at = nl + 1;
  }
  return valueAfter(c, at + key.length, key);
}

/**
 * The host sampler's per-tick view: four lines found by search instead of the whole file parsed, with
 * the same validation of the lines it reads. A kernel without MemAvailable (< 3.14) gets the full
 * parse and its estimate.
 */
export function parseMeminfoSummary(text: string, file = '/proc/meminfo'): MeminfoSummary {
  const c = new Cursor(text, file);
  const memAvailableBytes = findValue(c, 'MemAvailable');
  const memTotalBytes = findValue(c, 'MemTotal');
  if (memAvailableBytes === undefined || memTotalBytes === undefined) return parseMeminfo(text, file);
  const s: MeminfoSummary = { memTotalBytes, memAvailableBytes };
  const swapTotal = findValue(c, 'SwapTotal');
  const swapFree = findValue(c, 'SwapFree');
  if (swapTotal !== undefined) s.swapTotalBytes = swapTotal;
  if (swapFree !== undefined) s.swapFreeBytes = swapFree;
  return s;
}

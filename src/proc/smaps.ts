// /proc/self/smaps, read only for the page size: Node has no sysconf(_SC_PAGESIZE), and RSS in
// /proc/[pid]/stat is in pages (4 KiB on x86, but 16 KiB or 64 KiB on some arm64 and ppc64 kernels).
import { closeSync, openSync, readSync } from 'node:fs';
import { Cursor } from './scan';

const HEAD_BYTES = 4096;
const FALLBACK_PAGE_SIZE = 4096;
const KB = 1024;

/**
 * The base page size from the head of /proc/[pid]/smaps: the first `KernelPageSize:` line (the first
 * mapping is the executable's text, never a huge-page mapping). Undefined when there is none.
 */
export function parseKernelPageSize(text: string, file = '/proc/self/smaps'): number | undefined {
  const at = text.indexOf('\nKernelPageSize:');
  if (at === -1) return undefined;
  const c = new Cursor(text, file);
  c.pos = at + '\nKernelPageSize:'.length;
  const kb = c.uintField('KernelPageSize');
  c.blanks();
  if (!c.eat('kB')) c.fail('KernelPageSize', 'expected "kB"');
  return kb * KB;
}

/**
 * The page size in bytes: from `${root}/self/smaps` (only its first 4 KiB are read), else 4096.
 * Call once and keep the result.
 */
export function readPageSize(root = '/proc'): number {
  let fd: number;
  try {
    fd = openSync(`${root}/self/smaps`, 'r');
  } catch {
    return FALLBACK_PAGE_SIZE;
  }
  try {
    const buf = Buffer.allocUnsafe(HEAD_BYTES);
    const n = readSync(fd, buf, 0, HEAD_BYTES, null);
    return parseKernelPageSize(buf.toString('latin1', 0, n)) ?? FALLBACK_PAGE_SIZE;
  } catch {
    return FALLBACK_PAGE_SIZE;
  } finally {
    closeSync(fd);
  }
}

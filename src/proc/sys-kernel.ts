// /proc/sys/kernel/{random/boot_id, hostname, osrelease}: identity of this boot and this machine, read
// once per snapshot. Not hot: plain string handling.
import { readTextOr } from './scan';
import { ParseError } from '../util/errors';

const MISSING: ReadonlySet<string> = new Set(['ENOENT']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** /proc/sys/kernel/random/boot_id: a random UUID, new at every boot, e.g. `a2713330-b71d-441a-8210-db83e7b561f0`. */
export function parseBootId(text: string, file = '/proc/sys/kernel/random/boot_id'): string {
  const id = text.trim();
  if (!UUID.test(id)) throw new ParseError({ file, line: 1, field: 'boot_id', input: text }, 'expected a lowercase UUID');
  return id;
}

/** /proc/sys/kernel/hostname (the UTS nodename); undefined when empty. */
export function parseHostname(text: string, file = '/proc/sys/kernel/hostname'): string | undefined {
  return oneLine(text, file, 'hostname');
}

/** /proc/sys/kernel/osrelease, the kernel release as `uname -r` prints it; undefined when empty. */
export function parseOsRelease(text: string, file = '/proc/sys/kernel/osrelease'): string | undefined {
  return oneLine(text, file, 'osrelease');
}

function oneLine(text: string, file: string, field: string): string | undefined {
  const s = text.trim();
  if (s.includes('\n')) throw new ParseError({ file, line: 2, field, input: text }, 'expected a single line');
  return s === '' ? undefined : s;
}

export function readBootId(root = '/proc'): string | undefined {
  const file = `${root}/sys/kernel/random/boot_id`;
  const text = readTextOr(file, MISSING);
  return text === null ? undefined : parseBootId(text, file);
}

export function readHostname(root = '/proc'): string | undefined {
  const file = `${root}/sys/kernel/hostname`;
  const text = readTextOr(file, MISSING);
  return text === null ? undefined : parseHostname(text, file);
}

export function readOsRelease(root = '/proc'): string | undefined {
  const file = `${root}/sys/kernel/osrelease`;
  const text = readTextOr(file, MISSING);
  return text === null ? undefined : parseOsRelease(text, file);
}

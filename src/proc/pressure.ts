// /proc/pressure/{cpu,memory,io}: Pressure Stall Information (Linux 4.20+, when built with CONFIG_PSI
// and not booted with psi=0).
import { Cursor, readTextOr } from './scan';
import { ParseError } from '../util/errors';

/**
 * One line of a /proc/pressure file: the share of wall time (percent, 0-100) in which some (or all
 * non-idle) tasks were stalled on the resource, averaged over 10 s, 60 s and 300 s, and the total
 * stall time since boot in microseconds.
 */
export interface PressureLine {
  avg10: number;
  avg60: number;
  avg300: number;
  totalMicros: number;
}

/**
 * A /proc/pressure/{cpu,memory,io} file. `full` is absent from /proc/pressure/cpu before 5.13; since
 * then it is printed but is always 0 at the system level.
 */
export interface Pressure {
  some: PressureLine;
  full?: PressureLine;
}

export type PressureResource = 'cpu' | 'memory' | 'io';

function readLine(c: Cursor, kind: string): PressureLine {
  const avg10 = keyed(c, kind, 'avg10=');
  const avg60 = keyed(c, kind, 'avg60=');
  const avg300 = keyed(c, kind, 'avg300=');
  c.blanks();
  if (!c.eat('total=')) c.fail(`${kind} total`, 'expected "total="');
  const totalMicros = c.uint();
  if (Number.isNaN(totalMicros) || !c.atSeparator) c.fail(`${kind} total`, 'expected an unsigned integer (microseconds)');
  return { avg10, avg60, avg300, totalMicros };
}

function keyed(c: Cursor, kind: string, key: string): number {
  c.blanks();
  if (!c.eat(key)) c.fail(`${kind} ${key.slice(0, -1)}`, `expected "${key}"`);
  const v = c.decimal();
  if (Number.isNaN(v) || !c.atSeparator) c.fail(`${kind} ${key.slice(0, -1)}`, 'expected a decimal percentage');
  return v;
}

export function parsePressure(text: string, file = '/proc/pressure/<resource>'): Pressure {
  const c = new Cursor(text, file);
  let some: PressureLine | undefined;
  let full: PressureLine | undefined;
  while (!c.atEnd) {
    const start = c.pos;
    if (c.eat('some ')) {
      if (some !== undefined) c.fail('some', 'a second "some" line', start);
      some = readLine(c, 'some');
    } else if (c.eat('full ')) {
      if (full !== undefined) c.fail('full', 'a second "full" line', start);
      full = readLine(c, 'full');
    } else if (!c.atLineEnd) {
      c.fail('kind', 'expected a line starting with "some" or "full"');
    }
    c.nextLine();
  }
  if (some === undefined) {
    throw new ParseError({ file, field: 'some', input: text }, text.length === 0 ? 'empty file' : 'no "some" line');
  }
  return full === undefined ? { some } : { some, full };
}

/**
 * ENOENT: no PSI (kernel < 4.20, CONFIG_PSI=n, or psi=0 on 5.x+ kernels, which then do not create
 * /proc/pressure at all). Kernels 4.20-5.x created the files even with psi=0 and failed the read with
 * EOPNOTSUPP (errno 95), which Node (libuv) names ENOTSUP; both spellings are accepted.
 */
export const PSI_UNAVAILABLE: ReadonlySet<string> = new Set(['ENOENT', 'ENOTSUP', 'EOPNOTSUPP']);

/** One resource's pressure, or null when PSI is unavailable on this kernel. */
export function readPressure(resource: PressureResource, root = '/proc'): Pressure | null {
  const file = `${root}/pressure/${resource}`;
  const text = readTextOr(file, PSI_UNAVAILABLE);
  return text === null ? null : parsePressure(text, file);
}

/** All three resources; null when none is available (PSI absent or disabled). */
export function readAllPressure(
  root = '/proc',
): { cpu: Pressure | null; memory: Pressure | null; io: Pressure | null } | null {
  const cpu = readPressure('cpu', root);
  const memory = readPressure('memory', root);
  const io = readPressure('io', root);
  return cpu === null && memory === null && io === null ? null : { cpu, memory, io };
}

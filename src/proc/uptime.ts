// /proc/uptime: seconds since boot, and idle seconds summed over all CPUs.
import { readFileSync } from 'node:fs';
import { Cursor } from './scan';

/**
 * /proc/uptime, e.g. `314.53 568.79`. idleSeconds is summed over CPUs, so it grows up to N times
 * faster than uptimeSeconds on an N-CPU machine.
 */
export interface Uptime {
  uptimeSeconds: number;
  idleSeconds: number;
}

export function parseUptime(text: string, file = '/proc/uptime'): Uptime {
  const c = new Cursor(text, file);
  const uptimeSeconds = c.decimalField('uptime');
  const idleSeconds = c.decimalField('idle');
  c.blanks();
  if (!c.atLineEnd) c.fail('idle', 'unexpected text after the idle time');
  return { uptimeSeconds, idleSeconds };
}

export function readUptime(root = '/proc'): Uptime {
  const file = `${root}/uptime`;
  return parseUptime(readFileSync(file, 'utf8'), file);
}

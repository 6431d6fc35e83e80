// /proc/loadavg: the 1/5/15-minute load averages, runnable/total scheduling entities, last pid.
import { readFileSync } from 'node:fs';
import { Cursor } from './scan';

/**
 * /proc/loadavg, e.g. `0.94 0.30 0.11 1/89 4885`. Load averages are unitless (runnable plus
 * uninterruptible tasks, exponentially averaged); runningTasks/totalTasks count kernel scheduling
 * entities (threads), not processes.
 */
export interface Loadavg {
  load1: number;
  load5: number;
  load15: number;
  runningTasks: number;
  totalTasks: number;
  lastPid: number;
}

export function parseLoadavg(text: string, file = '/proc/loadavg'): Loadavg {
  const c = new Cursor(text, file);
  const load1 = c.decimalField('load1');
  const load5 = c.decimalField('load5');
  const load15 = c.decimalField('load15');
  c.blanks();
  const runningTasks = c.uint();
  if (Number.isNaN(runningTasks) || !c.eat('/')) c.fail('running/total', 'expected "running/total"');
  const totalTasks = c.uint();
  if (Number.isNaN(totalTasks) || !c.atSeparator) c.fail('running/total', 'expected "running/total"');
  const lastPid = c.uintField('lastPid');
  c.blanks();
  if (!c.atLineEnd) c.fail('lastPid', 'unexpected text after the last pid');
  return { load1, load5, load15, runningTasks, totalTasks, lastPid };
}

export function readLoadavg(root = '/proc'): Loadavg {
  const file = `${root}/loadavg`;
  return parseLoadavg(readFileSync(file, 'utf8'), file);
}

// /proc/stat: CPU time per state (aggregate and per CPU), context switches, boot time, runnable and
// blocked task counts. Raw counters only: rates are the sampler's job (it keeps the previous sample).
import { readFileSync } from 'node:fs';
import { Cursor, parseErrorAt } from './scan';
import { ParseError } from '../util/errors';

/**
 * CPU time by state from a `cpu`/`cpuN` line of /proc/stat, in USER_HZ ticks (1/100 s on every
 * mainstream architecture). The kernel already counts guest and guest_nice inside user and nice, so
 * they are not added again. Kernels before 2.6.11 print fewer than 8 columns (2.4: 4, 2.6.0-2.6.10:
 * 7); the missing trailing ones are 0. Counters past 2^53 lose precision (JS numbers), never throw.
 */
export interface CpuTicks {
  /** The N of a `cpuN` line; absent on the aggregate line. Offline CPUs have no line, so cpus[i].cpu may differ from i. */
  cpu?: number;
  userTicks: number;
  niceTicks: number;
  systemTicks: number;
  idleTicks: number;
  iowaitTicks: number;
  irqTicks: number;
  softirqTicks: number;
  stealTicks: number;
}

/** /proc/stat: the aggregate `cpu ` line, the per-CPU lines in file order, and the scalar counters. */
export interface Stat {
  cpu: CpuTicks;
  cpus: CpuTicks[];
  /** `ctxt`: context switches since boot. */
  contextSwitches?: number;
  /** `procs_running`: tasks runnable right now (2.5.45+). */
  processesRunning?: number;
  /** `procs_blocked`: tasks blocked on I/O right now (2.5.45+). */
  processesBlocked?: number;
  /** `btime`: boot time, seconds since the epoch. */
  bootTimeSeconds?: number;
}

const TICK_NAMES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;
const MIN_TICKS = 4;

// Scratch for one line's numbers: the object is built once the count is known, with no array per line.
const scratch = new Float64Array(TICK_NAMES.length);

/** Read the tick columns after `cpu`/`cpuN` into `scratch`; returns how many columns the line has. */
function readTicks(c: Cursor, name: string): number {
  let n = 0;
  for (;;) {
    c.blanks();
    if (c.atLineEnd) break;
    const v = c.uint();
    if (Number.isNaN(v) || !c.atSeparator) c.fail(`${name} ${TICK_NAMES[n] ?? `column ${n + 1}`}`, 'expected an unsigned tick count');
    if (n < scratch.length) scratch[n] = v;
    n++;
  }
  if (n < MIN_TICKS) c.fail(name, `expected at least ${MIN_TICKS} tick counts, got ${n}`);
  for (let i = n; i < scratch.length; i++) scratch[i] = 0;
  return n;
}

function ticksFromScratch(cpu: number | undefined): CpuTicks {
  const t: CpuTicks = {
    userTicks: scratch[0] ?? 0,
    niceTicks: scratch[1] ?? 0,
    systemTicks: scratch[2] ?? 0,
    idleTicks: scratch[3] ?? 0,
    iowaitTicks: scratch[4] ?? 0,
    irqTicks: scratch[5] ?? 0,
    softirqTicks: scratch[6] ?? 0,
    stealTicks: scratch[7] ?? 0,
  };
  if (cpu !== undefined) t.cpu = cpu;
  return t;
}

const C = 99;
const B = 98;
const P = 112;
const SPACE = 32;

/**
 * `perCpu: false` skips the cpuN lines (`cpus` stays empty): the host sampler needs only the aggregate,
 * and on a 64-CPU server the per-CPU lines are most of the file.
 */
export function parseStat(text: string, file = '/proc/stat', opts: { perCpu?: boolean } = {}): Stat {
  const perCpu = opts.perCpu !== false;
  const c = new Cursor(text, file);
  let cpu: CpuTicks | undefined;
  let aggregateColumns = MIN_TICKS;
  const cpus: CpuTicks[] = [];
  const stat: Omit<Stat, 'cpu'> = { cpus };
  while (!c.atEnd) {
    const start = c.pos;
    const first = text.charCodeAt(start);
    if (first === C && text.startsWith('cpu', start)) {
      c.pos = start + 3;
      if (text.charCodeAt(c.pos) === SPACE) {
        if (cpu !== undefined) c.fail('cpu', 'a second aggregate "cpu" line', start);
        aggregateColumns = readTicks(c, 'cpu');
        cpu = ticksFromScratch(undefined);
      } else if (perCpu) {
        const id = c.uint();
        if (Number.isNaN(id) || !c.atSeparator) c.fail('cpuN', 'expected "cpu" followed by a CPU number', start);
        // Every cpuN line has as many columns as the aggregate: fewer means the file was cut short.
        if (readTicks(c, `cpu${id}`) < aggregateColumns) {
          c.fail(`cpu${id}`, `fewer tick counts than the aggregate line's ${aggregateColumns} (truncated?)`, start);
        }
        cpus.push(ticksFromScratch(id));
      }
    } else if (first === C && text.startsWith('ctxt ', start)) {
      c.pos = start + 5;
      stat.contextSwitches = c.uintField('ctxt');
    } else if (first === B && text.startsWith('btime ', start)) {
      c.pos = start + 6;
      stat.bootTimeSeconds = c.uintField('btime');
    } else if (first === P && text.startsWith('procs_running ', start)) {
      c.pos = start + 14;
      stat.processesRunning = c.uintField('procs_running');
    } else if (first === P && text.startsWith('procs_blocked ', start)) {
      c.pos = start + 14;
      stat.processesBlocked = c.uintField('procs_blocked');
    }
    c.nextLine();
  }
  if (cpu === undefined) {
    if (text.length === 0) throw new ParseError({ file, field: 'cpu' }, 'empty file');
    throw parseErrorAt(text, file, 0, 'cpu', 'no aggregate "cpu " line');
  }
  return { cpu, ...stat };
}

export function readStat(root = '/proc'): Stat {
  const file = `${root}/stat`;
  return parseStat(readFileSync(file, 'utf8'), file);
}

// A unit at its own limits: MemoryCurrent near MemoryMax (the kernel reclaims, then OOM-kills), and
// TasksCurrent at TasksMax (fork and thread creation fail with EAGAIN). Read from the unit ring's
// polls near the failure, and from the properties at commit.
import type { UnitSample } from '../../incident/snapshot';
import { formatSize } from '../../systemd/timespan';
import { formatBytes } from '../../util/units';
import { timeClass, type Ctx } from '../context';
import type { Evidence } from '../evidence';
import { pct1 } from './quote';

/** A unit this close to MemoryMax is reclaiming its own pages and stalls; the next allocation may kill it. */
export const UNIT_MEMORY_PERCENT = 95;
/** TasksMax minus this or more in use: the next fork or thread fails. */
const TASKS_HEADROOM = 1;

/**
 * Explained by being at a limit: how the failure looked, and the service's own error line about it (an
 * EAGAIN from fork, a failed allocation), which is the limit's consequence rather than a cause of its own.
 */
const LIMIT_EXPLAINS = ['http_status', 'timeout', 'hung', 'reset', 'body_mismatch', 'log.generic', 'log.errno.EAGAIN'];

/** The highest reading near the failure, from the unit's polls and the properties at commit (at: null). */
function peakOf(samples: readonly UnitSample[], read: (s: UnitSample) => number | null, now: number | undefined): { at: string | null; value: number } | undefined {
  let peak: { at: string | null; value: number } | undefined;
  for (const s of samples) {
    const v = read(s);
    if (v !== null && (peak === undefined || v >= peak.value)) peak = { at: s.at, value: v };
  }
  if (now !== undefined && (peak === undefined || now > peak.value)) peak = { at: null, value: now };
  return peak;
}

export function limitsRule(ctx: Ctx): Evidence[] {
  const unit = ctx.unit;
  const settings = ctx.settings;
  if (unit === null || settings === null) return [];
  const samples: UnitSample[] = (ctx.input.unitSamples ?? []).filter((s) => timeClass(ctx, s.at) === 'near');
  const out: Evidence[] = [];
  const max = settings.memoryMaxBytes;
  if (max !== undefined && Number.isFinite(max) && max > 0) {
    const peak = peakOf(samples, (x) => x.memory_current_bytes, unit.memoryCurrentBytes);
    if (peak !== undefined && (peak.value / max) * 100 >= UNIT_MEMORY_PERCENT) {
      const p = (peak.value / max) * 100;
      out.push({
        kind: 'unit_memory',
        cause: `memory at ${Math.floor(p)}% of MemoryMax=${formatSize(max)}`,
        source: peak.at === null ? 'unit_properties' : 'unit_sample',
        scope: 'unit',
        at: peak.at,
        strength: 'suggests',
        role: 'cause',
        quotes: [`${peak.at ?? 'at capture'}: MemoryCurrent=${formatBytes(peak.value)} of MemoryMax=${formatBytes(max)} (${pct1(p)})`],
        explains: LIMIT_EXPLAINS,
      });
    }
  }
  const tasksMax = settings.tasksMax;
  if (tasksMax !== undefined && Number.isFinite(tasksMax) && tasksMax > 0) {
    const peak = peakOf(samples, (x) => x.tasks_current, unit.tasksCurrent);
    if (peak !== undefined && peak.value >= tasksMax - TASKS_HEADROOM) {
      out.push({
        kind: 'unit_tasks',
        cause: `tasks at ${peak.value} of TasksMax=${tasksMax}`,
        source: peak.at === null ? 'unit_properties' : 'unit_sample',
        scope: 'unit',
        at: peak.at,
        strength: 'suggests',
        role: 'cause',
        quotes: [`${peak.at ?? 'at capture'}: TasksCurrent=${peak.value} of TasksMax=${tasksMax}`],
        explains: [...LIMIT_EXPLAINS, 'exit_status'],
      });
    }
  }
  return out;
}

// The service's own process at the failure: its main process (MainPID), or without a unit the process
// listening on the health URL's port. A service that pins a CPU or holds a large share of memory when
// its check fails is most likely failing of that (a runaway loop, a leak); a milder share is said, but
// only as possible.
import type { SnapshotProcess } from '../../incident/snapshot';
import { clip } from '../../util/text';
import { formatBytes } from '../../util/units';
import type { Ctx } from '../context';
import type { Evidence } from '../evidence';
import { pct1 } from './quote';

/** % of one CPU: a single-threaded service at this is pinned, doing nothing else. */
export const PROCESS_CPU_PINNED = 90;
/** % of one CPU worth saying when it is the busiest process on the host. */
export const PROCESS_CPU_BUSY = 50;
/** % of MemTotal held by one process that leaves the rest of the host short. */
export const PROCESS_RSS_LARGE = 25;
/** % of MemTotal worth saying when it is the largest process on the host. */
export const PROCESS_RSS_NOTABLE = 10;

const EXPLAINS = ['http_status', 'timeout', 'hung', 'reset', 'body_mismatch'];

export function processRule(ctx: Ctx): Evidence[] {
  const procs = ctx.input.processes;
  const pid = ctx.unit?.mainPid ?? ctx.input.servicePid ?? undefined;
  if (!procs || pid === undefined) return [];
  const p: SnapshotProcess | undefined = procs.top_cpu.find((x) => x.pid === pid) ?? procs.top_memory.find((x) => x.pid === pid);
  if (p === undefined) return [];
  const total = [...ctx.input.samples].reverse().find((s) => s.mem_total_bytes !== null)?.mem_total_bytes ?? null;
  const rssShare = total === null || total <= 0 ? 0 : (p.rss_bytes / total) * 100;
  const topCpu = procs.top_cpu[0]?.pid === pid;
  const topMemory = procs.top_memory[0]?.pid === pid;
  const pinned = p.cpu_percent >= PROCESS_CPU_PINNED;
  const large = rssShare >= PROCESS_RSS_LARGE;
  const busy = topCpu && p.cpu_percent >= PROCESS_CPU_BUSY;
  const notable = topMemory && rssShare >= PROCESS_RSS_NOTABLE;
  if (!pinned && !large && !busy && !notable) return [];
  const uses: string[] = [];
  if (pinned || busy) uses.push(`${Math.round(p.cpu_percent)}% CPU`);
  uses.push(`${formatBytes(p.rss_bytes)} RSS${rssShare >= PROCESS_RSS_NOTABLE ? ` (${Math.round(rssShare)}% of RAM)` : ''}`);
  const rankWords = [topCpu ? 'the busiest' : '', topMemory ? 'the largest' : ''].filter(Boolean).join(' and ');
  return [
    {
      kind: 'service_process',
      cause: `the service's own process ${p.command} (pid ${p.pid}) was using ${uses.join(' and ')}`,
      source: 'processes',
      scope: 'unit',
      at: null,
      strength: 'suggests',
      role: 'cause',
      ...(pinned || large ? {} : { confidence: 'possible' as const }),
      quotes: [
        `pid ${p.pid} ${clip(p.cmdline || p.command, 80)}: ${pct1(p.cpu_percent)} CPU, ${formatBytes(p.rss_bytes)} RSS${rankWords ? `, ${rankWords} process on the host` : ''}`,
      ],
      explains: EXPLAINS,
    },
  ];
}

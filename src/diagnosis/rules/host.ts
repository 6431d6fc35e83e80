// Host-wide conditions near the failure (disk full, memory exhausted, swap thrashing, PSI stalls, CPU
// saturated) and the kernel's words that are not OOM kills (filesystem and I/O errors, hung tasks,
// segfaults). A host-wide condition can explain a failure but never proves it: the ranker keeps it
// only when it is near the failure, and at `possible`. A segfault is this unit's only when its run
// ended on SIGSEGV at the same time; otherwise it is some other process's (context).
import type { SnapshotKernelLine } from '../../incident/snapshot';
import type { HostSample } from '../../sample/host';
import { classifyKernelLine, type KernelEventKind } from '../../systemd/kernel';
import { signalNumber } from '../../systemd/exit';
import { formatBytes } from '../../util/units';
import { timeClass, type Ctx } from '../context';
import type { Evidence } from '../evidence';
import { kernelQuote, pct1 } from './quote';

// Thresholds, each with the reason it is where it is.
/** statfs usage at which a write may fail any moment (reserved blocks, a burst of logs, a temp file). */
export const DISK_FULL_PERCENT = 98;
/**
 * MemAvailable under 5% of MemTotal: the kernel's own estimate of what can be had without swapping is
 * nearly gone; the page cache has been squeezed and the OOM killer is close.
 */
export const MEMORY_LOW_PERCENT = 5;
/** Half of swap in use: on its own normal (idle pages moved out long ago), a sign only with stalls. */
export const SWAP_HIGH_PERCENT = 50;
/**
 * PSI memory `some` avg10 ≥ 10%: tasks waited for memory (reclaim, swap-in, refaults) one second in
 * ten. A host without memory trouble reads 0.00 (fixtures/proc/pressure/memory).
 */
export const PSI_SOME_THRASHING = 10;
/**
 * PSI `full` avg10 ≥ 10%: for one second in every ten, EVERY non-idle task was stalled on the resource
 * at once, i.e. the machine did no useful work. Brief spikes stay well under this; 10% sustained over
 * 10 s is long enough to miss a health check deadline.
 */
export const PSI_FULL_STALL = 10;
/** CPU busy share (user+system+irq..., not iowait) treated as saturated. */
export const CPU_SATURATED_PERCENT = 95;
/** How many of the last samples must all be saturated (one busy sample is a blip). */
export const CPU_SATURATED_SAMPLES = 3;
/** Runnable tasks per CPU over which work queues up (load1 > 2 × CPUs). */
export const LOAD_PER_CPU = 2;
/** A kernel segfault line this close to the run's SIGSEGV is the same crash. */
const SAME_CRASH_MS = 5000;

/** What a host condition explains: how the failure looked from outside, never how a process ended. */
const HOST_EXPLAINS = ['http_status', 'timeout', 'hung', 'reset', 'body_mismatch'];

function host(kind: string, cause: string, at: string, quotes: string[], explains: readonly string[] = HOST_EXPLAINS): Evidence {
  return { kind, cause, source: 'host_sample', scope: 'host', at, strength: 'suggests', role: 'cause', quotes, explains };
}

function diskFull(samples: readonly HostSample[]): Evidence[] {
  const peaks = new Map<string, { what: 'disk' | 'inodes'; value: number; sample: HostSample; path: string }>();
  for (const s of samples) {
    for (const [what, table] of [
      ['disk', s.disk_used_percent],
      ['inodes', s.disk_inodes_used_percent],
    ] as const) {
      for (const [p, v] of Object.entries(table)) {
        if (v === null || v < DISK_FULL_PERCENT) continue;
        const key = `${what} ${p}`;
        const seen = peaks.get(key);
        if (seen === undefined || v >= seen.value) peaks.set(key, { what, value: v, sample: s, path: p });
      }
    }
  }
  return [...peaks.values()].map((p) => {
    const free = p.sample.disk_available_bytes[p.path];
    const quote =
      p.what === 'inodes'
        ? `${p.sample.at} inodes ${p.path} ${pct1(p.value)} used`
        : `${p.sample.at} disk ${p.path} ${pct1(p.value)} used${free === null || free === undefined ? '' : `, ${formatBytes(free)} free`}`;
    const cause = p.what === 'disk' ? `disk full: ${p.path} ${pct1(p.value)} used` : `out of inodes: ${p.path} ${pct1(p.value)} used`;
    // a full disk also explains a run that died of it (the service may not have said ENOSPC)
    return host('disk_full', cause, p.sample.at, [quote], [...HOST_EXPLAINS, 'exit_status']);
  });
}

function availablePercent(s: HostSample): number | null {
  const total = s.mem_total_bytes;
  const avail = s.mem_available_bytes;
  return total === null || avail === null || total <= 0 ? null : (avail / total) * 100;
}

function memory(samples: readonly HostSample[]): Evidence[] {
  let lowest: { s: HostSample; p: number } | undefined;
  let lowCount = 0;
  let thrash: HostSample | undefined;
  for (const s of samples) {
    const p = availablePercent(s);
    if (p !== null && p < MEMORY_LOW_PERCENT) {
      lowCount++;
      if (lowest === undefined || p <= lowest.p) lowest = { s, p };
    }
    const swap = s.swap_used_percent;
    const some = s.psi_memory_some_avg10;
    if (swap !== null && some !== null && swap >= SWAP_HIGH_PERCENT && some >= PSI_SOME_THRASHING) {
      if (thrash === undefined || some >= (thrash.psi_memory_some_avg10 ?? 0)) thrash = s;
    }
  }
  const out: Evidence[] = [];
  if (lowest !== undefined) {
    const { s, p } = lowest;
    const quote =
      `${s.at} memory ${pct1(p)} available (${formatBytes(s.mem_available_bytes)} of ${formatBytes(s.mem_total_bytes)})` +
      (s.swap_used_percent === null ? '' : `, swap ${pct1(s.swap_used_percent)} used`) +
      (lowCount > 1 ? `; under ${MEMORY_LOW_PERCENT}% in ${lowCount} of ${samples.length} samples` : '');
    out.push(host('memory_low', `memory exhausted: ${pct1(p)} available`, s.at, [quote]));
  }
  if (thrash !== undefined) {
    const swap = pct1(thrash.swap_used_percent ?? 0);
    const some = pct1(thrash.psi_memory_some_avg10 ?? 0);
    const quote =
      `${thrash.at} swap ${swap} used (${formatBytes(thrash.swap_used_bytes)}), PSI memory some avg10 ${some}` +
      (thrash.psi_memory_full_avg10 === null ? '' : `, full ${pct1(thrash.psi_memory_full_avg10)}`);
    out.push(host('swap_thrashing', `swap thrashing: swap ${swap} used, memory stall ${some}`, thrash.at, [quote]));
  }
  return out;
}

function pressure(samples: readonly HostSample[]): Evidence[] {
  const out: Evidence[] = [];
  const resources = [
    { name: 'memory', label: 'memory', full: (s: HostSample) => s.psi_memory_full_avg10, some: (s: HostSample) => s.psi_memory_some_avg10 },
    { name: 'io', label: 'I/O', full: (s: HostSample) => s.psi_io_full_avg10, some: (s: HostSample) => s.psi_io_some_avg10 },
  ];
  for (const r of resources) {
    let peak: HostSample | undefined;
    let count = 0;
    for (const s of samples) {
      const v = r.full(s);
      if (v === null || v < PSI_FULL_STALL) continue;
      count++;
      if (peak === undefined || v >= (r.full(peak) ?? 0)) peak = s;
    }
    if (peak === undefined) continue;
    const full = r.full(peak) ?? 0;
    const some = r.some(peak);
    const quote =
      `${peak.at} PSI ${r.name} full avg10 ${pct1(full)}${some === null ? '' : ` (some ${pct1(some)})`}` +
      (count > 1 ? `; ≥ ${PSI_FULL_STALL}% in ${count} of ${samples.length} samples` : '');
    out.push(host(`${r.name}_stall`, `${r.label} stall: all tasks stalled ${pct1(full)} of the time`, peak.at, [quote]));
  }
  return out;
}

function cpuSaturated(samples: readonly HostSample[], cpus: number): Evidence[] {
  if (!(cpus > 0)) return [];
  const withCpu = samples.filter((s) => s.cpu_percent !== null);
  // at least two readings: a single busy sample is a blip
  if (withCpu.length < 2) return [];
  const last = withCpu.slice(-CPU_SATURATED_SAMPLES);
  if (!last.every((s) => (s.cpu_percent ?? 0) >= CPU_SATURATED_PERCENT)) return [];
  const load = [...last].reverse().find((s) => s.load1 !== null)?.load1;
  if (load === undefined || load === null || load <= LOAD_PER_CPU * cpus) return [];
  const busy = Math.min(...last.map((s) => s.cpu_percent ?? 0));
  const quotes = [
    ...last.map((s) => `${s.at} cpu ${pct1(s.cpu_percent ?? 0)}${s.load1 === null ? '' : `, load1 ${s.load1.toFixed(2)}`}`),
    `load1 ${load.toFixed(2)} > ${LOAD_PER_CPU} × ${cpus} CPUs`,
  ];
  const at = last[last.length - 1]!.at;
  return [host('cpu_saturated', `CPU saturated: ≥ ${Math.floor(busy)}% busy, load ${load.toFixed(2)} on ${cpus} CPU${cpus === 1 ? '' : 's'}`, at, quotes)];
}

const KERNEL_EVENTS: ReadonlyArray<{ kind: KernelEventKind; cause: (m: string) => string }> = [
  {
    kind: 'fs_error',
    cause: (m) => {
      const r = /\(device ([^)]+)\)|^[A-Za-z0-9]+(?:-fs)? \(([^)]+)\)|on device (\S+?)\.?$/.exec(m);
      const dev = r?.[1] ?? r?.[2] ?? r?.[3];
      return dev === undefined ? 'filesystem errors' : `filesystem errors on ${dev}`;
    },
  },
  {
    kind: 'io_error',
    cause: (m) => {
      const r = /error, dev ([^,\s]+),|^Buffer I\/O error on dev ([^,\s]+),/.exec(m);
      const dev = r?.[1] ?? r?.[2];
      return dev === undefined ? 'disk I/O errors' : `disk I/O errors on ${dev}`;
    },
  },
  {
    kind: 'hung_task',
    cause: (m) => {
      const r = /^INFO: task (.+):(\d+) blocked for more than (\d+) seconds/.exec(m);
      return r ? `hung task: ${r[1]} blocked > ${r[3]} s` : 'hung task';
    },
  },
];

function segfaultWords(m: string): string {
  const r = /^(?:traps: )?(.+?)\[(\d+)\]:? (?:segfault at|general protection)/.exec(m);
  return r ? `segfault in ${r[1]}[${r[2]}]` : 'segfault';
}

function kernelEvents(ctx: Ctx): Evidence[] {
  const byKind = new Map<KernelEventKind, SnapshotKernelLine[]>();
  for (const l of ctx.input.kernel) {
    const kind = classifyKernelLine(l.message);
    if (kind === null) continue;
    const list = byKind.get(kind) ?? [];
    list.push(l);
    byKind.set(kind, list);
  }
  const out: Evidence[] = [];
  for (const k of KERNEL_EVENTS) {
    const lines = (byKind.get(k.kind) ?? []).filter((l) => timeClass(ctx, l.at) === 'near');
    const last = lines[lines.length - 1];
    if (last === undefined) continue;
    const quotes = lines.slice(-3).map(kernelQuote);
    if (lines.length > 3) quotes.push(`${lines.length} such kernel lines near the failure`);
    out.push({ kind: k.kind, cause: k.cause(last.message.trim()), source: 'kernel', scope: 'host', at: last.at, strength: 'suggests', role: 'cause', quotes, explains: HOST_EXPLAINS });
  }
  // a segfault line is this run's own crash only when the run ended on SIGSEGV at that moment
  const exit = ctx.exit;
  const segv = exit !== null && exit.code !== 'exited' && signalNumber(String(exit.status)) === 11;
  for (const l of byKind.get('segfault') ?? []) {
    const same = segv && exit.at !== null && Math.abs(Date.parse(l.at) - Date.parse(exit.at)) <= SAME_CRASH_MS;
    const cause = segfaultWords(l.message.trim());
    if (same) out.push({ kind: 'segfault', cause, source: 'kernel', scope: 'invocation', at: l.at, strength: 'proves', role: 'mechanism', quotes: [kernelQuote(l)] });
    else out.push({ kind: 'other_segfault', cause: `${cause} (another process)`, source: 'kernel', scope: 'other', at: l.at, strength: 'suggests', role: 'cause', quotes: [kernelQuote(l)], contextOnly: true });
  }
  return out;
}

export function hostRule(ctx: Ctx): Evidence[] {
  // only what the host looked like near the failure: an old spike is not this failure's condition
  const near = ctx.input.samples.filter((s) => timeClass(ctx, s.at) === 'near');
  return [...diskFull(near), ...memory(near), ...pressure(near), ...cpuSaturated(near, ctx.input.cpus), ...kernelEvents(ctx)];
}

// The host sampler: reads /proc and statfs every sample_seconds into a typed-array ring of RAW
// readings (tick counters, byte counts), and derives rates (CPU %) from consecutive rows only when
// a sample is read out. Nothing here throws for an unreadable source: the value becomes NaN in the
// ring, null in the sample, and the reason lands in `lastErrors` for the snapshot's capture.errors.
import { ProcFile } from '../proc/file';
import { parseLoadavg } from '../proc/loadavg';
import { parseMeminfoSummary } from '../proc/meminfo';
import { PSI_UNAVAILABLE, parsePressure, type Pressure } from '../proc/pressure';
import { parseStat, type CpuTicks } from '../proc/stat';
import { DiskReader, type DiskUsage } from '../proc/statfs';
import { errorMessage } from '../util/errors';
import { Ring } from './ring';

/** One derived host sample as it appears in `preflight sample --json` and a snapshot's samples.host. */
export interface HostSample {
  at: string;
  cpu_percent: number | null;
  iowait_percent: number | null;
  steal_percent: number | null;
  mem_used_percent: number | null;
  mem_total_bytes: number | null;
  mem_available_bytes: number | null;
  mem_used_bytes: number | null;
  swap_used_percent: number | null;
  swap_total_bytes: number | null;
  swap_used_bytes: number | null;
  load1: number | null;
  load5: number | null;
  load15: number | null;
  procs_running: number | null;
  procs_blocked: number | null;
  psi_cpu_some_avg10: number | null;
  psi_cpu_full_avg10: number | null;
  psi_memory_some_avg10: number | null;
  psi_memory_full_avg10: number | null;
  psi_io_some_avg10: number | null;
  psi_io_full_avg10: number | null;
  disk_used_percent: Record<string, number | null>;
  disk_available_bytes: Record<string, number | null>;
  disk_inodes_used_percent: Record<string, number | null>;
}

// Ring layout: fixed columns, then three per configured disk.
const AT = 0;
const CPU_TOTAL = 1;
const CPU_IDLE = 2;
const CPU_IOWAIT = 3;
const CPU_STEAL = 4;
const MEM_TOTAL = 5;
const MEM_AVAILABLE = 6;
const SWAP_TOTAL = 7;
const SWAP_FREE = 8;
const LOAD1 = 9;
const LOAD5 = 10;
const LOAD15 = 11;
const PROCS_RUNNING = 12;
const PROCS_BLOCKED = 13;
const PSI_CPU_SOME = 14;
const PSI_CPU_FULL = 15;
const PSI_MEM_SOME = 16;
const PSI_MEM_FULL = 17;
const PSI_IO_SOME = 18;
const PSI_IO_FULL = 19;
const FIXED_COLUMNS = 20;
const DISK_USED_PERCENT = 0;
const DISK_AVAILABLE = 1;
const DISK_INODES_PERCENT = 2;
const DISK_COLUMNS = 3;
const DONE: Promise<void> = Promise.resolve();

export interface HostSamplerOptions {
  /** procfs root; tests point it at fixtures */
  root?: string;
  /** paths whose filesystems are sampled with statfs */
  disks: string[];
  /** ring length in samples */
  capacity: number;
  /** deadline for one statfs (a hung NFS mount must not stall sampling) */
  diskTimeoutMs?: number;
}

function totalTicks(c: CpuTicks): number {
  // guest time is already inside user/nice, so it is not added again
  return (
    c.userTicks + c.niceTicks + c.systemTicks + c.idleTicks + c.iowaitTicks + c.irqTicks + c.softirqTicks + c.stealTicks
  );
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
const orNull = (x: number): number | null => (Number.isFinite(x) ? x : null);
const percent = (part: number, whole: number): number | null =>
  Number.isFinite(part) && Number.isFinite(whole) && whole > 0 ? round2((part / whole) * 100) : null;

/**
 * some/full avg10 of one /proc/pressure file into two ring columns; NaN where PSI is unavailable or
 * the file unreadable (one bad file does not blank the other two).
 */
function readPsi(f: ProcFile, row: Float64Array, someColumn: number, fullColumn: number, errors: string[]): void {
  try {
    const text = f.readOr(PSI_UNAVAILABLE);
    const p: Pressure | null = text === null ? null : parsePressure(text, f.path);
    row[someColumn] = p ? p.some.avg10 : Number.NaN;
    row[fullColumn] = p?.full ? p.full.avg10 : Number.NaN;
  } catch (err) {
    errors.push(errorMessage(err));
  }
}

export class HostSampler {
  readonly ring: Ring;
  readonly disks: readonly string[];
  /** Why parts of the latest reading are missing (empty when it was complete). */
  lastErrors: string[] = [];
  private readonly files: { stat: ProcFile; meminfo: ProcFile; loadavg: ProcFile; psi: [ProcFile, ProcFile, ProcFile] };
  private readonly diskReader: DiskReader;
  private readonly scratch: Float64Array;
  /** a reading waiting on a remote statfs: concurrent callers (timer and capture) share it, not the scratch row */
  private pending: Promise<void> | null = null;

  constructor(opts: HostSamplerOptions) {
    const root = opts.root ?? '/proc';
    this.files = {
      stat: new ProcFile(`${root}/stat`),
      meminfo: new ProcFile(`${root}/meminfo`),
      loadavg: new ProcFile(`${root}/loadavg`, 256),
      psi: [new ProcFile(`${root}/pressure/cpu`, 256), new ProcFile(`${root}/pressure/memory`, 256), new ProcFile(`${root}/pressure/io`, 256)],
    };
    this.disks = [...opts.disks];
    this.ring = new Ring(opts.capacity, FIXED_COLUMNS + DISK_COLUMNS * this.disks.length);
    this.scratch = new Float64Array(this.ring.width);
    this.diskReader = new DiskReader({ timeoutMs: opts.diskTimeoutMs ?? 2000 });
  }

  /**
   * Take one reading and push it into the ring (raw counters only: deriving rates is left to whoever
   * reads the ring, `latest()` or `window()`, which the daemon does only when it writes a snapshot).
   * A call while a reading is in progress shares that reading.
   */
  sample(now: number = Date.now()): Promise<void> {
    if (this.pending) return this.pending;
    const row = this.scratch;
    row.fill(Number.NaN);
    row[AT] = now;
    const errors: string[] = [];
    // a disk on a local filesystem is answered synchronously; the others go to the thread pool first,
    // so their statfs overlaps with the synchronous /proc reads below
    let remote: Promise<void>[] | null = null;
    for (let i = 0; i < this.disks.length; i++) {
      const path = this.disks[i]!;
      try {
        const local = this.diskReader.readLocal(path);
        if (local) {
          this.setDisk(i, local);
          continue;
        }
      } catch (err) {
        errors.push(`disk ${path}: ${errorMessage(err)}`);
        continue;
      }
      (remote ??= []).push(
        this.diskReader.read(path).then(
          (u) => this.setDisk(i, u),
          (err: unknown) => void errors.push(`disk ${path}: ${errorMessage(err)}`),
        ),
      );
    }
    this.readProc(row, errors);
    if (remote === null) {
      this.finish(row, errors);
      return DONE;
    }
    this.pending = Promise.all(remote).then(() => {
      this.pending = null;
      this.finish(row, errors);
    });
    return this.pending;
  }

  private setDisk(i: number, u: DiskUsage): void {
    const base = FIXED_COLUMNS + i * DISK_COLUMNS;
    this.scratch[base + DISK_USED_PERCENT] = u.usedPercent;
    this.scratch[base + DISK_AVAILABLE] = u.availBytes;
    this.scratch[base + DISK_INODES_PERCENT] = u.inodesUsedPercent ?? Number.NaN;
  }

  private finish(row: Float64Array, errors: string[]): void {
    this.lastErrors = errors;
    this.ring.push(row);
  }

  private readProc(row: Float64Array, errors: string[]): void {
    try {
      const { cpu, processesRunning, processesBlocked } = parseStat(this.files.stat.read(), this.files.stat.path, { perCpu: false });
      row[CPU_TOTAL] = totalTicks(cpu);
      row[CPU_IDLE] = cpu.idleTicks;
      row[CPU_IOWAIT] = cpu.iowaitTicks;
      row[CPU_STEAL] = cpu.stealTicks;
      row[PROCS_RUNNING] = processesRunning ?? Number.NaN;
      row[PROCS_BLOCKED] = processesBlocked ?? Number.NaN;
    } catch (err) {
      errors.push(errorMessage(err));
    }
    try {
      const m = parseMeminfoSummary(this.files.meminfo.read(), this.files.meminfo.path);
      row[MEM_TOTAL] = m.memTotalBytes;
      row[MEM_AVAILABLE] = m.memAvailableBytes;
      row[SWAP_TOTAL] = m.swapTotalBytes ?? Number.NaN;
      row[SWAP_FREE] = m.swapFreeBytes ?? Number.NaN;
    } catch (err) {
      errors.push(errorMessage(err));
    }
    try {
      const l = parseLoadavg(this.files.loadavg.read(), this.files.loadavg.path);
      row[LOAD1] = l.load1;
      row[LOAD5] = l.load5;
      row[LOAD15] = l.load15;
    } catch (err) {
      errors.push(errorMessage(err));
    }
    const [cpu, memory, io] = this.files.psi;
    readPsi(cpu, row, PSI_CPU_SOME, PSI_CPU_FULL, errors);
    readPsi(memory, row, PSI_MEM_SOME, PSI_MEM_FULL, errors);
    readPsi(io, row, PSI_IO_SOME, PSI_IO_FULL, errors);
  }

  /** Derived samples with time >= sinceMs, oldest first. */
  window(sinceMs = 0): HostSample[] {
    const out: HostSample[] = [];
    for (let i = this.ring.indexSince(sinceMs); i < this.ring.length; i++) out.push(this.derive(i));
    return out;
  }

  /** The newest sample, or null before the first reading. */
  latest(): HostSample | null {
    return this.ring.length === 0 ? null : this.derive(this.ring.length - 1);
  }

  private derive(i: number): HostSample {
    const v = (c: number): number => this.ring.get(i, c);
    // rates need the previous raw row; the oldest row in the ring has none
    let cpu: number | null = null;
    let iowait: number | null = null;
    let steal: number | null = null;
    if (i > 0) {
      const p = (c: number): number => this.ring.get(i - 1, c);
      const dTotal = v(CPU_TOTAL) - p(CPU_TOTAL);
      if (dTotal > 0) {
        const dIdle = v(CPU_IDLE) - p(CPU_IDLE);
        const dIowait = v(CPU_IOWAIT) - p(CPU_IOWAIT);
        cpu = percent(dTotal - dIdle - dIowait, dTotal);
        iowait = percent(dIowait, dTotal);
        steal = percent(v(CPU_STEAL) - p(CPU_STEAL), dTotal);
      }
    }
    const memTotal = v(MEM_TOTAL);
    const memUsed = memTotal - v(MEM_AVAILABLE);
    const swapTotal = v(SWAP_TOTAL);
    const swapUsed = swapTotal - v(SWAP_FREE);
    const used: Record<string, number | null> = {};
    const avail: Record<string, number | null> = {};
    const inodes: Record<string, number | null> = {};
    this.disks.forEach((d, k) => {
      const base = FIXED_COLUMNS + k * DISK_COLUMNS;
      const u = v(base + DISK_USED_PERCENT);
      used[d] = Number.isFinite(u) ? round2(u) : null;
      avail[d] = orNull(v(base + DISK_AVAILABLE));
      const n = v(base + DISK_INODES_PERCENT);
      inodes[d] = Number.isFinite(n) ? round2(n) : null;
    });
    return {
      at: new Date(v(AT)).toISOString(),
      cpu_percent: cpu,
      iowait_percent: iowait,
      steal_percent: steal,
      mem_used_percent: percent(memUsed, memTotal),
      mem_total_bytes: orNull(memTotal),
      mem_available_bytes: orNull(v(MEM_AVAILABLE)),
      mem_used_bytes: orNull(memUsed),
      swap_used_percent: percent(swapUsed, swapTotal),
      swap_total_bytes: orNull(swapTotal),
      swap_used_bytes: orNull(swapUsed),
      load1: orNull(v(LOAD1)),
      load5: orNull(v(LOAD5)),
      load15: orNull(v(LOAD15)),
      procs_running: orNull(v(PROCS_RUNNING)),
      procs_blocked: orNull(v(PROCS_BLOCKED)),
      psi_cpu_some_avg10: orNull(v(PSI_CPU_SOME)),
      psi_cpu_full_avg10: orNull(v(PSI_CPU_FULL)),
      psi_memory_some_avg10: orNull(v(PSI_MEM_SOME)),
      psi_memory_full_avg10: orNull(v(PSI_MEM_FULL)),
      psi_io_some_avg10: orNull(v(PSI_IO_SOME)),
      psi_io_full_avg10: orNull(v(PSI_IO_FULL)),
      disk_used_percent: used,
      disk_available_bytes: avail,
      disk_inodes_used_percent: inodes,
    };
  }
}

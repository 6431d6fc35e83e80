// The process table: which processes use the CPU and the memory right now. One read of
// /proc/[pid]/stat per pid per scan; CPU % from the tick delta between the last two scans; command
// lines read only for the few processes a snapshot shows.
import { readdirSync } from 'node:fs';
import { readPidStat } from '../proc/pid-stat';
import { readPidCmdline } from '../proc/pid-status';
import { readPageSize } from '../proc/smaps';
import { readUptime } from '../proc/uptime';
import { ParseError, isErrno } from '../util/errors';

/** One process as a snapshot shows it (from /proc/[pid]/stat and /proc/[pid]/cmdline). */
export interface ProcessInfo {
  pid: number;
  /** The kernel's command name (at most 15 bytes). */
  comm: string;
  /** Arguments joined by spaces, capped at cmdlineMax bytes; empty for kernel threads and zombies. */
  cmdline: string;
  /** One letter as in /proc/[pid]/stat: R, S, D, Z, T, I... */
  state: string;
  /** Percent of one CPU, like top: a process with 4 busy threads shows ~400. */
  cpuPercent: number;
  rssBytes: number;
}

interface Entry {
  pid: number;
  comm: string;
  state: string;
  /** utime + stime at the last scan, in clock ticks. */
  ticks: number;
  /** starttime: a pid seen again with another starttime is a new process (pid reuse). */
  startTicks: number;
  rssBytes: number;
  cpuPercent: number;
  /** The scan that last saw this pid; entries left behind by a scan are dropped. */
  seen: number;
}

const GONE_OR_DENIED: ReadonlySet<string> = new Set(['ENOENT', 'ESRCH', 'EACCES']);
const ZERO = 48;
const NINE = 57;

function isPidName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < ZERO || c > NINE) return false;
  }
  return true;
}

function byCpu(a: Entry, b: Entry): number {
  return b.cpuPercent - a.cpuPercent || b.rssBytes - a.rssBytes || a.pid - b.pid;
}

function byMemory(a: Entry, b: Entry): number {
  return b.rssBytes - a.rssBytes || b.cpuPercent - a.cpuPercent || a.pid - b.pid;
}

/** Insert `e` into `top` (sorted by `cmp`, at most n long) if it belongs there. */
function insertTop(top: Entry[], e: Entry, n: number, cmp: (a: Entry, b: Entry) => number): void {
  let i = top.length;
  while (i > 0 && cmp(e, top[i - 1] as Entry) < 0) i--;
  if (i >= n) return;
  top.splice(i, 0, e);
  if (top.length > n) top.pop();
}

/**
 * Scans /proc for processes and ranks them by CPU and by memory. Memory is bounded by the number of
 * live processes: only the latest scan's per-pid ticks are kept (to compute the next delta).
 */
export class ProcessTable {
  private readonly root: string;
  private readonly hz: number;
  private readonly pageSize: number;
  private readonly cmdlineMax: number;
  private readonly entries = new Map<number, Entry>();
  private scans = 0;
  private lastScanMs: number | undefined;
  /** The first malformed /proc/[pid]/stat of the last scan (that pid was skipped), for diagnostics. */
  lastParseError: ParseError | undefined;

  constructor(opts: { root?: string; clockTicksPerSecond?: number; pageSizeBytes?: number; cmdlineMax?: number } = {}) {
    this.root = opts.root ?? '/proc';
    this.hz = opts.clockTicksPerSecond ?? 100;
    this.pageSize = opts.pageSizeBytes ?? readPageSize(this.root);
    this.cmdlineMax = opts.cmdlineMax ?? 256;
  }

  /**
   * Read every /proc/[pid]/stat once. CPU % is the tick delta since the previous scan over the wall
   * time between them (`nowMs` values, any clock); a process not in the previous scan (the first
   * scan, a new pid, a reused pid) gets its lifetime average instead, as ps shows it. Pids that exit
   * mid-scan are skipped. Returns how many processes were seen.
   */
  scan(nowMs: number): number {
    const seen = ++this.scans;
    const dtSeconds = this.lastScanMs === undefined ? 0 : (nowMs - this.lastScanMs) / 1000;
    const hz = this.hz;
    let uptimeSeconds: number | undefined;
    let uptimeRead = false;
    let count = 0;
    this.lastParseError = undefined;
    for (const name of readdirSync(this.root)) {
      if (!isPidName(name)) continue;
      let st;
      try {
        st = readPidStat(Number(name), this.root);
      } catch (err) {
        if (err instanceof ParseError) {
          this.lastParseError ??= err;
          continue;
        }
        // A pid dir can vanish between readdir and open; hidepid= mounts deny other users' pids.
        if (isErrno(err, GONE_OR_DENIED)) continue;
        throw err;
      }
      if (st === null) continue;
      const ticks = st.utimeTicks + st.stimeTicks;
      let e = this.entries.get(st.pid);
      let cpuPercent: number;
      if (e !== undefined && e.startTicks === st.startTimeTicks && dtSeconds > 0) {
        cpuPercent = (Math.max(0, ticks - e.ticks) / hz / dtSeconds) * 100;
      } else {
        if (!uptimeRead) {
          uptimeRead = true;
          uptimeSeconds = this.uptime();
        }
        const ageSeconds = uptimeSeconds === undefined ? 0 : uptimeSeconds - st.startTimeTicks / hz;
        cpuPercent = ageSeconds > 0 ? (ticks / hz / ageSeconds) * 100 : 0;
      }
      const rssBytes = Math.max(0, st.rssPages) * this.pageSize;
      if (e === undefined) {
        e = { pid: st.pid, comm: st.comm, state: st.state, ticks, startTicks: st.startTimeTicks, rssBytes, cpuPercent, seen };
        this.entries.set(st.pid, e);
      } else {
        e.comm = st.comm;
        e.state = st.state;
        e.ticks = ticks;
        e.startTicks = st.startTimeTicks;
        e.rssBytes = rssBytes;
        e.cpuPercent = cpuPercent;
        e.seen = seen;
      }
      count++;
    }
    for (const [pid, e] of this.entries) if (e.seen !== seen) this.entries.delete(pid);
    this.lastScanMs = nowMs;
    return count;
  }

  /** The n heaviest processes of the last scan by CPU and by RSS, with their command lines. */
  top(n: number): { topCpu: ProcessInfo[]; topMemory: ProcessInfo[] } {
    const cpu: Entry[] = [];
    const memory: Entry[] = [];
    if (n > 0) {
      for (const e of this.entries.values()) {
        insertTop(cpu, e, n, byCpu);
        insertTop(memory, e, n, byMemory);
      }
    }
    const cmdlines = new Map<number, string>();
    return { topCpu: this.info(cpu, cmdlines), topMemory: this.info(memory, cmdlines) };
  }

  private info(entries: Entry[], cmdlines: Map<number, string>): ProcessInfo[] {
    const out: ProcessInfo[] = [];
    for (const e of entries) {
      let cmdline = cmdlines.get(e.pid);
      if (cmdline === undefined) {
        try {
          cmdline = readPidCmdline(e.pid, this.root, this.cmdlineMax) ?? '';
        } catch (err) {
          if (!isErrno(err, GONE_OR_DENIED)) throw err;
          cmdline = '';
        }
        cmdlines.set(e.pid, cmdline);
      }
      out.push({ pid: e.pid, comm: e.comm, cmdline, state: e.state, cpuPercent: e.cpuPercent, rssBytes: e.rssBytes });
    }
    return out;
  }

  private uptime(): number | undefined {
    // Without uptime a new process's lifetime average is unknown: it shows 0 until the next scan.
    try {
      return readUptime(this.root).uptimeSeconds;
    } catch (err) {
      if (err instanceof ParseError || isErrno(err, GONE_OR_DENIED)) return undefined;
      throw err;
    }
  }
}

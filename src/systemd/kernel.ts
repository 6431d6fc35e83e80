// Kernel log lines that explain a dead service: OOM kills, I/O and filesystem errors, segfaults, hung
// tasks. Pure functions over one message (the MESSAGE of a `journalctl -k` entry or a dmesg line
// without its timestamp). Formats are the kernel's printk formats, cited per rule below.

/** What a kernel line is about (source: kernel printk formats, see KERNEL_RULES). */
export type KernelEventKind =
  | 'oom_invoked'
  | 'oom_killed'
  | 'memcg_oom'
  | 'oom_kill_summary'
  | 'io_error'
  | 'fs_error'
  | 'segfault'
  | 'hung_task';

/** First match wins: the more specific rules (an XFS "metadata I/O error" is a filesystem error) come first. */
const KERNEL_RULES: ReadonlyArray<readonly [KernelEventKind, RegExp]> = [
  // mm/oom_kill.c dump_oom_summary(): "oom-kill:constraint=%s,nodemask=%*pbl" ... ",task=%s,pid=%d,uid=%d"
  // (4.19+; a proposed series prefixes "OOM[%u]: ")
  ['oom_kill_summary', /^(?:OOM\[\d+\]: )?oom-kill:constraint=/],
  // mm/oom_kill.c dump_header(): "%s invoked oom-killer: gfp_mask=%#x(%pGg), order=%d, oom_score_adj=%hd"
  ['oom_invoked', /^\S.* invoked oom-killer: /],
  // mm/oom_kill.c __oom_kill_process(): "%s: Killed process %d (%s) total-vm:%lukB, anon-rss:%lukB, ..."
  // where %s is "Out of memory" or "Memory cgroup out of memory"; before 4.x without the "%s: " prefix
  ['oom_killed', /(?:^|: )Killed process \d+ \(.*\) total-vm:\d+kB/],
  // memcg context: mm/memcontrol.c "memory: usage %llukB, limit %llukB, failcnt %lu", "Memory cgroup stats
  // for %s:", before 4.19 "Task in %s killed as a result of limit of %s", and before 4.x the memcg kill
  // "Memory cgroup out of memory: Kill process %d (%s) score %u or sacrifice child"
  [
    'memcg_oom',
    /^(?:memory: usage \d+kB, limit \d+kB, failcnt \d+|Memory cgroup stats for |Task in \S+ killed as a result of limit of |Memory cgroup out of memory: Kill process \d+ )/,
  ],
  // kernel/hung_task.c check_hung_task(): "INFO: task %s:%d blocked for more than %ld seconds."
  ['hung_task', /^INFO: task .+:\d+ blocked for more than \d+ seconds\./],
  // arch/x86/mm/fault.c show_signal_msg(): "%s[%d]: segfault at %lx ip %px sp %px error %lx";
  // arch/x86/kernel/traps.c: "traps: %s[%d] general protection fault ip:%lx sp:%lx error:%lx"
  ['segfault', /\S\[\d+\]: segfault at [0-9a-f]+ ip [0-9a-f]+ sp [0-9a-f]+ error \d+|^traps: \S.*\[\d+\] general protection fault /],
  // fs/ext4/super.c __ext4_error(): "EXT4-fs error (device %s): %s:%d: comm %s: %pV" (ext2/3 alike),
  // ext4_handle_error(): "EXT4-fs (%s): Remounting filesystem read-only"; jbd2 "Aborting journal on device";
  // XFS "XFS (%s): Corruption ..." / "metadata I/O error" / "Filesystem has been shut down"; "BTRFS error|critical"
  [
    'fs_error',
    /^(?:EXT[234]-fs (?:error|critical) \(device |EXT[234]-fs \([^)]+\): (?:Remounting filesystem read-only|error count)|Aborting journal on device |XFS \([^)]+\): (?:.*Corruption|metadata I\/O error|log I\/O error|Filesystem has been shut down|.*[Ss]hutting down filesystem)|BTRFS (?:error|critical) |F2FS-fs \([^)]+\): .*(?:error|inconsistent))/,
  ],
  // block/blk-core.c blk_print_req_error(): "%s error, dev %s, sector %llu op 0x%x:(%s) flags ..." where
  // %s is "I/O", "critical medium", "timeout", ...; 5.x prefixed "blk_update_request: ", 4.x "print_req_error: ";
  // fs/buffer.c "Buffer I/O error on dev %pg, logical block %llu, ..."
  ['io_error', /(?:^|: )[a-zA-Z/ ]*\berror, dev \S+, sector \d+|^Buffer I\/O error on dev /],
];

/**
 * A coarse PCRE2 prefilter for `journalctl -k --grep`: a superset of KERNEL_RULES, so journalctl's line
 * cap is spent on candidates instead of a noisy kernel's chatter (classifyKernelLine still decides).
 */
export const KERNEL_GREP =
  'oom-kill:|invoked oom-killer|Killed process|memory: usage|Memory cgroup|killed as a result of limit|blocked for more than|segfault at|general protection fault|-fs error|-fs critical|-fs \\(|Aborting journal|XFS \\(|BTRFS (error|critical)|error, dev |Buffer I/O error';

/** What this kernel line is about, or null when it is none of the kinds preflight looks for. */
export function classifyKernelLine(message: string): KernelEventKind | null {
  const m = message.trim();
  for (const [kind, re] of KERNEL_RULES) if (re.test(m)) return kind;
  return null;
}

/** What an OOM line says about the kill (source: mm/oom_kill.c and mm/memcontrol.c printk formats). */
export interface OomKillInfo {
  pid?: number;
  comm?: string;
  /** anon-rss of the killed process at death */
  anonRssBytes?: number;
  /** total-vm of the killed process */
  totalVmBytes?: number;
  /** the memory cgroup whose limit was hit (oom_memcg=); undefined for a global OOM */
  memcg?: string;
  /** the killed task's memory cgroup (task_memcg=) */
  taskMemcg?: string;
  /** CONSTRAINT_MEMCG (a cgroup limit), CONSTRAINT_NONE (the whole machine), ... */
  constraint?: string;
  /** "Memory cgroup out of memory" or "Out of memory" (the kill line's prefix) */
  reason?: string;
  uid?: number;
}

const SUMMARY =
  /^(?:OOM\[\d+\]: )?oom-kill:constraint=([A-Z_]+),.*?(?:,oom_memcg=(.*?)|,global_oom)?,task_memcg=(.*?),task=(.*),pid=\s*(\d+),uid=\s*(\d+)\s*$/;
// before 4.19's memcg context: "oom-kill:constraint=%s,nodemask=%*pbl,task=%s,pid=%5d,uid=%5d"
const SUMMARY_OLD = /^oom-kill:constraint=([A-Z_]+),.*?,task=(.*),pid=\s*(\d+),uid=\s*(\d+)\s*$/;
const KILLED = /^(?:(.*?): )?Killed process (\d+) \((.*)\) total-vm:(\d+)kB, anon-rss:(\d+)kB/;
const TASK_IN = /^Task in (\S+) killed as a result of limit of (\S+)/;
const KILL_OLD = /^(.*?): Kill process (\d+) \((.*)\) score \d+ or sacrifice child/;

/**
 * Read the kill out of an OOM line: the one-line summary (which names the cgroups) or the "Killed process"
 * line (which names the process and its size); null for any other line. Join the two by pid.
 */
export function parseOomKill(message: string): OomKillInfo | null {
  const m = message.trim();
  let r = SUMMARY.exec(m);
  if (r) {
    const info: OomKillInfo = { constraint: r[1], taskMemcg: r[3], comm: r[4], pid: Number(r[5]), uid: Number(r[6]) };
    if (r[2] !== undefined) info.memcg = r[2];
    return info;
  }
  r = SUMMARY_OLD.exec(m);
  if (r) return { constraint: r[1], comm: r[2], pid: Number(r[3]), uid: Number(r[4]) };
  r = KILLED.exec(m);
  if (r) {
    const info: OomKillInfo = {
      pid: Number(r[2]),
      comm: r[3],
      totalVmBytes: Number(r[4]) * 1024,
      anonRssBytes: Number(r[5]) * 1024,
    };
    if (r[1] !== undefined && r[1] !== '') info.reason = r[1];
    return info;
  }
  r = TASK_IN.exec(m);
  if (r) return { taskMemcg: r[1], memcg: r[2] };
  r = KILL_OLD.exec(m);
  if (r) return { reason: r[1], pid: Number(r[2]), comm: r[3] };
  return null;
}

/** One OOM kill, joined from its summary line and its "Killed process" line. */
export interface OomKill extends OomKillInfo {
  /** The time of the kill line (or of the summary if there was no kill line). */
  at?: string;
  /** The kernel's words: the "Killed process" line, else the summary. */
  line: string;
}

/**
 * Join the OOM lines of a kernel log into kills, in order: each "oom-kill:" summary with the "Killed
 * process" line of the same pid that follows it. Other lines are ignored.
 */
export function collectOomKills(lines: ReadonlyArray<{ message: string; at?: string }>): OomKill[] {
  const kills: OomKill[] = [];
  const openByPid = new Map<number, OomKill>();
  for (const { message, at } of lines) {
    const kind = classifyKernelLine(message);
    if (kind !== 'oom_kill_summary' && kind !== 'oom_killed') continue;
    const info = parseOomKill(message);
    if (!info || info.pid === undefined) continue;
    const open = openByPid.get(info.pid);
    if (kind === 'oom_kill_summary') {
      const k: OomKill = { ...info, line: message.trim() };
      if (at !== undefined) k.at = at;
      kills.push(k);
      openByPid.set(info.pid, k);
    } else if (open) {
      // the kill line adds the process's size; the cgroups came with the summary
      Object.assign(open, info, { line: message.trim() });
      if (at !== undefined) open.at = at;
      openByPid.delete(info.pid);
    } else {
      const k: OomKill = { ...info, line: message.trim() };
      if (at !== undefined) k.at = at;
      kills.push(k);
    }
  }
  return kills;
}

function trimSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.replace(/\/+$/, '') : p;
}

/**
 * Does this kernel cgroup path belong to the unit? True when memcgPath is the unit's ControlGroup, or a
 * cgroup below it (a unit with Delegate=), possibly with a prefix in front: the kernel prints paths from
 * the root of the hierarchy, while systemd in a container (or a cgroup namespace) sees its own root,
 * e.g. kernel `/sdbox-x/system.slice/hog.service` vs ControlGroup `/system.slice/hog.service`. A prefix
 * cannot be told apart from another container's unit of the same name: match the time window too.
 */
export function unitOwnsCgroup(unitControlGroup: string, memcgPath: string): boolean {
  const unit = trimSlash(unitControlGroup.trim());
  const memcg = trimSlash(memcgPath.trim());
  if (!unit.startsWith('/') || !memcg.startsWith('/')) return false;
  if (unit === '/') return memcg === '/';
  for (let i = memcg.indexOf(unit); i >= 0; i = memcg.indexOf(unit, i + 1)) {
    const after = memcg.charAt(i + unit.length);
    // the unit's path must start at a segment boundary (its own leading '/') and end at one
    if (after === '' || after === '/') return true;
  }
  return false;
}

// The values `systemctl show` prints for a unit's limits and links: timespans, sizes, counts and unit
// lists, and the typed settings built from them. Pure. Formats seen from systemd 252 (Debian 12) in
// fixtures/systemd/*/ *.show-*.txt (limits/ has one unit set only to show the formats).

/** 2^64-1: how an unset or infinite u64 comes out when systemd prints it raw (CGROUP_LIMIT_MAX, USEC_INFINITY). */
const U64_MAX = '18446744073709551615';

/**
 * format_timespan()'s units (src/basic/time-util.c), in milliseconds. A year is 365.25 days and a month
 * 30.44 days there (USEC_PER_YEAR, USEC_PER_MONTH), so "1y" is 31557600 s.
 */
const TIMESPAN_UNITS: Readonly<Record<string, number>> = {
  y: 31_557_600_000,
  month: 2_629_800_000,
  w: 604_800_000,
  d: 86_400_000,
  h: 3_600_000,
  min: 60_000,
  s: 1000,
  ms: 1,
  us: 0.001,
};

function unset(t: string): boolean {
  return t === '' || t === '[not set]';
}

/**
 * A timespan as systemctl show prints it (format_timespan with no rounding): "1min 30s", "2h 5min",
 * "1.500000s", "1.500ms", "2w 3d", "0", "infinity". Milliseconds (fractions for microseconds), Infinity for
 * "infinity", undefined for "[not set]", empty or anything else. A bare number is seconds (parse_sec's rule
 * for unit files; systemctl itself prints a bare number only for 0).
 */
export function parseTimespan(text: string | undefined): number | undefined {
  const t = text?.trim() ?? '';
  if (unset(t)) return undefined;
  if (t === 'infinity' || t === U64_MAX) return Infinity;
  if (/^\d+(?:\.\d+)?$/.test(t)) return Number(t) * 1000;
  let ms = 0;
  for (const part of t.split(/\s+/)) {
    const m = /^(\d+(?:\.\d+)?)([a-z]+)$/.exec(part);
    const unit = m ? TIMESPAN_UNITS[m[2] ?? ''] : undefined;
    if (!m || unit === undefined) return undefined;
    ms += Number(m[1]) * unit;
  }
  // 1.500000s is 1500 exactly, but 1.5 * 1000 in binary floating point need not be
  return Math.round(ms * 1000) / 1000;
}

/**
 * A duration for a sentence a person reads: "500ms", "2s", "1.5s", "90s", "45min", "2h 5min".
 * Seconds up to an hour (the causes say "within its start timeout (90s)"), then hours and minutes.
 */
export function formatTimespan(ms: number): string {
  if (!Number.isFinite(ms)) return 'infinity';
  if (ms < 0) return `-${formatTimespan(-ms)}`;
  if (ms < 1000) return `${trimNumber(ms)}ms`;
  if (ms < 3_600_000) return `${trimNumber(ms / 1000)}s`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [suffix, seconds] of [['d', 86_400], ['h', 3600], ['min', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / seconds);
    if (n > 0) parts.push(`${n}${suffix}`);
    rest -= n * seconds;
  }
  return parts.join(' ');
}

function trimNumber(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}

/** "limits-db.service system.slice sysinit.target" (Requires=, BindsTo=, After=, Names=, ...) → its names. */
export function parseUnitList(text: string | undefined): string[] {
  const t = text?.trim() ?? '';
  return unset(t) ? [] : [...new Set(t.split(/\s+/))];
}

/** parse_size()'s suffixes with base 1024 (src/basic/parse-util.c): what a unit file may say. */
const SIZE_SUFFIXES: Readonly<Record<string, number>> = { B: 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50, E: 2 ** 60 };

/**
 * A memory limit: systemctl show prints bytes ("MemoryMax=209715200" for MemoryMax=200M) or "infinity"
 * (the default). Bytes, Infinity for "infinity" (or 2^64-1), undefined for "[not set]" and the rest. The
 * unit-file form ("200M", "1.5G") is read too, for a limit a person typed; a percentage is not (it is
 * relative to the host's memory, and systemctl prints the bytes it stands for).
 */
export function parseBytesLimit(text: string | undefined): number | undefined {
  const t = text?.trim() ?? '';
  if (unset(t)) return undefined;
  if (t === 'infinity' || t === U64_MAX) return Infinity;
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  const m = /^(\d+(?:\.\d+)?)([BKMGTPE])$/.exec(t);
  const factor = m ? SIZE_SUFFIXES[m[2] ?? ''] : undefined;
  if (!m || factor === undefined) return undefined;
  const n = Math.floor(Number(m[1]) * factor);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * A count limit: TasksMax=16, LimitNOFILE=64, StartLimitBurst=5; "infinity" (or 2^64-1) is Infinity;
 * "[not set]" and anything that is not a whole number are undefined.
 */
export function parseCountLimit(text: string | undefined): number | undefined {
  const t = text?.trim() ?? '';
  if (t === 'infinity' || t === U64_MAX) return Infinity;
  if (!/^\d+$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Bytes the way a unit file says them, for a cause line ("MemoryMax=200M"): the largest 1024-based unit
 * that gives a whole number, else one decimal ("1.5G"); below 1 KiB plain bytes ("512B").
 */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'infinity';
  if (bytes < 1024) return `${Math.round(bytes)}B`;
  const units = ['K', 'M', 'G', 'T', 'P', 'E'];
  let i = 0;
  let v = bytes / 1024;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)}${units[i]}`;
}

/** A unit's limits, timeouts and links, typed (source: every property of `systemctl show UNIT`). */
export interface UnitSettings {
  memoryMaxBytes?: number;
  memoryHighBytes?: number;
  memoryCurrentBytes?: number;
  tasksMax?: number;
  tasksCurrent?: number;
  limitNofile?: number;
  limitNofileSoft?: number;
  timeoutStartMs?: number;
  timeoutStopMs?: number;
  runtimeMaxMs?: number;
  restartMs?: number;
  /**
   * WatchdogUSec= is the watchdog of the current or last run, not the unit file's WatchdogSec=: systemd 252
   * prints "infinity" for a unit never started (and after a clean stop) and "0" for a run without one. Read
   * the limit from the "Watchdog timeout (limit 1s)!" line when the watchdog fired.
   */
  watchdogMs?: number;
  startLimitBurst?: number;
  startLimitIntervalMs?: number;
  /** Id= first, then its aliases (Names=), e.g. ["alias-real.service", "alias-name.service"] */
  names: string[];
  requires: string[];
  requisite: string[];
  bindsTo: string[];
  partOf: string[];
  wants: string[];
  after: string[];
  /** Job= is printed only while a job runs (the number, not its type: `systemctl list-jobs` has that) */
  jobId?: number;
}

/** The typed settings of one unit's `systemctl show` properties; absent and unreadable values are left out. */
export function unitSettings(p: Readonly<Record<string, string>>): UnitSettings {
  const s: UnitSettings = {
    names: parseUnitList(p.Names),
    requires: parseUnitList(p.Requires),
    requisite: parseUnitList(p.Requisite),
    bindsTo: parseUnitList(p.BindsTo),
    partOf: parseUnitList(p.PartOf),
    wants: parseUnitList(p.Wants),
    after: parseUnitList(p.After),
  };
  const set = <K extends keyof UnitSettings>(k: K, v: UnitSettings[K] | undefined): void => {
    if (v !== undefined) s[k] = v;
  };
  set('memoryMaxBytes', parseBytesLimit(p.MemoryMax));
  set('memoryHighBytes', parseBytesLimit(p.MemoryHigh));
  // a current value of 2^64-1 means "not known", not infinite
  set('memoryCurrentBytes', p.MemoryCurrent === U64_MAX ? undefined : parseBytesLimit(p.MemoryCurrent));
  set('tasksMax', parseCountLimit(p.TasksMax));
  set('tasksCurrent', p.TasksCurrent === U64_MAX ? undefined : parseCountLimit(p.TasksCurrent));
  set('limitNofile', parseCountLimit(p.LimitNOFILE));
  set('limitNofileSoft', parseCountLimit(p.LimitNOFILESoft));
  set('timeoutStartMs', parseTimespan(p.TimeoutStartUSec));
  set('timeoutStopMs', parseTimespan(p.TimeoutStopUSec));
  set('runtimeMaxMs', parseTimespan(p.RuntimeMaxUSec));
  set('restartMs', parseTimespan(p.RestartUSec));
  set('watchdogMs', parseTimespan(p.WatchdogUSec));
  set('startLimitBurst', parseCountLimit(p.StartLimitBurst));
  set('startLimitIntervalMs', parseTimespan(p.StartLimitIntervalUSec));
  const job = parseCountLimit(p.Job);
  if (job !== undefined && Number.isFinite(job)) s.jobId = job;
  return s;
}

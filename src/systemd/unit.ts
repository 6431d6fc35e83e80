// Unit state from `systemctl show`: the parse is pure, the read is one systemctl call for all units.
import { describeCommand, runLinesChecked } from '../util/exec';
import { unavailableFrom, type Unavailable } from './unavailable';

/** The properties preflight asks for, in one `systemctl show -p` call. */
export const UNIT_PROPERTIES = [
  'Id',
  'ActiveState',
  'SubState',
  'Result',
  'NRestarts',
  'ExecMainStatus',
  'ExecMainCode',
  'ExecMainPID',
  'MainPID',
  'InvocationID',
  'MemoryCurrent',
  'TasksCurrent',
  'ActiveEnterTimestamp',
  'InactiveEnterTimestamp',
  'ControlGroup',
  'LoadState',
  'FragmentPath',
  // the diagnosis (typed by unitSettings in timespan.ts): what the unit is called (aliases), what it
  // depends on, its limits and timeouts, and what it runs as (a 217/USER or 200/CHDIR line names neither)
  'Names',
  'Requires',
  'Requisite',
  'BindsTo',
  'PartOf',
  'MemoryMax',
  'MemoryHigh',
  'TasksMax',
  'LimitNOFILE',
  'LimitNOFILESoft',
  'TimeoutStartUSec',
  'TimeoutStopUSec',
  'WatchdogUSec',
  'StartLimitBurst',
  'StartLimitIntervalUSec',
  'Type',
  'User',
  'WorkingDirectory',
  'Job',
] as const;

/**
 * One unit's block of `systemctl show` output (source: `systemctl show -p ... UNIT`). Absent, empty,
 * `[not set]` and 2^64-1 ("infinity"/unset) values are undefined; `properties` keeps every raw value.
 */
export interface UnitState {
  /** `Id=`, the unit's real name (an alias asked for resolves to it); '' if the block has no Id. */
  id: string;
  /** loaded, not-found, masked, error, ... */
  loadState?: string;
  /** active, activating, deactivating, inactive, failed, reloading */
  activeState?: string;
  /** running, auto-restart, dead, failed, exited, ... */
  subState?: string;
  /** success, exit-code, signal, core-dump, timeout, oom-kill (cgroup v2 only), ... */
  result?: string;
  nRestarts?: number;
  /** exit status, or the signal number when execMainCode is 2 (killed) or 3 (dumped) */
  execMainStatus?: number;
  /** siginfo si_code: 1 exited, 2 killed, 3 dumped; 0 while running or never run */
  execMainCode?: number;
  /** the last main process (kept after it died); undefined when there never was one */
  execMainPid?: number;
  /** the running main process; undefined when none (MainPID=0) */
  mainPid?: number;
  /** 32 hex digits; a new one for every start */
  invocationId?: string;
  memoryCurrentBytes?: number;
  tasksCurrent?: number;
  /** ISO UTC; only when systemctl printed the time in UTC (run it with TZ=UTC) */
  activeEnterAt?: string;
  inactiveEnterAt?: string;
  /** e.g. /system.slice/nginx.service */
  controlGroup?: string;
  properties: Record<string, string>;
}

/** 2^64-1: how systemctl prints an unset or infinite u64 (CGROUP_LIMIT_MAX, USEC_INFINITY). */
const U64_MAX = '18446744073709551615';

function text(v: string | undefined): string | undefined {
  return v === undefined || v === '' || v === '[not set]' ? undefined : v;
}

function int(v: string | undefined): number | undefined {
  const t = text(v);
  if (t === undefined || t === U64_MAX || !/^-?\d+$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * systemctl prints timestamps with format_timestamp(): "Wed 2026-11-25 03:04:05 UTC", in the local zone
 * of the process. Only UTC (or a unix "@seconds") can be turned into an absolute time without a zone
 * database, so the reader runs systemctl with TZ=UTC; any other zone gives undefined (raw value kept).
 */
export function parseSystemdTimestamp(v: string | undefined): string | undefined {
  const t = text(v);
  if (t === undefined) return undefined;
  const unix = /^@(\d+)(?:\.(\d{1,6}))?$/.exec(t);
  if (unix) {
    const ms = Number(unix[1]) * 1000 + Number((unix[2] ?? '').padEnd(3, '0').slice(0, 3));
    return new Date(ms).toISOString();
  }
  const m = /^(?:[A-Za-z]{3} )?(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))? (?:UTC|GMT|Z)$/.exec(t);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number((frac ?? '').padEnd(3, '0').slice(0, 3)));
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** A pid of 0 means "no process" (MainPID=0 after the main process died). */
function pid(v: string | undefined): number | undefined {
  const n = int(v);
  return n === undefined || n <= 0 ? undefined : n;
}

/** A unit's typed state from its raw `systemctl show` properties (as a snapshot keeps them). */
export function unitFrom(properties: Record<string, string>): UnitState {
  const p = properties;
  const u: UnitState = { id: p.Id ?? '', properties };
  const set = <K extends keyof UnitState>(k: K, v: UnitState[K] | undefined): void => {
    if (v !== undefined) u[k] = v;
  };
  set('loadState', text(p.LoadState));
  set('activeState', text(p.ActiveState));
  set('subState', text(p.SubState));
  set('result', text(p.Result));
  set('nRestarts', int(p.NRestarts));
  set('execMainStatus', int(p.ExecMainStatus));
  set('execMainCode', int(p.ExecMainCode));
  set('execMainPid', pid(p.ExecMainPID));
  set('mainPid', pid(p.MainPID));
  set('invocationId', text(p.InvocationID));
  set('memoryCurrentBytes', int(p.MemoryCurrent));
  set('tasksCurrent', int(p.TasksCurrent));
  set('activeEnterAt', parseSystemdTimestamp(p.ActiveEnterTimestamp));
  set('inactiveEnterAt', parseSystemdTimestamp(p.InactiveEnterTimestamp));
  set('controlGroup', text(p.ControlGroup));
  return u;
}

/**
 * `systemctl show` output parsed as it arrives: one `Key=Value` per line, one block per unit separated
 * by a blank line, in the order the units were asked for. Lines without '=' are ignored (systemctl
 * prints none). Stops ("enough") once `maxUnits` blocks are complete.
 */
export class SystemctlShowParser {
  readonly units: UnitState[] = [];
  private props: Record<string, string> | undefined;

  constructor(private readonly maxUnits = Infinity) {}

  /** False once maxUnits blocks are complete. */
  push(line: string): boolean {
    if (line.trim() === '') {
      if (this.props) this.units.push(unitFrom(this.props));
      this.props = undefined;
      return this.units.length < this.maxUnits;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) return true;
    this.props ??= {};
    this.props[line.slice(0, eq)] = line.slice(eq + 1);
    return true;
  }

  /** The units, the last block included (a complete output has no blank line after it). */
  finish(): UnitState[] {
    if (this.props) this.units.push(unitFrom(this.props));
    this.props = undefined;
    return this.units;
  }
}

/** Parse a whole `systemctl show` output (see SystemctlShowParser). */
export function parseSystemctlShow(output: string): UnitState[] {
  const p = new SystemctlShowParser();
  for (const line of output.split('\n')) p.push(line);
  return p.finish();
}

export interface ShowUnitsOptions {
  timeoutMs: number;
  /** Cap on systemctl's output (default 1 MiB; a unit's block is under 1 KiB). */
  maxBytes?: number;
  /** systemctl binary (default: `systemctl` from PATH). */
  systemctl?: string;
}

export type UnitsRead =
  | { ok: true; units: UnitState[]; command: string; durationMs: number; truncated: boolean }
  | Unavailable;

/** The argv of the one `systemctl show` call for these units (exported so tests can run the same call). */
export function systemctlShowArgs(units: readonly string[]): string[] {
  // `--` so a unit name from a config file can never be read as an option
  return ['show', '-p', UNIT_PROPERTIES.join(','), '--no-pager', '--', ...units];
}

/**
 * Read the state of several units with ONE `systemctl show`. Never throws: a missing systemctl, a host
 * without systemd, a timeout come back as `{ ok: false, kind, reason }` (a capture records it and goes on).
 * Units come back in the order asked; a unit that does not exist has loadState 'not-found'.
 */
export async function showUnits(units: readonly string[], opts: ShowUnitsOptions): Promise<UnitsRead> {
  const file = opts.systemctl ?? 'systemctl';
  const args = systemctlShowArgs(units);
  const command = describeCommand(file, args);
  // without unit names systemctl shows the manager's own properties: nothing to ask
  if (units.length === 0) return { ok: true, units: [], command, durationMs: 0, truncated: false };
  try {
    const parser = new SystemctlShowParser(units.length);
    const r = await runLinesChecked(file, args, {
      timeoutMs: opts.timeoutMs,
      maxBytes: opts.maxBytes ?? 1 << 20,
      // timestamps in UTC and untranslated, so parseSystemdTimestamp can read them exactly
      env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' },
      onLine: (line) => parser.push(line),
    });
    // a capped output's cut last line never arrives here, so no cut value is parsed
    const parsed = parser.finish();
    parsed.forEach((u, i) => {
      if (u.id === '' && units[i] !== undefined) u.id = units[i];
    });
    return { ok: true, units: parsed, command, durationMs: r.durationMs, truncated: r.truncated };
  } catch (err) {
    return unavailableFrom(err, command, 'systemctl');
  }
}

// `maintenance:` in preflight.yaml: windows during which failures are still captured but not
// notified (daemon/mute.ts holds the messages; the file is the product, the page is not). A window is
// weekly (days + HH:MM-HH:MM, in UTC or the host's local time, stated, never assumed) or one-off
// (from/to, ISO 8601 with its offset), for a list of services or for all.
//
// Decisions:
// - `timezone:` is required on a weekly window: "02:00" on a box whose TZ nobody remembers is how a
//   maintenance page goes out an hour early. Only UTC and local: an IANA zone would need tzdata, which
//   Node may be built without, and a silently wrong zone is worse than a refused one.
// - A one-off time must carry its offset (Z or +01:00) for the same reason.
// - HH:MM-HH:MM with the end before the start runs past midnight into the next day (22:00-02:00 on
//   sun is Sunday 22:00 to Monday 02:00); 24:00 is accepted as an end. Equal start and end is refused:
//   a zero-length window and a 24-hour one are both plausible readings.
// - `services:` is required too (all, or a list of names from services:), so a window added for one
//   service never silences the others by omission.
import { quote } from '../util/errors';
import type { Reader } from './reader';
import type { YamlEntry, YamlMap, YamlNode } from './yaml';

export const MAINTENANCE_KEYS = ['services', 'days', 'time', 'timezone', 'from', 'to', 'reason'];
export const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const FULL_DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const DAY_MS = 86_400_000;
const WEEKLY_EXAMPLE = 'e.g. days: [sun], time: 02:00-04:00, timezone: UTC';
const ONE_OFF_EXAMPLE = 'e.g. from: 2026-12-24T22:00:00Z and to: 2026-12-25T02:00:00Z';

interface Common {
  /** null: every service */
  services: string[] | null;
  reason: string | null;
  /** where the window is written, for messages ("maintenance window of line 12") */
  line: number;
}

export interface WeeklyWindow extends Common {
  kind: 'weekly';
  /** 0 = Sunday, as Date.getDay() */
  days: number[];
  /** minutes after midnight; end <= 1440, end < start runs into the next day */
  start: number;
  end: number;
  timezone: 'UTC' | 'local';
}

export interface OneOffWindow extends Common {
  kind: 'once';
  from: number;
  to: number;
}

export type MaintenanceWindow = WeeklyWindow | OneOffWindow;

const isMap = (n: YamlNode): n is YamlMap => n.kind === 'map';

function scalarText(r: Reader, node: YamlNode, path: string, what: string, hint: string): string {
  return r.text({ key: path, keyPos: node, value: node }, path, what, hint);
}

/** `mon`, `monday` (any case) → 1. */
function dayNumber(s: string): number {
  const w = s.toLowerCase();
  const i = DAYS.indexOf(w as (typeof DAYS)[number]);
  return i >= 0 ? i : FULL_DAYS.indexOf(w);
}

function parseDays(r: Reader, entry: YamlEntry, path: string): number[] {
  const hint = 'write days as a list of sun mon tue wed thu fri sat, a range like mon-fri, or daily';
  const items = entry.value.kind === 'list' ? entry.value.items : [entry.value];
  if (items.length === 0) r.fail(entry.value, `${path}: the list is empty`, hint);
  const days = new Set<number>();
  items.forEach((item, i) => {
    const at = entry.value.kind === 'list' ? `${path}[${i}]` : path;
    const s = scalarText(r, item, at, 'a day', hint);
    if (s.toLowerCase() === 'daily') {
      for (let d = 0; d < 7; d++) days.add(d);
      return;
    }
    const m = /^([A-Za-z]+)(?:-([A-Za-z]+))?$/.exec(s);
    const a = m ? dayNumber(m[1] ?? '') : -1;
    const b = m?.[2] !== undefined ? dayNumber(m[2]) : a;
    if (a < 0 || b < 0) r.fail(item, `${at}: ${quote(s)} is not a day`, hint);
    // mon-fri, and fri-mon across the weekend
    for (let d = a; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === b) break;
    }
  });
  return [...days].sort();
}

/** "HH:MM" → minutes, or null. 24:00 only as an end. */
function clock(s: string, end: boolean): number | null {
  const m = /^([0-9]{1,2}):([0-9]{2})$/.exec(s);
  if (!m) return null;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59 || h > 24 || (h === 24 && (min !== 0 || !end))) return null;
  return h * 60 + min;
}

function parseTime(r: Reader, entry: YamlEntry, path: string): { start: number; end: number } {
  const hint = 'write HH:MM-HH:MM in 24-hour time, e.g. time: 02:00-04:00 (22:00-02:00 runs past midnight)';
  const s = r.text(entry, path, 'a time range', hint);
  const parts = s.split('-').map((p) => p.trim());
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') r.fail(entry.value, `${path}: expected HH:MM-HH:MM, got ${quote(s)}`, hint);
  const start = clock(parts[0] ?? '', false);
  const end = clock(parts[1] ?? '', true);
  if (start === null) r.fail(entry.value, `${path}: ${quote(parts[0] ?? '')} is not a time of day`, hint);
  if (end === null) r.fail(entry.value, `${path}: ${quote(parts[1] ?? '')} is not a time of day`, hint);
  if (start === end) r.fail(entry.value, `${path}: the window starts and ends at the same time`, 'for a whole day write 00:00-24:00');
  return { start, end };
}

/** An ISO 8601 time with its offset → epoch ms. */
function parseInstant(r: Reader, entry: YamlEntry, path: string): number {
  const hint = `write a date and time with its offset, ${ONE_OFF_EXAMPLE}`;
  const s = r.text(entry, path, 'a date and time', hint);
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$/i.exec(s);
  if (!m) r.fail(entry.value, `${path}: expected a date and time like 2026-12-24T22:00:00Z, got ${quote(s)}`, hint);
  if (!m[7]) r.fail(entry.value, `${path}: ${quote(s)} has no time zone offset`, `add Z for UTC or the offset, e.g. ${s}Z or ${s}+01:00`);
  const t = Date.parse(s.replace(' ', 'T'));
  // Date.parse rolls 2026-02-30 over to March: a date that is not on the calendar is refused instead
  const [y, mo, d, h, mi] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  const probe = new Date(Date.UTC(y, mo - 1, d, h, mi));
  if (!Number.isFinite(t) || probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== d || h > 23 || mi > 59) {
    r.fail(entry.value, `${path}: ${quote(s)} is not a date and time on the calendar`, hint);
  }
  return t;
}

function parseServiceList(r: Reader, entry: YamlEntry, path: string, known: readonly string[]): string[] | null {
  const hint = `write services: all, or a list of names from services:, e.g. services: [${known[0] ?? 'web'}]`;
  const v = entry.value;
  if (v.kind === 'scalar' && v.value === 'all' && !v.quoted) return null;
  const items = v.kind === 'list' ? v.items : [v];
  if (items.length === 0) r.fail(v, `${path}: the list is empty`, hint);
  const names: string[] = [];
  items.forEach((item, i) => {
    const at = v.kind === 'list' ? `${path}[${i}]` : path;
    const name = scalarText(r, item, at, 'a service name', hint);
    if (!known.includes(name)) r.fail(item, `${at}: no service is named ${quote(name)}`, `services: names ${known.join(', ')}; or write all`);
    if (!names.includes(name)) names.push(name);
  });
  return names;
}

function parseWindow(r: Reader, map: YamlMap, path: string, known: readonly string[]): MaintenanceWindow {
  r.checkKeys(map, path, MAINTENANCE_KEYS);
  const e = (k: string): YamlEntry | undefined => map.entries.get(k);
  const servicesEntry = e('services');
  if (!servicesEntry) r.fail(map, `${path}: missing services`, 'add services: all, or a list of the services this window is for');
  const services = parseServiceList(r, servicesEntry, `${path}.services`, known);
  const reasonEntry = e('reason');
  const reason = reasonEntry ? r.text(reasonEntry, `${path}.reason`, 'a reason', 'e.g. reason: weekly backup') : null;
  const weeklyKeys = ['days', 'time', 'timezone'].flatMap((k) => (e(k) ? [e(k) as YamlEntry] : []));
  const onceKeys = ['from', 'to'].flatMap((k) => (e(k) ? [e(k) as YamlEntry] : []));
  const common = { services, reason, line: map.line };
  if (weeklyKeys.length > 0 && onceKeys.length > 0) {
    const late = [...weeklyKeys, ...onceKeys].sort((a, b) => a.keyPos.line - b.keyPos.line || a.keyPos.column - b.keyPos.column).at(-1) as YamlEntry;
    r.fail(late.keyPos, `${path}: a window is weekly (days, time, timezone) or one-off (from, to), not both`, 'split it into two entries of maintenance:');
  }
  if (onceKeys.length > 0) {
    const fromEntry = e('from');
    const toEntry = e('to');
    if (!fromEntry) r.fail(map, `${path}: to: without from:`, `add from:, ${ONE_OFF_EXAMPLE}`);
    if (!toEntry) r.fail(map, `${path}: from: without to:`, `add to:, ${ONE_OFF_EXAMPLE}`);
    const from = parseInstant(r, fromEntry, `${path}.from`);
    const to = parseInstant(r, toEntry, `${path}.to`);
    if (to <= from) r.fail(toEntry.value, `${path}.to: the window ends before it starts (from: is on line ${fromEntry.keyPos.line})`, 'write the end after the start');
    return { kind: 'once', from, to, ...common };
  }
  if (weeklyKeys.length === 0) r.fail(map, `${path}: no days/time or from/to`, `a weekly window: ${WEEKLY_EXAMPLE}; a one-off one: ${ONE_OFF_EXAMPLE}`);
  const daysEntry = e('days');
  const timeEntry = e('time');
  const tzEntry = e('timezone');
  if (!daysEntry) r.fail(map, `${path}: missing days`, 'add days: [sun], [mon-fri] or daily');
  if (!timeEntry) r.fail(map, `${path}: missing time`, 'add time: HH:MM-HH:MM, e.g. time: 02:00-04:00');
  if (!tzEntry) r.fail(map, `${path}: missing timezone`, "add timezone: UTC, or local for the host's time zone: the window's times are read in it");
  const days = parseDays(r, daysEntry, `${path}.days`);
  const { start, end } = parseTime(r, timeEntry, `${path}.time`);
  const tz = r.text(tzEntry, `${path}.timezone`, 'UTC or local', 'write timezone: UTC or timezone: local');
  const timezone = tz.toUpperCase() === 'UTC' ? 'UTC' : tz.toLowerCase() === 'local' ? 'local' : null;
  if (!timezone) r.fail(tzEntry.value, `${path}.timezone: expected UTC or local, got ${quote(tz)}`, "named zones are not supported: write UTC, or local (the host's zone) and set the host's TZ");
  return { kind: 'weekly', days, start, end, timezone, ...common };
}

/** `maintenance:` — a list of windows; `known` are the configured service names. */
export function parseMaintenance(r: Reader, entry: YamlEntry, known: readonly string[]): MaintenanceWindow[] {
  const v = entry.value;
  const hint = `a list of windows: '- services: all' with days/time/timezone (${WEEKLY_EXAMPLE}) or from/to indented under it`;
  if (v.kind !== 'list') r.fail(v, 'maintenance: expected a list of windows', hint);
  return v.items.map((item, i) => {
    if (!isMap(item)) r.fail(item, `maintenance[${i}]: expected a map with services: and days/time/timezone or from/to`, hint);
    return parseWindow(r, item, `maintenance[${i}]`, known);
  });
}

const hhmm = (m: number): string => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

/** "sun 02:00-04:00 UTC", "2026-12-24T22:00:00.000Z to 2026-12-25T02:00:00.000Z": for logs and reasons. */
export function describeWindow(w: MaintenanceWindow): string {
  if (w.kind === 'once') return `${new Date(w.from).toISOString()} to ${new Date(w.to).toISOString()}`;
  const days = w.days.length === 7 ? 'daily' : w.days.map((d) => DAYS[d]).join(',');
  return `${days} ${hhmm(w.start)}-${hhmm(w.end)} ${w.timezone}`;
}

/** The window's lines for the effective config (formatConfig), read back by parseMaintenance. */
export function formatMaintenance(windows: readonly MaintenanceWindow[] | undefined, s: (v: string) => string): string[] {
  if (!windows || windows.length === 0) return [];
  const out = ['maintenance:'];
  for (const w of windows) {
    out.push(`  - services: ${w.services ? `[${w.services.map(s).join(', ')}]` : 'all'}`);
    if (w.kind === 'once') out.push(`    from: ${new Date(w.from).toISOString()}`, `    to: ${new Date(w.to).toISOString()}`);
    else out.push(`    days: [${w.days.map((d) => DAYS[d]).join(', ')}]`, `    time: ${hhmm(w.start)}-${hhmm(w.end)}`, `    timezone: ${w.timezone}`);
    if (w.reason !== null) out.push(`    reason: ${s(w.reason)}`);
  }
  return out;
}

/** Midnight starting the day `t` falls in, and that day's weekday, in the window's zone. */
function dayOf(t: number, tz: 'UTC' | 'local'): { midnight: (offsetDays: number, minutes: number) => number; weekday: number; minute: number } {
  const d = new Date(t);
  if (tz === 'UTC') {
    const midnight = t - (t % DAY_MS);
    return { midnight: (o, m) => midnight + o * DAY_MS + m * 60_000, weekday: d.getUTCDay(), minute: (t - midnight) / 60_000 };
  }
  // local days are 23 or 25 hours long across DST: each instant is built from the calendar, not added
  const [y, mo, day] = [d.getFullYear(), d.getMonth(), d.getDate()];
  const minute = d.getHours() * 60 + d.getMinutes() + (d.getSeconds() * 1000 + d.getMilliseconds()) / 60_000;
  return { midnight: (o, m) => new Date(y, mo, day + o, 0, m).getTime(), weekday: d.getDay(), minute };
}

/** When the window that `t` falls in ends (epoch ms), or null when `t` is outside it. */
export function windowEnd(w: MaintenanceWindow, t: number): number | null {
  if (w.kind === 'once') return t >= w.from && t < w.to ? w.to : null;
  const { midnight, weekday, minute } = dayOf(t, w.timezone);
  const on = (d: number): boolean => w.days.includes(((d % 7) + 7) % 7);
  if (w.start < w.end) return on(weekday) && minute >= w.start && minute < w.end ? midnight(0, w.end) : null;
  // past midnight: today's occurrence ends tomorrow, yesterday's ends today
  if (on(weekday) && minute >= w.start) return midnight(1, w.end);
  if (on(weekday - 1) && minute < w.end) return midnight(0, w.end);
  return null;
}


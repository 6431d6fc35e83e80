// What every rule reads, computed once from the input: the unit's typed state, which journal lines are
// the service's own and which run they belong to, and the time windows that decide what is near the
// failure and what belongs to an earlier incident.
import type { SnapshotExit, SnapshotJournalLine } from '../incident/snapshot';
import { parseJobLine, type JobLine } from '../systemd/records';
import { unitSettings, type UnitSettings } from '../systemd/timespan';
import { unitFrom, type UnitState } from '../systemd/unit';
import type { Scope } from './evidence';
import type { DiagnosisInput } from './input';

/** Evidence this long before the first failure (at least) is still "near" it: a dead run's last seconds. */
export const NEAR_MIN_MS = 10_000;
/** Clock slack between journald's timestamps and ours. */
const SLACK_MS = 1000;

export type TimeClass = 'near' | 'earlier' | 'stale';

/** A line the service itself printed (not systemd's about it), with whose run it is. */
export interface OwnLine {
  line: SnapshotJournalLine;
  /** `invocation` when the line is this (or the dead) run's, `unit` for another run of the unit */
  scope: Scope;
  index: number;
}

export interface Ctx {
  input: DiagnosisInput;
  unit: UnitState | null;
  /** its limits, timeouts and links, typed */
  settings: UnitSettings | null;
  /** the unit's Id, else 'the unit' (for words) */
  unitName: string;
  /** epoch ms of the first failure */
  ff: number;
  /** [from, to] epoch ms: evidence in here is near the failure */
  near: { from: number; to: number };
  /** evidence at or before this (epoch ms) belongs to the previous incident */
  staleUntil: number | null;
  /** this run: the dead invocation of a restart, else the unit's current one */
  invocation: string | null;
  own: OwnLine[];
  /** systemd's lines about the unit, time order */
  manager: SnapshotJournalLine[];
  exit: SnapshotExit | null;
}

/** systemd's own line: marked at capture (UNIT= present); in older captures, PID 1 or a "<unit>: " prefix. */
export function isManagerLine(l: SnapshotJournalLine, unitId: string): boolean {
  if (l.systemd === true) return true;
  if (l.invocation !== undefined) return false;
  return l.pid === 1 || (unitId !== '' && l.message.startsWith(`${unitId}: `));
}

export function contextOf(input: DiagnosisInput): Ctx {
  const unit = input.unit === null ? null : unitFrom(input.unit);
  const unitId = unit?.id ?? '';
  const ff = Date.parse(input.firstFailureAt);
  const confirmed = input.confirmedAt === null ? ff : Date.parse(input.confirmedAt);
  const span = Math.max(input.intervalSeconds * 1000, NEAR_MIN_MS) + SLACK_MS;
  const recovered = input.previous?.recoveredAt ? Date.parse(input.previous.recoveredAt) : Number.NaN;
  // this run: the dead one of a restart; else the running one; else (the unit is down) the last that logged
  const running = unit?.activeState === 'active' || unit?.activeState === 'reloading';
  const lastOwn = [...input.journal].reverse().find((l) => !isManagerLine(l, unitId) && l.invocation !== undefined)?.invocation;
  const invocation = input.deadInvocation ?? (running ? unit?.invocationId : (lastOwn ?? unit?.invocationId)) ?? null;
  const own: OwnLine[] = [];
  const manager: SnapshotJournalLine[] = [];
  input.journal.forEach((line, index) => {
    if (isManagerLine(line, unitId)) {
      manager.push(line);
      return;
    }
    const scope: Scope = invocation !== null && line.invocation === invocation ? 'invocation' : invocation === null && line.invocation === undefined ? 'invocation' : 'unit';
    own.push({ line, scope, index });
  });
  return {
    input,
    unit,
    settings: unit === null ? null : unitSettings(unit.properties),
    unitName: unitId || 'the unit',
    ff,
    // the capture ends after the confirmation: lines up to then are part of the failure
    near: { from: ff - span, to: Math.max(confirmed, ff) + 60_000 },
    staleUntil: Number.isNaN(recovered) ? null : recovered,
    invocation,
    own,
    manager,
    exit: input.exit,
  };
}

/** One of systemd's job lines in a snapshot's journal, as records.ts reads it; null for any other line. */
export function jobOf(l: SnapshotJournalLine): JobLine | null {
  return parseJobLine({ message: l.message, ...(l.job ? { jobType: l.job.type } : {}), ...(l.job?.result !== undefined ? { jobResult: l.job.result } : {}) });
}

/** Where a time sits: near the failure, earlier in the window, or in the previous incident. */
export function timeClass(ctx: Ctx, at: string | null): TimeClass {
  if (at === null) return 'near';
  const t = Date.parse(at);
  if (Number.isNaN(t)) return 'earlier';
  if (ctx.staleUntil !== null && t <= ctx.staleUntil) return 'stale';
  return t >= ctx.near.from && t <= ctx.near.to ? 'near' : 'earlier';
}

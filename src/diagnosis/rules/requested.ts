// Requested stops and restarts are not failures: systemd logs why a unit went down. A job line
// ("Stopping x...", JOB_TYPE=stop) begun by someone's `systemctl stop` explains a refused health check
// as "stopped on request at 03:21:23", never as an earlier crash. A requested restart that comes back
// opens no incident at all (the daemon waits for it); one that does not come back within its start
// timeout is an incident whose first finding says so.
import type { SnapshotJournalLine } from '../../incident/snapshot';
import { parseRestartScheduled } from '../../systemd/exit';
import { formatDuration } from '../../util/units';
import { hhmmss, timeClass, type Ctx } from '../context';
import type { Evidence } from '../evidence';
import { journalQuote, propsQuote } from './quote';

/** What a requested stop or restart explains: the unit down, the check refused, the process's end. */
const REQUESTED_EXPLAINS = ['not_running', 'connection_refused', 'reset', 'http_status', 'timeout', 'exit_status', 'signal', 'hung'];

/**
 * systemd 252's job lines (src/core/job.c, fixtures/systemd/requested-*): a job begins with "Starting
 * %s..." or "Stopping %s..." and ends with its done message and JOB_RESULT=. A restart's stop phase
 * begins as JOB_TYPE=stop, like a plain stop; only its end ("Stopped %s.", JOB_TYPE=restart) tells the
 * two apart. An automatic restart (Restart=) begins no stop (the unit is already dead) and follows
 * "Scheduled restart job".
 */
function job(l: SnapshotJournalLine): { type: string; phase: 'begin' | 'end'; result?: string } | null {
  const type = l.job?.type;
  if (type === undefined) return null;
  if (l.job?.result !== undefined) return { type, phase: 'end', result: l.job.result };
  return /^(Starting|Stopping|Reloading) /.test(l.message.trim()) ? { type, phase: 'begin' } : null;
}

/** A start or stop that systemd itself queued after the unit died (Restart=): not anyone's request. */
function automatic(manager: readonly SnapshotJournalLine[], at: number): boolean {
  return manager.some((l) => parseRestartScheduled(l.message) !== null && Math.abs(Date.parse(l.at) - at) < 2000);
}

/** The start timeout in words, from TimeoutStartUSec as systemctl prints it ("1min 30s", "90s"). */
function startTimeout(ctx: Ctx): string | null {
  const raw = ctx.unit?.properties.TimeoutStartUSec;
  if (!raw || raw === 'infinity' || raw === '[not set]') return null;
  const ms = parseShortTimespan(raw);
  return ms === undefined ? raw : formatDuration(ms / 1000);
}

/** "1min 30s", "90s", "500ms", "2h 5min" (systemd's format_timespan) -> ms; undefined for anything else. */
export function parseShortTimespan(text: string): number | undefined {
  const units: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
  let total = 0;
  const parts = text.trim().split(/\s+/);
  if (parts.length === 0 || parts[0] === '') return undefined;
  for (const p of parts) {
    const m = /^(\d+(?:\.\d+)?)(us|ms|s|min|h|d|w)$/.exec(p);
    if (!m) return undefined;
    total += Number(m[1]) * units[m[2]!]!;
  }
  return total;
}

export function requestedRule(ctx: Ctx): Evidence[] {
  // the last stop or start someone asked for near the failure (after the previous incident), and how
  // its stop phase ended: "Stopped" as JOB_TYPE=stop (a stop) or restart (a restart)
  let last: { line: SnapshotJournalLine; type: 'stop' | 'restart' | 'start' } | undefined;
  for (const l of ctx.manager) {
    const j = job(l);
    if (j === null || timeClass(ctx, l.at) !== 'near' || automatic(ctx.manager, Date.parse(l.at))) continue;
    if (j.phase === 'begin' && j.type === 'stop') last = { line: l, type: 'stop' };
    else if (j.phase === 'end' && j.type === 'restart' && last?.type === 'stop') last = { ...last, type: 'restart' };
    else if (j.phase === 'begin' && j.type === 'start' && last?.type !== 'restart') last = { line: l, type: 'start' };
  }
  if (last === undefined) return [];
  const from = last;
  const unit = ctx.unit;
  const active = unit?.activeState === 'active' || unit?.activeState === 'reloading';
  const quotes = [journalQuote(from.line)];
  if (unit) quotes.push(propsQuote(unit, ['ActiveState', 'SubState', 'Result', 'TimeoutStartUSec']));
  const record = (kind: string, cause: string): Evidence[] => [
    { kind, cause, source: 'systemd', scope: 'unit', at: from.line.at, strength: 'proves', role: 'cause', quotes, explains: REQUESTED_EXPLAINS },
  ];
  // stopped and still down (a stop followed by a start is a restart in two commands)
  if (from.type === 'stop') return active ? [] : record('requested_stop', `stopped on request at ${hhmmss(from.line.at)}`);
  const timeout = startTimeout(ctx);
  const what = from.type === 'restart' ? 'restarted' : 'started';
  return record(
    'requested_restart',
    active
      ? `${what} on request at ${hhmmss(from.line.at)}; running again, but its health check still fails`
      : `${what} on request at ${hhmmss(from.line.at)} and not back${timeout === null ? '' : ` within its start timeout (${timeout})`}`,
  );
}

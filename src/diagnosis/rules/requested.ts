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
 * The begin line of a job (job.c job_emit_start_message: "Starting %s...", "Stopping %s...", "Reloading
 * %s..."): systemd starts doing what was asked. A restart's stop phase is logged as "Stopping" with
 * JOB_TYPE=restart. An automatic restart (Restart=) never logs a begin line for its stop: the unit is
 * already dead; it is preceded by "Scheduled restart job".
 */
export function jobBegin(l: SnapshotJournalLine): 'start' | 'stop' | 'restart' | 'reload' | null {
  const type = l.job?.type;
  if (type === undefined || l.job?.result !== undefined) return null;
  if (!/^(Starting|Stopping|Reloading) /.test(l.message.trim())) return null;
  return type === 'start' || type === 'stop' || type === 'restart' || type === 'reload' ? type : null;
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
  // the last job someone asked for near the failure (after the previous incident)
  let last: { line: SnapshotJournalLine; type: 'start' | 'stop' | 'restart' | 'reload' } | undefined;
  for (const l of ctx.manager) {
    const type = jobBegin(l);
    if (type === null || type === 'reload' || timeClass(ctx, l.at) !== 'near') continue;
    if (automatic(ctx.manager, Date.parse(l.at))) continue;
    last = { line: l, type };
  }
  if (last === undefined) return [];
  const unit = ctx.unit;
  const active = unit?.activeState === 'active' || unit?.activeState === 'reloading';
  const quotes = [journalQuote(last.line)];
  if (unit) quotes.push(propsQuote(unit, ['ActiveState', 'SubState', 'Result', 'TimeoutStartUSec']));
  const record = (kind: string, cause: string): Evidence[] => [
    { kind, cause, source: 'systemd', scope: 'unit', at: last.line.at, strength: 'proves', role: 'cause', quotes, explains: REQUESTED_EXPLAINS },
  ];
  // stopped and still down (a stop followed by a start is a restart in two commands)
  if (last.type === 'stop') return active ? [] : record('requested_stop', `stopped on request at ${hhmmss(last.line.at)}`);
  const timeout = startTimeout(ctx);
  return record(
    'requested_restart',
    active
      ? `restarted on request at ${hhmmss(last.line.at)}; running again, but its health check still fails`
      : `restarted on request at ${hhmmss(last.line.at)} and not back${timeout === null ? '' : ` within its start timeout (${timeout})`}`,
  );
}

// Requested stops and restarts are not failures: systemd logs why a unit went down. A job line
// ("Stopping x...", JOB_TYPE=stop) begun by someone's `systemctl stop` explains a refused health check
// as "stopped on request at 03:21:23", never as an earlier crash. A requested restart that comes back
// opens no incident at all (the daemon waits for it); one that does not come back within its start
// timeout is an incident whose first finding says so. systemd 252 begins a restart's stop phase as
// JOB_TYPE=stop, like a plain stop; only its end ("Stopped x.", JOB_TYPE=restart) tells them apart; an
// automatic restart (Restart=) begins no stop (the unit is already dead) and follows "Scheduled restart
// job" (fixtures/systemd/requested-*, start-limit-hit).
import type { SnapshotJournalLine } from '../../incident/snapshot';
import { formatTimespan } from '../../systemd/timespan';
import { hhmmss } from '../../util/time';
import { jobOf, timeClass, type Ctx } from '../context';
import { SYMPTOMS, type Evidence } from '../evidence';
import { journalQuote, propsQuote } from './quote';

/**
 * What a requested stop or restart explains: the unit down, the check refused, the process's end by the
 * stop (never a crash, a core dump or a loop: those are said on their own).
 */
const REQUESTED_EXPLAINS: readonly string[] = [...SYMPTOMS, 'not_running', 'exit_status', 'signal', 'stop_timeout'];

/** The start timeout in words ("90s"), from TimeoutStartUSec; null when unlimited or unknown. */
function startTimeout(ctx: Ctx): string | null {
  const ms = ctx.settings?.timeoutStartMs;
  return ms === undefined || !Number.isFinite(ms) ? null : formatTimespan(ms);
}

export function requestedRule(ctx: Ctx): Evidence[] {
  // the last stop or start someone asked for near the failure (after the previous incident), and how
  // its stop phase ended: "Stopped" as JOB_TYPE=stop (a stop) or restart (a restart)
  // (a start begun alone is not said to be anyone's request: a timer, a socket or a dependency starts units too)
  let last: { line: SnapshotJournalLine; type: 'stop' | 'restart' } | undefined;
  for (const l of ctx.manager) {
    const j = jobOf(l);
    // an automatic restart (Restart=) begins no stop: a begin line is always somebody's (or a BindsTo='s)
    if (j === null || timeClass(ctx, l.at) !== 'near') continue;
    if (j.phase === 'begin' && j.type === 'stop') last = { line: l, type: 'stop' };
    else if (j.phase === 'end' && j.type === 'restart' && last?.type === 'stop') last = { ...last, type: 'restart' };
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
  return record(
    'requested_restart',
    active
      ? `restarted on request at ${hhmmss(from.line.at)}; running again, but its health check still fails`
      : `restarted on request at ${hhmmss(from.line.at)} and not back${timeout === null ? '' : ` within its start timeout (${timeout})`}`,
  );
}

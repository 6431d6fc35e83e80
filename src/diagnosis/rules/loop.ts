// A restart loop: the unit keeps dying and systemd keeps restarting it. The pattern is a mechanism (the
// why of each run is its own evidence, which absorbs it); systemd giving up (start-limit-hit) is
// systems.ts's.
import { parseRestartScheduled } from '../../systemd/exit';
import { timeClass, type Ctx } from '../context';
import type { Evidence } from '../evidence';
import { journalQuote } from './quote';

/** NRestarts rising by this much across incidents is a loop, not a one-off crash and its restart. */
export const RESTART_RISE = 2;
/** NRestarts at which a restart seen in the window makes a loop. */
export const RESTART_LOOP_COUNT = 3;

const hhmm = (at: string): string => `${at.slice(11, 16)} UTC`;

export function loopRule(ctx: Ctx): Evidence[] {
  const { input, unit } = ctx;
  const now = unit?.nRestarts;
  const scheduled = ctx.manager.filter((l) => parseRestartScheduled(l.message) !== null && timeClass(ctx, l.at) !== 'stale');
  const quotes: string[] = [];
  let cause: string | undefined;
  if (now !== undefined) {
    // the counter resets when the unit is started by hand: only the run that leads up to now counts
    const prev = [...(input.previousRestarts ?? [])].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    const run: { at: string; nRestarts: number }[] = [];
    let next = now;
    for (let i = prev.length - 1; i >= 0; i--) {
      const p = prev[i];
      if (p === undefined || p.nRestarts > next) break;
      run.unshift(p);
      next = p.nRestarts;
    }
    const first = run[0];
    if (first !== undefined && now - first.nRestarts >= RESTART_RISE) {
      cause = `restart loop: NRestarts ${first.nRestarts} → ${now} since ${hhmm(first.at)}`;
      for (const p of run.slice(-3)) quotes.push(`${p.at} NRestarts=${p.nRestarts} (earlier incident)`);
    } else if (now >= RESTART_LOOP_COUNT && (scheduled.length > 0 || input.trigger === 'unit_restart')) {
      cause = `restart loop: restarted ${now} times (NRestarts=${now})`;
    }
    if (cause !== undefined) quotes.unshift(`systemctl show: NRestarts=${now}`);
  }
  if (cause === undefined && scheduled.length >= RESTART_LOOP_COUNT) cause = `restart loop: ${scheduled.length} restarts in the window`;
  if (cause === undefined) return [];
  for (const l of scheduled.slice(-3)) quotes.push(journalQuote(l));
  const at = scheduled[scheduled.length - 1]?.at ?? null;
  return [{ kind: 'restart_loop', cause, source: 'systemd', scope: 'unit', at, strength: 'proves', role: 'mechanism', quotes }];
}

// The service units of the system that are in `failed` now: what `watch_failed_units: true` reads on
// each poll. One `systemctl list-units` (the manager answers from memory: no unit files are read), so
// it costs about what the poll's `systemctl show` costs, however many units the host has.
import { describeCommand, runChecked } from '../util/exec';
import { unavailableFrom, type Unavailable } from './unavailable';

export type FailedUnitsRead = { ok: true; units: string[]; command: string } | Unavailable;

export const LIST_FAILED_ARGS = ['list-units', '--state=failed', '--type=service', '--all', '--plain', '--no-legend', '--no-pager', '--full'] as const;

/**
 * The unit names of `systemctl list-units --plain --no-legend` output: the first word of each line.
 * A line that does not start with a service unit's name (a bullet some versions print for failed
 * units even with --plain, a warning) is skipped rather than guessed at.
 */
export function parseFailedUnits(output: string): string[] {
  const out: string[] = [];
  for (const line of output.split('\n')) {
    const first = line.trim().replace(/^[●*×]\s+/, '').split(/\s+/)[0] ?? '';
    if (/^[A-Za-z0-9:_.\\@-]+\.service$/.test(first) && !out.includes(first)) out.push(first);
  }
  return out;
}

export async function listFailedUnits(opts: { timeoutMs: number; systemctl?: string }): Promise<FailedUnitsRead> {
  const file = opts.systemctl ?? 'systemctl';
  const command = describeCommand(file, LIST_FAILED_ARGS);
  try {
    const r = await runChecked(file, LIST_FAILED_ARGS, { timeoutMs: opts.timeoutMs, maxBytes: 256 * 1024, env: { ...process.env, LC_ALL: 'C' } });
    return { ok: true, units: parseFailedUnits(r.stdout), command };
  } catch (err) {
    return unavailableFrom(err, command, 'systemctl');
  }
}

// How the run ended: the mechanism (exit status, signal, core dump) that a cause can explain. The exit
// itself is decided once, by deadRunExit, so the snapshot's `exit` and its findings never disagree.
import type { SnapshotExit, SnapshotJournalLine, Trigger } from '../../incident/snapshot';
import { CLD_CODES, exitStatusName, parseFailedResult, parseMainProcessExit, signalName, signalNumber } from '../../systemd/exit';
import type { UnitState } from '../../systemd/unit';
import { isManagerLine, timeClass, type Ctx } from '../context';
import type { Evidence } from '../evidence';
import { journalQuote, propsQuote } from './quote';

/** systemd's own exit codes for a process that never got to run its program (src/basic/exit-status.h). */
export const SETUP_STATUS_MIN = 200;
export const SETUP_STATUS_MAX = 245;

/**
 * How the dead run ended: the restart's own record; else systemd's last "Main process exited" line of
 * this run (a health-check incident: only lines near the failure and after the previous incident);
 * else the unit's ExecMain* properties when the unit is down after a failure. Null when it did not end.
 */
export function deadRunExit(o: {
  trigger: Trigger;
  restartExit: SnapshotExit | null;
  journal: readonly SnapshotJournalLine[];
  unit: UnitState | null;
  /** epoch ms: lines before this are not about this failure */
  from: number;
}): SnapshotExit | null {
  if (o.restartExit) return o.restartExit;
  const unitId = o.unit?.id ?? '';
  for (let i = o.journal.length - 1; i >= 0; i--) {
    const l = o.journal[i]!;
    if (o.trigger !== 'unit_restart' && Date.parse(l.at) < o.from) break;
    if (!isManagerLine(l, unitId)) continue;
    const exit = parseMainProcessExit(l.message, l.at);
    if (exit) return exit;
  }
  const u = o.unit;
  // the properties keep the last run's end after a restart too: only a unit that is down says it died
  if (!u || (u.activeState !== 'failed' && u.subState !== 'auto-restart')) return null;
  if (u.execMainCode === undefined || u.execMainStatus === undefined) return null;
  const code = CLD_CODES[u.execMainCode];
  if (code === undefined || (code === 'exited' && u.execMainStatus === 0)) return null;
  const at = u.inactiveEnterAt ?? null;
  if (at !== null && Date.parse(at) < o.from) return null;
  const status = code === 'exited' ? u.execMainStatus : (signalName(u.execMainStatus) ?? u.execMainStatus);
  return { code, status, at };
}

export function signalWords(signo: number): string {
  const name = signalName(signo);
  return name === undefined ? `signal ${signo}` : `signal ${signo} (SIG${name})`;
}

function statusNumber(status: number | string): number | undefined {
  if (typeof status === 'number') return status;
  return /^\d+$/.test(status) ? Number(status) : undefined;
}

/** The words and kind of an exit: status first, 128+N read as the signal a shell reports that way. */
export function exitWords(exit: SnapshotExit): { kind: 'exit_status' | 'signal' | 'core_dump'; cause: string; status?: number; signal?: number } {
  if (exit.code === 'exited') {
    const status = statusNumber(exit.status);
    if (status === undefined) return { kind: 'exit_status', cause: `exited with status ${exit.status}` };
    if (status > 128 && signalName(status - 128) !== undefined) {
      return { kind: 'exit_status', cause: `exited with status ${status}: killed by ${signalWords(status - 128)}`, status, signal: status - 128 };
    }
    if (status >= SETUP_STATUS_MIN && status <= SETUP_STATUS_MAX) {
      const name = exitStatusName(status);
      return { kind: 'exit_status', cause: `failed before its program ran (status ${status}${name ? `/${name}` : ''})`, status };
    }
    return { kind: 'exit_status', cause: `exited with status ${status}`, status };
  }
  const signo = typeof exit.status === 'number' ? exit.status : signalNumber(exit.status);
  const what = signo === undefined ? `signal ${exit.status}` : signalWords(signo);
  if (exit.code === 'dumped') return { kind: 'core_dump', cause: `crashed on ${what}, core dumped`, ...(signo === undefined ? {} : { signal: signo }) };
  return { kind: 'signal', cause: `killed by ${what}`, ...(signo === undefined ? {} : { signal: signo }) };
}

/** `killed 9` and `killed KILL` are the same end. */
function sameExit(a: SnapshotExit, b: SnapshotExit): boolean {
  const norm = (e: SnapshotExit): string => (e.code === 'exited' ? String(e.status) : String(signalNumber(String(e.status)) ?? e.status));
  return a.code === b.code && norm(a) === norm(b);
}

export function exitRule(ctx: Ctx): Evidence[] {
  const exit = ctx.exit;
  if (exit === null) return [];
  const words = exitWords(exit);
  const quotes: string[] = [];
  const line = [...ctx.manager].reverse().find((l) => {
    const e = parseMainProcessExit(l.message, l.at);
    return e !== null && sameExit(e, exit);
  });
  if (line) quotes.push(journalQuote(line));
  else quotes.push(`exit: code=${exit.code} status=${exit.status}${exit.at ? ` at ${exit.at}` : ''}`);
  const failed = [...ctx.manager].reverse().find((l) => parseFailedResult(l.message) !== null && timeClass(ctx, l.at) === 'near');
  if (failed) quotes.push(journalQuote(failed));
  const u = ctx.unit;
  if (!line && u && u.execMainCode !== undefined && u.execMainCode !== 0) quotes.push(propsQuote(u, ['Result', 'ExecMainCode', 'ExecMainStatus']));
  return [
    {
      kind: words.kind,
      cause: words.cause,
      source: line ? 'systemd' : 'unit_properties',
      scope: 'invocation',
      at: exit.at,
      strength: 'proves',
      role: 'mechanism',
      quotes,
      // the run's end explains why nothing answered, and the kernel's line about the same crash
      explains: ['not_running', 'connection_refused', 'reset', 'timeout', 'http_status', 'body_mismatch', 'segfault', 'coredump'],
    },
  ];
}

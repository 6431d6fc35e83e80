// How a unit's run ended, in systemd's own words: the manager's journal lines about a unit (sent by
// PID 1 with UNIT=, prefixed "<unit>: " by LOG_UNIT_MESSAGE) and the ExecMain* properties. Pure.
import type { SnapshotExit, SnapshotJournalLine } from '../incident/snapshot';

/**
 * Linux signal numbers and names as systemd's signal_to_string() prints them (no "SIG" prefix). These
 * are the asm-generic numbers used on x86, arm and most other ports; alpha, mips and sparc differ.
 */
const SIGNALS: readonly string[] = [
  '', 'HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE',
  'ALRM', 'TERM', 'STKFLT', 'CHLD', 'CONT', 'STOP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'XCPU', 'XFSZ',
  'VTALRM', 'PROF', 'WINCH', 'IO', 'PWR', 'SYS',
];

/** `9` → `'KILL'`; undefined for a number without a fixed name (0, real-time signals, > 31). */
export function signalName(signo: number): string | undefined {
  return Number.isInteger(signo) && signo > 0 ? SIGNALS[signo] : undefined;
}

/** `'KILL'`, `'SIGKILL'` or `'9'` → 9; undefined when it is not a signal this table knows. */
export function signalNumber(name: string): number | undefined {
  const n = name.trim().toUpperCase().replace(/^SIG/, '');
  if (/^\d+$/.test(n)) {
    const v = Number(n);
    return signalName(v) === undefined ? undefined : v;
  }
  const i = SIGNALS.indexOf(n);
  return i > 0 ? i : undefined;
}

/**
 * Exit status names from systemd's exit_status_to_string(EXIT_STATUS_FULL) (src/basic/exit-status.c):
 * the LSB init-script codes and the common systemd ones (200+: the unit never got to run its program).
 */
const EXIT_NAMES: Readonly<Record<number, string>> = {
  0: 'SUCCESS',
  1: 'FAILURE',
  2: 'INVALIDARGUMENT',
  3: 'NOTIMPLEMENTED',
  4: 'NOPERMISSION',
  5: 'NOTINSTALLED',
  6: 'NOTCONFIGURED',
  7: 'NOTRUNNING',
  200: 'CHDIR',
  203: 'EXEC',
  208: 'STDIN',
  209: 'STDOUT',
  216: 'GROUP',
  217: 'USER',
  222: 'STDERR',
  226: 'NAMESPACE',
};

export function exitStatusName(status: number): string | undefined {
  return EXIT_NAMES[status];
}

/**
 * siginfo si_code of the main process's end, as systemctl shows it in ExecMainCode= (1 CLD_EXITED,
 * 2 CLD_KILLED, 3 CLD_DUMPED) and systemd's sigchld_code_to_string() names it in its journal line.
 */
export const CLD_CODES: Readonly<Record<number, SnapshotExit['code']>> = { 1: 'exited', 2: 'killed', 3: 'dumped' };

// src/core/unit.c unit_log_process_exit() (systemd 244+, service.c before):
//   "%s exited, code=%s, status=%i/%s" with kind "Main process", the name from exit_status_to_string()
//   or signal_to_string(), "n/a" when there is none (anything after the name is ignored).
// systemd 252, verbatim (fixtures/cmd/journalctl-unit-flaky-crash.json):
//   "flaky.service: Main process exited, code=exited, status=3/NOTIMPLEMENTED"
const MAIN_EXIT = /(?:^|: )Main process exited, code=(exited|killed|dumped), status=(\d+)\/(\S+)/;

/**
 * Read systemd's "Main process exited" line: `code=exited` keeps the exit status as a number; `killed` and
 * `dumped` keep the signal's name as systemd prints it (`KILL`, `SEGV`), or its number when systemd had
 * no name for it. Null for any other line.
 */
export function parseMainProcessExit(message: string, at: string): SnapshotExit | null {
  const m = MAIN_EXIT.exec(message.trim());
  if (!m) return null;
  const code = m[1] as SnapshotExit['code'];
  const status = Number(m[2]);
  const name = m[3] ?? '';
  if (code === 'exited' || signalNumber(name) === undefined) return { code, status, at };
  return { code, status: name, at };
}

/** The last "Main process exited" line of these journal lines (time order): how the dead run ended. */
export function findDeadRunExit(journal: readonly SnapshotJournalLine[]): SnapshotExit | null {
  for (let i = journal.length - 1; i >= 0; i--) {
    const line = journal[i];
    if (line === undefined) continue;
    const exit = parseMainProcessExit(line.message, line.at);
    if (exit) return exit;
  }
  return null;
}

// src/core/unit.c unit_log_failure(): "Failed with result '%s'." where %s is the unit's result:
// exit-code, signal, core-dump, timeout, watchdog, oom-kill, start-limit-hit, resources, protocol, ...
const FAILED_RESULT = /(?:^|: )Failed with result '([a-z-]+)'\.?$/;

/** `"x.service: Failed with result 'oom-kill'."` → `'oom-kill'`; null for any other line. */
export function parseFailedResult(message: string): string | null {
  const m = FAILED_RESULT.exec(message.trim());
  return m ? (m[1] ?? null) : null;
}

// src/core/service.c service_enter_restart(): "Scheduled restart job, restart counter is at %u."
const RESTART_SCHEDULED = /(?:^|: )Scheduled restart job, restart counter is at (\d+)\.?$/;

/** The restart counter of systemd's "Scheduled restart job" line; null for any other line. */
export function parseRestartScheduled(message: string): number | null {
  const m = RESTART_SCHEDULED.exec(message.trim());
  return m ? Number(m[1]) : null;
}

// src/core/unit.c unit_check_oom() (cgroup v2, systemd 243+): the unit's memory.events oom_kill rose.
const UNIT_OOM = /(?:^|: )A process of this unit has been killed by the OOM killer\.?$/;

/** Is this systemd's "A process of this unit has been killed by the OOM killer." line? */
export function isUnitOomKillLine(message: string): boolean {
  return UNIT_OOM.test(message.trim());
}

// systemd's own words when a unit's run could not start or was ended by systemd: a process that could not
// be spawned (status 2xx), a start/stop timeout, the watchdog, the processes it killed, and
// systemd-coredump's entry. Pure. Wordings are systemd 252's (src/core/execute.c, src/core/service.c,
// src/core/unit.c, src/coredump/coredump.c), checked against fixtures/systemd/ where they could be run.
import { parseTimespan } from './timespan';
import { signalName, signalNumber } from './exit';

export interface SpawnFailure {
  /** exit_status_to_string() name of the step: EXEC, USER, CHDIR, GROUP, NAMESPACE, ... */
  step: string;
  /** the command systemd was spawning (its ExecStart= path) */
  command: string;
  /** strerror() text: "No such file or directory", "Permission denied", "Exec format error" */
  error: string;
}

// execute.c exec_spawn(), logged by the forked child (not PID 1, so `_PID=1 UNIT=x` never matches it),
// after exec_child() returned an exit status; MESSAGE_ID=641257651c1b4ec9a8624d7a40a9e1e7, ERRNO=:
//   "x.service: Failed at step EXEC spawning /nonexistent/bin/app: No such file or directory"
const SPAWN_STEP = /(?:^|: )Failed at step ([A-Z_]+) spawning (.+?): (.+)$/;
// exec_child()'s own line before it, for the EXEC step (the CHDIR, USER, ... steps have a sentence of their
// own, e.g. "Changing to the requested working directory failed: ..."):
//   "Failed to locate executable %s: %m"  (missing, or not executable: find_executable_full())
//   "Failed to execute %s: %m"            (execve() refused it: "Exec format error")
const EXEC_FAILED = /(?:^|: )Failed to (?:locate executable|execute) (.+?): (.+)$/;

/** "Failed at step EXEC spawning /x: No such file or directory" (or "Failed to execute /x: ...") → its parts. */
export function parseSpawnFailure(message: string): SpawnFailure | null {
  const text = message.trim();
  const step = SPAWN_STEP.exec(text);
  if (step) return { step: step[1] ?? '', command: step[2] ?? '', error: step[3] ?? '' };
  const exec = EXEC_FAILED.exec(text);
  if (exec) return { step: 'EXEC', command: exec[1] ?? '', error: exec[2] ?? '' };
  return null;
}

/**
 * systemd's exit codes 200..245 for a process that failed before its program ran (exit_status_to_string()
 * names, src/basic/exit-status.c; meanings from systemd.exec(5) "Process exit codes", systemd 252), in words
 * a person reads after "could not". 223 and 234 are unused; 244 is not assigned in 252.
 */
const SETUP_STATUS: Readonly<Record<number, readonly [name: string, words: string]>> = {
  200: ['CHDIR', 'change to the working directory'],
  201: ['NICE', 'set the scheduling priority (Nice=)'],
  202: ['FDS', 'set up the file descriptors'],
  203: ['EXEC', 'execute the program'],
  204: ['MEMORY', 'get memory to set up the process'],
  205: ['LIMITS', 'set the resource limits (Limit*=)'],
  206: ['OOM_ADJUST', 'set the OOM score (OOMScoreAdjust=)'],
  207: ['SIGNAL_MASK', 'set the signal mask'],
  208: ['STDIN', 'set up standard input (StandardInput=)'],
  209: ['STDOUT', 'set up standard output (StandardOutput=)'],
  210: ['CHROOT', 'change the root directory (RootDirectory=/RootImage=)'],
  211: ['IOPRIO', 'set the I/O priority (IOSchedulingClass=)'],
  212: ['TIMERSLACK', 'set the timer slack (TimerSlackNSec=)'],
  213: ['SECUREBITS', 'set the secure bits (SecureBits=)'],
  214: ['SETSCHEDULER', 'set the CPU scheduling (CPUSchedulingPolicy=)'],
  215: ['CPUAFFINITY', 'set the CPU affinity (CPUAffinity=)'],
  216: ['GROUP', 'switch to the group'],
  217: ['USER', 'switch to the user'],
  218: ['CAPABILITIES', 'drop or set the capabilities'],
  219: ['CGROUP', 'set up the control group'],
  220: ['SETSID', 'create a new session'],
  221: ['CONFIRM', 'run: execution was cancelled at the confirmation prompt'],
  222: ['STDERR', 'set up standard error (StandardError=)'],
  224: ['PAM', 'set up the PAM session (PAMName=)'],
  225: ['NETWORK', 'set up the network namespace (PrivateNetwork=)'],
  226: ['NAMESPACE', 'set up the mount namespace (ReadOnlyPaths=, ProtectSystem=, ...)'],
  227: ['NO_NEW_PRIVILEGES', 'disable new privileges (NoNewPrivileges=)'],
  228: ['SECCOMP', 'apply the system call filter (SystemCallFilter=)'],
  229: ['SELINUX_CONTEXT', 'set the SELinux context'],
  230: ['PERSONALITY', 'set the execution domain (Personality=)'],
  231: ['APPARMOR', 'change to the AppArmor profile'],
  232: ['ADDRESS_FAMILIES', 'restrict the address families (RestrictAddressFamilies=)'],
  233: ['RUNTIME_DIRECTORY', 'set up the runtime directory (RuntimeDirectory=)'],
  235: ['CHOWN', 'change the socket ownership'],
  236: ['SMACK_PROCESS_LABEL', 'set the SMACK label'],
  237: ['KEYRING', 'set up the kernel keyring'],
  238: ['STATE_DIRECTORY', 'set up the state directory (StateDirectory=)'],
  239: ['CACHE_DIRECTORY', 'set up the cache directory (CacheDirectory=)'],
  240: ['LOGS_DIRECTORY', 'set up the logs directory (LogsDirectory=)'],
  241: ['CONFIGURATION_DIRECTORY', 'set up the configuration directory (ConfigurationDirectory=)'],
  242: ['NUMA_POLICY', 'set the NUMA memory policy (NUMAPolicy=)'],
  243: ['CREDENTIALS', 'set up the credentials (LoadCredential=/SetCredential=)'],
  245: ['BPF', 'apply the BPF restrictions (RestrictFileSystems=)'],
};

/**
 * An exit status systemd set because it could not set the process up: `203` → { name: 'EXEC', words:
 * 'could not execute the program' }; undefined for statuses outside 200..245 and unassigned ones (a
 * program may exit 2xx itself: the "Failed at step" line is what proves systemd did).
 */
export function setupStatusWords(status: number): { name: string; words: string } | undefined {
  const s = SETUP_STATUS[status];
  return s ? { name: s[0], words: `could not ${s[1]}` } : undefined;
}

export type TimeoutRecord =
  /** "Watchdog timeout (limit 1s)!": no WATCHDOG=1 within WatchdogSec= */
  | { kind: 'watchdog'; limitMs?: number }
  /** a state of the unit ran past its timeout; what systemd does next (terminating, killing, ...) */
  | { kind: 'timeout'; state: string; action: string }
  /** RuntimeMaxSec= reached: "Service reached runtime time limit. Stopping." */
  | { kind: 'runtime-max'; action: string }
  /** JobTimeoutSec=: "Job x.service/start timed out." */
  | { kind: 'job-timeout'; jobType: string };

// service.c service_dispatch_watchdog(): "Watchdog timeout (limit %s)!" (format_timespan, 1 us accuracy)
const WATCHDOG = /(?:^|: )Watchdog timeout \(limit ([^)]*)\)!$/;
// service.c service_dispatch_timer(), by state: "start operation timed out. Terminating." (also start-pre,
// start-post, condition; "Aborting."/"Killing." with TimeoutStartFailureMode=), "Stopping timed out.
// Terminating." (ExecStop=), "State 'stop-sigterm' timed out. Killing." (and stop-watchdog, stop-post,
// final-sigterm, ...), "Reload operation timed out. Killing reload process."
const OPERATION = /(?:^|: )([a-z-]+) operation timed out\. ([A-Za-z ]+?)\.$/;
const STATE = /(?:^|: )State '([a-z-]+)' timed out\. ([A-Za-z ]+?)\.$/;
const STOPPING = /(?:^|: )Stopping timed out\. ([A-Za-z ]+?)\.$/;
const RELOAD = /(?:^|: )Reload operation timed out\. ([A-Za-z ]+?)\.$/;
const RUNTIME = /(?:^|: )Service reached runtime time limit\. ([A-Za-z ]+?)\.$/;
// job.c job_dispatch_timer(): "Job %s/%s timed out."
const JOB_TIMEOUT = /(?:^|: )Job \S+\/([a-z-]+) timed out\.$/;

/**
 * A watchdog or timeout line → what timed out; null for any other line. Only the watchdog line says its
 * limit; the others' limits are the unit's TimeoutStartUSec=/TimeoutStopUSec=/RuntimeMaxUSec=.
 */
export function parseTimeoutLine(message: string): TimeoutRecord | null {
  const text = message.trim();
  let m = WATCHDOG.exec(text);
  if (m) {
    const limitMs = parseTimespan(m[1]);
    return limitMs === undefined ? { kind: 'watchdog' } : { kind: 'watchdog', limitMs };
  }
  if ((m = RELOAD.exec(text))) return { kind: 'timeout', state: 'reload', action: lower(m[1]) };
  if ((m = OPERATION.exec(text))) return { kind: 'timeout', state: m[1] ?? '', action: lower(m[2]) };
  if ((m = STATE.exec(text))) return { kind: 'timeout', state: m[1] ?? '', action: lower(m[2]) };
  if ((m = STOPPING.exec(text))) return { kind: 'timeout', state: 'stop', action: lower(m[1]) };
  if ((m = RUNTIME.exec(text))) return { kind: 'runtime-max', action: lower(m[1]) };
  if ((m = JOB_TIMEOUT.exec(text))) return { kind: 'job-timeout', jobType: m[1] ?? '' };
  return null;
}

function lower(s: string | undefined): string {
  return (s ?? '').toLowerCase();
}

// cgroup.c/unit.c log_kill(): "Killing process %d (%s) with signal SIG%s." (one line per process; on a stop
// with SIGTERM these are at debug level, on a timeout's SIGKILL or the watchdog's SIGABRT at notice)
const KILL = /(?:^|: )Killing process (\d+) \((.*)\) with signal (SIG[A-Z0-9+-]+)\.$/;

/** "Killing process 494 (sh) with signal SIGKILL." → { pid: 494, comm: 'sh', signal: 'SIGKILL', signo: 9 }. */
export function parseKillLine(message: string): { pid: number; comm: string; signal: string; signo?: number } | null {
  const m = KILL.exec(message.trim());
  if (!m) return null;
  const out: { pid: number; comm: string; signal: string; signo?: number } = { pid: Number(m[1]), comm: m[2] ?? '', signal: m[3] ?? '' };
  const n = signalNumber(out.signal);
  if (n !== undefined) out.signo = n;
  return out;
}

/** What of systemd-coredump's journal entry the parser reads (COREDUMP_* fields, MESSAGE). */
export interface CoredumpInput {
  message: string;
  coredumpUnit?: string;
  coredumpSignal?: number;
  coredumpSignalName?: string;
  coredumpPid?: number;
  coredumpComm?: string;
}

export interface Coredump {
  /** COREDUMP_UNIT= (the system unit; undefined for a user's process) */
  unit?: string;
  signal?: number;
  /** "SIGSEGV": COREDUMP_SIGNAL_NAME=, else from the number */
  signalName?: string;
  pid?: number;
  comm?: string;
  /** the first frames of the first thread's stack, as printed: "0x00007f6184b7826c n/a (libc.so.6 + 0x8926c)" */
  frames: string[];
}

// coredump.c submit_coredump(): "Process %s (%s) of user %s dumped core.%s" with "\n\n" and the stack trace
// when one was made; later versions say "terminated abnormally ..." when no core was kept
const PROCESS = /^Process (\d+) \((.*?)\) of user (\S+) /;
const FRAME = /^#\d+\s+(.+)$/;

/**
 * systemd-coredump's entry → the unit, signal, process and the first `maxFrames` frames of the first
 * thread ("Stack trace of thread N:" block). Fields win over the MESSAGE text; null when it is not such an
 * entry (no "Process N (comm) of user U" and no COREDUMP_* fields).
 */
export function parseCoredump(e: CoredumpInput, maxFrames = 8): Coredump | null {
  const lines = e.message.split('\n').map((l) => l.trim());
  const head = PROCESS.exec(lines[0] ?? '');
  if (!head && e.coredumpUnit === undefined && e.coredumpSignal === undefined && e.coredumpPid === undefined) return null;
  const out: Coredump = { frames: [] };
  if (e.coredumpUnit !== undefined) out.unit = e.coredumpUnit;
  const signo = e.coredumpSignal ?? (e.coredumpSignalName !== undefined ? signalNumber(e.coredumpSignalName) : undefined);
  if (signo !== undefined) out.signal = signo;
  if (e.coredumpSignalName !== undefined) out.signalName = e.coredumpSignalName;
  else if (signo !== undefined) {
    const n = signalName(signo);
    if (n !== undefined) out.signalName = `SIG${n}`;
  }
  const pid = e.coredumpPid ?? (head ? Number(head[1]) : undefined);
  if (pid !== undefined) out.pid = pid;
  const comm = e.coredumpComm ?? head?.[2];
  if (comm !== undefined) out.comm = comm;
  const start = lines.findIndex((l) => l.startsWith('Stack trace of thread'));
  if (start >= 0) {
    for (const l of lines.slice(start + 1)) {
      const f = FRAME.exec(l);
      if (!f) break; // a blank line ends the first thread's block
      if (out.frames.length < maxFrames) out.frames.push(f[1] ?? '');
    }
  }
  return out;
}

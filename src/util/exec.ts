// The one place preflight starts a process or waits on something that may hang. Every external call
// has a deadline and an output cap: a capture must finish even when journalctl is slow, a unit's log is
// huge, or an NFS mount stopped answering.
import type { ChildProcess } from 'node:child_process';
import { commands, type CommandPool } from './commands';
import { CommandError } from './errors';
import { LineSplitter } from './lines';

export { commands, CommandPool, type CommandStats } from './commands';
export { InFlight, TimeoutError, mapLimit, withTimeout } from './waits';

export interface RunOptions {
  /**
   * The deadline, from the call (a wait for a child slot counts): the command is killed (SIGKILL) when
   * it passes, and the call settles at most SETTLE_GRACE_MS later whether or not the child exited.
   */
  timeoutMs: number;
  /** Keep at most this many bytes of stdout; past it the command is killed and `truncated` set. */
  maxBytes: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** The child-process limit the command counts against (default: the process-wide `commands`). */
  pool?: CommandPool;
}

export interface RunResult {
  command: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout hit `maxBytes`; what is kept is the first `maxBytes` bytes. */
  truncated: boolean;
  timedOut: boolean;
  /** the call settled before the child exited (it ignored SIGKILL); it is reaped in the background */
  abandoned?: true;
  durationMs: number;
}

export interface RunLinesOptions extends RunOptions {
  /** Each stdout line as it arrives; returning false means "enough": the command is killed, not an error. */
  onLine: (line: string) => boolean | void;
  /** A longer line is dropped whole and counted (default 64 KiB). */
  maxLineBytes?: number;
}

export interface RunLinesResult extends Omit<RunResult, 'stdout'> {
  /** lines over maxLineBytes, dropped */
  droppedLines: number;
  /** onLine said "enough" and the command was stopped */
  enough: boolean;
}

const STDERR_CAP = 16 * 1024;
/** How long a stopped follower gets to exit on SIGTERM before SIGKILL. */
const FOLLOW_STOP_GRACE_MS = 1000;
/**
 * After SIGKILL, how long a call waits for the child's exit before settling anyway: a process in
 * uninterruptible sleep (journal on a stalled disk or NFS) dies only when the kernel lets it.
 */
export const SETTLE_GRACE_MS = 150;

export function describeCommand(file: string, args: readonly string[]): string {
  return [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

interface Outcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  truncated: boolean;
  timedOut: boolean;
  abandoned: boolean;
  enough: boolean;
  durationMs: number;
}

/** What the core does with stdout: 'more', or stop the command because of a 'cap' or 'enough'. */
type Sink = { chunk: (c: Buffer) => 'more' | 'cap' | 'enough'; done: (complete: boolean) => void };

/**
 * Start a command in a slot of its pool and settle when it exits, or when its deadline (or a sink's
 * stop) has killed it and SETTLE_GRACE_MS passed without an exit. Rejects with CommandError only when
 * the command could not be started.
 */
async function execute(command: string, file: string, args: readonly string[], opts: RunOptions, sink: Sink): Promise<Outcome> {
  const pool = opts.pool ?? commands;
  const started = performance.now();
  const deadline = started + opts.timeoutMs;
  const stuck = pool.unreapedOf(file);
  if (stuck >= pool.maxUnreapedPerFile) {
    throw new CommandError(
      { command, exitCode: null },
      `not started: ${stuck} earlier runs of ${file} are stuck in the kernel (they ignored SIGKILL: a hung disk or mount?); it runs again once one exits`,
    );
  }
  const slot = await pool.acquire(deadline);
  if (!slot) {
    // every slot stayed busy past the deadline: as much a timeout as a command that hung
    return { exitCode: null, signal: null, stderr: '', truncated: false, timedOut: true, abandoned: false, enough: false, durationMs: performance.now() - started };
  }
  return new Promise<Outcome>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = pool.spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env, cwd: opts.cwd });
    } catch (err) {
      slot.release();
      reject(new CommandError({ command, exitCode: null }, 'could not start', { cause: err }));
      return;
    }
    const err: Buffer[] = [];
    let errBytes = 0;
    const o = { truncated: false, timedOut: false, enough: false };
    let spawnError: Error | undefined;
    let settled = false;
    let grace: NodeJS.Timeout | undefined;
    const settle = (exitCode: number | null, signal: NodeJS.Signals | null, abandoned: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      slot.release();
      sink.done(!o.truncated && !o.timedOut && !o.enough && !abandoned);
      resolve({ exitCode, signal, stderr: Buffer.concat(err).toString('utf8'), ...o, abandoned, durationMs: performance.now() - started });
    };
    // Kill the command and stop listening: a grandchild it left holding the pipes (`sh -c 'x &'`)
    // would otherwise keep 'close' from firing until it exits too. A child that does not exit within
    // the grace is left to the kernel and counted: the caller must not wait on it.
    const end = (): void => {
      if (grace) return;
      child.kill('SIGKILL');
      child.stdout?.destroy();
      child.stderr?.destroy();
      grace = setTimeout(() => {
        if (child.exitCode !== null || child.signalCode !== null) return settle(child.exitCode, child.signalCode, false);
        pool.abandon(child, file);
        settle(null, null, true);
      }, SETTLE_GRACE_MS);
    };
    const timer = setTimeout(() => {
      o.timedOut = true;
      end();
    }, Math.max(0, deadline - performance.now()));
    let outBytes = 0;
    child.stdout?.on('data', (chunk: Buffer) => {
      if (grace) return;
      const room = opts.maxBytes - outBytes;
      // exactly maxBytes is a complete answer; only a byte beyond it means the output was cut
      const cut = chunk.length > room;
      const piece = cut ? chunk.subarray(0, room) : chunk;
      outBytes += piece.length;
      const said = piece.length > 0 ? sink.chunk(piece) : 'more';
      if (said === 'enough') o.enough = true;
      else if (cut) o.truncated = true;
      if (o.enough || o.truncated) end();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (errBytes >= STDERR_CAP) return;
      const kept = chunk.subarray(0, STDERR_CAP - errBytes);
      err.push(kept);
      errBytes += kept.length;
    });
    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('close', (code, signal) => {
      // a command that never started emits 'error' and then 'close' with a negative errno as code
      if (spawnError && child.pid === undefined) {
        settled = true;
        clearTimeout(timer);
        slot.release();
        reject(new CommandError({ command, exitCode: null }, 'could not start', { cause: spawnError }));
        return;
      }
      settle(code, signal, false);
    });
  });
}

function resultOf(command: string, o: Outcome): Omit<RunResult, 'stdout'> {
  const r: Omit<RunResult, 'stdout'> = {
    command,
    exitCode: o.exitCode,
    signal: o.signal,
    stderr: o.stderr,
    truncated: o.truncated,
    timedOut: o.timedOut,
    durationMs: o.durationMs,
  };
  if (o.abandoned) r.abandoned = true;
  return r;
}

/**
 * Run a command to completion (or to its deadline or output cap). Resolves with whatever came out,
 * whatever the exit status; rejects with CommandError only when the command could not be started.
 * For output worth more than a few KiB use `runLines`: this keeps stdout whole.
 */
export async function run(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const command = describeCommand(file, args);
  const out: Buffer[] = [];
  const o = await execute(command, file, args, opts, {
    chunk: (c) => {
      out.push(c);
      return 'more';
    },
    done: () => undefined,
  });
  return { ...resultOf(command, o), stdout: Buffer.concat(out).toString('utf8') };
}

/**
 * Run a command and hand over its stdout line by line as it arrives; nothing of it is kept here, so the
 * caller's parse bounds memory (the newest N entries, the lines that match). A line cut by the cap or
 * the deadline is not handed over.
 */
export async function runLines(file: string, args: readonly string[], opts: RunLinesOptions): Promise<RunLinesResult> {
  const command = describeCommand(file, args);
  let dropped = 0;
  let enough = false;
  const lines = new LineSplitter(
    opts.maxLineBytes ?? 64 * 1024,
    (line) => {
      if (!enough && opts.onLine(line) === false) enough = true;
    },
    () => dropped++,
  );
  const o = await execute(command, file, args, opts, {
    chunk: (c) => {
      lines.push(c);
      return enough ? 'enough' : 'more';
    },
    done: (complete) => (complete ? lines.end() : lines.discard()),
  });
  return { ...resultOf(command, o), droppedLines: dropped, enough: o.enough };
}

/** A timeout, or a non-zero exit of a command that was not stopped on purpose (cap, "enough"), as an error. */
export function checkResult<R extends Omit<RunResult, 'stdout'> & { stdout?: string; enough?: boolean }>(r: R, timeoutMs: number): R {
  if (r.timedOut) {
    throw new CommandError({ ...r, timedOut: true }, `timed out after ${timeoutMs} ms${r.abandoned ? ' (did not exit on SIGKILL; left to the kernel)' : ''}`);
  }
  if (r.exitCode !== 0 && !r.truncated && !r.enough) {
    const how = r.abandoned ? 'did not exit on SIGKILL' : r.signal ? `killed by ${r.signal}` : `exited with status ${r.exitCode}`;
    throw new CommandError(r, how);
  }
  return r;
}

/** Like `runLines`, but a timeout or a non-zero exit is a CommandError (see checkResult). */
export async function runLinesChecked(file: string, args: readonly string[], opts: RunLinesOptions): Promise<RunLinesResult> {
  return checkResult(await runLines(file, args, opts), opts.timeoutMs);
}

/** Like `run`, but a timeout or a non-zero exit is a CommandError. A truncated stdout is not an error. */
export async function runChecked(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  return checkResult(await run(file, args, opts), opts.timeoutMs);
}

export interface FollowExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** stop() gave up waiting: the child ignored SIGKILL and is reaped in the background */
  abandoned?: true;
}

export interface Follower {
  /** Kill the command; `exited` resolves once it is gone, or (it ignored SIGKILL) at most ~1.2 s later. */
  stop(): void;
  readonly exited: Promise<FollowExit>;
}

/**
 * Run a long-lived command (journalctl -f) and hand over its stdout line by line. Memory is bounded:
 * a line longer than `maxLineBytes` is dropped whole (counted in `onDropped`), and stderr keeps its
 * first 16 KiB. Never throws; a command that cannot start resolves `exited` with exitCode null. It
 * takes no slot of the pool (it runs for the daemon's life) but is counted there if stop() abandons it.
 */
export function follow(
  file: string,
  args: readonly string[],
  opts: { onLine: (line: string) => void; onDropped?: () => void; maxLineBytes: number; env?: NodeJS.ProcessEnv; pool?: CommandPool },
): Follower {
  const pool = opts.pool ?? commands;
  let child: ChildProcess;
  try {
    child = pool.spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env });
  } catch (err) {
    return { stop: () => undefined, exited: Promise.resolve({ exitCode: null, signal: null, stderr: String(err) }) };
  }
  const lines = new LineSplitter(opts.maxLineBytes, opts.onLine, opts.onDropped);
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => lines.push(chunk));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < STDERR_CAP) stderr += d.slice(0, STDERR_CAP - stderr.length);
  });
  let settle: (e: FollowExit) => void = () => undefined;
  let killTimer: NodeJS.Timeout | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  const exited = new Promise<FollowExit>((resolve) => {
    let done = false;
    settle = (e) => {
      if (done) return;
      done = true;
      clearTimeout(killTimer);
      clearTimeout(graceTimer);
      resolve(e);
    };
    child.on('error', (err) => {
      if (child.pid === undefined) settle({ exitCode: null, signal: null, stderr: `${stderr}${err.message}` });
    });
    child.on('close', (exitCode, signal) => {
      lines.end();
      settle({ exitCode, signal, stderr });
    });
  });
  let stopping = false;
  return {
    stop: () => {
      if (stopping || child.exitCode !== null || child.signalCode !== null) return;
      stopping = true;
      child.kill('SIGTERM');
      // a follower that ignores SIGTERM must not hold up a daemon's shutdown, nor one that ignores
      // SIGKILL (D state): after the kill and a short grace, `exited` settles without it. The timers
      // keep the event loop up until then (a stop awaiting `exited` must get its answer) and are
      // cleared the moment the child is gone.
      killTimer = setTimeout(() => {
        child.kill('SIGKILL');
        child.stdout?.destroy();
        child.stderr?.destroy();
        graceTimer = setTimeout(() => {
          if (child.exitCode !== null || child.signalCode !== null) return settle({ exitCode: child.exitCode, signal: child.signalCode, stderr });
          pool.abandon(child, file);
          settle({ exitCode: null, signal: null, stderr, abandoned: true });
        }, SETTLE_GRACE_MS);
      }, FOLLOW_STOP_GRACE_MS);
    },
    exited,
  };
}

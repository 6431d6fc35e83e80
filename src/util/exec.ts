// The one place preflight starts a process or waits on something that may hang. Every external call
// has a deadline and an output cap: a capture must finish even when journalctl is slow, a unit's log is
// huge, or an NFS mount stopped answering.
import { spawn } from 'node:child_process';
import { CommandError } from './errors';

export interface RunOptions {
  /** Kill the command (SIGKILL) after this long. */
  timeoutMs: number;
  /** Keep at most this many bytes of stdout; past it the command is killed and `truncated` set. */
  maxBytes: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
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
  durationMs: number;
}

const STDERR_CAP = 16 * 1024;
/** How long a stopped follower gets to exit on SIGTERM before SIGKILL. */
const FOLLOW_STOP_GRACE_MS = 1000;

export function describeCommand(file: string, args: readonly string[]): string {
  return [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/**
 * Run a command to completion (or to its deadline or output cap). Resolves with whatever came out,
 * whatever the exit status; rejects with CommandError only when the command could not be started.
 */
export function run(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const command = describeCommand(file, args);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env, cwd: opts.cwd });
    } catch (err) {
      reject(new CommandError({ command, exitCode: null }, 'could not start', { cause: err }));
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let truncated = false;
    let timedOut = false;
    let spawnError: Error | undefined;
    // Kill the command and stop listening: a grandchild it left holding the pipes (`sh -c 'x &'`)
    // would otherwise keep 'close' from firing until it exits too.
    const end = (): void => {
      child.kill('SIGKILL');
      child.stdout.destroy();
      child.stderr.destroy();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      end();
    }, opts.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      if (truncated) return;
      const room = opts.maxBytes - outBytes;
      // exactly maxBytes is a complete answer; only a byte beyond it means the output was cut
      if (chunk.length > room) {
        out.push(chunk.subarray(0, room));
        outBytes += room;
        truncated = true;
        end();
      } else {
        out.push(chunk);
        outBytes += chunk.length;
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (errBytes >= STDERR_CAP) return;
      const kept = chunk.subarray(0, STDERR_CAP - errBytes);
      err.push(kept);
      errBytes += kept.length;
    });
    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // a command that never started emits 'error' and then 'close' with a negative errno as code
      if (spawnError && child.pid === undefined) {
        reject(new CommandError({ command, exitCode: null }, 'could not start', { cause: spawnError }));
        return;
      }
      resolve({
        command,
        exitCode: code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        truncated,
        timedOut,
        durationMs: performance.now() - started,
      });
    });
  });
}

/** Like `run`, but a timeout or a non-zero exit is a CommandError. A truncated stdout is not an error. */
export async function runChecked(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const r = await run(file, args, opts);
  if (r.timedOut) {
    throw new CommandError({ ...r, timedOut: true }, `timed out after ${opts.timeoutMs} ms`);
  }
  if (r.exitCode !== 0 && !r.truncated) {
    const how = r.signal ? `killed by ${r.signal}` : `exited with status ${r.exitCode}`;
    throw new CommandError(r, how);
  }
  return r;
}

/** Thrown by `withTimeout` when the deadline passes first. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/**
 * Bound a promise that cannot be cancelled (fs.statfs on a hung mount occupies a libuv thread until
 * the kernel answers). The caller must not start another such call for the same target while one is
 * pending, or hung mounts would exhaust the thread pool; see `InFlight`.
 */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError(`${what}: no answer after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/**
 * At most one pending call per key: a call whose previous one is still pending is refused at once
 * (with the age of the stuck one) instead of queueing another thread behind it.
 */
export class InFlight {
  private readonly pending = new Map<string, number>();

  /** Keys whose call has not settled (timed out or not). */
  get keys(): string[] {
    return [...this.pending.keys()];
  }

  async run<T>(key: string, timeoutMs: number, start: () => Promise<T>): Promise<T> {
    const since = this.pending.get(key);
    if (since !== undefined) {
      throw new TimeoutError(`${key}: previous call still pending after ${Math.round(performance.now() - since)} ms`);
    }
    const p = start();
    this.pending.set(key, performance.now());
    p.then(
      () => this.pending.delete(key),
      () => this.pending.delete(key),
    );
    return withTimeout(p, timeoutMs, key);
  }
}

/** Map with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export interface Follower {
  /** Kill the command; `exited` resolves once it is gone. */
  stop(): void;
  readonly exited: Promise<{ exitCode: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/**
 * Run a long-lived command (journalctl -f) and hand over its stdout line by line. Memory is bounded:
 * a line longer than `maxLineBytes` is dropped whole (counted in `onDropped`), and stderr keeps its
 * first 16 KiB. Never throws; a command that cannot start resolves `exited` with exitCode null.
 */
export function follow(
  file: string,
  args: readonly string[],
  opts: { onLine: (line: string) => void; onDropped?: () => void; maxLineBytes: number; env?: NodeJS.ProcessEnv },
): Follower {
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env });
  } catch (err) {
    return { stop: () => undefined, exited: Promise.resolve({ exitCode: null, signal: null, stderr: String(err) }) };
  }
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let dropping = false;
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      if (!dropping && pendingBytes + piece.length <= opts.maxLineBytes) {
        pending.push(piece);
        opts.onLine(Buffer.concat(pending).toString('utf8'));
      } else {
        opts.onDropped?.();
      }
      pending = [];
      pendingBytes = 0;
      dropping = false;
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (rest.length === 0 || dropping) return;
    if (pendingBytes + rest.length > opts.maxLineBytes) {
      dropping = true;
      pending = [];
      pendingBytes = 0;
    } else {
      pending.push(Buffer.from(rest));
      pendingBytes += rest.length;
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < STDERR_CAP) stderr += d.slice(0, STDERR_CAP - stderr.length);
  });
  const exited = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('error', (err) => {
      if (child.pid === undefined) resolve({ exitCode: null, signal: null, stderr: `${stderr}${err.message}` });
    });
    child.on('close', (exitCode, signal) => {
      // a last line without its newline is still a line
      if (pending.length > 0 && !dropping) opts.onLine(Buffer.concat(pending).toString('utf8'));
      pending = [];
      resolve({ exitCode, signal, stderr });
    });
  });
  return {
    stop: () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      // a follower that ignores SIGTERM must not hold up a daemon's shutdown
      setTimeout(() => {
        child.kill('SIGKILL');
        child.stdout!.destroy();
        child.stderr!.destroy();
      }, FOLLOW_STOP_GRACE_MS).unref();
    },
    exited,
  };
}

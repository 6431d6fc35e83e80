// One capture coordinator for the daemon: a network blip that fails 100 services must not start 100
// captures of 3-4 children each under MemoryMax=256M, nor read the same kernel log 100 times, and a
// capture stuck on a hung journalctl must end at its deadline, not hold a service's queue.
//  - at most `maxCaptures` captures run; the rest wait in order (a stop() ends the waits at once);
//  - every command (captures', commits' systemctl, the unit watcher's polls) takes a slot of one
//    CommandPool (util/commands.ts), whose limit the coordinator sets;
//  - the kernel's lines are read once for all captures that want them while a read is pending;
//  - each capture has a total deadline; a part that misses it is a capture error.
import { commands, type CommandPool, type CommandStats } from '../util/commands';
import { captureContext, emptyContext, readKernelLines, type CaptureOptions, type CapturedContext, type KernelLines } from './capture';

export const DEFAULT_MAX_CAPTURES = 4;
/**
 * Captures that ask for the kernel's lines within this long of each other share one read. The read
 * starts after the window, so it began after every joiner's failed check: none misses its own lines.
 */
const KERNEL_COALESCE_MS = 100;

/** What /metrics shows about captures and commands (DaemonStatus.commands). */
export interface CommandsStatus extends CommandStats {
  capturesRunning: number;
  capturesWaiting: number;
}

export interface CoordinatorOptions {
  /** default DEFAULT_MAX_CAPTURES */
  maxCaptures?: number;
  /** the pool's limit on child processes (default: the pool's own, 8) */
  maxCommands?: number;
  /** default: the process-wide pool every command uses */
  pool?: CommandPool;
  /** a capture's total deadline from its per-command timeout (default: two commands in a row plus a second) */
  deadlineMs?: (commandTimeoutMs: number) => number;
  /** how the shared kernel read is made (tests) */
  readKernel?: (since: Date, timeoutMs: number) => Promise<KernelLines>;
}

/** One kernel read and the captures waiting for it. */
interface KernelBatch {
  since: Date;
  timeoutMs: number;
  result: Promise<KernelLines>;
}

/** Two commands in a row (the unit, then its dependencies) each to its deadline, the settle graces, the process scans. */
export const defaultCaptureDeadlineMs = (commandTimeoutMs: number): number => 2 * commandTimeoutMs + 1000;

export class CaptureCoordinator {
  readonly pool: CommandPool;
  private readonly maxCaptures: number;
  private running = 0;
  private readonly waiting: Array<(go: boolean) => void> = [];
  private stopped = false;
  /** the read gathering joiners (not started yet) */
  private gathering: (KernelBatch & { start: () => void }) | null = null;
  /** the read under way; a new one starts only after it */
  private reading: Promise<unknown> = Promise.resolve();
  /** kernel reads started, for tests and the report */
  kernelReads = 0;

  constructor(private readonly o: CoordinatorOptions = {}) {
    this.pool = o.pool ?? commands;
    if (o.maxCommands !== undefined) this.pool.limit = o.maxCommands;
    this.maxCaptures = o.maxCaptures ?? DEFAULT_MAX_CAPTURES;
  }

  status(): CommandsStatus {
    return { ...this.pool.stats(), capturesRunning: this.running, capturesWaiting: this.waiting.length };
  }

  /**
   * A capture in its turn, with the shared kernel read and its total deadline. Never rejects: after
   * stop() (or while waiting when it comes) the capture is an empty one that says why.
   */
  async capture(opts: CaptureOptions): Promise<CapturedContext> {
    if (!(await this.turn())) return emptyContext(opts, 'preflight was stopping; the capture did not run');
    try {
      return await captureContext({
        ...opts,
        deadlineMs: opts.deadlineMs ?? (this.o.deadlineMs ?? defaultCaptureDeadlineMs)(opts.timeoutMs),
        readKernel: (since, timeoutMs) => this.kernel(since, timeoutMs),
      });
    } finally {
      this.running--;
      // the slot goes straight to the next in line
      this.waiting.shift()?.(true);
    }
  }

  /** Waiting captures return at once (empty, with the reason); running ones end by their deadlines. */
  stop(): void {
    this.stopped = true;
    for (const w of this.waiting.splice(0)) w(false);
  }

  /** True when the capture may run (a slot is taken for it), false when the daemon stopped first. */
  private turn(): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    if (this.running < this.maxCaptures) {
      this.running++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) =>
      this.waiting.push((go) => {
        // a slot handed over by a finishing capture is taken here; a stop hands none
        if (go) this.running++;
        resolve(go);
      }),
    );
  }

  /**
   * The kernel's lines since `since`: joins the read that is gathering (it starts after
   * KERNEL_COALESCE_MS and after the read under way), else opens one. Each joiner gets the lines from
   * its own `since` on.
   */
  private async kernel(since: Date, timeoutMs: number): Promise<KernelLines> {
    let batch = this.gathering;
    if (batch) {
      if (since < batch.since) batch.since = since;
      batch.timeoutMs = Math.max(batch.timeoutMs, timeoutMs);
    } else {
      let start: () => void = () => undefined;
      const begun = new Promise<void>((resolve) => (start = resolve));
      const b: KernelBatch & { start: () => void } = {
        since,
        timeoutMs,
        start,
        result: begun.then(() => {
          if (this.gathering === b) this.gathering = null;
          this.kernelReads++;
          return (this.o.readKernel ?? readKernelLines)(b.since, b.timeoutMs);
        }),
      };
      this.gathering = b;
      const before = this.reading;
      this.reading = b.result.catch(() => undefined);
      setTimeout(() => void before.then(() => b.start()), KERNEL_COALESCE_MS);
      batch = b;
    }
    const r = await batch.result;
    const from = since.toISOString();
    return { ...r, lines: r.lines.filter((l) => l.at >= from) };
  }
}

// The process-wide bound on child processes, and the count of the ones a deadline gave up on. Every
// command preflight runs (captures' journalctl and systemctl, commits' systemctl, the unit watcher's
// polls) takes a slot here first, so a network blip that fails 100 services cannot start 400 children.
import { spawn } from 'node:child_process';

/** What /metrics shows about commands (DaemonStatus.commands). */
export interface CommandStats {
  /** the limit on concurrent commands */
  limit: number;
  /** commands holding a slot (started, or about to) */
  running: number;
  /** commands waiting for a slot */
  waiting: number;
  /** commands a deadline settled before their child exited (it ignored SIGKILL: D state) */
  abandonedTotal: number;
  /** of those, the children that have still not exited */
  unreaped: number;
}

/** A held slot; `release` is idempotent. */
export interface Slot {
  release(): void;
}

/** A child whose exit can be watched (a ChildProcess, or a test's stand-in). */
export interface Reapable {
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  once(event: 'exit', listener: () => void): unknown;
  unref?(): void;
}

/** Default limit: enough for two captures' commands at once plus a poll, small under MemoryMax=256M. */
export const DEFAULT_COMMAND_LIMIT = 8;
/**
 * Children of one program left stuck in the kernel past which that program is not started again until
 * one exits: a journal on a dead disk would otherwise add a D-state child (a pid, kernel memory) at
 * every capture, for days. Per program, so a stuck journalctl does not stop systemctl.
 */
export const DEFAULT_MAX_UNREAPED_PER_FILE = 8;

export class CommandPool {
  limit: number;
  /** How children are started; a test swaps in a child that never exits. */
  spawn: typeof spawn;
  private held = 0;
  private readonly queue: Array<(slot: Slot | null) => void> = [];
  private abandoned = 0;
  private unreapedNow = 0;
  private readonly unreapedByFile = new Map<string, number>();
  readonly maxUnreapedPerFile: number;

  constructor(opts: { limit?: number; spawn?: typeof spawn; maxUnreapedPerFile?: number } = {}) {
    this.limit = opts.limit ?? DEFAULT_COMMAND_LIMIT;
    this.spawn = opts.spawn ?? spawn;
    this.maxUnreapedPerFile = opts.maxUnreapedPerFile ?? DEFAULT_MAX_UNREAPED_PER_FILE;
  }

  /** Children of `file` abandoned and not exited yet; at maxUnreapedPerFile it is not started (exec.ts). */
  unreapedOf(file: string): number {
    return this.unreapedByFile.get(file) ?? 0;
  }

  stats(): CommandStats {
    return { limit: this.limit, running: this.held, waiting: this.queue.length, abandonedTotal: this.abandoned, unreaped: this.unreapedNow };
  }

  /**
   * A slot, or null if none came free before `deadline` (performance.now() ms): the wait counts against
   * the command's deadline, so a queue of hung commands cannot make a later one late beyond its own.
   */
  acquire(deadline: number): Promise<Slot | null> {
    if (this.held < this.limit && this.queue.length === 0) return Promise.resolve(this.grant());
    return new Promise((resolve) => {
      const waiter = (slot: Slot | null): void => {
        clearTimeout(timer);
        resolve(slot);
      };
      const timer = setTimeout(() => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        resolve(null);
      }, Math.max(0, deadline - performance.now()));
      this.queue.push(waiter);
    });
  }

  /**
   * The child outlived its deadline and SIGKILL: count it until it exits, if it ever does. Its slot was
   * given back (a few D-state children must not stop every later command), and its handle no longer
   * keeps the event loop up: a daemon told to stop must be able to exit while the kernel holds it.
   */
  abandon(child: Reapable, file: string): void {
    this.abandoned++;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.unref?.();
    this.unreapedNow++;
    this.unreapedByFile.set(file, this.unreapedOf(file) + 1);
    child.once('exit', () => {
      this.unreapedNow--;
      const left = this.unreapedOf(file) - 1;
      if (left > 0) this.unreapedByFile.set(file, left);
      else this.unreapedByFile.delete(file);
    });
  }

  private grant(): Slot {
    this.held++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.held--;
        const next = this.queue.shift();
        if (next) next(this.grant());
      },
    };
  }
}

/** The one pool of the process (the daemon sets its limit; tests may build their own). */
export const commands = new CommandPool();

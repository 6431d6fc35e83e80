// A child process that never exits and never emits 'close', whatever it is sent: what a journalctl in
// uninterruptible sleep (journal on a stalled disk or NFS) looks like to Node. Swapped in through a
// CommandPool's `spawn`; `exit()` lets the test play the kernel finally letting it go.
import { spawn as realSpawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { CommandPool } from '../../src/util/commands';

export class NeverChild extends EventEmitter {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly pid = 999_999;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly signals: string[] = [];

  constructor(readonly file: string, readonly args: readonly string[]) {
    super();
  }

  kill(signal: string = 'SIGTERM'): boolean {
    // delivered, and ignored: the task is in D state
    this.signals.push(signal);
    return true;
  }

  /** The kernel lets it go at last. */
  exit(): void {
    this.signalCode = 'SIGKILL';
    this.emit('exit', null, 'SIGKILL');
    this.emit('close', null, 'SIGKILL');
  }
}

/**
 * Make `pool` start a NeverChild for the commands `hangs` picks and real processes for the rest;
 * returns the children it faked and a restore function.
 */
export function hangSome(pool: CommandPool, hangs: (file: string, args: readonly string[]) => boolean): { children: NeverChild[]; restore: () => void } {
  const before = pool.spawn;
  const children: NeverChild[] = [];
  pool.spawn = ((file: string, args: readonly string[], options: object) => {
    if (!hangs(file, args)) return realSpawn(file, [...args], options);
    const c = new NeverChild(file, args);
    children.push(c);
    return c;
  }) as unknown as typeof pool.spawn;
  return { children, restore: () => (pool.spawn = before) };
}

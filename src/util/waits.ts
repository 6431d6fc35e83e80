// Waits on what cannot be cancelled (a statfs on a hung mount), and a bound on calls in flight; moved
// out of exec.ts, which re-exports them, to keep that file to spawning commands.

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

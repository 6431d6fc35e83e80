/** Resolves after `ms`, or early (without rejecting) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

// Every time in a snapshot is ISO-8601 UTC (`2026-11-25T03:04:05.123Z`): these cut it for a line people read.

/** `03:04:05` of an ISO UTC time. */
export const hhmmss = (at: string): string => at.slice(11, 19);

/** A quoted line without the ISO time in front of it (`<ISO> message` -> `message`). */
export function withoutTime(q: string): string {
  return q.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z /, '');
}

// Two reads of one incident's record made one: the first capture's scene with what a later read adds.
import type { CapturedContext } from './capture';
import type { Snapshot } from './snapshot';

/** One journal line's identity across two reads. */
const lineKey = (l: { at: string; message: string; pid?: number | null }): string => `${l.at} ${l.pid ?? ''} ${l.message}`;

/** `a` then `b`'s lines that `a` lacks, in time order. */
export function union<T extends { at: string; message: string }>(a: readonly T[], b: readonly T[]): T[] {
  const seen = new Set(a.map(lineKey));
  return [...a, ...b.filter((l) => !seen.has(lineKey(l)))].sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0));
}

/**
 * A first capture with what a later read adds: every journal and kernel line of both, the later unit
 * state and dependencies; the first capture's processes, host facts and listeners (taken at the first
 * failure, they are the scene).
 */
export function mergeContexts(first: CapturedContext, later: CapturedContext): CapturedContext {
  const out: CapturedContext = {
    ...first,
    unit: later.unit ?? first.unit,
    journal: union(first.journal, later.journal),
    kernel: union(first.kernel, later.kernel),
    memoryEvents: later.memoryEvents ?? first.memoryEvents,
    errors: [...first.errors, ...later.errors.filter((e) => !first.errors.some((f) => f.part === e.part && f.reason === e.reason))],
  };
  const deps = later.dependencies ?? first.dependencies;
  if (deps) out.dependencies = deps;
  return out;
}

/** What a stored snapshot holds of its capture, as a context to merge a later read into. */
export function storedContext(s: Snapshot): CapturedContext {
  const started = Date.parse(s.capture.started_at);
  const finished = Date.parse(s.capture.finished_at);
  const out: CapturedContext = {
    startedAt: started,
    finishedAt: finished,
    host: s.host,
    unit: null,
    journal: s.journal,
    kernel: s.kernel,
    processes: s.processes,
    memoryEvents: null,
    errors: s.capture.errors,
  };
  if (s.dependencies) out.dependencies = s.dependencies;
  return out;
}

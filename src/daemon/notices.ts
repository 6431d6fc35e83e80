// The bookkeeping behind an episode's few notifications: the timers that end an episode (its flap
// window passed after the last recovery) and remind while it stays open, and the messages held while a
// service is muted, sent by releaseHeld when the mute ends with the failure still open. What is sent
// and when is decided in incidents.ts; this only remembers.
import type { NotifyEvent } from './notify';

/** A message held while muted: sent later with the episode as it is then. */
export interface HeldNotice {
  event: NotifyEvent;
  detail: string | null;
}

/** Held messages per service, one per event (a later flapping replaces an earlier one: it says more). */
export class HeldNotices {
  private readonly held = new Map<string, HeldNotice[]>();

  add(service: string, n: HeldNotice): void {
    const list = (this.held.get(service) ?? []).filter((h) => h.event !== n.event);
    list.push(n);
    this.held.set(service, list);
  }

  /** What is held for `service`, in the order it was held; forgotten once taken. */
  take(service: string): HeldNotice[] {
    const list = this.held.get(service) ?? [];
    this.held.delete(service);
    return list;
  }

  count(service: string): number {
    return this.held.get(service)?.length ?? 0;
  }
}

type TimerKind = 'resolve' | 'remind';

/**
 * One timer of each kind per service. Unref'd: an episode waiting for its flap window must not keep a
 * stopping process alive (stop() clears them all the same, so none fires into a closed store).
 */
export class EpisodeTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  set(service: string, kind: TimerKind, ms: number, fire: () => void): void {
    this.clear(service, kind);
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(`${kind}:${service}`);
      fire();
    }, Math.max(0, ms));
    t.unref();
    this.timers.set(`${kind}:${service}`, t);
  }

  clear(service: string, kind: TimerKind): void {
    const key = `${kind}:${service}`;
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
  }

  has(service: string, kind: TimerKind): boolean {
    return this.timers.has(`${kind}:${service}`);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

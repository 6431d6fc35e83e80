// The bookkeeping behind an episode's few notifications: the timers that end an episode (its flap
// window passed after the last recovery) and remind while it stays open, and the messages held while a
// service is muted, sent by releaseHeld when the mute ends with the failure still open. What is sent
// and when is decided in incidents.ts; this only remembers.
import type { Snapshot } from '../incident/snapshot';
import type { Logger } from './log';
import { applyOutcome, type Notifier, type NotifyEvent } from './notify';
import { enqueue, type ServiceRuntime } from './runtime';

/** A message held while muted: sent later with the episode as it is then. */
export interface HeldNotice {
  event: NotifyEvent;
  detail: string | null;
  /** the snapshot (episode) it is about */
  id: string;
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

export interface NoticesOptions {
  notifier?: Notifier;
  held?: (service: string) => { until: string; reason: string | null } | null;
  log: Logger;
  /** rewrite a stored snapshot in the service's queue (Incidents.update) */
  update: (rt: ServiceRuntime, id: string, change: (s: Snapshot) => boolean) => Promise<unknown>;
  read: (rt: ServiceRuntime, id: string) => Promise<Snapshot | null>;
}

/**
 * Sending or holding a message: queued once the snapshot is durable; the outcome is written back
 * through the service's work queue, so it never races the recovery rewrite.
 */
export class Notices {
  private readonly heldNotices = new HeldNotices();

  constructor(private readonly o: NoticesOptions) {}

  /** Before a snapshot is written: `pending` for the message about it, or `muted` when it will be held. */
  prepare(rt: ServiceRuntime, event: NotifyEvent, snapshot: Snapshot): void {
    const held = this.o.held?.(rt.cfg.name) ?? null;
    if (held) snapshot.muted = held;
    else this.o.notifier?.markPending(event, snapshot);
  }

  notify(rt: ServiceRuntime, event: NotifyEvent, snapshot: Snapshot, detail: string | null = null): void {
    const notifier = this.o.notifier;
    if (!notifier?.wants(event)) return;
    const held = this.o.held?.(rt.cfg.name) ?? null;
    if (held) {
      this.heldNotices.add(rt.cfg.name, { event, detail, id: snapshot.id });
      this.o.log.info(`${rt.cfg.name}: ${event} not notified (held until ${held.until}${held.reason ? `: ${held.reason}` : ''}); snapshot ${snapshot.id} marked muted`);
      if (snapshot.muted?.until !== held.until || snapshot.muted.reason !== held.reason) {
        const mark = (current: Snapshot): boolean => {
          current.muted = held;
          return true;
        };
        enqueue(rt, () => this.o.update(rt, snapshot.id, mark).then(() => undefined), this.o.log);
      }
      return;
    }
    notifier.notify(
      event,
      snapshot,
      (outcome) =>
        // retention may have removed it first: then there is nothing to record the outcome in
        enqueue(rt, () => this.o.update(rt, snapshot.id, (current: Snapshot) => applyOutcome(current, event, outcome)).then(() => undefined), this.o.log),
      detail,
    );
  }

  /**
   * A mute or maintenance window of this service ended (run in the service's queue). A held "resolved"
   * goes out only where its "down" did (the file has the down's outcome): a failure that began and ended
   * inside the hold was never told, so neither is its end. The open episode's held "down" is read from
   * its file ("muted" and no notification), so it outlives a restart of preflight; the other held
   * messages (flapping, cause changed, reminders) are sent if their episode is still open.
   */
  async releaseHeld(rt: ServiceRuntime): Promise<void> {
    if (!this.o.notifier) return;
    const name = rt.cfg.name;
    const held = this.heldNotices.take(name);
    for (const h of held) {
      if (h.event !== 'resolved') continue;
      const s = await this.o.read(rt, h.id);
      if (s?.notification) this.notify(rt, 'resolved', s, h.detail);
    }
    const id = rt.openIncident?.id;
    if (!id) {
      const dropped = held.filter((h) => h.event !== 'resolved').length;
      if (dropped > 0) this.o.log.info(`${name}: ${dropped} held notification(s) not sent: the failure ended while muted`);
      return;
    }
    let snapshot = await this.o.read(rt, id);
    if (!snapshot) return;
    if (snapshot.muted !== undefined && snapshot.notification === undefined) {
      await this.o.update(rt, id, (current) => {
        this.o.notifier?.markPending('down', current);
        snapshot = current;
        return true;
      });
      this.o.log.info(`${name}: notifications no longer held and incident ${id} is still open: notifying it now`);
      this.notify(rt, 'down', snapshot);
    }
    for (const h of held) if (h.event !== 'resolved' && h.event !== 'down' && h.id === id) this.notify(rt, h.event, snapshot, h.detail);
  }
}

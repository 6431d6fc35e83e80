// An episode's life after its first file: a later failure inside the flap window joins it (a compact
// occurrence, cause_changed and flapping messages), a recovery starts the flap window, the window's end
// resolves it (the one "resolved" message), and reminders while a failure stays open. The timers live
// here; what is written goes through Incidents' update and persist, what is sent through Notices.
import type { Config } from '../config/config';
import type { Snapshot, SnapshotError } from '../incident/snapshot';
import { formatDuration } from '../util/units';
import { appendOccurrence, countRestart, flappingText, joinsEpisode, occurrencesText, reminderDue, resolveEpisode, type Appended } from './episodes';
import type { Logger } from './log';
import { EpisodeTimers, type Notices } from './notices';
import { enqueue, noteEpisode, type ServiceRuntime } from './runtime';
import type { RestartEvent } from './units';

export interface EpisodeFlowOptions {
  config: Pick<Config, 'flapWindowSeconds' | 'reminderSeconds'>;
  services: readonly ServiceRuntime[];
  log: Logger;
  now: () => number;
  mono: () => number;
  /** rewrite a stored snapshot in the service's queue (Incidents.update) */
  update: (rt: ServiceRuntime, id: string, change: (s: Snapshot) => boolean) => Promise<{ snapshot: Snapshot; file: string } | null>;
  read: (rt: ServiceRuntime, id: string) => Promise<Snapshot | null>;
  persist: () => Promise<void>;
  notices: Notices;
}

export class EpisodeFlow {
  private readonly timers = new EpisodeTimers();

  constructor(private readonly o: EpisodeFlowOptions) {}

  /** A new episode's file is saved: it is the one later failures join; it reminds while it stays open. */
  opened(rt: ServiceRuntime, id: string): void {
    rt.episode = { id, recoveredAt: null };
    rt.reminderSentAt = this.o.mono();
    rt.causeChangedSent = false;
    this.scheduleReminder(rt, id);
  }

  /** A failure (built into `built`) joins the service's episode when it is inside the flap window; false: it is an episode of its own. */
  async joinIfDue(rt: ServiceRuntime, built: Snapshot, firstFailureAt: number, error: SnapshotError | null, restart: RestartEvent | null): Promise<boolean> {
    if (!joinsEpisode(rt.episode, firstFailureAt, this.flapWindowMs)) return false;
    return this.join(rt, built, firstFailureAt, error, restart);
  }

  /**
   * The open failure of episode `id` recovered: the flap window starts; or, `resolved` (no flap window),
   * the recovery's rewrite already said resolved and only the message is left.
   */
  async recovered(rt: ServiceRuntime, id: string, resolved: Snapshot | null): Promise<void> {
    this.timers.clear(rt.cfg.name, 'remind');
    if (resolved) this.announce(rt, id, resolved);
    else this.scheduleResolve(rt, id, this.flapWindowMs);
  }

  private get flapWindowMs(): number {
    return this.o.config.flapWindowSeconds * 1000;
  }

  private get reminderMs(): number {
    return this.o.config.reminderSeconds * 1000;
  }

  /**
   * After a restart of preflight: the timers of the episodes .state.json kept (an open one reminds, a
   * recovered one resolves when what is left of its flap window has passed).
   */
  resume(): void {
    for (const rt of this.o.services) {
      const ep = rt.episode;
      if (!ep) continue;
      // the counts `preflight status` shows, from the file (they are not in .state.json)
      void this.o.read(rt, ep.id).then((s) => s && rt.episodeCounts === null && noteEpisode(rt, s), () => undefined);
      if (ep.recoveredAt === null) this.scheduleReminder(rt, ep.id);
      else this.scheduleResolve(rt, ep.id, ep.recoveredAt + this.flapWindowMs - this.o.now());
    }
  }

  /** No timer fires after this (the store may be closing). */
  stop(): void {
    this.timers.stop();
  }

  /**
   * A confirmed failure within the flap window of the episode's recovery: appended to its file (a
   * compact occurrence; the full capture only when the cause changed), no file of its own. False when
   * the episode's file is gone (retention, a person): the failure is then an episode of its own.
   */
  private async join(rt: ServiceRuntime, built: Snapshot, firstFailureAt: number, error: SnapshotError | null, restart: RestartEvent | null): Promise<boolean> {
    const id = rt.episode!.id;
    let appended: Appended | null = null;
    let before = '';
    const done = await this.o.update(rt, id, (ep) => {
      const captures = ep.captures ?? [];
      before = captures.length > 0 ? captures[captures.length - 1]!.probable_cause : ep.probable_cause;
      appended = appendOccurrence(ep, built);
      if (restart) countRestart(ep);
      return true;
    });
    const a = appended as Appended | null;
    if (!done || !a) return false;
    this.timers.clear(rt.cfg.name, 'resolve');
    this.scheduleReminder(rt, id);
    rt.episode = { id, recoveredAt: null };
    rt.openIncident = { id, firstFailureAt };
    rt.lastIncident = { firstFailureAt: built.transition.first_failure_at, recoveredAt: null };
    await this.o.persist();
    const ep = done.snapshot;
    const n = ep.episode?.occurrences ?? 1;
    const what = error?.message ?? (restart ? `${restart.unit} restarted` : 'failed');
    this.o.log.error(`${rt.cfg.name}: DOWN again (${what}); ${built.probable_cause}; occurrence ${n} of episode ${id}${a.captureKept ? ' (cause changed: full capture kept)' : ''}`);
    if (a.causeChanged && !rt.causeChangedSent) {
      rt.causeChangedSent = true;
      this.o.notices.notify(rt, 'cause_changed', ep, `cause changed: ${built.probable_cause} (was: ${before})`);
    }
    if (reminderDue(rt.reminderSentAt, this.o.mono(), this.reminderMs) || n === 2) {
      // the second failure is what makes it flapping: said at once, then at most once per reminder
      rt.reminderSentAt = this.o.mono();
      this.o.notices.notify(rt, 'flapping', ep, flappingText(ep, this.o.now()));
    }
    return true;
  }

  /**
   * The episode is over: its flap window passed after the last recovery with no new failure. Its file
   * says resolved, and the one "resolved" message goes out with the episode's total downtime and
   * occurrences (the same figures as the log line and the file).
   */
  async resolve(rt: ServiceRuntime, id: string): Promise<void> {
    const ep = rt.episode;
    if (ep?.id !== id || ep.recoveredAt === null) return;
    this.timers.clear(rt.cfg.name, 'resolve');
    this.timers.clear(rt.cfg.name, 'remind');
    rt.episode = null;
    const done = await this.o.update(rt, id, (snapshot) => {
      resolveEpisode(snapshot, this.o.now());
      this.o.notices.prepare(rt, 'resolved', snapshot);
      return true;
    });
    await this.o.persist();
    if (done) this.announce(rt, id, done.snapshot);
  }

  /** The resolved episode in the log and in its one "resolved" message: the same total downtime in both. */
  private announce(rt: ServiceRuntime, id: string, s: Snapshot): void {
    this.timers.clear(rt.cfg.name, 'resolve');
    const e = s.episode;
    const total = e?.downtime_seconds ?? s.recovery?.downtime_seconds ?? 0;
    this.o.log.info(`${rt.cfg.name}: episode ${id} resolved after ${formatDuration(total)} down${occurrencesText(e?.occurrences ?? 1)}`);
    this.o.notices.notify(rt, 'resolved', s);
  }

  private scheduleResolve(rt: ServiceRuntime, id: string, ms: number): void {
    this.timers.set(rt.cfg.name, 'resolve', ms, () => enqueue(rt, () => this.resolve(rt, id), this.o.log));
  }

  /** While a failure of the episode stays open: a "still down" (or flapping) reminder every reminder_seconds. */
  private scheduleReminder(rt: ServiceRuntime, id: string): void {
    this.timers.set(rt.cfg.name, 'remind', this.reminderMs, () =>
      enqueue(
        rt,
        async () => {
          if (rt.openIncident?.id !== id) return;
          const snapshot = await this.o.read(rt, id);
          if (snapshot && reminderDue(rt.reminderSentAt, this.o.mono(), this.reminderMs)) {
            rt.reminderSentAt = this.o.mono();
            this.o.notices.notify(rt, 'flapping', snapshot, flappingText(snapshot, this.o.now()));
          }
          this.scheduleReminder(rt, id);
        },
        this.o.log,
      ),
    );
  }
}

// Whether a service's notifications are held now: a mute from `preflight mute` (the mute file in the
// snapshot folder, mute-file.ts) or a `maintenance:` window of the config. Incidents asks heldFor()
// before each message; when a hold ends, `onRelease` tells the daemon, which lets Incidents send what
// was held if the failure is still open.
//
// Decisions:
// - The file is polled: one stat a second, read only when its inode, size or times changed (the mute
//   command renames a new file in, so the inode always changes). inotify would need a watcher that
//   survives the folder being replaced; a stat is cheap and cannot be missed.
// - A mute file that cannot be read or parsed counts as no mute, said once per change: a page too
//   many is better than a failure nobody hears of.
// - A hold's `until` is the latest end among what holds the service now (a mute and a window that
//   overlap hold until both are over).
import { promises as fsp } from 'node:fs';
import { describeWindow, windowEnd, type MaintenanceWindow } from '../config/maintenance';
import { mkdirs } from '../incident/store-fs';
import { errnoCode, errorMessage } from '../util/errors';
import type { Logger } from './log';
import { activeMute, muteFilePath, readMuteFile, type MuteEntry } from './mute-file';

/** What Incidents stores in a snapshot as `muted`. */
export interface Hold {
  until: string;
  reason: string | null;
}

export const MUTE_POLL_MS = 1000;

export interface MutesOptions {
  snapshotDir: string;
  services: readonly string[];
  windows: readonly MaintenanceWindow[];
  log: Pick<Logger, 'info' | 'warn'>;
  now: () => number;
  /** a service's hold ended (also called once at start for every service not held) */
  onRelease: (service: string) => void;
  pollMs?: number;
}

/** The hold of `service` at `now` from `mutes` and `windows`, or null. Pure: the tests' table. */
export function holdOf(mutes: readonly MuteEntry[], windows: readonly MaintenanceWindow[], service: string, now: number): Hold | null {
  let until = -Infinity;
  let reason: string | null = null;
  const mute = activeMute(mutes, service, now);
  if (mute) {
    until = Date.parse(mute.until);
    reason = mute.reason;
  }
  for (const w of windows) {
    if (w.services && !w.services.includes(service)) continue;
    const end = windowEnd(w, now);
    if (end === null || end <= until) continue;
    until = end;
    reason = w.reason ?? `maintenance window ${describeWindow(w)}`;
  }
  return until === -Infinity ? null : { until: new Date(until).toISOString(), reason };
}

export class Mutes {
  private mutes: MuteEntry[] = [];
  /** the mute file's identity at the last read: inode, size, mtime, ctime ('' for none) */
  private seen: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> = Promise.resolve();
  /** the services held at the last tick (or told held to Incidents since) */
  private readonly held = new Set<string>();
  private stopped = false;

  constructor(private readonly o: MutesOptions) {}

  /** Read the file once, release every service not held (a restart may have left a message held), poll. */
  async start(): Promise<void> {
    // the folder is made now, by the daemon's user with the store's mode, rather than at the first
    // snapshot: a mute before any failure needs it, and one made by `sudo preflight mute` would be root's
    await mkdirs(this.o.snapshotDir).catch((err: unknown) => this.o.log.warn(`cannot create ${this.o.snapshotDir} for the mute file: ${errorMessage(err)}`));
    await this.tick(true);
    this.schedule();
  }

  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    return this.ticking;
  }

  /** The hold now, for Incidents' gate: a service told held is released at the next tick that finds it free. */
  heldFor(service: string, now = this.o.now()): Hold | null {
    const h = holdOf(this.mutes, this.o.windows, service, now);
    if (h) this.held.add(service);
    return h;
  }

  /** The hold now, for the status and /metrics (changes nothing). */
  current(service: string, now = this.o.now()): Hold | null {
    return holdOf(this.mutes, this.o.windows, service, now);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick(false).finally(() => this.schedule());
    }, this.o.pollMs ?? MUTE_POLL_MS);
  }

  private async tick(first: boolean): Promise<void> {
    await this.reload();
    const now = this.o.now();
    for (const service of this.o.services) {
      const h = this.current(service, now);
      const was = this.held.has(service);
      if (h && !was) {
        this.held.add(service);
        this.o.log.info(`${service}: notifications held until ${h.until}${h.reason ? ` (${h.reason})` : ''}; failures are still captured`);
      } else if (!h && (was || first)) {
        this.held.delete(service);
        if (was) this.o.log.info(`${service}: notifications no longer held`);
        this.o.onRelease(service);
      }
    }
  }

  /** Stat the mute file; read it again only when it changed. */
  private async reload(): Promise<void> {
    const file = muteFilePath(this.o.snapshotDir);
    let id: string;
    try {
      const st = await fsp.stat(file);
      id = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    } catch (err) {
      id = errnoCode(err) === 'ENOENT' ? '' : `error:${errnoCode(err) ?? 'unknown'}`;
    }
    if (id === this.seen) return;
    this.seen = id;
    try {
      this.mutes = id === '' ? [] : await readMuteFile(this.o.snapshotDir);
    } catch (err) {
      this.mutes = [];
      this.o.log.warn(`mute file ${file} not read: ${errorMessage(err)}; no service is muted by it`);
    }
  }
}

// Episodes (DESIGN.md principle 8, incidents not events): a failure that starts within
// flap_window_seconds of the previous recovery, or a restart while one is open, joins the open
// episode instead of writing a file and a page of its own. The episode file keeps the FIRST full
// capture (the most telling one: later failures of a flapping service find a scene already disturbed)
// and each later failure appends a compact occurrence. Pure functions on a snapshot, so the joins, the
// bounds and the notification decisions are tested as tables without a daemon.
import { iso, type EpisodeCapture, type Occurrence, type Snapshot } from '../incident/snapshot';
import { formatDuration } from '../util/units';

/** The compact occurrences kept in one file: enough for a day of flapping every 15 min, bounded all the same. */
export const MAX_OCCURRENCES = 100;
/** Later full captures kept per episode (each only when the probable cause changed). */
export const MAX_CAPTURES = 3;

/** The service's latest episode as the daemon remembers it (persisted in .state.json). */
export interface EpisodeRef {
  id: string;
  /** wall ms of its last recovery; null while a failure of it is open */
  recoveredAt: number | null;
}

/**
 * Whether a failure starting at `firstFailureAt` joins `last`: it recovered no longer than `windowMs`
 * before. A failure before the recovery (a clock step) joins too: it cannot be a new episode's start.
 */
export function joinsEpisode(last: EpisodeRef | null, firstFailureAt: number, windowMs: number): boolean {
  if (!last || last.recoveredAt === null) return false;
  return firstFailureAt - last.recoveredAt <= windowMs;
}

/** The compact entry for the failure a full snapshot was built for. */
export function occurrenceOf(s: Snapshot): Occurrence {
  return {
    at: s.transition.first_failure_at,
    trigger: s.trigger,
    error: s.error ? { kind: s.error.kind, status: s.error.status, message: s.error.message } : null,
    exit: s.exit,
    finding: s.findings[0]?.cause ?? null,
    duration_seconds: null,
  };
}

/** A fresh snapshot made the start of an episode: one occurrence, state open. */
export function startEpisode(s: Snapshot): Snapshot {
  s.episode = { state: 'open', occurrences: 1, restarts: 0, downtime_seconds: 0, last_failure_at: s.transition.first_failure_at };
  s.occurrences = [occurrenceOf(s)];
  s.captures = [];
  return s;
}

/** What appending a failure did: whether the probable cause differs from the episode's, and if its capture was kept. */
export interface Appended {
  causeChanged: boolean;
  captureKept: boolean;
}

/**
 * `built` (the full snapshot of a later failure) appended to the episode `ep`: a compact occurrence,
 * the full capture only when its probable cause is new to the episode and fewer than MAX_CAPTURES are
 * kept. The episode's own probable cause stays the first capture's: the file's top reads as it began,
 * `captures` says what it turned into.
 */
export function appendOccurrence(ep: Snapshot, built: Snapshot): Appended {
  const e = ep.episode ?? startEpisode(ep).episode!;
  const list = ep.occurrences ?? [];
  list.push(occurrenceOf(built));
  // the oldest after the first go: the first is the episode's start, the newest its present
  while (list.length > MAX_OCCURRENCES) {
    list.splice(1, 1);
    e.occurrences_dropped = (e.occurrences_dropped ?? 0) + 1;
  }
  ep.occurrences = list;
  e.occurrences++;
  e.state = 'flapping';
  e.last_failure_at = built.transition.first_failure_at;
  const captures = ep.captures ?? [];
  ep.captures = captures;
  const latest = captures.length > 0 ? captures[captures.length - 1]!.probable_cause : ep.probable_cause;
  const causeChanged = built.probable_cause !== latest;
  const captureKept = causeChanged && captures.length < MAX_CAPTURES;
  if (captureKept) captures.push(captureOf(built));
  // the failure is open again: the previous recovery stays in its occurrence's duration
  ep.recovery = null;
  return { causeChanged, captureKept };
}

function captureOf(s: Snapshot): EpisodeCapture {
  return {
    at: s.transition.first_failure_at,
    probable_cause: s.probable_cause,
    summary: s.summary,
    findings: s.findings,
    last_words: s.last_words,
    exit: s.exit,
    journal: s.journal,
    kernel: s.kernel,
  };
}

/** A restart noted in the episode (a restart while it is open joins it). */
export function countRestart(ep: Snapshot): void {
  if (ep.episode) ep.episode.restarts++;
}

/** One decimal of a second: the one rounding of a downtime, so the log, the text and the JSON say the same number. */
export const downtimeSeconds = (ms: number): number => Math.round(ms / 100) / 10;

/** The open occurrence recovered at `at` after `seconds` (downtimeSeconds): its duration and the total. */
export function recordRecovery(ep: Snapshot, seconds: number): void {
  const e = ep.episode;
  if (!e) return;
  const last = ep.occurrences?.[ep.occurrences.length - 1];
  if (last && last.duration_seconds === null) last.duration_seconds = seconds;
  e.downtime_seconds = Math.round((e.downtime_seconds + seconds) * 10) / 10;
}

/** The episode is over: the flap window passed after its last recovery without a new failure. */
export function resolveEpisode(ep: Snapshot, at: number): void {
  if (!ep.episode) return;
  ep.episode.state = 'resolved';
  ep.episode.resolved_at = iso(at);
}

/** Whether a flapping (or still-down) reminder may go out: none sent yet, or the last `reminderMs` ago. */
export function reminderDue(lastSentMono: number | null, nowMono: number, reminderMs: number): boolean {
  return lastSentMono === null || nowMono - lastSentMono >= reminderMs;
}

/**
 * "flapping: 7 failures in 12m00s, cause X" while it flaps; "still down after 1h00m, cause X" for a
 * single failure that stays open. `now` is wall ms.
 */
export function flappingText(ep: Snapshot, now: number): string {
  const n = ep.episode?.occurrences ?? 1;
  const since = Math.max(0, (now - Date.parse(ep.transition.first_failure_at)) / 1000);
  const captures = ep.captures ?? [];
  const cause = captures.length > 0 ? captures[captures.length - 1]!.probable_cause : ep.probable_cause;
  if (n <= 1) return `still down after ${formatDuration(since)}, ${cause}`;
  return `flapping: ${n} failures in ${formatDuration(since)}, ${cause}`;
}

/** "(3 occurrences)" after a recovery's duration, or nothing for an episode of one. */
export function occurrencesText(n: number): string {
  return n > 1 ? ` (${n} occurrences)` : '';
}

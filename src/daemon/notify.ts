// Notifications: the failure on the operator's phone. A message is queued only after its snapshot is
// durable and is sent off the capture path: one worker, in order (a "resolved" never overtakes its
// "down"), each attempt with a deadline, retries with exponential backoff and jitter, a capped queue.
// A dead, failing or hung receiver costs a logged line and a `failed` outcome, never a capture.
//
// Decisions:
// - Retried: network errors, timeouts, 408, 429 and 5xx. Any other status (400, 401, 404…) is a
//   configuration problem that retrying cannot fix, so it fails at once with the receiver's words.
// - A full queue refuses the new message (outcome `failed`, reason "queue full") rather than dropping
//   an older one: the oldest unsent message is the first failure, the one that matters most.
// - Stopping waits a short grace for the queue to drain, then abandons what is left; those snapshots
//   keep `notification.status: pending`, which is the truth.
// - Secrets: every form of the webhook URL a message could quote (whole, normalised, its path, query
//   values, user info) and header credentials are registered with the logger, and failure reasons
//   (which may echo the URL back from the receiver) go through the same redaction before they are
//   logged or stored in the snapshot.
import type { NotificationsConfig } from '../config/config';
import { iso, notificationIn, type Snapshot, type SnapshotNotification } from '../incident/snapshot';
import { errorMessage } from '../util/errors';
import { sleep } from '../util/time';
import { post, type PostResult } from '../notify/post';
import { clip } from '../util/text';

import { factsOf, formatMessage, mergeHeaders, type FormattedMessage, type NotifyEvent, type NotifyFacts } from '../notify/message';

export * from '../notify/message';

export interface RetryPolicy {
  /** POSTs per message, the first included */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** deadline of one attempt: connect, send, and the answer */
  timeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 1000, maxDelayMs: 30_000, timeoutMs: 10_000 };
export const DEFAULT_QUEUE_CAP = 100;
const MAX_RESPONSE_BYTES = 4096;
const MAX_REASON_CHARS = 300;
const MIN_LONE_SECRET = 8;

/** Exponential backoff with "equal jitter": between half and all of min(max, base·2^(attempt-1)). */
export function backoffDelayMs(attempt: number, p: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random: number): number {
  const ceiling = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (Math.min(Math.max(random, 0), 1) * ceiling) / 2);
}

/** Worth another attempt: the receiver may answer differently later. */
export function retryable(r: Pick<PostResult, 'ok' | 'status' | 'aborted'>): boolean {
  if (r.ok || r.aborted) return false;
  if (r.status === undefined) return true; // network error or timeout
  return r.status === 408 || r.status === 429 || r.status >= 500;
}

/** Retry-After (delay-seconds or an HTTP date) in ms from `now`; undefined when absent or unreadable. */
export function retryAfterMs(header: string | undefined, now: number): number | undefined {
  if (header === undefined) return undefined;
  const h = header.trim();
  if (/^[0-9]{1,9}$/.test(h)) return Number(h) * 1000;
  // an HTTP-date ends in GMT; Date.parse alone would take "-1" for a year
  const t = /GMT$/.test(h) ? Date.parse(h) : Number.NaN;
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/**
 * The strings a log line or an error could quote from a webhook URL: the URL as written and normalised,
 * its path and query (Slack, Discord and ntfy keep the token or topic there), each query value of 8 or
 * more characters, and the password. The logger ignores strings shorter than 4 characters.
 */
export function webhookSecrets(webhook: string): string[] {
  const out = new Set<string>([webhook]);
  let u: URL;
  try {
    u = new URL(webhook);
  } catch {
    return [...out];
  }
  out.add(u.href);
  if (u.pathname.length > 1) out.add(`${u.host}${u.pathname}`).add(u.pathname).add(decodeURIComponentSafe(u.pathname));
  if (u.search) out.add(u.search);
  // a value alone only when it is long enough to be a token: `?format=json` must not blank "json" in every line
  for (const v of u.searchParams.values()) if (v.length >= MIN_LONE_SECRET) out.add(v);
  if (u.password) out.add(u.password).add(decodeURIComponentSafe(u.password));
  return [...out];
}

/** Header values, and the credential alone where the value is "<scheme> <credential>". */
export function headerSecrets(headers: Record<string, string>): string[] {
  const out: string[] = [];
  for (const v of Object.values(headers)) {
    out.push(v);
    const m = /^[A-Za-z][A-Za-z0-9-]*\s+(\S.*)$/.exec(v);
    if (m?.[1]) out.push(m[1]);
  }
  return out;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Write a message's outcome into its snapshot; false when there is nowhere to put it (no recovery yet;
 * a reminder or cause change, whose outcome only the log keeps: the file holds the incident's two).
 */
export function applyOutcome(s: Snapshot, event: NotifyEvent, outcome: SnapshotNotification): boolean {
  if (event === 'flapping' || event === 'cause_changed') return false;
  if (event === 'down') {
    s.notification = outcome;
    return true;
  }
  if (!s.recovery) return false;
  s.recovery.notification = outcome;
  return true;
}

/** The outcome stored in a snapshot's text (`notification`), or null: none, or not a snapshot. */
export function notificationOf(text: string): SnapshotNotification | null {
  try {
    return notificationIn((JSON.parse(text) as { notification?: unknown }).notification);
  } catch {
    return null;
  }
}

/** What the notifier needs from the daemon's Logger. */
export interface NotifyLog {
  addSecret(secret: string | undefined): void;
  redact(text: string): string;
  info(m: string): void;
  warn(m: string): void;
  debug(m: string): void;
}

export type OutcomeCallback = (outcome: SnapshotNotification) => void;

export interface NotifierOptions {
  config: NotificationsConfig;
  log: NotifyLog;
  /** Overrides config.publicUrl (e.g. once the API is bound to an OS-chosen port). */
  publicUrl?: string;
  retry?: Partial<RetryPolicy>;
  queueCap?: number;
  random?: () => number;
  now?: () => number;
}

/** Counters for /metrics and the status. */
export interface NotifierStats {
  queued: number;
  delivered: number;
  /** messages that ended `failed` (after their last retry, or refused by a full queue) */
  failed: number;
  /** refused because the queue was full (also counted in `failed`) */
  dropped: number;
}

interface Job {
  facts: NotifyFacts;
  message: FormattedMessage;
  done: OutcomeCallback | undefined;
}

export class Notifier {
  readonly retry: RetryPolicy;
  readonly queueCap: number;
  publicUrl: string | undefined;
  private readonly url: URL;
  private readonly queue: Job[] = [];
  private running = false;
  private stopping = false;
  private readonly abort = new AbortController();
  private idleWaiters: Array<() => void> = [];
  private readonly counters = { delivered: 0, failed: 0, dropped: 0 };
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(private readonly opts: NotifierOptions) {
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.queueCap = opts.queueCap ?? DEFAULT_QUEUE_CAP;
    this.publicUrl = opts.publicUrl ?? opts.config.publicUrl;
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
    this.url = new URL(opts.config.webhook);
    for (const s of [...webhookSecrets(opts.config.webhook), ...headerSecrets(opts.config.headers)]) opts.log.addSecret(s);
  }

  /** Whether `event` will be sent (recovery messages can be turned off). */
  wants(event: NotifyEvent): boolean {
    return event !== 'resolved' || this.opts.config.recovery;
  }

  /** Mark a snapshot about to be written as `pending`, when this event will be sent. */
  markPending(event: NotifyEvent, s: Snapshot): void {
    if (this.wants(event)) applyOutcome(s, event, { status: 'pending', attempts: 0, at: iso(this.now()) });
  }

  /**
   * Queue the message about a durable snapshot. Returns at once; `done` gets the outcome later (or at
   * once when the queue is full). False when nothing was queued.
   */
  notify(event: NotifyEvent, snapshot: Snapshot, done?: OutcomeCallback, detail: string | null = null): boolean {
    if (!this.wants(event)) return false;
    return this.send(factsOf(snapshot, event, this.publicUrl, detail), done);
  }

  send(facts: NotifyFacts, done?: OutcomeCallback): boolean {
    const name = `${facts.service} ${facts.event} (${facts.snapshotId})`;
    if (this.stopping) {
      this.opts.log.warn(`notification for ${name} not sent: preflight is stopping`);
      return false;
    }
    if (this.queue.length >= this.queueCap) {
      this.counters.failed++;
      this.counters.dropped++;
      const reason = `queue full: ${this.queue.length} notifications waiting`;
      this.opts.log.warn(`notification for ${name} not sent: ${reason}`);
      this.report(done, { status: 'failed', attempts: 0, at: iso(this.now()), reason });
      return false;
    }
    const formatted = formatMessage(this.opts.config.format, facts);
    this.queue.push({ facts, message: { body: formatted.body, headers: mergeHeaders(formatted.headers, this.opts.config.headers) }, done });
    void this.pump();
    return true;
  }

  stats(): NotifierStats {
    return { queued: this.queue.length, ...this.counters };
  }

  /** Resolves when nothing is queued or being sent. */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuse new messages, give the queue `graceMs` to drain, then abandon the rest (they stay pending). */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    const left = this.queue.length;
    this.abort.abort();
    await this.idle();
    if (left > 0) this.opts.log.warn(`${left} notification(s) not sent: preflight stopped (their snapshots say pending)`);
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.abort.signal.aborted) {
        const job = this.queue[0]!;
        const outcome = await this.deliver(job).catch((err: unknown): SnapshotNotification => {
          this.counters.failed++;
          return { status: 'failed', attempts: 0, at: iso(this.now()), reason: clip(this.opts.log.redact(errorMessage(err)), MAX_REASON_CHARS) };
        });
        this.queue.shift();
        if (outcome) this.report(job.done, outcome);
      }
      if (this.abort.signal.aborted) this.queue.length = 0;
    } finally {
      this.running = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Attempts until delivered, a permanent failure, or the last retry; null when abandoned on stop. */
  private async deliver(job: Job): Promise<SnapshotNotification | null> {
    const f = job.facts;
    const name = `${f.service} ${f.event} (${f.snapshotId})`;
    const p = this.retry;
    for (let attempt = 1; ; attempt++) {
      const r = await post({
        url: this.url,
        body: job.message.body,
        headers: job.message.headers,
        timeoutMs: p.timeoutMs,
        maxResponseBytes: MAX_RESPONSE_BYTES,
        signal: this.abort.signal,
      });
      if (r.aborted) return null;
      const at = iso(this.now());
      if (r.ok) {
        this.counters.delivered++;
        this.opts.log.info(`notified ${this.url.host} of ${name}${attempt > 1 ? ` on attempt ${attempt}` : ''}`);
        return { status: 'delivered', attempts: attempt, at };
      }
      const reason = clip(this.opts.log.redact(r.message), MAX_REASON_CHARS);
      if (!retryable(r) || attempt >= p.maxAttempts) {
        this.counters.failed++;
        const why = retryable(r) ? `after ${attempt} attempts` : 'not retried';
        this.opts.log.warn(`notification for ${name} to ${this.url.host} failed (${why}): ${reason}`);
        return { status: 'failed', attempts: attempt, at, reason };
      }
      const asked = retryAfterMs(r.retryAfter, this.now());
      const delay = Math.min(p.maxDelayMs, asked ?? backoffDelayMs(attempt, p, this.random()));
      this.opts.log.debug(`notification for ${name}: attempt ${attempt}/${p.maxAttempts} failed (${reason}); retrying in ${(delay / 1000).toFixed(1)} s`);
      await sleep(delay, this.abort.signal);
      if (this.abort.signal.aborted) return null;
    }
  }

  private report(done: OutcomeCallback | undefined, outcome: SnapshotNotification): void {
    try {
      done?.(outcome);
    } catch (err) {
      this.opts.log.warn(`recording a notification outcome failed: ${errorMessage(err)}`);
    }
  }
}

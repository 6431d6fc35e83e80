// Notifications: the failure on the operator's phone. A message is queued only after its snapshot is
// durable and is sent off the capture path: one worker, in order (a "recovered" never overtakes its
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
import { hostname } from 'node:os';
import type { NotificationsConfig } from '../config/config';
import { formatDuration } from '../util/units';
import { iso, notificationIn, upgradeSnapshot, type Snapshot, type SnapshotError, type SnapshotNotification } from '../incident/snapshot';
import { unitFailed } from '../incident/unit-failed';
import { errorMessage } from '../util/errors';
import { sleep } from '../util/time';
import { post, type PostResult } from './post';
import { clip } from '../util/text';

/** Which message: the failure, or the recovery that follows it. */
export type NotifyEvent = 'down' | 'recovered';

/** The facts one message carries, whatever its format; taken from a snapshot by `factsOf`. */
export interface NotifyFacts {
  event: NotifyEvent;
  service: string;
  host: string;
  /** down: the first failed check; recovered: the first passing one */
  at: string;
  trigger: Snapshot['trigger'];
  /** e.g. `RAM 94% | swap 40% | disk / 87% | load 4.20 | cpu 99%` */
  summary: string;
  probableCause: string | null;
  error: SnapshotError | null;
  /** short: "503", "timeout", "restarted by systemd (killed KILL)" */
  what: string;
  link: string | null;
  snapshotId: string;
  downtimeSeconds: number | null;
  /** see unitFailed: the unit of a unit-only service failed (told as down) */
  unitFailed?: true;
}

/** One HTTP request body and the headers the format needs. */
export interface FormattedMessage {
  body: string;
  headers: Record<string, string>;
}

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

const ERROR_WORDS: Record<string, string> = {
  timeout: 'timeout',
  connection_refused: 'connection refused',
  dns: 'DNS lookup failed',
  tls: 'TLS error',
  reset: 'connection reset',
  body_mismatch: 'unexpected body',
};


/** `<public_url>/failure-context/<service>/<id>`; null without a base (listen off or a wildcard address). */
export function snapshotLink(publicUrl: string | undefined, service: string, id: string): string | null {
  if (!publicUrl) return null;
  return `${publicUrl.replace(/\/+$/, '')}/failure-context/${encodeURIComponent(service)}/${encodeURIComponent(id)}`;
}

/** What failed, in as few words as a phone notification allows. */
export function whatFailed(s: Pick<Snapshot, 'error' | 'trigger' | 'exit'> & Partial<Pick<Snapshot, 'health_url' | 'unit'>>): string {
  const e = s.error;
  if (s.trigger === 'unit_restart') return `${unitFailed(s) ? 'failed' : 'restarted by systemd'}${s.exit ? ` (${s.exit.code} ${s.exit.status})` : ''}`;
  if (!e) return s.trigger === 'manual' ? 'manual snapshot' : 'failed';
  if (e.kind === 'http_status') return e.status === null ? 'unexpected HTTP status' : String(e.status);
  if (e.kind === 'unit') return e.message || 'unit failed';
  return ERROR_WORDS[e.kind] ?? e.kind;
}

export function factsOf(s: Snapshot, event: NotifyEvent, publicUrl: string | undefined): NotifyFacts {
  return {
    event,
    service: s.service,
    host: s.host.hostname ?? hostname(),
    at: event === 'recovered' && s.recovery ? s.recovery.at : s.transition.first_failure_at,
    trigger: s.trigger,
    summary: s.summary,
    // only a certain or likely cause is told as one; otherwise what was seen, and that no cause was found
    probableCause: upgradeSnapshot(s).probable_cause,
    error: s.error,
    what: whatFailed(s),
    link: snapshotLink(publicUrl, s.service, s.id),
    snapshotId: s.id,
    downtimeSeconds: s.recovery?.downtime_seconds ?? null,
    ...(unitFailed(s) ? { unitFailed: true as const } : {}),
  };
}

/** "dead-drop down on box", "dead-drop recovered on box" */
export function title(f: NotifyFacts): string {
  const verb = f.event === 'recovered' ? 'recovered' : f.trigger === 'unit_restart' && f.unitFailed !== true ? 'restarted' : f.trigger === 'manual' ? 'snapshot' : 'down';
  return `${f.service} ${verb} on ${f.host}`;
}

/**
 * The one line every format carries:
 * `dead-drop down on box: 503 · OOM kill of node (pid 4242) · RAM 94% | disk / 87% | load 4.20 · <link>`
 * `dead-drop recovered on box after 2m13s · <link>`
 */
export function oneLine(f: NotifyFacts): string {
  if (f.event === 'recovered') {
    const after = f.downtimeSeconds === null ? '' : ` after ${formatDuration(f.downtimeSeconds)}`;
    return [`${title(f)}${after}`, f.link].filter(Boolean).join(' · ');
  }
  const parts = [`${title(f)}: ${f.what}`, f.probableCause ? clip(f.probableCause, 200) : null, f.summary, f.link];
  return parts.filter(Boolean).join(' · ').replace(/[\r\n]+/g, ' ');
}

/** The generic webhook: one JSON object, snake_case like the snapshot. */
export function jsonPayload(f: NotifyFacts): Record<string, unknown> {
  const common = { event: f.event, service: f.service, host: f.host, at: f.at };
  if (f.event === 'recovered') {
    return { ...common, downtime_seconds: f.downtimeSeconds, link: f.link, snapshot_id: f.snapshotId, text: oneLine(f) };
  }
  return {
    ...common,
    trigger: f.trigger,
    summary: f.summary,
    probable_cause: f.probableCause,
    error: f.error,
    link: f.link,
    snapshot_id: f.snapshotId,
    text: oneLine(f),
  };
}

/** Header values are bytes on the wire: keep them printable ASCII (service and host names are). */
const headerSafe = (s: string): string => clip(s.replace(/[^\x20-\x7e]/g, '?'), 250);

/** ntfy (https://docs.ntfy.sh/publish/): the text as the body, the rest as headers. */
export function ntfyMessage(f: NotifyFacts): FormattedMessage {
  const down = f.event === 'down';
  const headers: Record<string, string> = {
    'content-type': 'text/plain; charset=utf-8',
    title: headerSafe(title(f)),
    priority: down ? 'high' : 'default',
    tags: down ? 'rotating_light' : 'white_check_mark',
  };
  if (f.link) headers.click = headerSafe(f.link);
  return { body: oneLine(f), headers };
}

const slackEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A Slack incoming webhook: `text` (notifications, fallback) and blocks with the same facts. */
export function slackPayload(f: NotifyFacts): Record<string, unknown> {
  const lines =
    f.event === 'recovered'
      ? [`*${slackEscape(title(f))}*${f.downtimeSeconds === null ? '' : ` after ${formatDuration(f.downtimeSeconds)}`}`]
      : [
          `*${slackEscape(title(f))}*: ${slackEscape(f.what)}`,
          ...(f.probableCause ? [`*Probable cause:* ${slackEscape(clip(f.probableCause, 500))}`] : []),
          `*Host:* ${slackEscape(f.summary)}`,
        ];
  const context = [`${f.event === 'down' ? 'first failure' : 'at'} ${f.at}`, ...(f.event === 'down' ? [`trigger ${f.trigger}`] : [])];
  context.push(f.link ? `snapshot <${f.link}|${f.snapshotId}>` : `snapshot ${f.snapshotId}`);
  return {
    text: clip(oneLine(f), 3000),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: clip(lines.join('\n'), 3000) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: clip(context.join(' · '), 3000) }] },
    ],
  };
}

/** A Discord webhook: `content` plus one embed; mentions are disabled so log text cannot ping anyone. */
export function discordPayload(f: NotifyFacts): Record<string, unknown> {
  const field = (name: string, value: string, inline = false): Record<string, unknown> => ({ name, value: clip(value, 1024), inline });
  const fields =
    f.event === 'recovered'
      ? [field('Downtime', f.downtimeSeconds === null ? '?' : formatDuration(f.downtimeSeconds), true), field('Snapshot', f.snapshotId, true)]
      : [
          field('What failed', f.what, true),
          field('Trigger', f.trigger, true),
          ...(f.probableCause ? [field('Probable cause', f.probableCause)] : []),
          field('Host', f.summary),
          field('Snapshot', f.snapshotId),
        ];
  const embed: Record<string, unknown> = {
    title: clip(title(f), 256),
    description: clip(oneLine(f), 4096),
    color: f.event === 'down' ? 0xd93f0b : 0x2ea043,
    timestamp: f.at,
    fields,
  };
  if (f.link) embed.url = f.link;
  return { content: clip(oneLine(f), 2000), allowed_mentions: { parse: [] }, embeds: [embed] };
}

export function formatMessage(format: NotificationsConfig['format'], f: NotifyFacts): FormattedMessage {
  const json = (v: unknown): FormattedMessage => ({ body: JSON.stringify(v), headers: { 'content-type': 'application/json' } });
  switch (format) {
    case 'ntfy':
      return ntfyMessage(f);
    case 'slack':
      return json(slackPayload(f));
    case 'discord':
      return json(discordPayload(f));
    case 'json':
      return json(jsonPayload(f));
  }
}

/** Config headers win over the format's (case-insensitively); content-length is always computed. */
export function mergeHeaders(format: Record<string, string>, extra: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(format)) out[k.toLowerCase()] = v;
  for (const [k, v] of Object.entries(extra)) out[k.toLowerCase()] = v;
  delete out['content-length'];
  return out;
}

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

/** Write a message's outcome into its snapshot; false when there is nowhere to put it (no recovery yet). */
export function applyOutcome(s: Snapshot, event: NotifyEvent, outcome: SnapshotNotification): boolean {
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
    return event === 'down' || this.opts.config.recovery;
  }

  /** Mark a snapshot about to be written as `pending`, when this event will be sent. */
  markPending(event: NotifyEvent, s: Snapshot): void {
    if (this.wants(event)) applyOutcome(s, event, { status: 'pending', attempts: 0, at: iso(this.now()) });
  }

  /**
   * Queue the message about a durable snapshot. Returns at once; `done` gets the outcome later (or at
   * once when the queue is full). False when nothing was queued.
   */
  notify(event: NotifyEvent, snapshot: Snapshot, done?: OutcomeCallback): boolean {
    if (!this.wants(event)) return false;
    return this.send(factsOf(snapshot, event, this.publicUrl), done);
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

// What a notification says, whatever the channel: the facts taken from a snapshot, the one line every
// format carries, and each format's body (json, ntfy, Slack, Discord). Delivery is src/daemon/notify.ts.
import { hostname } from 'node:os';
import type { NotificationsConfig } from '../config/config';
import { formatDuration } from '../util/units';
import { upgradeSnapshot, type Snapshot, type SnapshotError } from '../incident/snapshot';
import { unitFailed } from '../incident/unit-failed';
import { clip } from '../util/text';

/**
 * Which message: the failure ("down"), a flapping or still-down reminder (at most one per
 * reminder_seconds), the first finding changed ("cause_changed", once per episode), or the episode's
 * end ("resolved": "resolved after 2m13s (3 occurrences)", the episode's downtime and occurrences).
 */
export type NotifyEvent = 'down' | 'flapping' | 'cause_changed' | 'resolved';

/** The facts one message carries, whatever its format; taken from a snapshot by `factsOf`. */
export interface NotifyFacts {
  event: NotifyEvent;
  service: string;
  host: string;
  /** down: the first failed check; resolved: the first passing one */
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
  /** the episode's failures so far (1 for an episode of one) */
  occurrences: number;
  /** flapping / cause_changed: what is new, in words ("flapping: 7 failures in 12m00s, cause X") */
  detail: string | null;
  /** see unitFailed: the unit of a unit-only service failed (told as down) */
  unitFailed?: true;
}

/** One HTTP request body and the headers the format needs. */
export interface FormattedMessage {
  body: string;
  headers: Record<string, string>;
}


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

export function factsOf(s: Snapshot, event: NotifyEvent, publicUrl: string | undefined, detail: string | null = null): NotifyFacts {
  const u = upgradeSnapshot(s);
  return {
    event,
    service: s.service,
    host: s.host.hostname ?? hostname(),
    at: event === 'resolved' && s.recovery ? s.recovery.at : s.transition.first_failure_at,
    trigger: s.trigger,
    summary: s.summary,
    // only a certain or likely cause is told as one; otherwise what was seen, and that no cause was found
    probableCause: u.probable_cause,
    error: s.error,
    what: whatFailed(s),
    link: snapshotLink(publicUrl, s.service, s.id),
    snapshotId: s.id,
    // the episode's total downtime, the same number the log and the snapshot's episode say
    downtimeSeconds: s.recovery ? (u.episode?.downtime_seconds ?? s.recovery.downtime_seconds) : null,
    occurrences: u.episode?.occurrences ?? 1,
    detail,
    ...(unitFailed(s) ? { unitFailed: true as const } : {}),
  };
}

/** "dead-drop down on box", "dead-drop resolved on box" */
export function title(f: NotifyFacts): string {
  const verb =
    f.event === 'resolved' ? 'resolved' : f.event === 'flapping' ? 'flapping' : f.event === 'cause_changed' ? 'cause changed' : f.trigger === 'unit_restart' && f.unitFailed !== true ? 'restarted' : f.trigger === 'manual' ? 'snapshot' : 'down';
  return `${f.service} ${verb} on ${f.host}`;
}

/**
 * The one line every format carries:
 * `dead-drop down on box: 503 · OOM kill of node (pid 4242) · RAM 94% | disk / 87% | load 4.20 · <link>`
 * `dead-drop resolved on box after 2m13s (3 occurrences) · <link>`
 */
export function oneLine(f: NotifyFacts): string {
  if (f.event === 'resolved') {
    return [`${title(f)}${recoveredAfter(f)}`, f.link].filter(Boolean).join(' · ');
  }
  if (f.event === 'flapping' || f.event === 'cause_changed') {
    return [`${title(f)}: ${f.detail ?? f.probableCause ?? ''}`, f.link].filter(Boolean).join(' · ').replace(/[\r\n]+/g, ' ');
  }
  const parts = [`${title(f)}: ${f.what}`, f.probableCause ? clip(f.probableCause, 200) : null, f.summary, f.link];
  return parts.filter(Boolean).join(' · ').replace(/[\r\n]+/g, ' ');
}

/** " after 2m13s (3 occurrences)": the same figure in every format. */
function recoveredAfter(f: NotifyFacts): string {
  const after = f.downtimeSeconds === null ? '' : ` after ${formatDuration(f.downtimeSeconds)}`;
  return `${after}${f.occurrences > 1 ? ` (${f.occurrences} occurrences)` : ''}`;
}

/** The generic webhook: one JSON object, snake_case like the snapshot. */
export function jsonPayload(f: NotifyFacts): Record<string, unknown> {
  const common = { event: f.event, service: f.service, host: f.host, at: f.at };
  if (f.event === 'resolved') {
    return { ...common, downtime_seconds: f.downtimeSeconds, occurrences: f.occurrences, link: f.link, snapshot_id: f.snapshotId, text: oneLine(f) };
  }
  if (f.event === 'flapping' || f.event === 'cause_changed') {
    return { ...common, detail: f.detail, probable_cause: f.probableCause, occurrences: f.occurrences, link: f.link, snapshot_id: f.snapshotId, text: oneLine(f) };
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
    tags: down ? 'rotating_light' : f.event === 'resolved' ? 'white_check_mark' : 'warning',
  };
  if (f.link) headers.click = headerSafe(f.link);
  return { body: oneLine(f), headers };
}

const slackEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A Slack incoming webhook: `text` (notifications, fallback) and blocks with the same facts. */
export function slackPayload(f: NotifyFacts): Record<string, unknown> {
  const lines =
    f.event === 'resolved'
      ? [`*${slackEscape(title(f))}*${recoveredAfter(f)}`]
      : f.event === 'flapping' || f.event === 'cause_changed'
        ? [`*${slackEscape(title(f))}*: ${slackEscape(f.detail ?? '')}`]
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
    f.event === 'resolved'
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


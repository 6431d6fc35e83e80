// Gotify: one `POST /message` per message, the application token in X-Gotify-Key, markdown with every
// piece of log text escaped, and the snapshot link as the notification's click action. Read against:
//   https://gotify.net/docs/pushmsg     POST /message, "only the message parameter is required"
//   https://gotify.net/api-docs         (gotify/server docs/spec.json) createMessage: CreateMessage body
//       {title, message, priority (integer), extras}; auth X-Gotify-Key, ?token= or Authorization: Bearer;
//       errors {"error","errorCode","errorDescription"}
//   https://gotify.net/docs/msgextras   extras "only accepted … with application/json content-type";
//       client::display.contentType text/markdown; client::notification.click.url
// Gotify documents no length limit (the message is a text column); the message is kept to what a
// phone's notification and the web UI show in one screen.
// Keys: url (the server, e.g. https://push.example.org, a path prefix allowed), token (application
// token, secret), priority (0-10, default 8: the down message's; the others never above it).
import { baseUrlSetting, intSetting, optionalSetting, requiredSetting, urlSecrets, type SettingGetter } from './channel-settings';
import { UTF16, channelText, fitPieces, urgencyOf, type ChannelFacts, type Urgency } from './channel-text';
import type { OutgoingRequest } from './request';

export const GOTIFY_KEYS = ['url', 'token', 'priority'] as const;
/** preflight's bound on the markdown source before escaping (escaping at most doubles it) */
export const GOTIFY_MESSAGE_MAX = 4000;
export const GOTIFY_TITLE_MAX = 250;

export interface GotifySettings {
  url: string;
  token: string;
  /** the down message's priority */
  priority: number;
}

export function gotifySettings(get: SettingGetter): GotifySettings {
  return {
    url: baseUrlSetting('gotify', 'url', requiredSetting('gotify', get, 'url')),
    token: requiredSetting('gotify', get, 'token'),
    priority: intSetting('gotify', 'priority', optionalSetting(get, 'priority'), 0, 10, 8),
  };
}

export function gotifySecrets(s: GotifySettings): string[] {
  return [s.token, ...urlSecrets(s.url)];
}

/**
 * Gotify's own scale (Android: 0 silent, 1-3 quiet, 4-7 sound, 8-10 sound and pop-up): down at the
 * configured priority, a flapping or changed cause at 5, the end at 2, none above the configured one.
 */
export function gotifyPriority(u: Urgency, configured: number): number {
  return u === 'high' ? configured : Math.min(u === 'normal' ? 5 : 2, configured);
}

/**
 * CommonMark backslash escapes for what could start markup inside a line: emphasis, code, links and
 * images (an image in a log line would be fetched by every client that shows it), autolinks, HTML,
 * entities, strikethrough. Each piece is one line and none starts one (a label or the service name
 * does), so headings, lists, quotes and tables cannot start; `(` and `|` stay as they are, readable
 * where a client shows the source.
 */
export const escapeMarkdown = (s: string): string => s.replace(/[\\`*_[\]<>!&~#]/g, '\\$&');

export function gotifyMessage(f: ChannelFacts): { title: string; message: string } {
  const t = channelText(f);
  const [title] = fitPieces(UTF16, GOTIFY_TITLE_MAX, [{ text: t.title, cap: GOTIFY_TITLE_MAX, overhead: 0 }]);
  const [line, cause, quote] = fitPieces(UTF16, GOTIFY_MESSAGE_MAX, [
    { text: t.line, cap: 1024, overhead: 0 },
    { text: t.cause, cap: 2048, overhead: 0 },
    { text: t.quote, cap: 1024, overhead: 0 },
  ]);
  const paragraphs: string[] = [];
  if (line) paragraphs.push(escapeMarkdown(line));
  if (cause) paragraphs.push(`**Probable cause:** ${escapeMarkdown(cause)}`);
  if (quote) paragraphs.push(`> ${escapeMarkdown(quote)}`);
  // <…> keeps a URL whole whatever it holds; the URL parser has percent-encoded any < > or space
  if (f.link) paragraphs.push(`[Open snapshot](<${f.link}>)`);
  return { title: title ?? '', message: paragraphs.join('\n\n') };
}

export function buildGotify(f: ChannelFacts, s: GotifySettings): OutgoingRequest {
  const { title, message } = gotifyMessage(f);
  const extras: Record<string, unknown> = { 'client::display': { contentType: 'text/markdown' } };
  if (f.link) extras['client::notification'] = { click: { url: f.link } };
  const payload = { title, message, priority: gotifyPriority(urgencyOf(f.event), s.priority), extras };
  return {
    method: 'POST',
    url: `${s.url}/message`,
    // the header rather than ?token=: a URL ends up in proxy logs
    headers: { 'content-type': 'application/json', 'x-gotify-key': s.token },
    body: JSON.stringify(payload),
  };
}

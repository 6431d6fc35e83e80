// Pushover: one `POST /1/messages.json` per message, form-encoded, plain text, the snapshot link as
// the supplementary URL. Read against https://pushover.net/api:
//   "TL;DR" and "Pushing Messages"   token, user, message (required); title, url, url_title, priority,
//       device, timestamp; application/x-www-form-urlencoded; answers {"status":1,"request":…}, errors
//       HTTP 4xx {"status":0,"errors":[…],…}
//   "Users, Groups, and Devices"   tokens and user keys are 30 characters [A-Za-z0-9]; device names up to
//       25 characters [A-Za-z0-9_-], several joined with a comma
//   "Message Priority"   -2..2; 2 needs retry (at least 30 s) and expire (at most 10800 s)
//   "Limitations"   "Messages are currently limited to 1024 4-byte UTF-8 characters, with a title of up to
//       250 characters. Supplementary URLs are limited to 512 characters, and URL titles to 100 characters."
// Keys: token (application API token, secret), user (user or group key, secret), priority (-2..2,
// default 1: the down message's; the others never above it), device (optional), api_url (default
// https://api.pushover.net, for a test receiver).
import { baseUrlSetting, intSetting, optionalSetting, patternSetting, requiredSetting, urlSecrets, type SettingGetter } from './channel-settings';
import { CODE_POINTS, channelText, fitPieces, urgencyOf, type ChannelFacts, type Urgency } from './channel-text';
import type { OutgoingRequest } from './request';

export const PUSHOVER_KEYS = ['token', 'user', 'priority', 'device', 'api_url'] as const;
export const PUSHOVER_API_URL = 'https://api.pushover.net';
export const PUSHOVER_LIMITS = { message: 1024, title: 250, url: 512, url_title: 100 } as const;
/** emergency (2) is repeated every RETRY seconds until acknowledged, for at most EXPIRE */
export const PUSHOVER_EMERGENCY = { retry: 60, expire: 3600 } as const;

export interface PushoverSettings {
  token: string;
  user: string;
  priority: number;
  device?: string;
  apiUrl: string;
}

const KEY_30 = /^[A-Za-z0-9]{30}$/;

export function pushoverSettings(get: SettingGetter): PushoverSettings {
  const device = optionalSetting(get, 'device');
  return {
    token: patternSetting('pushover', 'token', requiredSetting('pushover', get, 'token'), KEY_30, '30 letters and digits (the application API token)'),
    user: patternSetting('pushover', 'user', requiredSetting('pushover', get, 'user'), /^[A-Za-z0-9]{30}(,[A-Za-z0-9]{30})*$/, '30 letters and digits (a user or group key; several joined with a comma)'),
    priority: intSetting('pushover', 'priority', optionalSetting(get, 'priority'), -2, 2, 1),
    ...(device === undefined ? {} : { device: patternSetting('pushover', 'device', device, /^[A-Za-z0-9_-]{1,25}(,[A-Za-z0-9_-]{1,25})*$/, 'device names of up to 25 of A-Z a-z 0-9 _ -, joined with a comma') }),
    apiUrl: baseUrlSetting('pushover', 'api_url', optionalSetting(get, 'api_url') ?? PUSHOVER_API_URL),
  };
}

export function pushoverSecrets(s: PushoverSettings): string[] {
  return [s.token, s.user, ...urlSecrets(s.apiUrl)];
}

/** Down at the configured priority (default 1: through quiet hours), the rest at 0 and the end at -1 (no sound), none above it. */
export function pushoverPriority(u: Urgency, configured: number): number {
  return u === 'high' ? configured : Math.min(u === 'normal' ? 0 : -1, configured);
}

const CAUSE_LABEL = 'Probable cause: ';

/** The form's text fields, each within its documented limit (counted in code points). */
export function pushoverFields(f: ChannelFacts): Record<string, string> {
  const t = channelText(f);
  const [title] = fitPieces(CODE_POINTS, PUSHOVER_LIMITS.title, [{ text: t.title, cap: PUSHOVER_LIMITS.title, overhead: 0 }]);
  // plain text, one piece a line: the notification shows the first lines, the app the rest
  const [line, cause, quote] = fitPieces(CODE_POINTS, PUSHOVER_LIMITS.message, [
    { text: t.line, cap: 600, overhead: 0 },
    { text: t.cause, cap: 1024, overhead: 1 + CAUSE_LABEL.length },
    { text: t.quote, cap: 512, overhead: 3 },
  ]);
  const lines = [line, cause ? `${CAUSE_LABEL}${cause}` : null, quote ? `“${quote}”` : null].filter((l): l is string => l !== null);
  const out: Record<string, string> = {};
  if (title) out.title = title;
  out.message = lines.join('\n');
  // a longer link cannot be cut and stay a link: it is in the message's one line anyway
  if (f.link && CODE_POINTS.length(f.link) <= PUSHOVER_LIMITS.url) {
    out.url = f.link;
    out.url_title = 'Open snapshot';
  }
  return out;
}

export function buildPushover(f: ChannelFacts, s: PushoverSettings): OutgoingRequest {
  const form = new URLSearchParams({ token: s.token, user: s.user, ...pushoverFields(f) });
  const priority = pushoverPriority(urgencyOf(f.event), s.priority);
  form.set('priority', String(priority));
  if (priority === 2) {
    form.set('retry', String(PUSHOVER_EMERGENCY.retry));
    form.set('expire', String(PUSHOVER_EMERGENCY.expire));
  }
  if (s.device) form.set('device', s.device);
  // shown as the failure's time, not the delivery's (a retried message arrives late)
  const at = Date.parse(f.at);
  if (Number.isFinite(at)) form.set('timestamp', String(Math.floor(at / 1000)));
  return {
    method: 'POST',
    url: `${s.apiUrl}/1/messages.json`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  };
}

// Apprise API: one POST to a saved configuration (`/notify/{key}`, optionally narrowed by `tag`) or to
// the stateless `/notify` with the Apprise URLs in the payload; Apprise fans it out to the 100+
// services those URLs name, converting the plain text for each. Read against caronc/apprise-api:
//   https://github.com/caronc/apprise-api#stateless-solution   POST /notify: urls, body (required),
//       title, type (info, success, warning, failure), format (text, markdown, html)
//   https://github.com/caronc/apprise-api#persistent-storage-solution   POST /notify/{KEY}: body (the
//       only required field), title, type, tag, format
//   swagger.yaml (same repository)   key 1-128 of [A-Za-z0-9_-]; 200 sent, 204 nothing configured for the
//       key (nothing sent), 400 invalid, 424 a service failed; application/json accepted
//   apprise NotifyBase: title_maxlen 250, body_maxlen 32768; apprise-api forms: urls at most 1024
// The link is in the body as text: every service Apprise reaches shows text, few have buttons.
// Keys: url (the Apprise API server, e.g. http://apprise:8000), key (a saved configuration) or urls
// (stateless: Apprise URLs separated by commas or spaces, secret: they hold each service's
// credentials), tag (optional, with key).
import { ChannelSettingsError, baseUrlSetting, optionalSetting, patternSetting, requiredSetting, urlSecrets, type SettingGetter } from './channel-settings';
import { CODE_POINTS, channelText, fitPieces, urgencyOf, type ChannelFacts } from './channel-text';
import type { OutgoingRequest } from './request';

export const APPRISE_KEYS = ['url', 'key', 'urls', 'tag'] as const;
export const APPRISE_LIMITS = { title: 250, body: 32_768, urls: 1024 } as const;
/** preflight's own bound on the body: many services Apprise reaches cut far below 32768 */
export const APPRISE_BODY_MAX = 4000;

export type AppriseSettings = { url: string; tag?: string } & ({ key: string } | { urls: string });

export function appriseSettings(get: SettingGetter): AppriseSettings {
  const url = baseUrlSetting('apprise', 'url', requiredSetting('apprise', get, 'url'));
  const key = optionalSetting(get, 'key');
  const urls = optionalSetting(get, 'urls');
  const tag = optionalSetting(get, 'tag');
  if (key !== undefined && urls !== undefined) throw new ChannelSettingsError('apprise', 'urls', 'give key (a saved configuration) or urls (stateless), not both');
  if (key !== undefined) {
    return { url, key: patternSetting('apprise', 'key', key, /^[A-Za-z0-9_-]{1,128}$/, '1 to 128 of A-Z a-z 0-9 _ -'), ...(tag === undefined ? {} : { tag }) };
  }
  if (urls === undefined) throw new ChannelSettingsError('apprise', 'key', 'is required (or urls, for the stateless /notify)');
  if (tag !== undefined) throw new ChannelSettingsError('apprise', 'tag', 'only narrows a saved configuration (key); with urls it has nothing to select');
  if (urls.length > APPRISE_LIMITS.urls) throw new ChannelSettingsError('apprise', 'urls', `at most ${APPRISE_LIMITS.urls} characters (the Apprise API's limit), not ${urls.length}`);
  return { url, urls };
}

/** The key (anyone holding it can notify), the URLs (each holds a service's credentials), a password in the server URL. */
export function appriseSecrets(s: AppriseSettings): string[] {
  const out: string[] = [];
  if ('key' in s) out.push(s.key);
  else out.push(s.urls, ...s.urls.split(/[\s,]+/).filter(Boolean));
  return [...out, ...urlSecrets(s.url)];
}

const TYPE = { high: 'failure', normal: 'warning', low: 'success' } as const;
const CAUSE_LABEL = 'Probable cause: ';
const LINK_LABEL = 'Snapshot: ';

/** Title and plain-text body, in code points (Python's len, which Apprise's limits count). */
export function appriseMessage(f: ChannelFacts): { title: string; body: string } {
  const t = channelText(f);
  const [title] = fitPieces(CODE_POINTS, APPRISE_LIMITS.title, [{ text: t.title, cap: APPRISE_LIMITS.title, overhead: 0 }]);
  // the link goes first into the budget (last in the body): cut, it would not be a link
  const linkRoom = f.link ? CODE_POINTS.length(f.link) + LINK_LABEL.length + 2 : 0;
  const [line, cause, quote] = fitPieces(CODE_POINTS, APPRISE_BODY_MAX - linkRoom, [
    { text: t.line, cap: 1024, overhead: 0 },
    { text: t.cause, cap: 2048, overhead: 2 + CAUSE_LABEL.length },
    { text: t.quote, cap: 1024, overhead: 4 },
  ]);
  const body = [line, cause ? `${CAUSE_LABEL}${cause}` : null, quote ? `“${quote}”` : null, f.link ? `${LINK_LABEL}${f.link}` : null]
    .filter((p): p is string => p !== null)
    .join('\n\n');
  return { title: title ?? '', body };
}

export function buildApprise(f: ChannelFacts, s: AppriseSettings): OutgoingRequest {
  const { title, body } = appriseMessage(f);
  const payload: Record<string, string> = {
    ...('urls' in s ? { urls: s.urls } : {}),
    title,
    body,
    type: TYPE[urgencyOf(f.event)],
    // text: Apprise escapes it for each HTML or markdown service, so log text is never markup
    format: 'text',
    ...('key' in s && s.tag !== undefined ? { tag: s.tag } : {}),
  };
  const path = 'key' in s ? `/notify/${encodeURIComponent(s.key)}` : '/notify';
  return {
    method: 'POST',
    url: `${s.url}${path}`,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(payload),
  };
}

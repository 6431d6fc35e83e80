// An Apprise API server's POST /notify/{KEY} and stateless POST /notify, checked against caronc/apprise-api
// (README "Stateless Solution" and "Persistent Storage Solution", swagger.yaml, api/forms.py): JSON,
// form or multipart bodies; `body` required; `title` at most 250 characters and `body` 32768 (apprise's
// NotifyBase); `type` info | success | warning | failure; `format` text | markdown | html; `tag` with a
// key; `urls` (stateless, at most 1024 characters); the key 1-128 of [A-Za-z0-9_-]. Answers 200 (sent),
// 204 (nothing configured for the key, or no URLs: nothing sent), 400 (invalid), 424 (a service failed).
import { jsonObject, mediaType, startReceiver, type Receiver, type Verdict } from './_server';

export interface AppriseExpect {
  /** the saved configurations' keys */
  keys: string[];
  /** stateless /notify: what APPRISE_STATELESS_URLS holds ('' for nothing) */
  statelessUrls?: string;
  /** an Apprise URL whose service fails (424) when named in urls */
  failingUrl?: string;
}

const FIELDS = new Set(['urls', 'body', 'title', 'type', 'format', 'tag', 'tags', 'attachment', 'attach']);
const TYPES = ['info', 'success', 'warning', 'failure'];
const FORMATS = ['text', 'markdown', 'html'];
const chars = (s: string): number => Array.from(s).length;

const bad = (error: string): Verdict => ({ status: 400, body: { error } });

export function startAppriseReceiver(expect: AppriseExpect): Promise<Receiver> {
  return startReceiver((r, unknown) => {
    const m = /^\/notify(?:\/([^/]+))?\/?$/.exec(r.path);
    if (!m) return { status: 404, body: { error: 'Not Found' } };
    if (r.method !== 'POST') return { status: 405, body: { error: 'Method Not Allowed' } };
    const key = m[1] === undefined ? null : decodeURIComponent(m[1]);
    if (key !== null && !/^[A-Za-z0-9_-]{1,128}$/.test(key)) return { status: 404, body: { error: 'Not Found' } };
    let p: Record<string, unknown>;
    const type = mediaType(r.headers['content-type'] as string | undefined);
    if (type === 'application/json') {
      const j = jsonObject(r.body);
      if (typeof j === 'string') return bad('Invalid JSON specified.');
      p = j;
    } else if (type === 'application/x-www-form-urlencoded') {
      p = Object.fromEntries(new URLSearchParams(r.body));
    } else {
      return bad(`unsupported content type ${type || '(none)'}`);
    }
    for (const k of Object.keys(p)) if (!FIELDS.has(k)) unknown(`apprise ${k}`);
    for (const [k, v] of Object.entries(p)) if (k !== 'attach' && k !== 'attachment' && typeof v !== 'string') return bad(`${k} must be a string`);
    const body = p.body as string | undefined;
    if (body === undefined || body.trim() === '') return bad('body: This field is required.');
    if (chars(body) > 32_768) return bad('body: Ensure this value has at most 32768 characters.');
    if (p.title !== undefined && chars(p.title as string) > 250) return bad('title: Ensure this value has at most 250 characters.');
    if (p.type !== undefined && !TYPES.includes(p.type as string)) return bad(`type: Select a valid choice. ${String(p.type)} is not one of the available choices.`);
    if (p.format !== undefined && !FORMATS.includes(p.format as string)) return bad(`format: Select a valid choice. ${String(p.format)} is not one of the available choices.`);
    let urls: string;
    if (key !== null) {
      if (p.urls !== undefined) unknown('apprise urls (ignored with a key)');
      if (!expect.keys.includes(key)) return { status: 204, body: '' };
      urls = 'saved';
    } else {
      if (p.tag !== undefined) unknown('apprise tag (ignored without a key)');
      urls = (p.urls as string | undefined) ?? expect.statelessUrls ?? '';
      if (((p.urls as string | undefined)?.length ?? 0) > 1024) return bad('urls: Ensure this value has at most 1024 characters.');
      if (urls.trim() === '') return { status: 204, body: '' };
    }
    if (expect.failingUrl && urls.split(/[\s,]+/).includes(expect.failingUrl)) return { status: 424, body: { error: 'One or more notification could not be sent.' } };
    return { status: 200, body: [{ level: 'info', message: `Sent ${String(p.type ?? 'info')} notification.` }] };
  });
}

// Pushover's POST /1/messages.json, checked against https://pushover.net/api: "Pushing Messages"
// (form-encoded or JSON; token, user, message required), "Users, Groups, and Devices" (30-character
// [A-Za-z0-9] token and keys, device names up to 25 of [A-Za-z0-9_-]), "Message Priority" (-2..2; 2
// needs retry >= 30 and expire <= 10800), "HTML/Message Styling" (html or monospace, not both),
// "Limitations" (message 1024 characters, title 250, url 512, url_title 100), "Response Format"
// ({"status":1,"request":…}; HTTP 4xx {"<param>":"invalid","errors":[…],"status":0,"request":…}).
import { randomUUID } from 'node:crypto';
import { mediaType, startReceiver, type Receiver, type Verdict } from './_server';

export interface PushoverExpect {
  token: string;
  user: string;
}

const PARAMS = new Set(['token', 'user', 'message', 'attachment_base64', 'attachment_type', 'device', 'html', 'monospace', 'priority', 'sound', 'timestamp', 'title', 'ttl', 'url', 'url_title', 'retry', 'expire', 'callback', 'tags']);
const KEY_30 = /^[A-Za-z0-9]{30}$/;
const chars = (s: string): number => Array.from(s).length;

const invalid = (param: string | null, error: string): Verdict => ({
  status: 400,
  body: { ...(param ? { [param]: 'invalid' } : {}), errors: [error], status: 0, request: randomUUID() },
});

export function startPushoverReceiver(expect: PushoverExpect): Promise<Receiver> {
  return startReceiver((r, unknown) => {
    if (r.path !== '/1/messages.json') return { status: 404, body: { errors: ['not found'], status: 0, request: randomUUID() } };
    if (r.method !== 'POST') return invalid(null, 'the POST method is required to push messages');
    const type = mediaType(r.headers['content-type'] as string | undefined);
    if (type !== 'application/x-www-form-urlencoded') return invalid(null, `this receiver reads application/x-www-form-urlencoded, not ${type || 'nothing'}`);
    const form = new URLSearchParams(r.body);
    for (const k of new Set(form.keys())) {
      if (!PARAMS.has(k)) unknown(`pushover ${k}`);
      if (form.getAll(k).length > 1) return invalid(k, `${k} is given more than once`);
    }
    const get = (k: string): string | null => form.get(k);
    const token = get('token') ?? '';
    if (!KEY_30.test(token) || token !== expect.token) return invalid('token', 'application token is invalid');
    const user = get('user') ?? '';
    if (!KEY_30.test(user) || user !== expect.user) return invalid('user', 'user identifier is invalid');
    const message = get('message');
    if (message === null || message.trim() === '') return invalid('message', 'message cannot be blank');
    if (chars(message) > 1024) return invalid('message', 'message is too long: 1024 characters at most');
    const title = get('title');
    if (title !== null && chars(title) > 250) return invalid('title', 'title is too long: 250 characters at most');
    const url = get('url');
    if (url !== null && chars(url) > 512) return invalid('url', 'url is too long: 512 characters at most');
    const urlTitle = get('url_title');
    if (urlTitle !== null && chars(urlTitle) > 100) return invalid('url_title', 'url_title is too long: 100 characters at most');
    const device = get('device');
    if (device !== null && !/^[A-Za-z0-9_-]{1,25}(,[A-Za-z0-9_-]{1,25})*$/.test(device)) return invalid('device', 'device name is not valid');
    if (get('html') === '1' && get('monospace') === '1') return invalid('monospace', 'monospace may not be used with html');
    const priority = get('priority');
    if (priority !== null) {
      if (!/^-?[0-2]$/.test(priority) || Number(priority) < -2) return invalid('priority', 'priority must be -2, -1, 0, 1 or 2');
      if (priority === '2') {
        const retry = Number(get('retry'));
        const expire = Number(get('expire'));
        if (!get('retry') || !Number.isInteger(retry) || retry < 30) return invalid('retry', 'retry must be at least 30 seconds for emergency priority');
        if (!get('expire') || !Number.isInteger(expire) || expire > 10800 || expire < 1) return invalid('expire', 'expire must be at most 10800 seconds for emergency priority');
      }
    }
    const ts = get('timestamp');
    if (ts !== null && !/^\d+$/.test(ts)) return invalid('timestamp', 'timestamp must be a Unix timestamp');
    return {
      status: 200,
      headers: { 'x-limit-app-limit': '10000', 'x-limit-app-remaining': '9999', 'x-limit-app-reset': '1767247200' },
      body: { status: 1, request: randomUUID(), ...(priority === '2' ? { receipt: 'r'.repeat(30) } : {}) },
    };
  });
}

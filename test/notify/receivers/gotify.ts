// A Gotify server's POST /message, checked against gotify/server's API spec (docs/spec.json,
// https://gotify.net/api-docs: createMessage, CreateMessage, Error) and https://gotify.net/docs/msgextras:
// the application token from X-Gotify-Key, ?token= or "Authorization: Bearer"; `message` required;
// `title` string; `priority` integer; `extras` an object, only with application/json, keys of the form
// <top-namespace>::[<sub-namespace>::]<action>, client::display.contentType text/plain or text/markdown,
// client::notification.click.url a string. Errors as gotify answers them: {"error","errorCode","errorDescription"}.
import { isInt, jsonObject, mediaType, startReceiver, type Receiver, type Verdict } from './_server';

export interface GotifyExpect {
  token: string;
  /** the path prefix the server is mounted at ('' for the root) */
  prefix?: string;
}

/** CreateMessage's fields; Go's JSON binding ignores any other */
const FIELDS = new Set(['appid', 'message', 'title', 'priority', 'extras']);
const EXTRA_KEY = /^[A-Za-z0-9_-]+::([A-Za-z0-9_-]+::)?[A-Za-z0-9_-]+$/;

const err = (code: number, error: string, errorDescription: string): Verdict => ({ status: code, body: { error, errorCode: code, errorDescription } });
const bad = (why: string): Verdict => err(400, 'Bad Request', why);

function checkExtras(extras: unknown): string | null {
  if (extras === null || typeof extras !== 'object' || Array.isArray(extras)) return 'json: cannot unmarshal extras into Go struct field CreateMessage.extras of type map[string]interface {}';
  for (const [k, v] of Object.entries(extras)) {
    if (!EXTRA_KEY.test(k)) return `extras key ${JSON.stringify(k)} is not of the form <top-namespace>::[<sub-namespace>::]<action>`;
    if (k === 'client::display') {
      const ct = (v as Record<string, unknown> | null)?.contentType;
      if (ct !== 'text/plain' && ct !== 'text/markdown') return `client::display.contentType must be text/plain or text/markdown, not ${JSON.stringify(ct)}`;
    }
    if (k === 'client::notification') {
      const click = (v as Record<string, unknown> | null)?.click as Record<string, unknown> | undefined;
      if (click !== undefined && typeof click?.url !== 'string') return 'client::notification.click.url must be a string';
    }
  }
  return null;
}

export function startGotifyReceiver(expect: GotifyExpect): Promise<Receiver> {
  let id = 0;
  const prefix = expect.prefix ?? '';
  return startReceiver((r, unknown) => {
    if (r.path !== `${prefix}/message`) return err(404, 'Not Found', 'page not found');
    if (r.method !== 'POST') return err(405, 'Method Not Allowed', 'method not allowed');
    const auth = r.headers.authorization;
    const token = (r.headers['x-gotify-key'] as string | undefined) ?? r.query.get('token') ?? (typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : undefined);
    if (token !== expect.token) return err(401, 'Unauthorized', 'you need to provide a valid access token or user credentials to access this api');
    // form posts are bound too, but extras "are only accepted … with application/json"
    if (mediaType(r.headers['content-type'] as string | undefined) !== 'application/json') return bad('this receiver takes application/json, the only type that carries extras');
    const p = jsonObject(r.body);
    if (typeof p === 'string') return bad(p);
    for (const k of Object.keys(p)) if (!FIELDS.has(k)) unknown(`gotify message.${k}`);
    if (typeof p.message !== 'string' || p.message === '') return bad("Field 'message' is required");
    if (p.title !== undefined && typeof p.title !== 'string') return bad('json: cannot unmarshal title into Go struct field CreateMessage.title of type string');
    if (p.priority !== undefined && !isInt(p.priority)) return bad('json: cannot unmarshal priority into Go struct field CreateMessage.priority of type int');
    if (p.extras !== undefined) {
      const why = checkExtras(p.extras);
      if (why) return bad(why);
    }
    id++;
    return {
      status: 200,
      body: { id, appid: 1, message: p.message, title: p.title || 'preflight', priority: p.priority ?? 0, ...(p.extras ? { extras: p.extras } : {}), date: '2026-11-25T03:04:06.000Z' },
    };
  });
}

// A Matrix homeserver's PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}, checked against
// the client-server API (https://spec.matrix.org/latest/client-server-api/): #put_matrixclientv3roomsroomidsendeventtypetxnid
// (PUT, the content as the body, {"event_id"}), #using-access-tokens (Authorization: Bearer),
// #standard-error-response ({"errcode","error"}: M_MISSING_TOKEN, M_UNKNOWN_TOKEN, M_FORBIDDEN,
// M_NOT_JSON, M_BAD_JSON, M_TOO_LARGE, M_UNRECOGNIZED), #transaction-identifiers (the same txnId from
// the same access token is the same event: answered again, not posted again), #mroommessage (msgtype and
// body required; format org.matrix.custom.html with formatted_body), #size-limits (65536 bytes).
// Stricter than a homeserver on one point, on purpose: formatted_body must keep to the spec's HTML
// allowlist for clients (#mroommessage-msgtypes), with every other < and & escaped: a homeserver stores
// anything, and a client would show broken or stripped text.
import { randomUUID } from 'node:crypto';
import { jsonObject, mediaType, startReceiver, type Receiver, type Verdict } from './_server';

export interface MatrixExpect {
  accessToken: string;
  roomId: string;
}

export interface MatrixReceiver extends Receiver {
  /** the events posted, one per transaction */
  events: { txnId: string; eventId: string; content: Record<string, unknown> }[];
  /** the event id answered to each accepted request, in order (a retried transaction repeats one) */
  answers: string[];
}

/** the tags and attributes the spec suggests clients allow in formatted_body */
const TAGS = new Set(['font', 'del', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'p', 'a', 'ul', 'ol', 'sup', 'sub', 'li', 'b', 'i', 'u', 'strong', 'em', 's', 'code', 'hr', 'br', 'div', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'caption', 'pre', 'span', 'img', 'details', 'summary']);
const HREF_SCHEMES = ['https:', 'http:', 'ftp:', 'mailto:', 'magnet:'];
const EVENT_MAX = 65_536;

const error = (status: number, errcode: string, message: string): Verdict => ({ status, body: { errcode, error: message } });

/** Why formatted_body breaks the spec's allowlist or HTML's escaping, or null. */
export function matrixHtmlProblem(html: string): string | null {
  const re = /<(\/?)([a-zA-Z0-9]+)((?:\s+[a-zA-Z-]+="[^"<>]*")*)\s*(\/?)>|&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);|[<>&]/g;
  for (const m of html.matchAll(re)) {
    const s = m[0];
    if (s === '<' || s === '>' || s === '&') return `an unescaped ${s} at ${m.index}`;
    if (s.startsWith('&')) continue;
    const tag = m[2]!.toLowerCase();
    if (!TAGS.has(tag)) return `tag <${tag}> is not in the spec's allowlist`;
    for (const a of m[3]!.matchAll(/([a-zA-Z-]+)="([^"]*)"/g)) {
      if (tag === 'a' && a[1] === 'href') {
        const href = a[2]!.replace(/&amp;/g, '&');
        if (!HREF_SCHEMES.some((p) => href.startsWith(p))) return `href scheme not allowed: ${href}`;
      } else if (!(tag === 'a' && a[1] === 'target') && !(tag === 'code' && a[1] === 'class') && !(tag === 'span' || tag === 'font' || tag === 'img')) {
        return `attribute ${a[1]} of <${tag}> is not in the spec's allowlist`;
      }
    }
  }
  return null;
}

export async function startMatrixReceiver(expect: MatrixExpect): Promise<MatrixReceiver> {
  const events: MatrixReceiver['events'] = [];
  const answers: string[] = [];
  const byTxn = new Map<string, string>();
  const rx = await startReceiver((r, unknown) => {
    const m = /^\/_matrix\/client\/v3\/rooms\/([^/]+)\/send\/([^/]+)\/([^/]+)$/.exec(r.path);
    if (!m) return error(404, 'M_UNRECOGNIZED', 'Unrecognized request');
    if (r.method !== 'PUT') return error(405, 'M_UNRECOGNIZED', 'Unrecognized request');
    const auth = r.headers.authorization;
    const token = typeof auth === 'string' ? /^Bearer (.+)$/.exec(auth)?.[1] : (r.query.get('access_token') ?? undefined);
    if (token === undefined) return error(401, 'M_MISSING_TOKEN', 'Missing access token');
    if (token !== expect.accessToken) return { status: 401, body: { errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token passed.', soft_logout: false } };
    const roomId = decodeURIComponent(m[1]!);
    if (roomId !== expect.roomId) return error(403, 'M_FORBIDDEN', `User @preflight:example.org not in room ${roomId}`);
    const txnId = decodeURIComponent(m[3]!);
    const known = byTxn.get(`${token}\u0000${txnId}`);
    if (known) {
      answers.push(known);
      return { status: 200, body: { event_id: known } };
    }
    if (Buffer.byteLength(r.body, 'utf8') > EVENT_MAX) return error(413, 'M_TOO_LARGE', 'event too large');
    if (mediaType(r.headers['content-type'] as string | undefined) !== 'application/json') return error(400, 'M_NOT_JSON', 'Content not JSON.');
    const c = jsonObject(r.body);
    if (typeof c === 'string') return error(400, 'M_NOT_JSON', 'Content not JSON.');
    if (decodeURIComponent(m[2]!) === 'm.room.message') {
      for (const k of Object.keys(c)) if (!['msgtype', 'body', 'format', 'formatted_body', 'm.relates_to', 'm.mentions', 'm.new_content'].includes(k)) unknown(`matrix content.${k}`);
      if (typeof c.msgtype !== 'string') return error(400, 'M_BAD_JSON', "'msgtype' not in content");
      if (typeof c.body !== 'string') return error(400, 'M_BAD_JSON', "'body' not a string");
      if (c.format !== undefined || c.formatted_body !== undefined) {
        if (c.format !== 'org.matrix.custom.html') return error(400, 'M_BAD_JSON', `unknown format ${JSON.stringify(c.format)}`);
        if (typeof c.formatted_body !== 'string') return error(400, 'M_BAD_JSON', "'formatted_body' not a string");
        const why = matrixHtmlProblem(c.formatted_body);
        if (why) return error(400, 'M_BAD_JSON', `formatted_body: ${why}`);
      }
    }
    const eventId = `$${randomUUID().replace(/-/g, '')}:example.org`;
    byTxn.set(`${token}\u0000${txnId}`, eventId);
    events.push({ txnId, eventId, content: c });
    answers.push(eventId);
    return { status: 200, body: { event_id: eventId } };
  });
  return Object.assign(rx, { events, answers });
}

// Matrix: one `m.room.message` event per message, sent with PUT and a transaction id derived from the
// message itself, so a retry after a lost answer is the same transaction (the homeserver returns the
// first event instead of posting a second). Read against the client-server API:
//   https://spec.matrix.org/latest/client-server-api/#put_matrixclientv3roomsroomidsendeventtypetxnid
//       PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}, body = the event content,
//       answers {"event_id":…}; errors {"errcode","error"}
//   https://spec.matrix.org/latest/client-server-api/#transaction-identifiers   "used by the server to
//       ensure idempotency of requests" (scoped to the access token's device)
//   https://spec.matrix.org/latest/client-server-api/#using-access-tokens   Authorization: Bearer <token>
//   https://spec.matrix.org/latest/client-server-api/#mtext and #mroommessage-msgtypes   msgtype m.text,
//       body (plain fallback), format org.matrix.custom.html, formatted_body (HTML, escaped here)
//   https://spec.matrix.org/latest/client-server-api/#size-limits   "The complete event MUST NOT be larger
//       than 65536 bytes" in canonical JSON with signatures: the content is kept to half of that
// Keys: homeserver (https://matrix.example.org), room_id (!opaque:example.org; an alias #room:server
// must be resolved first), access_token (secret).
import { createHash } from 'node:crypto';
import { baseUrlSetting, patternSetting, requiredSetting, urlSecrets, type SettingGetter } from './channel-settings';
import { UTF16, channelText, fitPieces, type ChannelFacts } from './channel-text';
import type { OutgoingRequest } from './request';

export const MATRIX_KEYS = ['homeserver', 'room_id', 'access_token'] as const;
/** the content's JSON in bytes: half the event limit leaves the envelope, hashes and signatures room */
export const MATRIX_CONTENT_MAX_BYTES = 32_768;

export interface MatrixSettings {
  homeserver: string;
  roomId: string;
  accessToken: string;
  /**
   * Which notifier this is, in the transaction id: two notifiers to one room never share an id. The
   * lead may set the notifier's name here; by default the homeserver and room.
   */
  scope: string;
}

export function matrixSettings(get: SettingGetter): MatrixSettings {
  const homeserver = baseUrlSetting('matrix', 'homeserver', requiredSetting('matrix', get, 'homeserver'));
  const roomId = patternSetting('matrix', 'room_id', requiredSetting('matrix', get, 'room_id'), /^![^:\s]+:\S+$/, 'a room id such as !abcdef:example.org (Room settings → Advanced), not an alias');
  return { homeserver, roomId, accessToken: requiredSetting('matrix', get, 'access_token'), scope: `${homeserver} ${roomId}` };
}

export function matrixSecrets(s: MatrixSettings): string[] {
  return [s.accessToken, ...urlSecrets(s.homeserver)];
}

/**
 * Stable for one message of one notifier: the snapshot, the event and the occurrences so far (a second
 * flapping reminder of the same episode has more, and must not be taken for a retry of the first).
 * Hex of a hash: URL-safe, no secret in it.
 */
export function matrixTxnId(f: Pick<ChannelFacts, 'snapshotId' | 'event' | 'occurrences'>, scope: string): string {
  const h = createHash('sha256').update([scope, f.snapshotId, f.event, String(f.occurrences)].join('\u0000')).digest('hex');
  return `preflight-${h.slice(0, 32)}`;
}

/** Text and attribute values: the five characters HTML gives meaning to. */
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

const CAUSE_LABEL = 'Probable cause: ';

export interface MatrixContent {
  msgtype: 'm.text';
  body: string;
  format: 'org.matrix.custom.html';
  formatted_body: string;
}

function contentWithin(f: ChannelFacts, total: number): MatrixContent {
  const t = channelText(f);
  const [title, line, cause, quote] = fitPieces(UTF16, total, [
    { text: t.title, cap: 256, overhead: 0 },
    { text: t.line, cap: 1024, overhead: 1 },
    { text: t.cause, cap: 4096, overhead: 1 + CAUSE_LABEL.length },
    { text: t.quote, cap: 2048, overhead: 3 },
  ]);
  const body: string[] = [];
  const html: string[] = [];
  if (title) {
    body.push(title);
    html.push(`<strong>${esc(title)}</strong>`);
  }
  if (line) {
    body.push(line);
    html.push(esc(line));
  }
  if (cause) {
    body.push(`${CAUSE_LABEL}${cause}`);
    html.push(`<strong>${esc(CAUSE_LABEL.trimEnd())}</strong> ${esc(cause)}`);
  }
  let formatted = `<p>${html.join('<br>')}</p>`;
  if (quote) {
    body.push(`> ${quote}`);
    formatted += `<blockquote><code>${esc(quote)}</code></blockquote>`;
  }
  if (f.link) formatted += `<p><a href="${esc(f.link)}">Open snapshot</a></p>`;
  return { msgtype: 'm.text', body: body.join('\n'), format: 'org.matrix.custom.html', formatted_body: formatted };
}

/** The event content, its JSON at most MATRIX_CONTENT_MAX_BYTES: escaping can grow text sixfold, so it is measured, not guessed. */
export function matrixContent(f: ChannelFacts): MatrixContent {
  let total = 8192;
  let c = contentWithin(f, total);
  while (Buffer.byteLength(JSON.stringify(c), 'utf8') > MATRIX_CONTENT_MAX_BYTES && total > 300) {
    total = Math.floor(total * 0.75);
    c = contentWithin(f, total);
  }
  return c;
}

export function buildMatrix(f: ChannelFacts, s: MatrixSettings): OutgoingRequest {
  const path = `/_matrix/client/v3/rooms/${encodeURIComponent(s.roomId)}/send/m.room.message/${matrixTxnId(f, s.scope)}`;
  return {
    method: 'PUT',
    url: `${s.homeserver}${path}`,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${s.accessToken}` },
    body: JSON.stringify(matrixContent(f)),
  };
}

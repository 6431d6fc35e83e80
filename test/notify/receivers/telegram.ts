// A Telegram Bot API receiver for sendMessage, checked against https://core.telegram.org/bots/api:
// #making-requests (POST /bot<token>/<method>, methods case-insensitive, answers {"ok":true,"result":…}
// or {"ok":false,"error_code":…,"description":…}), #sendmessage (parameters and types, text "1-4096
// characters after entities parsing"), #html-style (the supported tags and entities; every other <, >
// and & escaped), #inlinekeyboardmarkup / #inlinekeyboardbutton (text, exactly one action, url "HTTP or
// tg://"). Descriptions are the real API's wording where known ("Bad Request: chat not found").
import { isInt, jsonObject, mediaType, startReceiver, type Receiver, type Verdict } from './_server';

export interface TelegramExpect {
  token: string;
  chatId: number | string;
}

/** sendMessage's parameters (Bot API 10.1); the API ignores any other */
const SEND_MESSAGE_FIELDS = new Set([
  'business_connection_id', 'chat_id', 'message_thread_id', 'direct_messages_topic_id', 'text', 'parse_mode', 'entities', 'link_preview_options',
  'disable_notification', 'protect_content', 'allow_paid_broadcast', 'message_effect_id', 'suggested_post_parameters', 'reply_parameters', 'reply_markup',
]);
const LINK_PREVIEW_FIELDS = new Set(['is_disabled', 'url', 'prefer_small_media', 'prefer_large_media', 'show_above_text']);
const BUTTON_ACTIONS = ['url', 'callback_data', 'web_app', 'login_url', 'switch_inline_query', 'switch_inline_query_current_chat', 'switch_inline_query_chosen_chat', 'copy_text', 'callback_game', 'pay'];
const BUTTON_FIELDS = new Set(['text', 'icon_custom_emoji_id', 'style', ...BUTTON_ACTIONS]);

/** HTML style: tag → the attributes it may carry */
const TAGS: Record<string, string[]> = {
  b: [], strong: [], i: [], em: [], u: [], ins: [], s: [], strike: [], del: [], 'tg-spoiler': [], span: ['class'], a: ['href'], code: ['class'],
  pre: [], blockquote: ['expandable'], 'tg-emoji': ['emoji-id'], 'tg-time': ['unix', 'format'],
};
const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

const fail = (code: number, description: string): Verdict => ({ status: code, body: { ok: false, error_code: code, description } });
const bad = (description: string): Verdict => fail(400, `Bad Request: ${description}`);

/** The text as shown (entities decoded, tags gone), or why Telegram cannot parse it. */
export function parseTelegramHtml(html: string): { text: string } | { error: string } {
  let text = '';
  const open: string[] = [];
  let i = 0;
  const at = (): number => Buffer.byteLength(html.slice(0, i), 'utf8');
  while (i < html.length) {
    const c = html[i]!;
    if (c === '<') {
      const m = /^<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*"[^"<>]*")?)*)\s*>/.exec(html.slice(i));
      if (!m) return { error: `can't parse entities: Unsupported start tag "" at byte offset ${at()}` };
      const [all, closing, rawName, attrs] = m as unknown as [string, string, string, string];
      const name = rawName.toLowerCase();
      const allowed = TAGS[name];
      if (!allowed) return { error: `can't parse entities: Unsupported start tag "${name}" at byte offset ${at()}` };
      if (closing) {
        if (open.pop() !== name) return { error: `can't parse entities: Unmatched end tag at byte offset ${at()}, expected "</${open.at(-1) ?? ''}>", found "</${name}>"` };
      } else {
        for (const a of attrs.matchAll(/([a-zA-Z-]+)(?:\s*=\s*"([^"]*)")?/g)) {
          if (!allowed.includes(a[1]!.toLowerCase())) return { error: `can't parse entities: Unsupported attribute "${a[1]}" of tag "${name}" at byte offset ${at()}` };
        }
        open.push(name);
      }
      i += all.length;
      continue;
    }
    if (c === '&') {
      const m = /^&(?:([a-zA-Z]+)|#(\d+)|#x([0-9a-fA-F]+));/.exec(html.slice(i));
      if (!m) return { error: `can't parse entities: Can't find end of the entity starting at byte offset ${at()}` };
      if (m[1] !== undefined) {
        const named = NAMED_ENTITIES[m[1]];
        if (named === undefined) return { error: `can't parse entities: Unsupported HTML entity "&${m[1]};" at byte offset ${at()}` };
        text += named;
      } else {
        text += String.fromCodePoint(m[2] !== undefined ? Number(m[2]) : parseInt(m[3]!, 16));
      }
      i += m[0].length;
      continue;
    }
    if (c === '>') return { error: `can't parse entities: Unexpected end tag at byte offset ${at()}` };
    text += c;
    i++;
  }
  if (open.length) return { error: `can't parse entities: Can't find end tag corresponding to start tag "${open.at(-1)}"` };
  return { text };
}

/** What Telegram's servers take for a button URL: http(s) to a dotted host (not localhost), or tg:// */
function buttonUrlOk(url: string): boolean {
  try {
    const u = new URL(url);
    if (u.protocol === 'tg:') return true;
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.includes('.') && u.hostname !== 'localhost';
  } catch {
    return false;
  }
}

function checkReplyMarkup(raw: unknown): string | null {
  const markup = typeof raw === 'string' ? jsonObject(raw) : raw;
  if (markup === null || typeof markup !== 'object' || Array.isArray(markup)) return "can't parse reply keyboard markup JSON object";
  const rows = (markup as Record<string, unknown>).inline_keyboard;
  if (rows === undefined) return null; // another keyboard type: not what preflight sends, not checked further
  if (!Array.isArray(rows)) return 'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array';
  for (const row of rows) {
    if (!Array.isArray(row)) return 'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays';
    for (const b of row) {
      if (b === null || typeof b !== 'object') return "can't parse inline keyboard button: InlineKeyboardButton must be an Object";
      const button = b as Record<string, unknown>;
      if (typeof button.text !== 'string' || button.text === '') return "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard";
      for (const k of Object.keys(button)) if (!BUTTON_FIELDS.has(k)) return `can't parse inline keyboard button: unknown field "${k}"`;
      const actions = BUTTON_ACTIONS.filter((k) => button[k] !== undefined);
      if (actions.length !== 1) return "can't parse inline keyboard button: exactly one of the optional fields must be used";
      if (button.url !== undefined && (typeof button.url !== 'string' || !buttonUrlOk(button.url))) return `inline keyboard button URL '${String(button.url)}' is invalid: Wrong HTTP URL`;
    }
  }
  return null;
}

export function judgeTelegram(expect: TelegramExpect, messages: { n: number }) {
  return (r: { method: string; path: string; headers: Record<string, string | string[] | undefined>; body: string }, unknown: (f: string) => void): Verdict => {
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(r.path);
    if (!m) return fail(404, 'Not Found');
    if (decodeURIComponent(m[1]!) !== expect.token) return fail(401, 'Unauthorized');
    if (m[2]!.toLowerCase() !== 'sendmessage') return fail(404, 'Not Found: method not found');
    if (r.method !== 'POST' && r.method !== 'GET') return fail(405, 'Method Not Allowed');
    if (mediaType(r.headers['content-type'] as string | undefined) !== 'application/json') return bad('message text is empty');
    const p = jsonObject(r.body);
    if (typeof p === 'string') return bad(`can't parse JSON: ${p}`);
    for (const k of Object.keys(p)) if (!SEND_MESSAGE_FIELDS.has(k)) unknown(`telegram sendMessage.${k}`);
    if (p.chat_id === undefined || p.chat_id === '') return bad('chat_id is empty');
    if (!isInt(p.chat_id) && typeof p.chat_id !== 'string') return bad('invalid chat_id');
    if (String(p.chat_id) !== String(expect.chatId)) return bad('chat not found');
    if (typeof p.text !== 'string' || p.text === '') return bad('message text is empty');
    let shown = p.text;
    if (p.parse_mode !== undefined) {
      if (p.parse_mode !== 'HTML' && p.parse_mode !== 'MarkdownV2' && p.parse_mode !== 'Markdown') return bad(`unsupported parse_mode "${String(p.parse_mode)}"`);
      if (p.parse_mode !== 'HTML') return bad('this receiver checks HTML parse mode only');
      const parsed = parseTelegramHtml(p.text);
      if ('error' in parsed) return bad(parsed.error);
      shown = parsed.text;
    }
    if (shown.trim() === '') return bad('message text is empty');
    if (shown.length > 4096) return bad('message is too long');
    for (const k of ['disable_notification', 'protect_content', 'allow_paid_broadcast'] as const) {
      if (p[k] !== undefined && typeof p[k] !== 'boolean') return bad(`field "${k}" must be of type Boolean`);
    }
    if (p.link_preview_options !== undefined) {
      const o = p.link_preview_options;
      if (o === null || typeof o !== 'object' || Array.isArray(o)) return bad("can't parse link preview options JSON object");
      for (const [k, v] of Object.entries(o)) {
        if (!LINK_PREVIEW_FIELDS.has(k)) unknown(`telegram link_preview_options.${k}`);
        else if (k !== 'url' && typeof v !== 'boolean') return bad(`field "${k}" must be of type Boolean`);
      }
    }
    if (p.reply_markup !== undefined) {
      const why = checkReplyMarkup(p.reply_markup);
      if (why) return bad(why);
    }
    messages.n++;
    return {
      status: 200,
      body: {
        ok: true,
        result: {
          message_id: messages.n,
          from: { id: Number(expect.token.split(':')[0]), is_bot: true, first_name: 'preflight test bot' },
          chat: { id: p.chat_id, type: typeof p.chat_id === 'string' ? 'channel' : 'private' },
          date: 1764039845,
          text: shown,
        },
      },
    };
  };
}

export function startTelegramReceiver(expect: TelegramExpect): Promise<Receiver> {
  return startReceiver(judgeTelegram(expect, { n: 0 }));
}

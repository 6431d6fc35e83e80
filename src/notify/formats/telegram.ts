// Telegram: one Bot API `sendMessage` per message, HTML parse mode, the snapshot link as an inline
// keyboard URL button. Read against:
//   https://core.telegram.org/bots/api#making-requests   POST https://api.telegram.org/bot<token>/METHOD,
//       application/json, answers {"ok":true,"result":…} or {"ok":false,"error_code":…,"description":…}
//   https://core.telegram.org/bots/api#sendmessage       chat_id (Integer or String), text "1-4096
//       characters after entities parsing", parse_mode, link_preview_options, disable_notification, reply_markup
//   https://core.telegram.org/bots/api#html-style        only the listed tags; "All <, > and & symbols that
//       are not a part of a tag or an HTML entity must be replaced" (&lt; &gt; &amp;)
//   https://core.telegram.org/bots/api#inlinekeyboardmarkup, #inlinekeyboardbutton  a button with `text`
//       and `url` ("HTTP or tg:// URL")
// Keys: bot_token (secret), chat_id (a number, or @channelname), api_url (default https://api.telegram.org;
// a self-hosted Bot API server or a test receiver).
import { baseUrlSetting, optionalSetting, patternSetting, requiredSetting, urlSecrets, type SettingGetter } from './channel-settings';
import { UTF16, channelText, fitPieces, urgencyOf, type ChannelFacts } from './channel-text';
import type { OutgoingRequest } from './request';

export const TELEGRAM_KEYS = ['bot_token', 'chat_id', 'api_url'] as const;
export const TELEGRAM_API_URL = 'https://api.telegram.org';
/** sendMessage's `text`: "1-4096 characters after entities parsing", i.e. the text shown, tags not counted */
export const TELEGRAM_TEXT_MAX = 4096;

export interface TelegramSettings {
  botToken: string;
  chatId: string;
  apiUrl: string;
}

export function telegramSettings(get: SettingGetter): TelegramSettings {
  return {
    // BotFather's form: "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
    botToken: patternSetting('telegram', 'bot_token', requiredSetting('telegram', get, 'bot_token'), /^\d+:[A-Za-z0-9_-]+$/, 'a bot token as BotFather gives it (123456:ABC-DEF…)'),
    chatId: patternSetting('telegram', 'chat_id', requiredSetting('telegram', get, 'chat_id'), /^(-?\d+|@[A-Za-z0-9_]{4,})$/, 'a chat id (a number such as -1001234567890) or @channelusername'),
    apiUrl: baseUrlSetting('telegram', 'api_url', optionalSetting(get, 'api_url') ?? TELEGRAM_API_URL),
  };
}

function sendMessageUrl(s: TelegramSettings): string {
  return `${s.apiUrl}/bot${s.botToken}/sendMessage`;
}

/** The token, and the request URL that carries it in its path. */
export function telegramSecrets(s: TelegramSettings): string[] {
  return [s.botToken, sendMessageUrl(s), ...urlSecrets(s.apiUrl)];
}

/** HTML style: these three and nothing else ("&quot;" is allowed, never needed outside attributes). */
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const CAUSE_LABEL = 'Probable cause: ';

/**
 * A URL Telegram takes for a button: http(s) to a dotted host name or an IP address. Its servers refuse
 * a button to a name like `localhost` or `box` ("Wrong HTTP URL"), and that refusal would lose the whole
 * message, so such a link stays in the text only.
 */
export function telegramButtonUrl(link: string): boolean {
  let u: URL;
  try {
    u = new URL(link);
  } catch {
    return false;
  }
  return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.includes('.') && u.hostname !== 'localhost';
}

/** The text as Telegram shows it (what the 4096 limit counts) and as sent (HTML). */
export function telegramText(f: ChannelFacts): { shown: string; html: string } {
  const t = channelText(f);
  // one '\n' before each piece after the title; the cause's label is shown text too
  const [title, line, cause, quote] = fitPieces(UTF16, TELEGRAM_TEXT_MAX, [
    { text: t.title, cap: 256, overhead: 0 },
    { text: t.line, cap: 1024, overhead: 1 },
    { text: t.cause, cap: 2048, overhead: 1 + CAUSE_LABEL.length },
    { text: t.quote, cap: 1024, overhead: 1 },
  ]);
  const shown: string[] = [];
  const html: string[] = [];
  const add = (plain: string, markup: string): void => {
    shown.push(plain);
    html.push(markup);
  };
  if (title) add(title, `<b>${esc(title)}</b>`);
  if (line) add(line, esc(line));
  if (cause) add(`${CAUSE_LABEL}${cause}`, `<b>${esc(CAUSE_LABEL.trimEnd())}</b> ${esc(cause)}`);
  if (quote) add(quote, `<blockquote>${esc(quote)}</blockquote>`);
  return { shown: shown.join('\n'), html: html.join('\n') };
}

export function buildTelegram(f: ChannelFacts, s: TelegramSettings): OutgoingRequest {
  const { html } = telegramText(f);
  // a number stays a JSON number (the API's Integer); @channelusername is its String form
  const chatId = /^-?\d+$/.test(s.chatId) && Number.isSafeInteger(Number(s.chatId)) ? Number(s.chatId) : s.chatId;
  const payload: Record<string, unknown> = {
    chat_id: chatId,
    text: html,
    parse_mode: 'HTML',
    // the snapshot page's preview would push the cause off a phone's screen
    link_preview_options: { is_disabled: true },
    // no priority in Telegram: the end of an episode arrives without a sound
    disable_notification: urgencyOf(f.event) === 'low',
  };
  if (f.link && telegramButtonUrl(f.link)) payload.reply_markup = { inline_keyboard: [[{ text: 'Open snapshot', url: f.link }]] };
  return { method: 'POST', url: sendMessageUrl(s), headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) };
}

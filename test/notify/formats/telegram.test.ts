// Telegram: the sendMessage body for every kind of message (pure), its fixture, and each built request
// posted with the notifier's post() to a receiver that checks it against the Bot API's documented shape.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ChannelSettingsError } from '../../../src/notify/formats/channel-settings';
import { TELEGRAM_TEXT_MAX, buildTelegram, telegramButtonUrl, telegramSecrets, telegramSettings, telegramText, type TelegramSettings } from '../../../src/notify/formats/telegram';
import { parseTelegramHtml, startTelegramReceiver } from '../receivers/telegram';
import { send, sendEach, type Receiver } from '../receivers/_server';
import { CASES, LINK, caseOf } from './_facts';
import { assertFixture } from './_fixture';

const TOKEN = '123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11';
const CHAT = '-1001234567890';
const settings = (apiUrl = 'https://api.telegram.org'): TelegramSettings => telegramSettings((k) => ({ bot_token: TOKEN, chat_id: CHAT, api_url: apiUrl })[k]);
const payloadOf = (name: string): Record<string, unknown> => JSON.parse(buildTelegram(caseOf(name), settings()).body) as Record<string, unknown>;

describe('telegram format', () => {
  test('the down message and the resolved one are the reviewed fixtures', () => {
    const r = buildTelegram(caseOf('down'), settings());
    assert.equal(r.method, 'POST');
    assert.equal(r.url, `https://api.telegram.org/bot${TOKEN}/sendMessage`);
    assert.deepEqual(r.headers, { 'content-type': 'application/json' });
    assertFixture('telegram-down.json', JSON.parse(r.body));
    assertFixture('telegram-resolved.json', JSON.parse(buildTelegram(caseOf('resolved'), settings()).body));
  });

  test('text shown, per message', () => {
    const cases: { name: string; want: string }[] = [
      {
        name: 'down',
        want: [
          'dead-drop down on box',
          `dead-drop down on box: 503 · killed by the kernel's OOM killer: node (pid 4242) at the unit's memory limit · RAM 94% | disk / 87% | load 4.20 | cpu 99% · ${LINK}`,
          "Probable cause: killed by the kernel's OOM killer: node (pid 4242) at the unit's memory limit",
          '2026-11-25T03:04:04.900Z kernel: Memory cgroup out of memory: Killed process 4242 (node)',
        ].join('\n'),
      },
      { name: 'resolved', want: `dead-drop resolved on box\ndead-drop resolved on box after 2m13s (3 occurrences) · ${LINK}` },
      {
        name: 'flapping',
        want: [
          'dead-drop flapping on box',
          `dead-drop flapping on box: flapping: 7 failures in 12m00s · ${LINK}`,
          "Probable cause: killed by the kernel's OOM killer: node (pid 4242) at the unit's memory limit",
          '2026-11-25T03:04:04.900Z kernel: Memory cgroup out of memory: Killed process 4242 (node)',
        ].join('\n'),
      },
      { name: 'empty cause', want: `dead-drop down on box\ndead-drop down on box: 503 · RAM 94% | disk / 87% | load 4.20 | cpu 99% · ${LINK}` },
    ];
    for (const c of cases) assert.equal(telegramText(caseOf(c.name)).shown, c.want, c.name);
  });

  test('the HTML parses back to exactly the text shown, within 4096, for every message', () => {
    for (const c of CASES) {
      const { shown, html } = telegramText(c.input);
      const parsed = parseTelegramHtml(html);
      assert.deepEqual(parsed, { text: shown }, c.name);
      assert.ok(shown.length <= TELEGRAM_TEXT_MAX, `${c.name}: ${shown.length}`);
    }
  });

  test('a hostile cause is text: escaped, clipped on a character, the title and line kept', () => {
    const { shown, html } = telegramText(caseOf('hostile cause'));
    const lines = shown.split('\n');
    // the one line as oneLine makes it (its cause cut at 200), the cause at its cap of 2048 after its label, the quote at 1024
    assert.deepEqual(lines.map((l) => l.length), [21, 355, 16 + 2048, 1024]);
    assert.equal(lines[0], 'dead-drop down on box');
    assert.ok(lines[2]!.startsWith('Probable cause: <b>&amp;😀 </i><b>&amp;😀'));
    // the only tags are the format's own
    assert.deepEqual([...new Set(html.match(/<\/?[a-z]+/g))], ['<b', '</b', '<blockquote', '</blockquote']);
    // no lone surrogate anywhere: the emoji are whole or gone
    assert.equal(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(shown), false);
    assert.ok(shown.endsWith('…'));
  });

  test('a 300-character service name and a hostile flapping cause fill exactly 4096 shown characters', () => {
    const f = { ...caseOf('hostile flapping'), service: 's'.repeat(300) };
    const { shown, html } = telegramText(f);
    const lines = shown.split('\n');
    // the title at its cap, the line and cause at theirs, the quote in what is left: 4096 - 256 - 1025 - 2065
    assert.deepEqual(lines.map((l) => l.length), [256, 1024, 16 + 2048, 749]);
    assert.equal(shown.length, TELEGRAM_TEXT_MAX);
    assert.deepEqual(parseTelegramHtml(html), { text: shown });
  });

  test('button, sound and preview per message', () => {
    const cases: { name: string; want: { button: unknown; silent: boolean } }[] = [
      { name: 'down', want: { button: { inline_keyboard: [[{ text: 'Open snapshot', url: LINK }]] }, silent: false } },
      { name: 'flapping', want: { button: { inline_keyboard: [[{ text: 'Open snapshot', url: LINK }]] }, silent: false } },
      { name: 'cause_changed', want: { button: { inline_keyboard: [[{ text: 'Open snapshot', url: LINK }]] }, silent: false } },
      { name: 'resolved', want: { button: { inline_keyboard: [[{ text: 'Open snapshot', url: LINK }]] }, silent: true } },
      { name: 'no link', want: { button: undefined, silent: false } },
    ];
    for (const c of cases) {
      const p = payloadOf(c.name);
      assert.deepEqual({ button: p.reply_markup, silent: p.disable_notification }, c.want, c.name);
      assert.deepEqual(p.link_preview_options, { is_disabled: true }, c.name);
    }
  });

  test('button URLs Telegram takes', () => {
    const cases: { input: string; want: boolean }[] = [
      { input: LINK, want: true },
      { input: 'https://203.0.113.7/failure-context/a/b', want: true },
      { input: 'http://localhost:9187/failure-context/a/b', want: false },
      { input: 'http://box:9187/failure-context/a/b', want: false },
      { input: 'ftp://box.example.org/x', want: false },
      { input: 'not a url', want: false },
    ];
    for (const c of cases) assert.equal(telegramButtonUrl(c.input), c.want, c.input);
  });

  test('settings: keys, defaults, refusals; secrets', () => {
    const get = (m: Record<string, string>) => (k: string) => m[k];
    assert.deepEqual(telegramSettings(get({ bot_token: TOKEN, chat_id: '@preflight_alerts' })), { botToken: TOKEN, chatId: '@preflight_alerts', apiUrl: 'https://api.telegram.org' });
    const refused: { name: string; input: Record<string, string>; want: string }[] = [
      { name: 'no token', input: { chat_id: CHAT }, want: 'notifications (telegram): bot_token: is required' },
      { name: 'a token without its bot id', input: { bot_token: 'ABC-DEF', chat_id: CHAT }, want: 'notifications (telegram): bot_token: must be a bot token as BotFather gives it (123456:ABC-DEF…)' },
      { name: 'a chat name without @', input: { bot_token: TOKEN, chat_id: 'alerts' }, want: 'notifications (telegram): chat_id: must be a chat id (a number such as -1001234567890) or @channelusername' },
      { name: 'api_url not http', input: { bot_token: TOKEN, chat_id: CHAT, api_url: 'ftp://x' }, want: 'notifications (telegram): api_url: must be http:// or https://, not ftp:' },
    ];
    for (const c of refused) {
      assert.throws(() => telegramSettings(get(c.input)), (e: unknown) => e instanceof ChannelSettingsError && e.message === c.want, c.name);
    }
    assert.deepEqual(telegramSecrets(settings()), [TOKEN, `https://api.telegram.org/bot${TOKEN}/sendMessage`]);
  });
});

describe('telegram receiver', () => {
  let rx: Receiver;
  before(async () => {
    rx = await startTelegramReceiver({ token: TOKEN, chatId: Number(CHAT) });
  });
  after(() => rx.close());

  test('every built message is accepted', async () => {
    const results = await sendEach(CASES, (f) => buildTelegram(f, settings(rx.url)));
    assert.deepEqual(results, CASES.map((c) => ({ name: c.name, status: '200' })));
    assert.equal(rx.accepted.length, CASES.length);
    assert.deepEqual(rx.unknownFields, []);
  });

  test('broken requests are refused as the Bot API refuses them', async () => {
    const good = (): Record<string, unknown> => JSON.parse(buildTelegram(caseOf('down'), settings(rx.url)).body) as Record<string, unknown>;
    const cases: { name: string; url?: string; body: Record<string, unknown> | string; want: { status: number; description: string } }[] = [
      { name: 'wrong token', url: `${rx.url}/bot1:wrong/sendMessage`, body: good(), want: { status: 401, description: 'Unauthorized' } },
      { name: 'unknown chat', body: { ...good(), chat_id: 42 }, want: { status: 400, description: 'Bad Request: chat not found' } },
      { name: 'no text', body: { ...good(), text: '' }, want: { status: 400, description: 'Bad Request: message text is empty' } },
      { name: 'an unescaped <', body: { ...good(), text: 'a < b' }, want: { status: 400, description: 'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 2' } },
      { name: 'an unescaped &', body: { ...good(), text: 'R&D' }, want: { status: 400, description: "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 1" } },
      { name: 'a tag Telegram lacks', body: { ...good(), text: '<p>x</p>' }, want: { status: 400, description: 'Bad Request: can\'t parse entities: Unsupported start tag "p" at byte offset 0' } },
      { name: 'an unclosed tag', body: { ...good(), text: '<b>x' }, want: { status: 400, description: 'Bad Request: can\'t parse entities: Can\'t find end tag corresponding to start tag "b"' } },
      { name: '4097 characters shown', body: { ...good(), text: `<b>${'x'.repeat(4097)}</b>` }, want: { status: 400, description: 'Bad Request: message is too long' } },
      { name: 'a parse mode that does not exist', body: { ...good(), parse_mode: 'html5' }, want: { status: 400, description: 'Bad Request: unsupported parse_mode "html5"' } },
      { name: 'a button to localhost', body: { ...good(), reply_markup: { inline_keyboard: [[{ text: 'x', url: 'http://localhost:9187/' }]] } }, want: { status: 400, description: "Bad Request: inline keyboard button URL 'http://localhost:9187/' is invalid: Wrong HTTP URL" } },
      { name: 'a button with two actions', body: { ...good(), reply_markup: { inline_keyboard: [[{ text: 'x', url: LINK, callback_data: 'y' }]] } }, want: { status: 400, description: "Bad Request: can't parse inline keyboard button: exactly one of the optional fields must be used" } },
      { name: 'silent as a string', body: { ...good(), disable_notification: 'true' }, want: { status: 400, description: 'Bad Request: field "disable_notification" must be of type Boolean' } },
      { name: 'not JSON', body: '{"chat_id":', want: { status: 400, description: "Bad Request: can't parse JSON: not JSON: Unexpected end of JSON input" } },
    ];
    const before = rx.rejected.length;
    for (const c of cases) {
      const res = await send({ method: 'POST', url: c.url ?? `${rx.url}/bot${TOKEN}/sendMessage`, headers: { 'content-type': 'application/json' }, body: typeof c.body === 'string' ? c.body : JSON.stringify(c.body) });
      assert.deepEqual({ ok: res.ok, status: res.status }, { ok: false, status: c.want.status }, c.name);
      assert.deepEqual(rx.rejected.at(-1)!.verdict.body, { ok: false, error_code: c.want.status, description: c.want.description }, c.name);
    }
    assert.equal(rx.rejected.length - before, cases.length);
  });
});

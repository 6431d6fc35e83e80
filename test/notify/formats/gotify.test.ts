// Gotify: the POST /message body for every kind of message (pure), its fixture, and each built request
// posted with the notifier's post() to a receiver that checks it against gotify/server's API spec.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ChannelSettingsError } from '../../../src/notify/formats/channel-settings';
import { GOTIFY_MESSAGE_MAX, buildGotify, escapeMarkdown, gotifyMessage, gotifySecrets, gotifySettings, type GotifySettings } from '../../../src/notify/formats/gotify';
import { startGotifyReceiver } from '../receivers/gotify';
import { send, sendEach, type Receiver } from '../receivers/_server';
import { CASES, LINK, caseOf } from './_facts';
import { assertFixture } from './_fixture';

const TOKEN = 'AWH1Gq8Xy.bNd4u';
const settings = (url = 'https://push.example.org', priority?: string): GotifySettings => gotifySettings((k) => ({ url, token: TOKEN, ...(priority ? { priority } : {}) })[k]);
const payloadOf = (name: string, s = settings()): Record<string, unknown> => JSON.parse(buildGotify(caseOf(name), s).body) as Record<string, unknown>;

/** What is left of a message once its own markup is taken out: log text must have no unescaped markup in it. */
const unescapedMarkup = (message: string): string[] =>
  message
    .replace(/\[Open snapshot\]\(<[^>]+>\)$/, '')
    .replace(/^\*\*Probable cause:\*\* /m, '')
    .replace(/^> /m, '')
    .match(/(?<!\\)(?:\\\\)*[[\]<>!`*_&~]/g) ?? [];

describe('gotify format', () => {
  test('the down message and the resolved one are the reviewed fixtures', () => {
    const r = buildGotify(caseOf('down'), settings());
    assert.equal(r.method, 'POST');
    assert.equal(r.url, 'https://push.example.org/message');
    assert.deepEqual(r.headers, { 'content-type': 'application/json', 'x-gotify-key': TOKEN });
    assertFixture('gotify-down.json', JSON.parse(r.body));
    assertFixture('gotify-resolved.json', JSON.parse(buildGotify(caseOf('resolved'), settings()).body));
  });

  test('title, priority and click per message', () => {
    const cases: { name: string; want: { title: unknown; priority: unknown; click: unknown } }[] = [
      { name: 'down', want: { title: 'dead-drop down on box', priority: 8, click: { click: { url: LINK } } } },
      { name: 'flapping', want: { title: 'dead-drop flapping on box', priority: 5, click: { click: { url: LINK } } } },
      { name: 'cause_changed', want: { title: 'dead-drop cause changed on box', priority: 5, click: { click: { url: LINK } } } },
      { name: 'resolved', want: { title: 'dead-drop resolved on box', priority: 2, click: { click: { url: LINK } } } },
      { name: 'no link', want: { title: 'dead-drop down on box', priority: 8, click: undefined } },
    ];
    for (const c of cases) {
      const p = payloadOf(c.name);
      const extras = p.extras as Record<string, unknown>;
      assert.deepEqual({ title: p.title, priority: p.priority, click: extras['client::notification'] }, c.want, c.name);
      assert.deepEqual(extras['client::display'], { contentType: 'text/markdown' }, c.name);
    }
  });

  test('priorities: down at the configured one, the others never above it', () => {
    const cases: { configured: string; want: number[] }[] = [
      { configured: '10', want: [10, 5, 5, 2] },
      { configured: '4', want: [4, 4, 4, 2] },
      { configured: '0', want: [0, 0, 0, 0] },
    ];
    for (const c of cases) {
      const got = ['down', 'flapping', 'cause_changed', 'resolved'].map((n) => payloadOf(n, settings('https://push.example.org', c.configured)).priority);
      assert.deepEqual(got, c.want, c.configured);
    }
  });

  test('messages, per kind', () => {
    const cases: { name: string; want: string }[] = [
      {
        name: 'resolved',
        want: `dead-drop resolved on box after 2m13s (3 occurrences) · http://box.example.org:9187/failure-context/dead-drop/2026-11-25T03-04-05.123Z\n\n[Open snapshot](<${LINK}>)`,
      },
      { name: 'empty cause', want: `dead-drop down on box: 503 · RAM 94% | disk / 87% | load 4.20 | cpu 99% · ${LINK}\n\n[Open snapshot](<${LINK}>)` },
      {
        name: 'no link',
        want: [
          "dead-drop down on box: 503 · killed by the kernel's OOM killer: node (pid 4242) at the unit's memory limit · RAM 94% | disk / 87% | load 4.20 | cpu 99%",
          "**Probable cause:** killed by the kernel's OOM killer: node (pid 4242) at the unit's memory limit",
          '> 2026-11-25T03:04:04.900Z kernel: Memory cgroup out of memory: Killed process 4242 (node)',
        ].join('\n\n'),
      },
    ];
    for (const c of cases) assert.equal(gotifyMessage(caseOf(c.name)).message, c.want, c.name);
  });

  test('log text carries no markup: no image, link, HTML or emphasis of its own', () => {
    for (const c of CASES) assert.deepEqual(unescapedMarkup(gotifyMessage(c.input).message), [], c.name);
    const m = gotifyMessage(caseOf('hostile cause')).message;
    assert.equal(m.includes('!['), false);
    assert.ok(m.includes('\\<b\\>\\&amp;😀 \\</i\\>'));
  });

  test('a hostile cause is clipped before escaping, on a character, the link kept', () => {
    const m = gotifyMessage(caseOf('hostile flapping')).message;
    const paragraphs = m.split('\n\n');
    assert.equal(paragraphs.length, 4);
    assert.equal(paragraphs[3], `[Open snapshot](<${LINK}>)`);
    const unescaped = (s: string): string => s.replace(/\\(.)/gu, '$1');
    // 1024 + 2048 + 1024 = 4096 > 4000: the quote gets what is left
    assert.deepEqual(paragraphs.slice(0, 3).map((p) => unescaped(p.replace(/^\*\*Probable cause:\*\* |^> /, '')).length), [1024, 2048, GOTIFY_MESSAGE_MAX - 1024 - 2048]);
    assert.equal(/[\ud800-\udbff](?![\udc00-\udfff])/.test(m), false);
  });

  test('markdown escapes', () => {
    const cases: { input: string; want: string }[] = [
      { input: 'plain words 42.', want: 'plain words 42.' },
      { input: '![x](http://e/p.png)', want: '\\!\\[x\\](http://e/p.png)' },
      { input: '<b>&amp;</b> *a* _b_ `c` ~d~ |e| #f \\', want: '\\<b\\>\\&amp;\\</b\\> \\*a\\* \\_b\\_ \\`c\\` \\~d\\~ |e| \\#f \\\\' },
      { input: '', want: '' },
    ];
    for (const c of cases) assert.equal(escapeMarkdown(c.input), c.want, c.input);
  });

  test('settings and secrets', () => {
    const get = (m: Record<string, string>) => (k: string) => m[k];
    assert.deepEqual(gotifySettings(get({ url: 'https://push.example.org/gotify/', token: TOKEN })), { url: 'https://push.example.org/gotify', token: TOKEN, priority: 8 });
    const refused: { input: Record<string, string>; want: string }[] = [
      { input: { token: TOKEN }, want: 'notifications (gotify): url: is required' },
      { input: { url: 'https://push.example.org' }, want: 'notifications (gotify): token: is required' },
      { input: { url: 'https://push.example.org', token: TOKEN, priority: '11' }, want: 'notifications (gotify): priority: must be from 0 to 10, not 11' },
      { input: { url: 'https://push.example.org', token: TOKEN, priority: 'high' }, want: 'notifications (gotify): priority: must be a whole number from 0 to 10, not "high"' },
      { input: { url: 'https://push.example.org/?token=x', token: TOKEN }, want: 'notifications (gotify): url: must not have a query or a fragment' },
    ];
    for (const c of refused) assert.throws(() => gotifySettings(get(c.input)), (e: unknown) => e instanceof ChannelSettingsError && e.message === c.want, c.want);
    assert.deepEqual(gotifySecrets(settings()), [TOKEN]);
    // basic auth to a proxy in front of gotify: the password as written in the URL and decoded
    assert.deepEqual(gotifySecrets(settings('https://proxy:pa%24%24@push.example.org')), [TOKEN, 'pa%24%24', 'pa$$']);
  });
});

describe('gotify receiver', () => {
  let rx: Receiver;
  before(async () => {
    rx = await startGotifyReceiver({ token: TOKEN, prefix: '/gotify' });
  });
  after(() => rx.close());

  test('every built message is accepted (behind a path prefix)', async () => {
    const results = await sendEach(CASES, (f) => buildGotify(f, settings(`${rx.url}/gotify/`)));
    assert.deepEqual(results, CASES.map((c) => ({ name: c.name, status: '200' })));
    assert.equal(rx.accepted.length, CASES.length);
    assert.deepEqual(rx.unknownFields, []);
  });

  test('broken requests are refused as gotify refuses them', async () => {
    const good = (): Record<string, unknown> => JSON.parse(buildGotify(caseOf('down'), settings(rx.url)).body) as Record<string, unknown>;
    const headers = { 'content-type': 'application/json', 'x-gotify-key': TOKEN };
    const cases: { name: string; headers?: Record<string, string>; path?: string; body: unknown; want: { status: number; errorDescription: string } }[] = [
      { name: 'no token', headers: { 'content-type': 'application/json' }, body: good(), want: { status: 401, errorDescription: 'you need to provide a valid access token or user credentials to access this api' } },
      { name: 'the prefix left out', path: '/message', body: good(), want: { status: 404, errorDescription: 'page not found' } },
      { name: 'no message', body: { ...good(), message: '' }, want: { status: 400, errorDescription: "Field 'message' is required" } },
      { name: 'priority as a string', body: { ...good(), priority: '8' }, want: { status: 400, errorDescription: 'json: cannot unmarshal priority into Go struct field CreateMessage.priority of type int' } },
      { name: 'a content type gotify lacks', body: { ...good(), extras: { 'client::display': { contentType: 'text/html' } } }, want: { status: 400, errorDescription: 'client::display.contentType must be text/plain or text/markdown, not "text/html"' } },
      { name: 'an extras key without a namespace', body: { ...good(), extras: { click: LINK } }, want: { status: 400, errorDescription: 'extras key "click" is not of the form <top-namespace>::[<sub-namespace>::]<action>' } },
      { name: 'a click without its url', body: { ...good(), extras: { 'client::notification': { click: LINK } } }, want: { status: 400, errorDescription: 'client::notification.click.url must be a string' } },
      { name: 'form-encoded', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-gotify-key': TOKEN }, body: 'message=x', want: { status: 400, errorDescription: 'this receiver takes application/json, the only type that carries extras' } },
    ];
    for (const c of cases) {
      const res = await send({ method: 'POST', url: `${rx.url}${c.path ?? '/gotify/message'}`, headers: c.headers ?? headers, body: typeof c.body === 'string' ? c.body : JSON.stringify(c.body) });
      assert.deepEqual({ ok: res.ok, status: res.status }, { ok: false, status: c.want.status }, c.name);
      assert.equal((rx.rejected.at(-1)!.verdict.body as { errorDescription: string }).errorDescription, c.want.errorDescription, c.name);
    }
  });
});

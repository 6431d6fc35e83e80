// Pushover: the form fields for every kind of message (pure), their fixture, and each built request
// posted with the notifier's post() to a receiver that checks it against https://pushover.net/api.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ChannelSettingsError } from '../../../src/notify/formats/channel-settings';
import { PUSHOVER_LIMITS, buildPushover, pushoverFields, pushoverSecrets, pushoverSettings, type PushoverSettings } from '../../../src/notify/formats/pushover';
import { startPushoverReceiver } from '../receivers/pushover';
import { send, sendEach, type Receiver } from '../receivers/_server';
import { CASES, LINK, caseOf } from './_facts';
import { assertFixture } from './_fixture';

// the documentation's example token and user key
const TOKEN = 'azGDORePK8gMaC0QOYAMyEEuzJnyUi';
const USER = 'uQiRzpo4DXghDmr9QzzfQu27cmVRsG';
const settings = (over: Record<string, string> = {}): PushoverSettings => pushoverSettings((k) => ({ token: TOKEN, user: USER, ...over })[k]);
const formOf = (name: string, s = settings()): Record<string, string> => Object.fromEntries(new URLSearchParams(buildPushover(caseOf(name), s).body));
const chars = (s: string): number => Array.from(s).length;

describe('pushover format', () => {
  test('the down message and the resolved one are the reviewed fixtures', () => {
    const r = buildPushover(caseOf('down'), settings());
    assert.equal(r.method, 'POST');
    assert.equal(r.url, 'https://api.pushover.net/1/messages.json');
    assert.deepEqual(r.headers, { 'content-type': 'application/x-www-form-urlencoded' });
    assertFixture('pushover-down.json', Object.fromEntries(new URLSearchParams(r.body)));
    assertFixture('pushover-resolved.json', Object.fromEntries(new URLSearchParams(buildPushover(caseOf('resolved'), settings()).body)));
  });

  test('priority, url and time per message', () => {
    const cases: { name: string; want: Record<string, string | undefined> }[] = [
      { name: 'down', want: { priority: '1', url: LINK, url_title: 'Open snapshot', timestamp: '1795575845' } },
      { name: 'flapping', want: { priority: '0', url: LINK, url_title: 'Open snapshot', timestamp: '1795575845' } },
      { name: 'cause_changed', want: { priority: '0', url: LINK, url_title: 'Open snapshot', timestamp: '1795575845' } },
      // resolved: at the first passing check
      { name: 'resolved', want: { priority: '-1', url: LINK, url_title: 'Open snapshot', timestamp: '1795575978' } },
      { name: 'no link', want: { priority: '1', url: undefined, url_title: undefined, timestamp: '1795575845' } },
    ];
    for (const c of cases) {
      const f = formOf(c.name);
      assert.deepEqual({ priority: f.priority, url: f.url, url_title: f.url_title, timestamp: f.timestamp }, c.want, c.name);
    }
  });

  test('priorities: down at the configured one, emergency with its retry and expire', () => {
    const cases: { configured: string; want: Record<string, string | undefined>[] }[] = [
      { configured: '2', want: [{ priority: '2', retry: '60', expire: '3600' }, { priority: '0' }, { priority: '-1' }] },
      { configured: '0', want: [{ priority: '0' }, { priority: '0' }, { priority: '-1' }] },
      { configured: '-2', want: [{ priority: '-2' }, { priority: '-2' }, { priority: '-2' }] },
    ];
    for (const c of cases) {
      const got = ['down', 'flapping', 'resolved'].map((n) => {
        const f = formOf(n, settings({ priority: c.configured }));
        return Object.fromEntries(Object.entries({ priority: f.priority, retry: f.retry, expire: f.expire }).filter(([, v]) => v !== undefined));
      });
      assert.deepEqual(got, c.want, c.configured);
    }
  });

  test('messages, per kind', () => {
    const cases: { name: string; want: string }[] = [
      { name: 'resolved', want: `dead-drop resolved on box after 2m13s (3 occurrences) · ${LINK}` },
      { name: 'empty cause', want: `dead-drop down on box: 503 · RAM 94% | disk / 87% | load 4.20 | cpu 99% · ${LINK}` },
      {
        name: 'cause_changed',
        want: [
          `dead-drop cause changed on box: cause changed: now connection refused by 127.0.0.1:5432 · ${LINK}`,
          "Probable cause: killed by the kernel's OOM killer: node (pid 4242) at the unit's memory limit",
          '“2026-11-25T03:04:04.900Z kernel: Memory cgroup out of memory: Killed process 4242 (node)”',
        ].join('\n'),
      },
    ];
    for (const c of cases) assert.equal(pushoverFields(caseOf(c.name)).message, c.want, c.name);
  });

  test('every message within the documented limits, counted in characters (code points)', () => {
    for (const c of CASES) {
      const f = pushoverFields(c.input);
      for (const k of ['message', 'title', 'url', 'url_title'] as const) {
        if (f[k] !== undefined) assert.ok(chars(f[k]) <= PUSHOVER_LIMITS[k], `${c.name} ${k}: ${chars(f[k])}`);
      }
    }
    // the hostile cause fills the message exactly (600 + newline + 423), its emoji whole, no room left for the quote
    const m = pushoverFields(caseOf('hostile flapping')).message!;
    assert.equal(chars(m), 1024);
    assert.deepEqual(m.split('\n').map(chars), [600, 16 + 407]);
    assert.equal(/[\ud800-\udbff](?![\udc00-\udfff])/.test(m), false);
  });

  test('a link longer than 512 characters is not cut: it stays in the text', () => {
    const long = `${LINK}?${'x'.repeat(600)}`;
    const f = pushoverFields({ ...caseOf('down'), link: long });
    assert.equal(f.url, undefined);
    assert.equal(f.url_title, undefined);
  });

  test('settings and secrets', () => {
    const get = (m: Record<string, string>) => (k: string) => m[k];
    assert.deepEqual(pushoverSettings(get({ token: TOKEN, user: USER, device: 'droid2,iphone' })), { token: TOKEN, user: USER, priority: 1, device: 'droid2,iphone', apiUrl: 'https://api.pushover.net' });
    const refused: { input: Record<string, string>; want: string }[] = [
      { input: { user: USER }, want: 'notifications (pushover): token: is required' },
      { input: { token: 'short', user: USER }, want: 'notifications (pushover): token: must be 30 letters and digits (the application API token)' },
      { input: { token: TOKEN, user: `${USER.slice(1)}!` }, want: 'notifications (pushover): user: must be 30 letters and digits (a user or group key; several joined with a comma)' },
      { input: { token: TOKEN, user: USER, priority: '3' }, want: 'notifications (pushover): priority: must be from -2 to 2, not 3' },
      { input: { token: TOKEN, user: USER, device: 'my phone' }, want: 'notifications (pushover): device: must be device names of up to 25 of A-Z a-z 0-9 _ -, joined with a comma' },
    ];
    for (const c of refused) assert.throws(() => pushoverSettings(get(c.input)), (e: unknown) => e instanceof ChannelSettingsError && e.message === c.want, c.want);
    assert.deepEqual(pushoverSecrets(settings()), [TOKEN, USER]);
  });
});

describe('pushover receiver', () => {
  let rx: Receiver;
  before(async () => {
    rx = await startPushoverReceiver({ token: TOKEN, user: USER });
  });
  after(() => rx.close());

  test('every built message is accepted, emergency included', async () => {
    const results = await sendEach(CASES, (f) => buildPushover(f, settings({ api_url: rx.url })));
    assert.deepEqual(results, CASES.map((c) => ({ name: c.name, status: '200' })));
    const res = await send(buildPushover(caseOf('down'), settings({ api_url: rx.url, priority: '2', device: 'droid2' })));
    assert.deepEqual({ ok: res.ok, status: res.status }, { ok: true, status: 200 }, res.message);
    assert.equal(rx.accepted.length, CASES.length + 1);
    assert.deepEqual(rx.unknownFields, []);
  });

  test('broken requests are refused as Pushover refuses them', async () => {
    const good = (): URLSearchParams => new URLSearchParams(buildPushover(caseOf('down'), settings({ api_url: rx.url })).body);
    const withField = (k: string, v: string): string => {
      const f = good();
      f.set(k, v);
      return f.toString();
    };
    const cases: { name: string; body: string; want: { param: string; error: string } }[] = [
      { name: 'a wrong token', body: withField('token', 'x'.repeat(30)), want: { param: 'token', error: 'application token is invalid' } },
      { name: 'a wrong user', body: withField('user', 'y'.repeat(30)), want: { param: 'user', error: 'user identifier is invalid' } },
      { name: 'no message', body: withField('message', ''), want: { param: 'message', error: 'message cannot be blank' } },
      { name: '1025 characters', body: withField('message', '😀'.repeat(1025)), want: { param: 'message', error: 'message is too long: 1024 characters at most' } },
      { name: 'a 251-character title', body: withField('title', 't'.repeat(251)), want: { param: 'title', error: 'title is too long: 250 characters at most' } },
      { name: 'a 513-character url', body: withField('url', `${LINK}?${'x'.repeat(512)}`), want: { param: 'url', error: 'url is too long: 512 characters at most' } },
      { name: 'a 101-character url title', body: withField('url_title', 'u'.repeat(101)), want: { param: 'url_title', error: 'url_title is too long: 100 characters at most' } },
      { name: 'priority 3', body: withField('priority', '3'), want: { param: 'priority', error: 'priority must be -2, -1, 0, 1 or 2' } },
      { name: 'emergency without retry', body: withField('priority', '2'), want: { param: 'retry', error: 'retry must be at least 30 seconds for emergency priority' } },
      { name: 'a field twice', body: `${good().toString()}&title=again`, want: { param: 'title', error: 'title is given more than once' } },
    ];
    for (const c of cases) {
      const res = await send({ method: 'POST', url: `${rx.url}/1/messages.json`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: c.body });
      assert.deepEqual({ ok: res.ok, status: res.status }, { ok: false, status: 400 }, c.name);
      const body = rx.rejected.at(-1)!.verdict.body as Record<string, unknown>;
      assert.deepEqual({ flag: body[c.want.param], errors: body.errors, status: body.status }, { flag: 'invalid', errors: [c.want.error], status: 0 }, c.name);
    }
    const json = await send({ method: 'POST', url: `${rx.url}/1/messages.json`, headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.deepEqual({ ok: json.ok, status: json.status }, { ok: false, status: 400 });
  });
});

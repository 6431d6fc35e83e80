// Apprise API: the /notify/{key} and stateless /notify bodies for every kind of message (pure), the
// fixture, and each built request posted with the notifier's post() to a receiver that checks it against
// caronc/apprise-api's documented API.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { APPRISE_BODY_MAX, APPRISE_LIMITS, appriseMessage, appriseSecrets, appriseSettings, buildApprise, type AppriseSettings } from '../../../src/notify/formats/apprise';
import { ChannelSettingsError } from '../../../src/notify/formats/channel-settings';
import { startAppriseReceiver } from '../receivers/apprise';
import { send, sendEach, type Receiver } from '../receivers/_server';
import { CASES, LINK, caseOf } from './_facts';
import { assertFixture } from './_fixture';

const URLS = 'tgram://123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11/-1001234567890, mailtos://user:secret@example.org';
const keyed = (url = 'http://apprise:8000', tag?: string): AppriseSettings => appriseSettings((k) => ({ url, key: 'preflight', ...(tag ? { tag } : {}) })[k]);
const stateless = (url = 'http://apprise:8000'): AppriseSettings => appriseSettings((k) => ({ url, urls: URLS })[k]);
const chars = (s: string): number => Array.from(s).length;

describe('apprise format', () => {
  test('the down message to a saved configuration and the resolved one are the reviewed fixtures', () => {
    const r = buildApprise(caseOf('down'), keyed());
    assert.equal(r.method, 'POST');
    assert.equal(r.url, 'http://apprise:8000/notify/preflight');
    assert.deepEqual(r.headers, { 'content-type': 'application/json', accept: 'application/json' });
    assertFixture('apprise-down.json', JSON.parse(r.body));
    assertFixture('apprise-resolved.json', JSON.parse(buildApprise(caseOf('resolved'), keyed()).body));
  });

  test('stateless: the URLs in the payload, to /notify', () => {
    const r = buildApprise(caseOf('down'), stateless());
    assert.equal(r.url, 'http://apprise:8000/notify');
    const p = JSON.parse(r.body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(p), ['urls', 'title', 'body', 'type', 'format']);
    assert.equal(p.urls, URLS);
  });

  test('type per message, the tag with a key', () => {
    const cases: { name: string; want: string }[] = [
      { name: 'down', want: 'failure' },
      { name: 'flapping', want: 'warning' },
      { name: 'cause_changed', want: 'warning' },
      { name: 'resolved', want: 'success' },
    ];
    for (const c of cases) assert.equal((JSON.parse(buildApprise(caseOf(c.name), keyed()).body) as { type: string }).type, c.want, c.name);
    assert.equal((JSON.parse(buildApprise(caseOf('down'), keyed('http://apprise:8000', 'devops oncall')).body) as { tag: string }).tag, 'devops oncall');
  });

  test('bodies, per kind: plain text, the link last', () => {
    const cases: { name: string; want: string }[] = [
      { name: 'resolved', want: `dead-drop resolved on box after 2m13s (3 occurrences) · ${LINK}\n\nSnapshot: ${LINK}` },
      { name: 'no link', want: "dead-drop down on box: 503 · killed by the kernel's OOM killer: node (pid 4242) at the unit's memory limit · RAM 94% | disk / 87% | load 4.20 | cpu 99%\n\nProbable cause: killed by the kernel's OOM killer: node (pid 4242) at the unit's memory limit\n\n“2026-11-25T03:04:04.900Z kernel: Memory cgroup out of memory: Killed process 4242 (node)”" },
      { name: 'empty cause', want: `dead-drop down on box: 503 · RAM 94% | disk / 87% | load 4.20 | cpu 99% · ${LINK}\n\nSnapshot: ${LINK}` },
    ];
    for (const c of cases) assert.equal(appriseMessage(caseOf(c.name)).body, c.want, c.name);
  });

  test('every message within the limits; a hostile cause clipped on a character, the link whole', () => {
    for (const c of CASES) {
      const m = appriseMessage(c.input);
      assert.ok(chars(m.title) <= APPRISE_LIMITS.title && chars(m.body) <= APPRISE_BODY_MAX, c.name);
    }
    const m = appriseMessage(caseOf('hostile flapping')).body;
    assert.ok(m.endsWith(`\n\nSnapshot: ${LINK}`));
    // the line and cause at their caps, the quote in what the link leaves of 4000
    assert.deepEqual(m.split('\n\n').map(chars), [1024, 16 + 2048, 2 + 816, 10 + LINK.length]);
    assert.equal(chars(m), APPRISE_BODY_MAX);
    assert.equal(/[\ud800-\udbff](?![\udc00-\udfff])/.test(m), false);
  });

  test('settings and secrets', () => {
    const get = (m: Record<string, string>) => (k: string) => m[k];
    assert.deepEqual(appriseSettings(get({ url: 'http://apprise:8000/', key: 'preflight', tag: 'devops' })), { url: 'http://apprise:8000', key: 'preflight', tag: 'devops' });
    const refused: { input: Record<string, string>; want: string }[] = [
      { input: { key: 'preflight' }, want: 'notifications (apprise): url: is required' },
      { input: { url: 'http://apprise:8000' }, want: 'notifications (apprise): key: is required (or urls, for the stateless /notify)' },
      { input: { url: 'http://apprise:8000', key: 'k', urls: URLS }, want: 'notifications (apprise): urls: give key (a saved configuration) or urls (stateless), not both' },
      { input: { url: 'http://apprise:8000', key: 'a/b' }, want: 'notifications (apprise): key: must be 1 to 128 of A-Z a-z 0-9 _ -' },
      { input: { url: 'http://apprise:8000', urls: URLS, tag: 'x' }, want: 'notifications (apprise): tag: only narrows a saved configuration (key); with urls it has nothing to select' },
      { input: { url: 'http://apprise:8000', urls: `json://${'x'.repeat(1020)}` }, want: 'notifications (apprise): urls: at most 1024 characters (the Apprise API\'s limit), not 1027' },
    ];
    for (const c of refused) assert.throws(() => appriseSettings(get(c.input)), (e: unknown) => e instanceof ChannelSettingsError && e.message === c.want, c.want);
    assert.deepEqual(appriseSecrets(keyed()), ['preflight']);
    assert.deepEqual(appriseSecrets(appriseSettings(get({ url: 'http://u:p%40ss@apprise:8000', urls: URLS }))), [
      URLS,
      'tgram://123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11/-1001234567890',
      'mailtos://user:secret@example.org',
      'p%40ss',
      'p@ss',
    ]);
  });
});

describe('apprise receiver', () => {
  let rx: Receiver;
  before(async () => {
    rx = await startAppriseReceiver({ keys: ['preflight'], failingUrl: 'json://down.example' });
  });
  after(() => rx.close());

  test('every built message is accepted, to a key and stateless', async () => {
    assert.deepEqual(await sendEach(CASES, (f) => buildApprise(f, keyed(rx.url, 'devops'))), CASES.map((c) => ({ name: c.name, status: '200' })));
    assert.deepEqual(await sendEach(CASES, (f) => buildApprise(f, stateless(rx.url))), CASES.map((c) => ({ name: c.name, status: '200' })));
    assert.equal(rx.accepted.length, 2 * CASES.length);
    assert.deepEqual(rx.unknownFields, []);
  });

  test('an unknown key is 204: accepted by post(), but nothing was sent', async () => {
    const res = await send(buildApprise(caseOf('down'), appriseSettings((k) => ({ url: rx.url, key: 'nobody' })[k])));
    assert.deepEqual({ ok: res.ok, status: res.status }, { ok: true, status: 204 });
  });

  test('broken requests are refused as the Apprise API refuses them', async () => {
    const good = JSON.parse(buildApprise(caseOf('down'), keyed(rx.url)).body) as Record<string, unknown>;
    const cases: { name: string; path?: string; type?: string; body: unknown; want: { status: number; error: string } }[] = [
      { name: 'no body', body: { ...good, body: '' }, want: { status: 400, error: 'body: This field is required.' } },
      { name: 'a body over 32768 characters', body: { ...good, body: '😀'.repeat(32_769) }, want: { status: 400, error: 'body: Ensure this value has at most 32768 characters.' } },
      { name: 'a 251-character title', body: { ...good, title: 't'.repeat(251) }, want: { status: 400, error: 'title: Ensure this value has at most 250 characters.' } },
      { name: 'a type Apprise lacks', body: { ...good, type: 'critical' }, want: { status: 400, error: 'type: Select a valid choice. critical is not one of the available choices.' } },
      { name: 'a format Apprise lacks', body: { ...good, format: 'json' }, want: { status: 400, error: 'format: Select a valid choice. json is not one of the available choices.' } },
      { name: 'not JSON', body: '{"body":', want: { status: 400, error: 'Invalid JSON specified.' } },
      { name: 'stateless, a service fails', path: '/notify', body: { ...good, urls: 'json://down.example' }, want: { status: 424, error: 'One or more notification could not be sent.' } },
    ];
    for (const c of cases) {
      const res = await send({ method: 'POST', url: `${rx.url}${c.path ?? '/notify/preflight'}`, headers: { 'content-type': c.type ?? 'application/json' }, body: typeof c.body === 'string' ? c.body : JSON.stringify(c.body) });
      assert.deepEqual({ ok: res.ok, status: res.status }, { ok: false, status: c.want.status }, c.name);
      assert.deepEqual(rx.rejected.at(-1)!.verdict.body, { error: c.want.error }, c.name);
    }
  });
});

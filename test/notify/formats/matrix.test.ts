// Matrix: the m.room.message content and its PUT for every kind of message (pure), the fixture, the
// transaction id's stability, and each built request sent with the notifier's post() to a receiver that
// checks it against the client-server API, a retried transaction included.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ChannelSettingsError } from '../../../src/notify/formats/channel-settings';
import { MATRIX_CONTENT_MAX_BYTES, buildMatrix, matrixContent, matrixSecrets, matrixSettings, matrixTxnId, type MatrixSettings } from '../../../src/notify/formats/matrix';
import { matrixHtmlProblem, startMatrixReceiver, type MatrixReceiver } from '../receivers/matrix';
import { send, sendEach } from '../receivers/_server';
import { CASES, LINK, caseOf } from './_facts';
import { assertFixture } from './_fixture';

const TOKEN = 'syt_cHJlZmxpZ2h0_ZmFrZXRva2VuZm9ydGVzdHM_0a1b2c';
const ROOM = '!636q39766251:example.com';
const settings = (homeserver = 'https://matrix.example.org'): MatrixSettings => matrixSettings((k) => ({ homeserver, room_id: ROOM, access_token: TOKEN })[k]);
const TXN = /^preflight-[0-9a-f]{32}$/;

describe('matrix format', () => {
  test('the down message and the resolved one are the reviewed fixtures, sent with PUT to the room and a transaction id', () => {
    const r = buildMatrix(caseOf('down'), settings());
    assert.equal(r.method, 'PUT');
    const prefix = 'https://matrix.example.org/_matrix/client/v3/rooms/!636q39766251%3Aexample.com/send/m.room.message/';
    assert.equal(r.url.slice(0, prefix.length), prefix);
    assert.match(r.url.slice(prefix.length), TXN);
    assert.deepEqual(r.headers, { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` });
    assertFixture('matrix-down.json', JSON.parse(r.body));
    assertFixture('matrix-resolved.json', JSON.parse(buildMatrix(caseOf('resolved'), settings()).body));
  });

  test('the transaction id: the same for a retry, another for another message or notifier', () => {
    const down = caseOf('down');
    const id = matrixTxnId(down, 'a');
    const cases: { name: string; input: string; same: boolean }[] = [
      { name: 'the same message again (a retry)', input: matrixTxnId({ ...down }, 'a'), same: true },
      { name: 'another event of the snapshot', input: matrixTxnId({ ...down, event: 'resolved' }, 'a'), same: false },
      { name: 'a later flapping reminder (more occurrences)', input: matrixTxnId({ ...down, occurrences: 2 }, 'a'), same: false },
      { name: 'another snapshot', input: matrixTxnId({ ...down, snapshotId: 'other' }, 'a'), same: false },
      { name: 'another notifier', input: matrixTxnId(down, 'b'), same: false },
    ];
    for (const c of cases) {
      assert.match(c.input, TXN, c.name);
      assert.equal(c.input === id, c.same, c.name);
    }
    assert.equal(buildMatrix(down, settings()).url, buildMatrix(caseOf('down'), settings()).url);
  });

  test('body and formatted body per kind', () => {
    const cases: { name: string; want: { body: string; formatted_body: string } }[] = [
      {
        name: 'resolved',
        want: {
          body: `dead-drop resolved on box\ndead-drop resolved on box after 2m13s (3 occurrences) · ${LINK}`,
          formatted_body: `<p><strong>dead-drop resolved on box</strong><br>dead-drop resolved on box after 2m13s (3 occurrences) · ${LINK}</p><p><a href="${LINK}">Open snapshot</a></p>`,
        },
      },
      {
        name: 'no link',
        want: {
          body: [
            'dead-drop down on box',
            "dead-drop down on box: 503 · killed by the kernel's OOM killer: node (pid 4242) at the unit's memory limit · RAM 94% | disk / 87% | load 4.20 | cpu 99%",
            "Probable cause: killed by the kernel's OOM killer: node (pid 4242) at the unit's memory limit",
            '> 2026-11-25T03:04:04.900Z kernel: Memory cgroup out of memory: Killed process 4242 (node)',
          ].join('\n'),
          formatted_body:
            '<p><strong>dead-drop down on box</strong><br>dead-drop down on box: 503 · killed by the kernel&#39;s OOM killer: node (pid 4242) at the unit&#39;s memory limit · RAM 94% | disk / 87% | load 4.20 | cpu 99%<br><strong>Probable cause:</strong> killed by the kernel&#39;s OOM killer: node (pid 4242) at the unit&#39;s memory limit</p><blockquote><code>2026-11-25T03:04:04.900Z kernel: Memory cgroup out of memory: Killed process 4242 (node)</code></blockquote>',
        },
      },
    ];
    for (const c of cases) {
      const m = matrixContent(caseOf(c.name));
      assert.deepEqual({ body: m.body, formatted_body: m.formatted_body }, c.want, c.name);
    }
  });

  test('every content is escaped HTML within the size bound', () => {
    for (const c of CASES) {
      const m = matrixContent(c.input);
      assert.equal(matrixHtmlProblem(m.formatted_body), null, c.name);
      assert.ok(Buffer.byteLength(JSON.stringify(m)) <= MATRIX_CONTENT_MAX_BYTES, c.name);
      assert.equal(m.msgtype, 'm.text', c.name);
    }
    const hostile = matrixContent(caseOf('hostile cause')).formatted_body;
    assert.ok(hostile.includes('&lt;b&gt;&amp;amp;😀 &lt;/i&gt;'));
    assert.equal(hostile.includes('<script>'), false);
  });

  test('a content that escaping would grow past the bound is cut until it fits', () => {
    // every character of the cause escapes to &quot; (6 bytes) in formatted_body and \" (2) in body
    const f = { ...caseOf('down'), probableCause: '"'.repeat(20_000), quote: '"'.repeat(20_000) };
    const m = matrixContent(f);
    const bytes = Buffer.byteLength(JSON.stringify(m));
    assert.ok(bytes <= MATRIX_CONTENT_MAX_BYTES, String(bytes));
    assert.ok(bytes > MATRIX_CONTENT_MAX_BYTES / 2, `not cut more than needed: ${bytes}`);
    assert.ok(m.body.startsWith('dead-drop down on box\n'));
  });

  test('settings and secrets', () => {
    const get = (m: Record<string, string>) => (k: string) => m[k];
    assert.deepEqual(matrixSettings(get({ homeserver: 'https://matrix.example.org/', room_id: ROOM, access_token: TOKEN })), {
      homeserver: 'https://matrix.example.org',
      roomId: ROOM,
      accessToken: TOKEN,
      scope: `https://matrix.example.org ${ROOM}`,
    });
    const refused: { input: Record<string, string>; want: string }[] = [
      { input: { room_id: ROOM, access_token: TOKEN }, want: 'notifications (matrix): homeserver: is required' },
      { input: { homeserver: 'https://m.example.org', room_id: '#alerts:example.org', access_token: TOKEN }, want: 'notifications (matrix): room_id: must be a room id such as !abcdef:example.org (Room settings → Advanced), not an alias' },
      { input: { homeserver: 'https://m.example.org', room_id: ROOM }, want: 'notifications (matrix): access_token: is required' },
    ];
    for (const c of refused) assert.throws(() => matrixSettings(get(c.input)), (e: unknown) => e instanceof ChannelSettingsError && e.message === c.want, c.want);
    assert.deepEqual(matrixSecrets(settings()), [TOKEN]);
  });
});

describe('matrix receiver', () => {
  let rx: MatrixReceiver;
  before(async () => {
    rx = await startMatrixReceiver({ accessToken: TOKEN, roomId: ROOM });
  });
  after(() => rx.close());

  test('every built message is accepted, one event each', async () => {
    // several cases share the down message's snapshot id: each its own snapshot here, so none is taken for a retry
    const results = await sendEach(CASES, (f, name) => buildMatrix({ ...f, snapshotId: name }, settings(rx.url)));
    assert.deepEqual(results, CASES.map((c) => ({ name: c.name, status: '200' })));
    assert.equal(rx.events.length, CASES.length);
    assert.deepEqual(rx.unknownFields, []);
  });

  test('a retry is the same transaction: answered with the first event, not posted twice', async () => {
    const before = rx.events.length;
    const r = buildMatrix({ ...caseOf('down'), snapshotId: 'retried' }, settings(rx.url));
    const first = await send(r);
    const again = await send(r);
    assert.deepEqual([first.ok, again.ok], [true, true]);
    assert.equal(rx.events.length, before + 1);
    assert.equal(rx.answers.at(-1), rx.answers.at(-2));
  });

  test('broken requests are refused as a homeserver refuses them', async () => {
    const good = buildMatrix(caseOf('down'), settings(rx.url));
    const content = JSON.parse(good.body) as Record<string, unknown>;
    const txn = (n: number): string => `${rx.url}/_matrix/client/v3/rooms/${encodeURIComponent(ROOM)}/send/m.room.message/broken-${n}`;
    const json = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };
    const cases: { name: string; method?: 'POST' | 'PUT'; url?: string; headers?: Record<string, string>; body?: string; want: { status: number; errcode: string } }[] = [
      { name: 'POST instead of PUT', method: 'POST', want: { status: 405, errcode: 'M_UNRECOGNIZED' } },
      { name: 'no access token', headers: { 'content-type': 'application/json' }, want: { status: 401, errcode: 'M_MISSING_TOKEN' } },
      { name: 'a wrong access token', headers: { ...json, authorization: 'Bearer nope' }, want: { status: 401, errcode: 'M_UNKNOWN_TOKEN' } },
      { name: 'an alias for the room', url: `${rx.url}/_matrix/client/v3/rooms/${encodeURIComponent('#alerts:example.com')}/send/m.room.message/x`, want: { status: 403, errcode: 'M_FORBIDDEN' } },
      { name: 'not JSON', body: '{"msgtype":', want: { status: 400, errcode: 'M_NOT_JSON' } },
      { name: 'no body', body: JSON.stringify({ msgtype: 'm.text' }), want: { status: 400, errcode: 'M_BAD_JSON' } },
      { name: 'a format without its formatted body', body: JSON.stringify({ ...content, formatted_body: undefined }), want: { status: 400, errcode: 'M_BAD_JSON' } },
      { name: 'unescaped log text in the HTML', body: JSON.stringify({ ...content, formatted_body: '<p>a <script>x</script></p>' }), want: { status: 400, errcode: 'M_BAD_JSON' } },
      { name: 'a bare & in the HTML', body: JSON.stringify({ ...content, formatted_body: '<p>R&D</p>' }), want: { status: 400, errcode: 'M_BAD_JSON' } },
      { name: 'over 65536 bytes', body: JSON.stringify({ ...content, body: 'x'.repeat(70_000) }), want: { status: 413, errcode: 'M_TOO_LARGE' } },
    ];
    let n = 0;
    for (const c of cases) {
      const res = await send({ method: c.method ?? 'PUT', url: c.url ?? txn(n++), headers: c.headers ?? json, body: c.body ?? good.body });
      assert.deepEqual({ ok: res.ok, status: res.status }, { ok: false, status: c.want.status }, c.name);
      assert.equal((rx.rejected.at(-1)!.verdict.body as { errcode: string }).errcode, c.want.errcode, c.name);
    }
  });
});

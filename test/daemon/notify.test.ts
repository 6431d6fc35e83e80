// Notifications: the payload of each format and the one line they all carry (pure), the retry policy
// (pure), redaction, and the Notifier's queue against real receivers on 127.0.0.1 (ephemeral ports)
// that answer, fail, refuse, hang or echo the request back.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { NotificationsConfig } from '../../src/config/config';
import { Logger } from '../../src/daemon/log';
import {
  Notifier,
  applyOutcome,
  backoffDelayMs,
  discordPayload,
  factsOf,
  formatMessage,
  headerSecrets,
  jsonPayload,
  mergeHeaders,
  notificationOf,
  ntfyMessage,
  oneLine,
  retryAfterMs,
  retryable,
  slackPayload,
  snapshotLink,
  webhookSecrets,
  whatFailed,
  type NotifyFacts,
} from '../../src/daemon/notify';
import { post } from '../../src/notify/post';
import type { Snapshot, SnapshotNotification } from '../../src/incident/snapshot';
import { withTimeout } from '../../src/util/exec';
import { freePort, receiver, snapshotFixture, type Receiver } from './_helpers';

const ID = '2026-11-25T03-04-05.123Z';
const BASE = 'http://box.example.org:9187';
const LINK = `${BASE}/failure-context/dead-drop/${ID}`;

const snapshot = snapshotFixture;

const recovered = (): Snapshot => snapshot({ recovery: { at: '2026-11-25T03:06:18.123Z', downtime_seconds: 133, samples: [] } });

describe('formatting', () => {
  const down = factsOf(snapshot(), 'down', BASE);
  const up = factsOf(recovered(), 'resolved', BASE);

  test('one line, down and recovered', () => {
    const cases: { name: string; input: NotifyFacts; want: string }[] = [
      {
        name: 'down with a cause',
        input: down,
        want: `dead-drop down on box: 503 · killed by the kernel's OOM killer: node (pid 4242) at the unit's memory limit · RAM 94% | disk / 87% | load 4.20 | cpu 99% · ${LINK}`,
      },
      { name: 'down, no cause, no link', input: factsOf(snapshot({ findings: [], probable_cause: 'HTTP 503, no cause found' }), 'down', undefined), want: 'dead-drop down on box: 503 · HTTP 503, no cause found · RAM 94% | disk / 87% | load 4.20 | cpu 99%' },
      {
        name: 'a unit restart with its exit',
        input: factsOf(snapshot({ trigger: 'unit_restart', error: null, exit: { code: 'killed', status: 'KILL', at: null }, findings: [], probable_cause: 'killed by signal 9 (SIGKILL)' }), 'down', undefined),
        want: 'dead-drop restarted on box: restarted by systemd (killed KILL) · killed by signal 9 (SIGKILL) · RAM 94% | disk / 87% | load 4.20 | cpu 99%',
      },
      {
        name: 'a newline in a cause stays one line',
        input: factsOf(snapshot({ probable_cause: 'two\nlines' }), 'down', undefined),
        want: 'dead-drop down on box: 503 · two lines · RAM 94% | disk / 87% | load 4.20 | cpu 99%',
      },
      { name: 'recovered', input: up, want: `dead-drop resolved on box after 2m13s · ${LINK}` },
    ];
    for (const c of cases) assert.equal(oneLine(c.input), c.want, c.name);
  });

  test('recovery durations', () => {
    const cases: { name: string; input: number; want: string }[] = [
      { name: 'seconds', input: 7, want: 'after 7s' },
      { name: 'rounds to seconds', input: 59.4, want: 'after 59s' },
      { name: 'a minute', input: 59.6, want: 'after 1m00s' },
      { name: 'the issue example', input: 133, want: 'after 2m13s' },
      { name: 'hours', input: 3 * 3600 + 5 * 60, want: 'after 3h05m' },
      { name: 'days', input: 3 * 86400 + 3600, want: 'after 3d01h' },
      { name: 'zero', input: 0, want: 'after 0s' },
    ];
    for (const c of cases) {
      const s = snapshot({ recovery: { at: '2026-11-25T03:06:18.123Z', downtime_seconds: c.input, samples: [] } });
      assert.equal(oneLine(factsOf(s, 'resolved', undefined)), `dead-drop resolved on box ${c.want}`, c.name);
    }
  });

  test('what failed, per error kind', () => {
    const err = (kind: NonNullable<Snapshot['error']>['kind'], status: number | null = null, message = '') => ({ kind, status, message, latency_ms: 1 });
    const cases: { name: string; input: Pick<Snapshot, 'error' | 'trigger' | 'exit'>; want: string }[] = [
      { name: 'status', input: { trigger: 'health_check', exit: null, error: err('http_status', 502) }, want: '502' },
      { name: 'status unknown', input: { trigger: 'health_check', exit: null, error: err('http_status') }, want: 'unexpected HTTP status' },
      { name: 'timeout', input: { trigger: 'health_check', exit: null, error: err('timeout') }, want: 'timeout' },
      { name: 'refused', input: { trigger: 'health_check', exit: null, error: err('connection_refused') }, want: 'connection refused' },
      { name: 'body', input: { trigger: 'health_check', exit: null, error: err('body_mismatch', 200) }, want: 'unexpected body' },
      { name: 'unit with words', input: { trigger: 'health_check', exit: null, error: err('unit', null, 'unit failed: exit 3') }, want: 'unit failed: exit 3' },
      { name: 'restart without exit', input: { trigger: 'unit_restart', exit: null, error: null }, want: 'restarted by systemd' },
      { name: 'manual', input: { trigger: 'manual', exit: null, error: null }, want: 'manual snapshot' },
    ];
    for (const c of cases) assert.equal(whatFailed(c.input), c.want, c.name);
  });

  test('links', () => {
    const cases: { name: string; input: [string | undefined, string, string]; want: string | null }[] = [
      { name: 'base', input: [BASE, 'dead-drop', ID], want: LINK },
      { name: 'trailing slashes', input: [`${BASE}//`, 'dead-drop', ID], want: LINK },
      { name: 'a path prefix (reverse proxy)', input: ['https://ops.example.org/preflight', 'web', ID], want: `https://ops.example.org/preflight/failure-context/web/${ID}` },
      { name: 'no base', input: [undefined, 'web', ID], want: null },
    ];
    for (const c of cases) assert.equal(snapshotLink(...c.input), c.want, c.name);
  });

  test('json: the issue fields, for down and recovered', () => {
    assert.deepEqual(jsonPayload(down), {
      event: 'down',
      service: 'dead-drop',
      host: 'box',
      at: '2026-11-25T03:04:05.123Z',
      trigger: 'health_check',
      summary: 'RAM 94% | disk / 87% | load 4.20 | cpu 99%',
      probable_cause: "killed by the kernel's OOM killer: node (pid 4242) at the unit's memory limit",
      error: { kind: 'http_status', status: 503, message: 'HTTP 503 Service Unavailable', latency_ms: 12 },
      link: LINK,
      snapshot_id: ID,
      text: oneLine(down),
    });
    assert.deepEqual(jsonPayload(up), {
      event: 'resolved',
      service: 'dead-drop',
      host: 'box',
      at: '2026-11-25T03:06:18.123Z',
      downtime_seconds: 133,
      occurrences: 1,
      link: LINK,
      snapshot_id: ID,
      text: `dead-drop resolved on box after 2m13s · ${LINK}`,
    });
  });

  test('ntfy: text body, Title/Priority/Tags/Click headers', () => {
    const cases: { name: string; input: NotifyFacts; want: { body: string; headers: Record<string, string> } }[] = [
      {
        name: 'down',
        input: down,
        want: {
          body: oneLine(down),
          headers: { 'content-type': 'text/plain; charset=utf-8', title: 'dead-drop down on box', priority: 'high', tags: 'rotating_light', click: LINK },
        },
      },
      {
        name: 'recovered without a link',
        input: factsOf(recovered(), 'resolved', undefined),
        want: {
          body: 'dead-drop resolved on box after 2m13s',
          headers: { 'content-type': 'text/plain; charset=utf-8', title: 'dead-drop resolved on box', priority: 'default', tags: 'white_check_mark' },
        },
      },
      {
        name: 'a non-ASCII host name is made header-safe',
        input: factsOf(snapshot({ host: { ...snapshot().host, hostname: 'bôx' } }), 'down', undefined),
        want: {
          body: "dead-drop down on bôx: 503 · killed by the kernel's OOM killer: node (pid 4242) at the unit's memory limit · RAM 94% | disk / 87% | load 4.20 | cpu 99%",
          headers: { 'content-type': 'text/plain; charset=utf-8', title: 'dead-drop down on b?x', priority: 'high', tags: 'rotating_light' },
        },
      },
    ];
    for (const c of cases) assert.deepEqual(ntfyMessage(c.input), c.want, c.name);
  });

  test('slack: text plus blocks with the same facts, mrkdwn escaped', () => {
    const p = slackPayload(factsOf(snapshot({ probable_cause: 'a <b> & c' }), 'down', BASE)) as {
      text: string;
      blocks: { type: string; text?: { type: string; text: string }; elements?: { text: string }[] }[];
    };
    assert.equal(p.text, `dead-drop down on box: 503 · a <b> & c · RAM 94% | disk / 87% | load 4.20 | cpu 99% · ${LINK}`);
    assert.deepEqual(p.blocks.map((b) => b.type), ['section', 'context']);
    assert.equal(p.blocks[0]!.text!.text, '*dead-drop down on box*: 503\n*Probable cause:* a &lt;b&gt; &amp; c\n*Host:* RAM 94% | disk / 87% | load 4.20 | cpu 99%');
    assert.equal(p.blocks[1]!.elements![0]!.text, `first failure 2026-11-25T03:04:05.123Z · trigger health_check · snapshot <${LINK}|${ID}>`);
    const r = slackPayload(up) as { text: string; blocks: { text?: { text: string } }[] };
    assert.equal(r.text, `dead-drop resolved on box after 2m13s · ${LINK}`);
    assert.equal(r.blocks[0]!.text!.text, '*dead-drop resolved on box* after 2m13s');
  });

  test('discord: content plus an embed, mentions disabled, limits kept', () => {
    const p = discordPayload(down) as { content: string; allowed_mentions: unknown; embeds: Record<string, unknown>[] };
    assert.equal(p.content, oneLine(down));
    assert.deepEqual(p.allowed_mentions, { parse: [] });
    const e = p.embeds[0]!;
    assert.equal(e.title, 'dead-drop down on box');
    assert.equal(e.url, LINK);
    assert.equal(e.timestamp, '2026-11-25T03:04:05.123Z');
    assert.deepEqual(e.fields, [
      { name: 'What failed', value: '503', inline: true },
      { name: 'Trigger', value: 'health_check', inline: true },
      { name: 'Probable cause', value: "killed by the kernel's OOM killer: node (pid 4242) at the unit's memory limit", inline: false },
      { name: 'Host', value: 'RAM 94% | disk / 87% | load 4.20 | cpu 99%', inline: false },
      { name: 'Snapshot', value: ID, inline: false },
    ]);
    const long = discordPayload(factsOf(snapshot({ summary: 's'.repeat(5000), probable_cause: 'x'.repeat(5000) }), 'down', undefined)) as {
      content: string;
      embeds: { fields: { name: string; value: string }[] }[];
    };
    assert.equal(long.content.length, 2000);
    assert.equal(long.embeds[0]!.fields.find((f) => f.name === 'Probable cause')!.value.length, 1024);
    const r = discordPayload(factsOf(recovered(), 'resolved', undefined)) as { embeds: Record<string, unknown>[] };
    assert.equal(r.embeds[0]!.url, undefined);
    assert.deepEqual(r.embeds[0]!.fields, [
      { name: 'Downtime', value: '2m13s', inline: true },
      { name: 'Snapshot', value: ID, inline: true },
    ]);
  });

  test('formatMessage: body and content type per format', () => {
    const cases: { name: string; input: NotificationsConfig['format']; want: { type: string; parsed: unknown } }[] = [
      { name: 'json', input: 'json', want: { type: 'application/json', parsed: jsonPayload(down) } },
      { name: 'slack', input: 'slack', want: { type: 'application/json', parsed: slackPayload(down) } },
      { name: 'discord', input: 'discord', want: { type: 'application/json', parsed: discordPayload(down) } },
      { name: 'ntfy', input: 'ntfy', want: { type: 'text/plain; charset=utf-8', parsed: oneLine(down) } },
    ];
    for (const c of cases) {
      const m = formatMessage(c.input, down);
      assert.equal(m.headers['content-type'], c.want.type, c.name);
      assert.deepEqual(c.input === 'ntfy' ? m.body : JSON.parse(m.body), c.want.parsed, c.name);
    }
  });

  test('config headers override the format, whatever their case; content-length is never taken', () => {
    const cases: { name: string; input: [Record<string, string>, Record<string, string>]; want: Record<string, string> }[] = [
      { name: 'added', input: [{ 'content-type': 'a' }, { Authorization: 'Bearer x' }], want: { 'content-type': 'a', authorization: 'Bearer x' } },
      { name: 'override', input: [{ priority: 'high' }, { Priority: 'urgent' }], want: { priority: 'urgent' } },
      { name: 'content-length dropped', input: [{}, { 'Content-Length': '5' }], want: {} },
    ];
    for (const c of cases) assert.deepEqual(mergeHeaders(...c.input), c.want, c.name);
  });
});

describe('retry policy', () => {
  test('backoff doubles, is capped, and jitters between half and all', () => {
    const p = { baseDelayMs: 1000, maxDelayMs: 30_000 };
    const cases: { name: string; input: [number, number]; want: number }[] = [
      { name: 'first retry, least jitter', input: [1, 0], want: 500 },
      { name: 'first retry, most', input: [1, 1], want: 1000 },
      { name: 'second retry, middle', input: [2, 0.5], want: 1500 },
      { name: 'third retry, most', input: [3, 1], want: 4000 },
      { name: 'capped', input: [10, 1], want: 30_000 },
      { name: 'capped, least', input: [10, 0], want: 15_000 },
      { name: 'random out of range is clamped', input: [1, 7], want: 1000 },
    ];
    for (const c of cases) assert.equal(backoffDelayMs(c.input[0], p, c.input[1]), c.want, c.name);
  });

  test('what is retried', () => {
    const cases: { name: string; input: { ok: boolean; status?: number; aborted?: boolean }; want: boolean }[] = [
      { name: 'delivered', input: { ok: true, status: 204 }, want: false },
      { name: 'network error', input: { ok: false }, want: true },
      { name: '500', input: { ok: false, status: 500 }, want: true },
      { name: '503', input: { ok: false, status: 503 }, want: true },
      { name: '429', input: { ok: false, status: 429 }, want: true },
      { name: '408', input: { ok: false, status: 408 }, want: true },
      { name: '400 is a config problem', input: { ok: false, status: 400 }, want: false },
      { name: '401', input: { ok: false, status: 401 }, want: false },
      { name: '404', input: { ok: false, status: 404 }, want: false },
      { name: 'a redirect is not followed', input: { ok: false, status: 301 }, want: false },
      { name: 'aborted', input: { ok: false, aborted: true }, want: false },
    ];
    for (const c of cases) assert.equal(retryable(c.input), c.want, c.name);
  });

  test('Retry-After', () => {
    const now = Date.parse('2026-11-25T03:00:00Z');
    const cases: { name: string; input: string | undefined; want: number | undefined }[] = [
      { name: 'absent', input: undefined, want: undefined },
      { name: 'seconds', input: '3', want: 3000 },
      { name: 'spaces', input: ' 3 ', want: 3000 },
      { name: 'a date', input: 'Wed, 25 Nov 2026 03:00:10 GMT', want: 10_000 },
      { name: 'a date in the past', input: 'Wed, 25 Nov 2026 02:00:00 GMT', want: 0 },
      { name: 'garbage', input: 'soon', want: undefined },
      { name: 'negative', input: '-1', want: undefined },
      { name: 'not GMT', input: '2026-11-25T03:00:10Z', want: undefined },
    ];
    for (const c of cases) assert.equal(retryAfterMs(c.input, now), c.want, c.name);
  });
});

describe('redaction', () => {
  test('the secrets of a webhook URL', () => {
    const cases: { name: string; input: string; want: string[] }[] = [
      {
        name: 'token in the path (Slack)',
        input: 'https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX',
        want: ['/services/T000/B000/XXXXXXXXXXXXXXXX', 'hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX'],
      },
      { name: 'token in the query, long value alone', input: 'https://x.example/h?token=abcdefgh12345&fmt=json', want: ['?token=abcdefgh12345&fmt=json', 'abcdefgh12345'] },
      { name: 'password', input: 'https://user:hunter2pass@x.example/', want: ['hunter2pass'] },
      { name: 'encoded path, decoded form too', input: 'https://x.example/a%20b/tok', want: ['/a%20b/tok', '/a b/tok'] },
    ];
    for (const c of cases) {
      const got = webhookSecrets(c.input);
      assert.ok(got.includes(c.input), `${c.name}: the URL itself`);
      for (const w of c.want) assert.ok(got.includes(w), `${c.name}: ${w} in ${JSON.stringify(got)}`);
    }
    assert.ok(!webhookSecrets('https://x.example/h?fmt=json').includes('json'), 'a short query value alone would blank common words');
    assert.ok(!webhookSecrets('https://user:pw@x.example/').includes('user'), 'the user name is not a secret');
  });

  test('header secrets: the value and the credential after its scheme', () => {
    const cases: { name: string; input: Record<string, string>; want: string[] }[] = [
      { name: 'bearer', input: { Authorization: 'Bearer s3cr3t-token' }, want: ['Bearer s3cr3t-token', 's3cr3t-token'] },
      { name: 'plain', input: { 'X-Token': 'abcdef' }, want: ['abcdef'] },
      { name: 'none', input: {}, want: [] },
    ];
    for (const c of cases) assert.deepEqual(headerSecrets(c.input), c.want, c.name);
  });

  test('a Logger that was given them never prints them, in any form', () => {
    const out: string[] = [];
    const log = new Logger({ out: (t) => out.push(t), err: (t) => out.push(t), isTTY: false });
    const hook = 'https://ntfy.example.org/ops-4f9a8b7c?auth=QWxhZGRpbjpvcGVuIHNlc2FtZQ';
    for (const s of [...webhookSecrets(hook), ...headerSecrets({ Authorization: 'Bearer tok-123456' })]) log.addSecret(s);
    const lines = [
      `POST ${hook} failed`,
      `POST ${new URL(hook).href} failed`,
      `no such topic /ops-4f9a8b7c`,
      `echo: auth=${encodeURIComponent('QWxhZGRpbjpvcGVuIHNlc2FtZQ')}`,
      `header was Bearer tok-123456`,
      `token tok-123456 rejected`,
    ];
    for (const l of lines) log.warn(l);
    const text = out.join('\n');
    for (const secret of ['ops-4f9a8b7c', 'QWxhZGRpbjpvcGVuIHNlc2FtZQ', 'tok-123456']) assert.ok(!text.includes(secret), `${secret} leaked:\n${text}`);
    assert.equal(out.length, lines.length);
    assert.ok(out.every((l) => l.includes('<redacted>')), text);
  });
});

describe('outcome in the snapshot', () => {
  test('applyOutcome and notificationOf', () => {
    const o: SnapshotNotification = { status: 'failed', attempts: 4, at: '2026-11-25T03:05:00.000Z', reason: 'HTTP 500' };
    const s = snapshot();
    assert.equal(applyOutcome(s, 'resolved', o), false, 'no recovery to put it in');
    assert.equal(applyOutcome(s, 'down', o), true);
    assert.deepEqual(notificationOf(JSON.stringify(s)), o);
    const r = recovered();
    assert.equal(applyOutcome(r, 'resolved', { ...o, status: 'delivered' }), true);
    assert.equal(r.recovery!.notification!.status, 'delivered');
    assert.equal(r.notification, undefined);
    const cases: { name: string; input: string; want: SnapshotNotification | null }[] = [
      { name: 'none', input: JSON.stringify(snapshot()), want: null },
      { name: 'not JSON', input: '{"notif', want: null },
      { name: 'empty', input: '', want: null },
      { name: 'wrong shape', input: '{"notification": "sent"}', want: null },
    ];
    for (const c of cases) assert.deepEqual(notificationOf(c.input), c.want, c.name);
  });
});

// --- the Notifier against real receivers -----------------------------------------------------------

function logger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = new Logger({ out: (t) => lines.push(t), err: (t) => lines.push(t), isTTY: false }, { debug: true });
  return { log, lines };
}

function notifierFor(
  webhook: string,
  more: Partial<NotificationsConfig> = {},
  opts: { timeoutMs?: number; maxAttempts?: number; queueCap?: number; maxDelayMs?: number } = {},
) {
  const { log, lines } = logger();
  const config: NotificationsConfig = { webhook, format: 'json', recovery: true, headers: {}, publicUrl: BASE, ...more };
  const n = new Notifier({
    config,
    log,
    retry: { baseDelayMs: 20, maxDelayMs: opts.maxDelayMs ?? 100, timeoutMs: opts.timeoutMs ?? 2000, maxAttempts: opts.maxAttempts ?? 3 },
    ...(opts.queueCap !== undefined ? { queueCap: opts.queueCap } : {}),
    random: () => 0.5,
  });
  return { n, lines };
}

/** Queue one message and wait for its outcome (bounded: the test fails rather than hangs). */
function outcomeOf(n: Notifier, event: 'down' | 'resolved', s: Snapshot, ms = 15_000): Promise<SnapshotNotification> {
  return withTimeout(new Promise<SnapshotNotification>((resolve) => n.notify(event, s, resolve)), ms, 'notification outcome');
}

describe('Notifier against real receivers', () => {
  const open: Receiver[] = [];
  const start = async (answer: Parameters<typeof receiver>[0]): Promise<Receiver> => {
    const r = await receiver(answer);
    open.push(r);
    return r;
  };
  after(async () => {
    for (const r of open) await r.close();
  });

  test('delivered: one POST with the format body, config headers, and the outcome', async () => {
    const r = await start(() => ({ status: 204 }));
    const { n, lines } = notifierFor(`${r.url}/hook/abc?x=1`, { format: 'ntfy', headers: { Authorization: 'Bearer tok-987654' } });
    const o = await outcomeOf(n, 'down', snapshot());
    assert.equal(o.status, 'delivered');
    assert.equal(o.attempts, 1);
    assert.equal(r.got.length, 1);
    const req = r.got[0]!;
    assert.equal(req.url, '/hook/abc?x=1');
    assert.equal(req.headers.authorization, 'Bearer tok-987654');
    assert.equal(req.headers.title, 'dead-drop down on box');
    assert.equal(req.headers.click, LINK);
    assert.equal(req.body, oneLine(factsOf(snapshot(), 'down', BASE)));
    assert.deepEqual(n.stats(), { queued: 0, delivered: 1, failed: 0, dropped: 0 });
    assert.ok(lines.some((l) => l.includes('notified') && l.includes('dead-drop down')), lines.join('\n'));
  });

  test('retries a 500 with backoff, then fails with the reason and attempts', async () => {
    const r = await start(() => ({ status: 500, body: 'database is down' }));
    const { n, lines } = notifierFor(r.url);
    const o = await outcomeOf(n, 'down', snapshot());
    assert.equal(o.status, 'failed');
    assert.equal(o.attempts, 3);
    assert.equal(o.reason, 'HTTP 500 Internal Server Error: database is down');
    assert.equal(r.got.length, 3);
    // backoff with random 0.5: 15 ms then 30 ms between attempts (at least)
    assert.ok(r.got[1]!.at - r.got[0]!.at >= 14 && r.got[2]!.at - r.got[1]!.at >= 29, r.got.map((g) => g.at).join(' '));
    assert.equal(n.stats().failed, 1);
    assert.equal(lines.filter((l) => l.startsWith('<4>')).length, 1, 'one warning line per failed message');
  });

  test('a 500 then a 200 is delivered on the second attempt', async () => {
    const r = await start((_, i) => ({ status: i === 1 ? 503 : 200 }));
    const { n } = notifierFor(r.url);
    const o = await outcomeOf(n, 'down', snapshot());
    assert.deepEqual([o.status, o.attempts, r.got.length], ['delivered', 2, 2]);
  });

  test('a 404 is not retried', async () => {
    const r = await start(() => ({ status: 404, body: 'no such hook' }));
    const { n } = notifierFor(r.url);
    const o = await outcomeOf(n, 'down', snapshot());
    assert.deepEqual([o.status, o.attempts, r.got.length, o.reason], ['failed', 1, 1, 'HTTP 404 Not Found: no such hook']);
  });

  // backoff alone (base 20 ms, random 0.5) would wait 15 ms before the second attempt, so a longer gap
  // can only come from the Retry-After of 1 s, and a gap shorter than that only from the cap
  const retryAfterGap = async (maxDelayMs: number): Promise<number> => {
    const r = await start((_, i) => (i === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
    const { n } = notifierFor(r.url, {}, { maxDelayMs });
    const o = await outcomeOf(n, 'down', snapshot());
    assert.deepEqual([o.status, o.attempts, r.got.length], ['delivered', 2, 2]);
    return r.got[1]!.at - r.got[0]!.at;
  };

  test('Retry-After is honoured when under the maximum delay', async () => {
    const gap = await retryAfterGap(5000);
    assert.ok(gap >= 990 && gap < 4000, `second attempt ${gap} ms after the first; Retry-After asked for 1000`);
  });

  test('Retry-After is capped at the maximum delay', async () => {
    const gap = await retryAfterGap(200);
    assert.ok(gap >= 190 && gap < 900, `second attempt ${gap} ms after the first; Retry-After 1000 capped at 200`);
  });

  test('a refused connection fails after the retries, with the reason', async () => {
    const port = await freePort();
    const { n } = notifierFor(`http://127.0.0.1:${port}/hook`);
    const o = await outcomeOf(n, 'down', snapshot());
    assert.equal(o.status, 'failed');
    assert.equal(o.attempts, 3);
    assert.match(o.reason ?? '', /ECONNREFUSED/);
  });

  test('a hung receiver costs one timeout per attempt, and the next message still goes out', async () => {
    const r = await start((req) => (req.body.includes('"event":"down"') ? null : { status: 200 }));
    const { n } = notifierFor(r.url, {}, { timeoutMs: 200, maxAttempts: 2 });
    const t0 = Date.now();
    const first = outcomeOf(n, 'down', snapshot());
    const second = outcomeOf(n, 'resolved', recovered());
    const o1 = await first;
    const o2 = await second;
    assert.deepEqual([o1.status, o1.attempts, o1.reason], ['failed', 2, 'no answer within 200 ms']);
    assert.equal(o2.status, 'delivered');
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    assert.deepEqual(r.got.map((g) => (JSON.parse(g.body) as { event: string }).event), ['down', 'down', 'resolved'], 'in order');
  });

  test('a full queue refuses the new message at once, with a failed outcome', async () => {
    const r = await start(() => null);
    const { n } = notifierFor(r.url, {}, { timeoutMs: 5000, maxAttempts: 1, queueCap: 2 });
    const outcomes: SnapshotNotification[] = [];
    assert.equal(n.notify('down', snapshot(), (o) => outcomes.push(o)), true);
    assert.equal(n.notify('down', snapshot(), (o) => outcomes.push(o)), true);
    assert.equal(n.notify('down', snapshot(), (o) => outcomes.push(o)), false);
    assert.equal(outcomes.length, 1, 'told synchronously');
    assert.deepEqual([outcomes[0]!.status, outcomes[0]!.attempts, outcomes[0]!.reason], ['failed', 0, 'queue full: 2 notifications waiting']);
    assert.deepEqual(n.stats(), { queued: 2, delivered: 0, failed: 1, dropped: 1 });
    const t0 = Date.now();
    await n.stop(100);
    assert.ok(Date.now() - t0 < 2000, 'stop does not wait for a hung receiver');
    assert.equal(outcomes.length, 1, 'abandoned messages get no outcome (their snapshots stay pending)');
    assert.equal(n.notify('down', snapshot()), false, 'refused after stop');
  });

  test('recovery messages can be turned off', async () => {
    const r = await start(() => ({ status: 200 }));
    const { n } = notifierFor(r.url, { recovery: false });
    assert.equal(n.notify('resolved', recovered()), false);
    const s = recovered();
    n.markPending('resolved', s);
    assert.equal(s.recovery!.notification, undefined);
    n.markPending('down', s);
    assert.equal(s.notification?.status, 'pending');
    await n.idle();
    assert.equal(r.got.length, 0);
  });

  test('a receiver that echoes the URL and headers back: the stored reason and the log stay clean', async () => {
    const r = await start((req) => ({ status: 400, body: `bad request to ${req.url} with ${String(req.headers['x-api-key'])} / ${String(req.headers.authorization)}` }));
    const hook = `${r.url}/hooks/T0K3N-PATH-SECRET?key=query-secret-123`;
    const { n, lines } = notifierFor(hook, { headers: { 'X-Api-Key': 'header-secret-456', Authorization: 'Bearer bearer-secret-789' } });
    const o = await outcomeOf(n, 'down', snapshot());
    assert.equal(o.status, 'failed');
    const text = `${JSON.stringify(o)}\n${lines.join('\n')}`;
    for (const s of ['T0K3N-PATH-SECRET', 'query-secret-123', 'header-secret-456', 'bearer-secret-789']) assert.ok(!text.includes(s), `${s} leaked:\n${text}`);
    assert.match(o.reason ?? '', /^HTTP 400 Bad Request: bad request to <redacted>/);
  });
});

describe('post', () => {
  test('reads at most the cap of a long answer and never rejects', async () => {
    const r = await receiver(() => ({ status: 500, body: 'y'.repeat(100_000) }));
    try {
      const res = await post({ url: new URL(r.url), body: '{}', headers: {}, timeoutMs: 2000, maxResponseBytes: 100 });
      assert.equal(res.ok, false);
      assert.equal(res.status, 500);
      assert.equal(res.message, `HTTP 500 Internal Server Error: ${'y'.repeat(100)}`);
    } finally {
      await r.close();
    }
  });

  test('an aborted signal ends the request at once', async () => {
    const r = await receiver(() => null);
    try {
      const ac = new AbortController();
      const p = post({ url: new URL(r.url), body: '{}', headers: {}, timeoutMs: 10_000, maxResponseBytes: 100, signal: ac.signal });
      setTimeout(() => ac.abort(), 50);
      const res = await withTimeout(p, 2000, 'aborted post');
      assert.deepEqual([res.ok, res.aborted], [false, true]);
    } finally {
      await r.close();
    }
  });
});

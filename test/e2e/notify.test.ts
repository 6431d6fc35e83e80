// Notifications end to end: the built bundle as `preflight start`, a real health endpoint switched to
// 503, and a real webhook receiver on 127.0.0.1. One POST per confirmed failure in each format, whose
// link serves the same snapshot; receivers that are down, failing or hung cost the captures nothing;
// no secret reaches the log.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { NotificationsConfig } from '../../src/config/config';
import type { Snapshot } from '../../src/incident/snapshot';
import { freePort, receiver, request, type Answer, type Received, type Receiver } from '../daemon/_helpers';
import { RunningDaemon, TOKEN, TestService, waitFor } from './daemon';

const SERVICE = 'dead-drop';
const open: Array<{ close(): Promise<void> } | RunningDaemon> = [];
after(async () => {
  for (const o of open.reverse()) await (o instanceof RunningDaemon ? o.cleanup() : o.close());
});

interface Setup {
  /** more lines under notifications: (indented) */
  notify?: string;
  webhookPath?: string;
  /** more top-level lines */
  top?: string;
  args?: string[];
}

/** A health endpoint, a receiver (`'down'`: a port nothing listens on) and the daemon, all on 127.0.0.1. */
async function setup(format: NotificationsConfig['format'], answer: ((r: Received, n: number) => Answer) | 'down', o: Setup = {}) {
  const health = await TestService.start();
  open.push(health);
  let hook: Pick<Receiver, 'url' | 'got'>;
  if (answer === 'down') hook = { url: `http://127.0.0.1:${await freePort()}`, got: [] };
  else {
    const r = await receiver(answer);
    open.push(r);
    hook = r;
  }
  const daemon = await RunningDaemon.start({
    yaml: () =>
      `${o.top ?? ''}notifications:\n  webhook: ${hook.url}${o.webhookPath ?? '/hook'}\n  format: ${format}\n${o.notify ?? ''}` +
      `services:\n  - name: ${SERVICE}\n    health_url: ${health.url}\n`,
    ...(o.args ? { args: o.args } : {}),
  });
  open.push(daemon);
  return { health, hook, daemon };
}

/** The link a message carries, per format. */
function linkOf(format: NotificationsConfig['format'], r: Received): string {
  if (format === 'ntfy') return String(r.headers.click);
  const body = JSON.parse(r.body) as Record<string, unknown>;
  if (format === 'json') return String(body.link);
  if (format === 'discord') return String((body.embeds as Array<{ url: string }>)[0]!.url);
  const context = (body.blocks as Array<{ elements?: Array<{ text: string }> }>)[1]!.elements![0]!.text;
  return /<(http[^|>]+)\|/.exec(context)![1]!;
}

/** The one line of text a message carries, per format. */
function textOf(format: NotificationsConfig['format'], r: Received): string {
  if (format === 'ntfy') return r.body;
  const body = JSON.parse(r.body) as Record<string, unknown>;
  return String(format === 'discord' ? body.content : body.text);
}

const latest = (d: RunningDaemon): Snapshot | undefined => d.snapshots(SERVICE).at(-1)?.snapshot;

describe('each format: one POST per confirmed failure, whose link serves the snapshot', { concurrency: true }, () => {
  for (const format of ['json', 'ntfy', 'slack', 'discord'] as const) {
    test(format, async () => {
      const { health, hook, daemon } = await setup(format, () => ({ status: format === 'discord' ? 204 : 200, body: format === 'slack' ? 'ok' : '' }));

      // a blip (one failed check, then fine) is not a failure: nothing written, nothing sent
      health.failNext(1);
      await waitFor('the blip to be discarded', 10_000, () => daemon.stdout.includes('recovered before confirmation'));

      await health.set('503');
      await waitFor('the down message', 15_000, () => hook.got.length >= 1);
      const down = hook.got[0]!;
      // the failure goes on for several more checks: still one message
      const failedBefore = health.served.failed;
      await waitFor('more failed checks', 10_000, () => health.served.failed >= failedBefore + 4);
      await health.set('ok');
      await waitFor('the recovery to be notified and recorded', 15_000, () => latest(daemon)?.recovery?.notification?.status === 'delivered');

      assert.equal(hook.got.length, 2, hook.got.map((g) => g.body).join('\n'));
      const files = daemon.snapshots(SERVICE);
      assert.equal(files.length, 1, 'one snapshot: the blip wrote nothing');
      const { text, snapshot } = files[0]!;
      assert.deepEqual(snapshot.notification && [snapshot.notification.status, snapshot.notification.attempts], ['delivered', 1]);

      // the down message: the facts of the snapshot, and a link that serves it byte for byte
      const line = textOf(format, down);
      assert.match(line, new RegExp(`^${SERVICE} down on \\S+: 503 · .*RAM \\d+%.* · http://127\\.0\\.0\\.1:\\d+/failure-context/${SERVICE}/${snapshot.id}$`));
      const link = linkOf(format, down);
      assert.equal(link, `${daemon.api}/failure-context/${SERVICE}/${snapshot.id}`);
      const served = await request(link);
      assert.equal(served.status, 200);
      assert.equal(served.body, text);
      if (format === 'json') {
        const body = JSON.parse(down.body) as Record<string, unknown>;
        for (const k of ['service', 'host', 'at', 'trigger', 'summary', 'probable_cause', 'error', 'link', 'snapshot_id']) assert.ok(k in body, `json payload lacks ${k}`);
        assert.deepEqual([body.service, body.snapshot_id, body.at, body.trigger, body.summary], [SERVICE, snapshot.id, snapshot.transition.first_failure_at, 'health_check', snapshot.summary]);
        assert.deepEqual(body.error, snapshot.error);
      }
      if (format === 'ntfy') assert.deepEqual([down.headers.title, down.headers.priority, down.headers.tags], [`${SERVICE} down on ${snapshot.host.hostname}`, 'high', 'rotating_light']);
      if (format === 'slack') assert.equal((JSON.parse(down.body) as { blocks: unknown[] }).blocks.length, 2);
      if (format === 'discord') assert.deepEqual((JSON.parse(down.body) as { allowed_mentions: unknown }).allowed_mentions, { parse: [] });

      // the recovery message
      assert.match(textOf(format, hook.got[1]!), new RegExp(`^${SERVICE} resolved on \\S+ after \\d+s · ${link.replace(/[.]/g, '\\.')}$`));

      // preflight list shows the outcome, as text and as JSON
      const list = await daemon.cli(['list', '--json']);
      assert.equal(list.code, 0, list.stderr);
      assert.equal((JSON.parse(list.stdout) as Array<{ notification: { status: string } }>)[0]!.notification.status, 'delivered');
      const listText = await daemon.cli(['list']);
      assert.match(listText.stdout, new RegExp(`${snapshot.id} +resolved +1 failure +\\d+s down +notified +HTTP 503, no cause found$`, 'm'));

      const stop = await daemon.stop();
      assert.equal(stop.code, 0, daemon.stderr);
      assert.equal(hook.got.length, 2, 'nothing more was sent on the way out');
    });
  }
});

/** Fail, wait for the snapshot; recover, wait for it to be recorded. Returns the snapshot id. */
async function incident(health: TestService, daemon: RunningDaemon, n: number): Promise<string> {
  await health.set('503');
  const s = await waitFor(`snapshot ${n}`, 15_000, () => daemon.snapshots(SERVICE).length === n && latest(daemon));
  await health.set('ok');
  await waitFor(`recovery ${n}`, 15_000, () => latest(daemon)?.recovery !== null && latest(daemon)?.recovery !== undefined);
  return s.id;
}

describe('a receiver that is down, failing or hung costs the captures nothing', { concurrency: true }, () => {
  test('hung: the second failure is captured while the first message still hangs; stop is not held up', async () => {
    const { health, hook, daemon } = await setup('json', () => null, { notify: '  recovery: false\n' });
    const a = await incident(health, daemon, 1);
    const b = await incident(health, daemon, 2);
    const [sa, sb] = daemon.snapshots(SERVICE).map((f) => f.snapshot);
    assert.deepEqual([sa!.id, sb!.id], [a, b]);
    assert.equal(sa!.notification?.status, 'pending', 'the first message is still hanging');
    assert.equal(sb!.notification?.status, 'pending');
    assert.ok(sb!.journal !== undefined && sb!.samples.host.length > 0, 'the second snapshot is complete');
    assert.equal(hook.got.length, 1, 'one attempt, still waiting for its answer');
    const stop = await daemon.stop();
    assert.equal(stop.code, 0);
    assert.ok(stop.ms < 10_000, `stop took ${stop.ms} ms behind a hung receiver`);
    assert.match(daemon.stdout, /2 notification\(s\) not sent: preflight stopped/);
  });

  for (const c of [
    { name: 'returns 500', answer: (): Answer => ({ status: 500, body: 'boom' }), reason: /^HTTP 500 Internal Server Error: boom$/ },
    { name: 'is down', answer: 'down' as const, reason: /ECONNREFUSED/ },
  ]) {
    test(`${c.name}: both failures are captured, both messages end failed after 4 attempts, with the reason`, async () => {
      const { health, hook, daemon } = await setup('json', c.answer, { notify: '  recovery: false\n' });
      const a = await incident(health, daemon, 1);
      const b = await incident(health, daemon, 2);
      await waitFor('both outcomes', 40_000, () => daemon.snapshots(SERVICE).every((f) => f.snapshot.notification?.status === 'failed'));
      const [sa, sb] = daemon.snapshots(SERVICE).map((f) => f.snapshot);
      assert.deepEqual([sa!.id, sb!.id], [a, b]);
      for (const s of [sa!, sb!]) {
        assert.equal(s.notification!.attempts, 4);
        assert.match(s.notification!.reason ?? '', c.reason);
        assert.ok(s.recovery, 'the recovery rewrite and the outcome rewrite both landed');
      }
      if (c.name === 'returns 500') assert.equal(hook.got.length, 8);
      const warnings = daemon.stdout.split('\n').filter((l) => l.startsWith('<4>') && l.includes('notification for'));
      assert.equal(warnings.length, 2, warnings.join('\n'));
      const metrics = await request(`${daemon.api}/metrics`);
      assert.match(metrics.body, /^preflight_notify_failures_total 2$/m);
      assert.match(metrics.body, new RegExp(`^preflight_incidents_total\\{service="${SERVICE}",trigger="health_check"\\} 2$`, 'm'));
    });
  }
});

test('secrets never reach the log (--debug), the stored reason, or --check', async () => {
  const PATH_SECRET = 'T0KEN-IN-PATH-8c1f2e';
  const QUERY_SECRET = 'token-in-query-77ab01';
  const HEADER_SECRET = 'header-secret-4411aa';
  const BEARER_SECRET = 'bearer-secret-90ffee';
  // the receiver refuses and echoes everything it was sent: URL, headers, body
  const { health, daemon } = await setup('json', (r) => ({ status: 403, body: `forbidden ${r.url} ${JSON.stringify(r.headers)}` }), {
    notify: `  headers:\n    X-Api-Key: ${HEADER_SECRET}\n    Authorization: "Bearer ${BEARER_SECRET}"\n`,
    webhookPath: `/hooks/${PATH_SECRET}?token=${QUERY_SECRET}`,
    top: `api_token: ${TOKEN}\n`,
    args: ['--debug'],
  });
  await incident(health, daemon, 1);
  await waitFor('the outcome', 15_000, () => latest(daemon)?.notification?.status === 'failed');
  const s = latest(daemon)!;
  assert.match(s.notification!.reason!, /^HTTP 403 Forbidden: forbidden <redacted>/);
  const check = await daemon.cli(['start', '--check']);
  assert.equal(check.code, 0, check.stderr);
  await daemon.stop();
  const everything = [daemon.stdout, daemon.stderr, JSON.stringify(s), check.stdout, check.stderr].join('\n');
  for (const secret of [PATH_SECRET, QUERY_SECRET, HEADER_SECRET, BEARER_SECRET, TOKEN]) assert.ok(!everything.includes(secret), `${secret} leaked`);
  assert.match(daemon.stdout, /notification for dead-drop down .* failed \(not retried\): HTTP 403 Forbidden: forbidden <redacted>/);
  assert.match(daemon.stdout, /^<7>dead-drop: check failed/m, 'the log was at debug level');
});

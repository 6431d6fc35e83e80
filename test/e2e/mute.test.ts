// Mute and maintenance end to end: the built bundle as `preflight start`, a health endpoint switched to
// 503, a webhook receiver on 127.0.0.1, and `preflight mute`/`unmute` run from the bundle against the
// same config. While muted a failure is captured (its snapshot says muted) and nothing is POSTed; when
// the mute or the window ends with the failure still open, exactly one "down" goes out then; a failure
// that recovers while muted is never sent.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { Snapshot } from '../../src/incident/snapshot';
import { receiver, request, type Receiver } from '../daemon/_helpers';
import { PreflightProcess, RunningDaemon, TestService, waitFor } from './daemon';

const SERVICE = 'dead-drop';
const open: Array<{ close(): Promise<void> } | RunningDaemon> = [];
after(async () => {
  for (const o of open.reverse()) await (o instanceof RunningDaemon ? o.cleanup() : o.close());
});

async function setup(top = ''): Promise<{ health: TestService; hook: Receiver; daemon: RunningDaemon }> {
  const health = await TestService.start();
  open.push(health);
  const hook = await receiver(() => ({ status: 200 }));
  open.push(hook);
  const daemon = await RunningDaemon.start({
    yaml: () => `notifications:\n  webhook: ${hook.url}/hook\n  format: json\nservices:\n  - name: ${SERVICE}\n    health_url: ${health.url}\n${top}`,
  });
  open.push(daemon);
  return { health, hook, daemon };
}

const latest = (d: RunningDaemon): Snapshot | undefined => d.snapshots(SERVICE).at(-1)?.snapshot;
const body = (hook: Receiver, i: number): Record<string, unknown> => JSON.parse(hook.got[i]!.body) as Record<string, unknown>;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function mutedMetric(d: RunningDaemon): Promise<number> {
  const m = await request(`${d.api}/metrics`);
  const v = new RegExp(`^preflight_service_muted\\{service="${SERVICE}"\\} (\\d)$`, 'm').exec(m.body)?.[1];
  assert.ok(v !== undefined, m.body);
  return Number(v);
}

/** Fail the service and wait for its snapshot to be marked muted; then a second more of failed checks. */
async function failWhileMuted(health: TestService, daemon: RunningDaemon): Promise<Snapshot> {
  await health.set('503');
  const s = await waitFor('the muted snapshot', 15_000, () => latest(daemon)?.muted && latest(daemon));
  const failed = health.served.failed;
  await waitFor('more failed checks', 10_000, () => health.served.failed >= failed + 4);
  return s;
}

describe('mute and maintenance: captured, not notified; notified when the hold ends if still down', { concurrency: true }, () => {
  test('mute for 1h, then unmute: the open failure is notified within a couple of seconds, once', async () => {
    const { health, hook, daemon } = await setup();
    const mute = await daemon.cli(['mute', SERVICE, '1h', '--reason', 'deploy']);
    assert.equal(mute.code, 0, mute.stderr);
    assert.match(mute.stdout, /^muted dead-drop for 1h, until (\S+) \(deploy\): failures are captured, not notified/);
    const until = /until (\S+) /.exec(mute.stdout)![1]!;
    // picked up within a second (the poll), seen on /metrics
    await waitFor('the daemon to read the mute', 3000, async () => (await mutedMetric(daemon)) === 1);

    const s = await failWhileMuted(health, daemon);
    assert.deepEqual(s.muted, { until, reason: 'deploy' });
    assert.equal(s.notification, undefined, 'no outcome: nothing was sent');
    const healthz = JSON.parse((await request(`${daemon.api}/healthz`)).body) as { services: Array<{ name: string; muted?: unknown }> };
    assert.deepEqual(healthz.services.map((x) => [x.name, x.muted]), [[SERVICE, { until, reason: 'deploy' }]]);
    assert.equal(hook.got.length, 0, 'nothing POSTed while muted');
    assert.equal(daemon.snapshots(SERVICE).length, 1);
    assert.match(daemon.stdout, new RegExp(`dead-drop: down not notified \\(held until ${until.replace(/\./g, '\\.')}: deploy\\); snapshot ${s.id} marked muted`));

    const unmuted = Date.now();
    const un = await daemon.cli(['unmute', SERVICE]);
    assert.equal(un.code, 0, un.stderr);
    assert.equal(un.stdout, 'unmuted dead-drop\n');
    await waitFor('the held down message', 5000, () => hook.got.length >= 1);
    assert.ok(hook.got[0]!.at - unmuted < 3000, `sent ${hook.got[0]!.at - unmuted} ms after unmute`);
    const down = body(hook, 0);
    assert.deepEqual([down.event, down.service, down.snapshot_id], ['down', SERVICE, s.id]);
    await waitFor('the outcome in the file', 5000, () => latest(daemon)?.notification?.status === 'delivered');
    assert.deepEqual(latest(daemon)!.muted, { until, reason: 'deploy' }, 'the file keeps the record that it was held');
    assert.equal(await mutedMetric(daemon), 0);

    await health.set('ok');
    await waitFor('the recovery message', 15_000, () => hook.got.length >= 2);
    assert.equal(body(hook, 1).event, 'resolved');
    await sleep(500);
    assert.equal(hook.got.length, 2, hook.got.map((g) => g.body).join('\n'));
    assert.equal((await daemon.stop()).code, 0, daemon.stderr);
  });

  test('mute for 3s: still down when it ends, notified then, once', async () => {
    const { health, hook, daemon } = await setup();
    const mute = await daemon.cli(['mute', 'all', '3s']);
    assert.equal(mute.code, 0, mute.stderr);
    const until = Date.parse(/until (\S+):/.exec(mute.stdout)![1]!);
    await waitFor('the daemon to read the mute', 3000, async () => (await mutedMetric(daemon)) === 1);
    const s = await failWhileMuted(health, daemon);
    assert.deepEqual(s.muted, { until: new Date(until).toISOString(), reason: null });
    await waitFor('the held down message', 10_000, () => hook.got.length >= 1);
    const late = hook.got[0]!.at - until;
    assert.ok(late >= 0 && late < 2500, `sent ${late} ms after the mute's end`);
    assert.equal(body(hook, 0).snapshot_id, s.id);
    await sleep(1500);
    assert.equal(hook.got.length, 1, 'one message: still down, nothing more to say');
    assert.equal(daemon.snapshots(SERVICE).length, 1);
  });

  test('recovers while muted: never sent, the file says muted with no outcome', async () => {
    const { health, hook, daemon } = await setup();
    const mute = await daemon.cli(['mute', SERVICE, '4s', '--reason', 'restart test']);
    assert.equal(mute.code, 0, mute.stderr);
    const until = Date.parse(/until (\S+) /.exec(mute.stdout)![1]!);
    await waitFor('the daemon to read the mute', 3000, async () => (await mutedMetric(daemon)) === 1);
    const s = await failWhileMuted(health, daemon);
    await health.set('ok');
    await waitFor('the recovery in the file', 15_000, () => Boolean(latest(daemon)?.recovery));
    assert.ok(Date.now() < until, 'the test recovered the service inside the mute');
    await waitFor('the mute to end', 10_000, async () => (await mutedMetric(daemon)) === 0);
    await sleep(1500);
    assert.equal(hook.got.length, 0, hook.got.map((g) => g.body).join('\n'));
    const f = latest(daemon)!;
    assert.equal(f.id, s.id);
    assert.deepEqual(f.muted, { until: new Date(until).toISOString(), reason: 'restart test' });
    assert.equal(f.notification, undefined);
    assert.equal(f.recovery?.notification, undefined);
  });

  test('down sent, then muted, recovers while muted: the recovery is sent when the mute ends', async () => {
    const { health, hook, daemon } = await setup();
    await health.set('503');
    await waitFor('the down message', 15_000, () => hook.got.length >= 1);
    const mute = await daemon.cli(['mute', SERVICE, '3s']);
    assert.equal(mute.code, 0, mute.stderr);
    const until = Date.parse(/until (\S+):/.exec(mute.stdout)![1]!);
    await waitFor('the daemon to read the mute', 3000, async () => (await mutedMetric(daemon)) === 1);
    await health.set('ok');
    await waitFor('the recovery in the file', 15_000, () => Boolean(latest(daemon)?.recovery));
    assert.ok(Date.now() < until, 'the service recovered inside the mute');
    await waitFor('the held recovery message', 10_000, () => hook.got.length >= 2);
    const late = hook.got[1]!.at - until;
    assert.ok(late >= 0 && late < 2500, `sent ${late} ms after the mute's end`);
    assert.deepEqual([body(hook, 0).event, body(hook, 1).event], ['down', 'resolved']);
    await waitFor('its outcome', 5000, () => latest(daemon)?.recovery?.notification?.status === 'delivered');
    await sleep(1000);
    assert.equal(hook.got.length, 2);
  });

  test('preflight restarted during the mute, which ends while it is down: the held failure is notified at the next start, once', async () => {
    const { health, hook, daemon } = await setup();
    const mute = await daemon.cli(['mute', SERVICE, '3s']);
    assert.equal(mute.code, 0, mute.stderr);
    const until = Date.parse(/until (\S+):/.exec(mute.stdout)![1]!);
    await waitFor('the daemon to read the mute', 3000, async () => (await mutedMetric(daemon)) === 1);
    const s = await failWhileMuted(health, daemon);
    assert.equal((await daemon.stop()).code, 0, daemon.stderr);
    assert.equal(hook.got.length, 0);
    await sleep(Math.max(0, until - Date.now()) + 200);
    // the same config and folder: the held "down" is in the file (muted, no outcome), not in memory
    const again = new PreflightProcess(daemon.config, { env: { RUNTIME_DIRECTORY: path.join(daemon.dir, 'run') } });
    open.push({ close: async () => void (await again.stop()) });
    await waitFor('the held down message after the restart', 15_000, () => hook.got.length >= 1);
    assert.deepEqual([body(hook, 0).event, body(hook, 0).snapshot_id], ['down', s.id]);
    await sleep(1500);
    assert.equal(hook.got.length, 1, hook.got.map((g) => g.body).join('\n'));
    assert.equal(daemon.snapshots(SERVICE).length, 1, 'the open incident went on across the restart: no second snapshot');
    assert.match(again.stdout, new RegExp(`notifications no longer held and incident ${s.id} is still open: notifying it now`));
    assert.equal((await again.stop()).code, 0, again.stderr);
  });

  test('a maintenance window (one-off, a few seconds): captured, not notified, notified when it ends', async () => {
    const from = new Date(Date.now() - 60_000).toISOString();
    const to = Date.now() + 6000;
    const { health, hook, daemon } = await setup(`maintenance:\n  - services: [${SERVICE}]\n    from: ${from}\n    to: ${new Date(to).toISOString()}\n    reason: e2e window\n`);
    assert.equal(await mutedMetric(daemon), 1);
    const s = await failWhileMuted(health, daemon);
    assert.deepEqual(s.muted, { until: new Date(to).toISOString(), reason: 'e2e window' });
    assert.equal(hook.got.length, 0);
    await waitFor('the held down message', 15_000, () => hook.got.length >= 1);
    const late = hook.got[0]!.at - to;
    assert.ok(late >= 0 && late < 2500, `sent ${late} ms after the window's end`);
    assert.deepEqual([body(hook, 0).event, body(hook, 0).snapshot_id], ['down', s.id]);
    assert.equal(await mutedMetric(daemon), 0);
    await sleep(1000);
    assert.equal(hook.got.length, 1);
  });
});

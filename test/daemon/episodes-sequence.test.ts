// The sequence of messages a real Incidents sends over a real store in a temp folder, driven with given
// times and captures (no probes, no daemon), with a notifier stub that records what would be sent; and
// the messages held while muted. The pure joins and bounds are episodes.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { parseConfig } from '../../src/config/config';
import type { CapturedContext } from '../../src/incident/capture';
import type { Snapshot, SnapshotError } from '../../src/incident/snapshot';
import { SnapshotStore } from '../../src/incident/store';
import { Incidents } from '../../src/daemon/incidents';
import { applyOutcome, type Notifier, type NotifyEvent } from '../../src/daemon/notify';
import { newRuntime } from '../../src/daemon/runtime';

const T0 = Date.parse('2026-11-25T03:00:00.000Z');

// --- the sequence of messages a real Incidents sends --------------------------------------------

const tmp = mkdtempSync(path.join(tmpdir(), 'preflight-episodes-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Sent {
  event: NotifyEvent;
  detail: string | null;
}

function rig(name: string, opts: { flap: number; reminder?: number; held?: () => { until: string; reason: string | null } | null }) {
  const dir = path.join(tmp, name);
  const config = parseConfig(
    [`snapshot_dir: ${JSON.stringify(dir)}`, `flap_window_seconds: ${opts.flap}`, `reminder_seconds: ${opts.reminder ?? 3600}`, 'listen: off', 'services:', '  - name: web', '    health_url: http://127.0.0.1:1/health'].join('\n'),
    path.join(tmp, `${name}.yaml`),
  );
  const store = new SnapshotStore({ dir, retention: 50, warn: () => undefined });
  const rt = newRuntime(config.services[0]!, config);
  const sent: Sent[] = [];
  const notifier = {
    wants: () => true,
    // as the real Notifier does: the file records the message as pending before it is sent
    markPending: (event: NotifyEvent, s: Snapshot) => applyOutcome(s, event, { status: 'pending', attempts: 0, at: '2026-11-25T03:00:00.000Z' }),
    notify: (event: NotifyEvent, _s: Snapshot, _done: unknown, detail: string | null = null) => (sent.push({ event, detail }), true),
  } as unknown as Notifier;
  const logged: string[] = [];
  const log = { error: (m: string) => logged.push(m), warn: (m: string) => logged.push(m), info: (m: string) => logged.push(m), debug: () => undefined };
  let wall = T0;
  const incidents = new Incidents({
    config,
    store,
    sampler: { window: () => [] } as never,
    processes: {} as never,
    services: [rt],
    units: null,
    log: log as never,
    now: () => wall,
    mono: () => wall,
    notifier,
    events: {},
    ...(opts.held ? { held: opts.held } : {}),
  });
  const context = (at: number): CapturedContext => ({
    startedAt: at,
    finishedAt: at + 10,
    host: { hostname: 'box', kernel: null, cpus: 2, boot_id: null, uptime_seconds: null, preflight_version: 'test' },
    unit: null,
    journal: [],
    kernel: [],
    processes: null,
    memoryEvents: null,
    errors: [],
  });
  return {
    rt,
    sent,
    logged,
    incidents,
    store,
    /** both clocks to `at` ms after T0 */
    clock(at: number): void {
      wall = T0 + at;
    },
    /** a confirmed failure at `at` (ms after T0) with this error */
    async fail(at: number, error: SnapshotError): Promise<void> {
      wall = T0 + at;
      rt.state = { health: 'unhealthy', consecutiveFailures: 2, firstFailureAt: wall };
      await incidents.commit(rt, { kind: 'commit', trigger: 'health_check', firstFailureAt: wall, confirmedAt: wall, consecutiveFailures: 2 }, Promise.resolve(context(wall)), null, error, null);
    },
    async up(at: number, downMs: number): Promise<void> {
      wall = T0 + at;
      await incidents.recover(rt, wall, downMs);
    },
  };
}

const E503: SnapshotError = { kind: 'http_status', status: 503, message: 'HTTP 503', latency_ms: 3 };
const ETIMEOUT: SnapshotError = { kind: 'timeout', status: null, message: 'no answer within 2000 ms', latency_ms: 2000 };

describe('the notification sequence', () => {
  type Step = ['fail', number, SnapshotError] | ['up', number, number];
  const cases: { name: string; flap: number; steps: Step[]; want: NotifyEvent[]; files: number; occurrences: number[] }[] = [
    { name: 'one failure, window 0: down, recovered at once', flap: 0, steps: [['fail', 0, E503], ['up', 5000, 5000]], want: ['down', 'resolved'], files: 1, occurrences: [1] },
    {
      name: 'flaps 5 times, one cause: down, flapping once (recovered waits for the flap window)',
      flap: 600,
      steps: [0, 1, 2, 3, 4].flatMap((i): Step[] => [['fail', i * 20_000, E503], ['up', i * 20_000 + 5000, 5000]]),
      want: ['down', 'flapping'],
      files: 1,
      occurrences: [5],
    },
    {
      name: 'the cause changes: one cause_changed, then flapping',
      flap: 600,
      steps: [['fail', 0, E503], ['up', 5000, 5000], ['fail', 20_000, ETIMEOUT], ['up', 25_000, 5000], ['fail', 40_000, E503]],
      want: ['down', 'cause_changed', 'flapping'],
      files: 1,
      occurrences: [3],
    },
    {
      name: 'a failure past the window: the first episode resolves, a second opens',
      flap: 600,
      steps: [['fail', 0, E503], ['up', 5000, 5000], ['fail', 5000 + 600_001, E503]],
      want: ['down', 'resolved', 'down'],
      files: 2,
      occurrences: [1, 1],
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const r = rig(c.name.replace(/[^a-z0-9]+/gi, '-'), { flap: c.flap });
      for (const s of c.steps) {
        if (s[0] === 'fail') await r.fail(s[1], s[2]);
        else await r.up(s[1], s[2]);
      }
      await r.rt.work;
      assert.deepEqual(
        r.sent.map((x) => x.event),
        c.want,
      );
      const list = await r.store.list('web');
      assert.equal(list.length, c.files);
      const counts = await Promise.all(list.map(async (e) => (JSON.parse((await r.store.read('web', e.id))!.text) as Snapshot).episode!.occurrences));
      assert.deepEqual(counts.reverse(), c.occurrences);
      r.incidents.stop();
    });
  }

  test('flapping text and the resolved figures: log, message and file say the same downtime', async () => {
    const r = rig('figures', { flap: 0.05 });
    await r.fail(0, E503);
    await r.up(2000, 2000);
    // 10 ms after the recovery: inside the 50 ms window (whose real timer then resolves it)
    await r.fail(2010, E503);
    await r.up(4350, 2340);
    await new Promise((res) => setTimeout(res, 150));
    await r.rt.work;
    assert.deepEqual(r.sent, [
      { event: 'down', detail: null },
      { event: 'flapping', detail: 'flapping: 2 failures in 2s, HTTP 503, no cause found' },
      { event: 'resolved', detail: null },
    ]);
    const s = JSON.parse((await r.store.last('web'))!.text) as Snapshot;
    assert.equal(s.episode!.state, 'resolved');
    assert.equal(s.episode!.downtime_seconds, 4.3);
    assert.equal(r.logged.filter((l) => l.includes('resolved after')).length, 1);
    assert.match(r.logged.find((l) => l.includes('resolved after'))!, /episode \S+ resolved after 4s down \(2 occurrences\)$/);
  });

  test('a failure that stays open: a still-down reminder per reminder_seconds, none once it recovered', async () => {
    const r = rig('reminder', { flap: 600, reminder: 0.1 });
    await r.fail(0, E503);
    // the reminder timer is real (0.1 s), and the clock it reads says 0.2 s later
    r.clock(200);
    await new Promise((res) => setTimeout(res, 160));
    await r.rt.work;
    assert.deepEqual(
      r.sent.map((x) => x.event),
      ['down', 'flapping'],
    );
    assert.match(r.sent[1]!.detail!, /^still down after \d+s, HTTP 503, no cause found$/);
    await r.up(1000, 1000);
    await new Promise((res) => setTimeout(res, 250));
    await r.rt.work;
    assert.equal(r.sent.length, 2);
    r.incidents.stop();
  });

  test('a unit restart during the episode is counted in it, not a file of its own', async () => {
    const r = rig('restart', { flap: 600 });
    await r.fail(0, E503);
    // refreshed just now: the join reads nothing again (no journal to read here)
    r.rt.refreshedAt = T0;
    await r.incidents.join(r.rt, { unit: 'web.service', at: T0 + 1000, reason: 'NRestarts 0 -> 1', exit: null, deadInvocationId: null, nRestarts: 1 });
    const s = JSON.parse((await r.store.last('web'))!.text) as Snapshot;
    assert.deepEqual([s.episode!.occurrences, s.episode!.restarts, (await r.store.list('web')).length], [1, 1, 1]);
    r.incidents.stop();
  });

  test('held while muted: nothing sent, the file says muted; releaseHeld while still down sends the down', async () => {
    let muted: { until: string; reason: string | null } | null = { until: '2026-11-25T04:00:00.000Z', reason: 'deploy' };
    const r = rig('held', { flap: 600, held: () => muted });
    await r.fail(0, E503);
    await r.rt.work;
    assert.deepEqual(r.sent, []);
    const s = JSON.parse((await r.store.last('web'))!.text) as Snapshot;
    assert.deepEqual(s.muted, { until: '2026-11-25T04:00:00.000Z', reason: 'deploy' });
    muted = null;
    await r.incidents.releaseHeld(r.rt);
    await r.rt.work;
    assert.deepEqual(
      (r.sent as Sent[]).map((x) => x.event),
      ['down'],
    );
    // once released there is nothing held: a second release sends nothing more
    await r.incidents.releaseHeld(r.rt);
    await r.rt.work;
    assert.equal(r.sent.length, 1);
    r.incidents.stop();
  });

  test('held, and the failure ends inside the mute: nothing is sent at release', async () => {
    let muted: { until: string; reason: string | null } | null = { until: '2026-11-25T04:00:00.000Z', reason: null };
    const r = rig('held-ended', { flap: 600, held: () => muted });
    await r.fail(0, E503);
    await r.up(3000, 3000);
    muted = null;
    await r.incidents.releaseHeld(r.rt);
    await r.rt.work;
    assert.deepEqual(r.sent, []);
    r.incidents.stop();
  });
});

// Episodes: the pure joins and bounds (episodes.ts) as tables, and the notification sequence of a real
// Incidents over a real store in a temp folder, driven with given times and captures (no probes, no
// daemon), with a notifier stub that records what would be sent.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { parseConfig } from '../../src/config/config';
import type { CapturedContext } from '../../src/incident/capture';
import { renderSnapshot } from '../../src/incident/render';
import { upgradeSnapshot, type Snapshot, type SnapshotError } from '../../src/incident/snapshot';
import { SnapshotStore } from '../../src/incident/store';
import {
  MAX_CAPTURES,
  MAX_OCCURRENCES,
  appendOccurrence,
  flappingText,
  joinsEpisode,
  recordRecovery,
  reminderDue,
  startEpisode,
} from '../../src/daemon/episodes';
import { Incidents } from '../../src/daemon/incidents';
import { factsOf, jsonPayload, oneLine, type Notifier, type NotifyEvent } from '../../src/daemon/notify';
import { newRuntime, persistedState, restoreRuntime, type PersistedState } from '../../src/daemon/runtime';
import { snapshotFixture } from './_helpers';

const T0 = Date.parse('2026-11-25T03:00:00.000Z');

describe('joinsEpisode', () => {
  const cases: { name: string; last: { id: string; recoveredAt: number | null } | null; at: number; want: boolean }[] = [
    { name: 'no episode', last: null, at: T0, want: false },
    { name: 'episode still open (a restart joins through join(), not here)', last: { id: 'a', recoveredAt: null }, at: T0, want: false },
    { name: 'inside the window', last: { id: 'a', recoveredAt: T0 }, at: T0 + 599_000, want: true },
    { name: 'at the window edge', last: { id: 'a', recoveredAt: T0 }, at: T0 + 600_000, want: true },
    { name: 'past the window', last: { id: 'a', recoveredAt: T0 }, at: T0 + 600_001, want: false },
    { name: 'before the recovery (clock step)', last: { id: 'a', recoveredAt: T0 }, at: T0 - 5000, want: true },
  ];
  for (const c of cases) test(c.name, () => assert.equal(joinsEpisode(c.last, c.at, 600_000), c.want));
});

function failure(at: number, cause: string, error: SnapshotError | null = { kind: 'http_status', status: 503, message: 'HTTP 503', latency_ms: 3 }): Snapshot {
  return snapshotFixture({
    id: new Date(at).toISOString().replace(/:/g, '-'),
    transition: { first_failure_at: new Date(at).toISOString(), confirmed_at: new Date(at).toISOString(), consecutive_failures: 2 },
    probable_cause: cause,
    findings: [{ cause, evidence: [] }],
    error,
  });
}

describe('appendOccurrence', () => {
  const cases: { name: string; causes: string[]; want: { occurrences: number; listed: number; captures: number; changed: boolean[]; state: string } }[] = [
    { name: 'one failure', causes: ['A'], want: { occurrences: 1, listed: 1, captures: 0, changed: [], state: 'open' } },
    { name: 'same cause again: compact only', causes: ['A', 'A', 'A'], want: { occurrences: 3, listed: 3, captures: 0, changed: [false, false], state: 'flapping' } },
    { name: 'a new cause: full capture', causes: ['A', 'B', 'B'], want: { occurrences: 3, listed: 3, captures: 1, changed: [true, false], state: 'flapping' } },
    { name: 'back to the first cause: a change again', causes: ['A', 'B', 'A'], want: { occurrences: 3, listed: 3, captures: 2, changed: [true, true], state: 'flapping' } },
    {
      name: `captures bounded at ${MAX_CAPTURES}`,
      causes: ['A', 'B', 'C', 'D', 'E', 'F'],
      want: { occurrences: 6, listed: 6, captures: MAX_CAPTURES, changed: [true, true, true, true, true], state: 'flapping' },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const ep = startEpisode(failure(T0, c.causes[0]!));
      const changed = c.causes.slice(1).map((cause, i) => appendOccurrence(ep, failure(T0 + (i + 1) * 1000, cause)).causeChanged);
      assert.deepEqual(
        { occurrences: ep.episode!.occurrences, listed: ep.occurrences!.length, captures: ep.captures!.length, changed, state: ep.episode!.state },
        c.want,
      );
      // the file's top stays the first capture's
      assert.equal(ep.probable_cause, c.causes[0]);
    });
  }

  test(`occurrences bounded at ${MAX_OCCURRENCES}: the first and the newest kept, the dropped counted`, () => {
    const ep = startEpisode(failure(T0, 'A'));
    const n = MAX_OCCURRENCES + 25;
    for (let i = 1; i < n; i++) appendOccurrence(ep, failure(T0 + i * 1000, 'A'));
    assert.equal(ep.episode!.occurrences, n);
    assert.equal(ep.occurrences!.length, MAX_OCCURRENCES);
    assert.equal(ep.episode!.occurrences_dropped, 25);
    assert.equal(ep.occurrences![0]!.at, new Date(T0).toISOString());
    assert.equal(ep.occurrences![MAX_OCCURRENCES - 1]!.at, new Date(T0 + (n - 1) * 1000).toISOString());
    assert.equal(ep.occurrences![1]!.at, new Date(T0 + 26 * 1000).toISOString());
  });

  test('an occurrence is compact: time, trigger, error, exit, first finding, duration', () => {
    const ep = startEpisode(failure(T0, 'A'));
    appendOccurrence(ep, failure(T0 + 1000, 'A', { kind: 'timeout', status: null, message: 'no answer within 2000 ms', latency_ms: 2000 }));
    recordRecovery(ep, 4.2);
    assert.deepEqual(ep.occurrences![1], {
      at: new Date(T0 + 1000).toISOString(),
      trigger: 'health_check',
      error: { kind: 'timeout', status: null, message: 'no answer within 2000 ms' },
      exit: null,
      finding: 'A',
      duration_seconds: 4.2,
    });
    assert.equal(ep.episode!.downtime_seconds, 4.2);
  });
});

describe('an episode across a restart of preflight (.state.json)', () => {
  const config = parseConfig(['listen: off', 'services:', '  - name: web', '    health_url: http://127.0.0.1:1/health'].join('\n'), 'p.yaml');
  const quiet = { info: () => undefined } as never;
  const cases: { name: string; state: PersistedState; want: { id: string; recoveredAt: number | null } | null }[] = [
    { name: 'no state', state: { version: 1, services: {} }, want: null },
    {
      name: 'an open incident is its episode, open',
      state: { version: 1, services: { web: { incidentId: 'e1', firstFailureAt: T0, consecutiveFailures: 3 } }, episodes: { web: { id: 'e0', recoveredAt: T0 - 1 } } },
      want: { id: 'e1', recoveredAt: null },
    },
    { name: 'a recovered episode inside its window', state: { version: 1, services: {}, episodes: { web: { id: 'e1', recoveredAt: T0 } } }, want: { id: 'e1', recoveredAt: T0 } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const rt = newRuntime(config.services[0]!, config);
      restoreRuntime(rt, c.state, quiet);
      assert.deepEqual(rt.episode, c.want);
      // and it is written back as it was read
      assert.deepEqual(persistedState([rt]).episodes, c.want ? { web: c.want } : {});
    });
  }
});

describe('reading and rendering episodes', () => {
  const cases: { name: string; schema: string; recovery: Snapshot['recovery']; want: NonNullable<Snapshot['episode']> }[] = [
    {
      name: 'v2, recovered',
      schema: 'preflight.snapshot/2',
      recovery: { at: '2026-11-25T03:06:18.123Z', downtime_seconds: 133, samples: [] },
      want: { state: 'resolved', occurrences: 1, restarts: 0, downtime_seconds: 133, last_failure_at: '2026-11-25T03:04:05.123Z' },
    },
    { name: 'v1, open', schema: 'preflight.snapshot/1', recovery: null, want: { state: 'open', occurrences: 1, restarts: 0, downtime_seconds: 0, last_failure_at: '2026-11-25T03:04:05.123Z' } },
  ];
  for (const c of cases) {
    test(`a ${c.name} file reads as an episode of one`, () => {
      const s = snapshotFixture({ schema: c.schema, recovery: c.recovery });
      delete s.episode;
      assert.deepEqual(upgradeSnapshot(s).episode, c.want);
    });
  }

  test('last/show of a flapping episode: its counts, its occurrences, where the cause changed', () => {
    const f = (at: string, cause: string): Snapshot =>
      snapshotFixture({ transition: { first_failure_at: at, confirmed_at: at, consecutive_failures: 2 }, probable_cause: cause, findings: [{ cause, evidence: [] }] });
    const ep = startEpisode(f('2026-11-25T03:00:00.000Z', 'A'));
    recordRecovery(ep, 5);
    appendOccurrence(ep, f('2026-11-25T03:01:00.000Z', 'A'));
    recordRecovery(ep, 7.5);
    appendOccurrence(ep, f('2026-11-25T03:02:00.000Z', 'B'));
    const lines = renderSnapshot(ep).split('\n');
    assert.deepEqual(lines.slice(0, 2), ['dead-drop failed at 2026-11-25 03:00:00 UTC (health check failed); not recovered when captured', '  episode: flapping, 3 failures, 13s down in total']);
    const at = lines.indexOf('occurrences:');
    assert.deepEqual(lines.slice(at, at + 5), [
      'occurrences:',
      '  2026-11-25 03:00:00 UTC  unexpected HTTP status 503  5s down     A',
      '  2026-11-25 03:01:00 UTC  unexpected HTTP status 503  8s down     A',
      '  2026-11-25 03:02:00 UTC  unexpected HTTP status 503  still down  B',
      '  cause changed at 2026-11-25 03:02:00 UTC: B',
    ]);
  });
});

describe('the messages of an episode, in words', () => {
  const LINK = 'http://box:9187/failure-context/dead-drop/2026-11-25T03-04-05.123Z';
  const ep = (): Snapshot => {
    const s = startEpisode(snapshotFixture({ probable_cause: 'HTTP 503, no cause found', findings: [] }));
    appendOccurrence(s, snapshotFixture({ probable_cause: 'HTTP 503, no cause found', findings: [] }));
    appendOccurrence(s, snapshotFixture({ probable_cause: 'HTTP 503, no cause found', findings: [] }));
    return s;
  };
  const cases: { name: string; event: NotifyEvent; snapshot: () => Snapshot; detail: string | null; text: string; json: Record<string, unknown> }[] = [
    {
      name: 'flapping',
      event: 'flapping',
      snapshot: ep,
      detail: 'flapping: 3 failures in 2m00s, HTTP 503, no cause found',
      text: `dead-drop flapping on box: flapping: 3 failures in 2m00s, HTTP 503, no cause found · ${LINK}`,
      json: { occurrences: 3, detail: 'flapping: 3 failures in 2m00s, HTTP 503, no cause found' },
    },
    {
      name: 'cause changed',
      event: 'cause_changed',
      snapshot: ep,
      detail: 'cause changed: timeout, no cause found (was: HTTP 503, no cause found)',
      text: `dead-drop cause changed on box: cause changed: timeout, no cause found (was: HTTP 503, no cause found) · ${LINK}`,
      json: { occurrences: 3, detail: 'cause changed: timeout, no cause found (was: HTTP 503, no cause found)' },
    },
    {
      name: 'resolved: the episode downtime and occurrences',
      event: 'recovered',
      snapshot: () => {
        const s = ep();
        s.recovery = { at: '2026-11-25T03:06:18.123Z', downtime_seconds: 40, samples: [] };
        s.episode!.downtime_seconds = 133.4;
        return s;
      },
      detail: null,
      text: `dead-drop recovered on box after 2m13s (3 occurrences) · ${LINK}`,
      json: { occurrences: 3, downtime_seconds: 133.4 },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const f = factsOf(c.snapshot(), c.event, 'http://box:9187', c.detail);
      assert.equal(oneLine(f), c.text);
      const j = jsonPayload(f);
      assert.deepEqual(Object.fromEntries(Object.keys(c.json).map((k) => [k, j[k]])), c.json);
      assert.equal(j.event, c.event);
    });
  }
});

describe('reminders and texts', () => {
  const cases: { last: number | null; now: number; want: boolean }[] = [
    { last: null, now: 0, want: true },
    { last: 0, now: 3_599_999, want: false },
    { last: 0, now: 3_600_000, want: true },
  ];
  for (const c of cases) test(`reminderDue(${c.last}, ${c.now})`, () => assert.equal(reminderDue(c.last, c.now, 3_600_000), c.want));

  test('flappingText', () => {
    const ep = startEpisode(failure(T0, 'OOM kill of node'));
    assert.equal(flappingText(ep, T0 + 3_600_000), 'still down after 1h00m, OOM kill of node');
    for (let i = 1; i < 7; i++) appendOccurrence(ep, failure(T0 + i * 60_000, 'OOM kill of node'));
    assert.equal(flappingText(ep, T0 + 12 * 60_000), 'flapping: 7 failures in 12m00s, OOM kill of node');
  });
});

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
    markPending: () => undefined,
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
    { name: 'one failure, window 0: down, recovered at once', flap: 0, steps: [['fail', 0, E503], ['up', 5000, 5000]], want: ['down', 'recovered'], files: 1, occurrences: [1] },
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
      want: ['down', 'recovered', 'down'],
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
      { event: 'recovered', detail: null },
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
    r.incidents.releaseHeld(r.rt);
    await r.rt.work;
    assert.deepEqual(
      (r.sent as Sent[]).map((x) => x.event),
      ['down'],
    );
    // once released there is nothing held: a second release sends nothing more
    r.incidents.releaseHeld(r.rt);
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
    r.incidents.releaseHeld(r.rt);
    await r.rt.work;
    assert.deepEqual(r.sent, []);
    r.incidents.stop();
  });
});

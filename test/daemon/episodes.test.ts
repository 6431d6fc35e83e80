// Episodes: the pure joins and bounds (episodes.ts), the texts of their messages, reading old schemas as
// episodes, rendering one, and the episode across a restart of preflight, as tables. The sequence of
// messages a real Incidents sends is episodes-sequence.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfig } from '../../src/config/config';
import { renderSnapshot } from '../../src/incident/render';
import { upgradeSnapshot, type Snapshot, type SnapshotError } from '../../src/incident/snapshot';
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
import { factsOf, jsonPayload, oneLine, type NotifyEvent } from '../../src/daemon/notify';
import { newRuntime, noteEpisode, persistedState, restoreRuntime, statusExtras, type PersistedState } from '../../src/daemon/runtime';
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

describe('the counts `preflight status` shows (noteEpisode, statusExtras)', () => {
  const config = parseConfig(['listen: off', 'services:', '  - name: web', '    health_url: http://127.0.0.1:1/health'].join('\n'), 'p.yaml');
  const file = (id: string, episode: Snapshot['episode']): Snapshot => ({ ...snapshotFixture({ id }), service: 'web', ...(episode ? { episode } : {}) });
  const ep = (state: 'open' | 'flapping' | 'resolved', occurrences: number, restarts: number): NonNullable<Snapshot['episode']> => ({ state, occurrences, restarts, downtime_seconds: 3, last_failure_at: '2026-11-25T03:04:05.123Z' });
  const cases: { name: string; episode: { id: string; recoveredAt: number | null } | null; files: Snapshot[]; earlier?: true; want: unknown }[] = [
    { name: 'no episode', episode: null, files: [file('e1', ep('open', 1, 0))], want: null },
    { name: 'no file read yet (after a restart)', episode: { id: 'e1', recoveredAt: null }, files: [], want: null },
    { name: 'the episode file', episode: { id: 'e1', recoveredAt: null }, files: [file('e1', ep('flapping', 7, 2))], want: { state: 'flapping', occurrences: 7, restarts: 2 } },
    { name: 'the last write wins', episode: { id: 'e1', recoveredAt: null }, files: [file('e1', ep('open', 1, 0)), file('e1', ep('flapping', 2, 0))], want: { state: 'flapping', occurrences: 2, restarts: 0 } },
    { name: 'another file of the service is not the episode', episode: { id: 'e1', recoveredAt: null }, files: [file('e0', ep('open', 5, 0))], want: null },
    { name: 'a schema 2 file has no counts', episode: { id: 'e1', recoveredAt: null }, files: [file('e1', undefined)], want: null },
    { name: 'counts of an older episode are not shown for a new one', episode: { id: 'e2', recoveredAt: null }, files: [], earlier: true, want: null },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const rt = newRuntime(config.services[0]!, config);
      if (c.earlier) {
        rt.episode = { id: 'e1', recoveredAt: null };
        noteEpisode(rt, file('e1', ep('open', 9, 9)));
      }
      rt.episode = c.episode;
      for (const f of c.files) noteEpisode(rt, f);
      assert.deepEqual(statusExtras(rt).episode, c.want);
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
    // line 2 is the probable cause, as for every snapshot; the episode's counts follow it
    assert.deepEqual(lines.slice(0, 3), [
      'dead-drop failed at 2026-11-25 03:00:00 UTC (health check failed); not recovered when captured',
      '  probable cause: A',
      '  episode: flapping, 3 failures, 13s down in total',
    ]);
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
      event: 'resolved',
      snapshot: () => {
        const s = ep();
        s.recovery = { at: '2026-11-25T03:06:18.123Z', downtime_seconds: 40, samples: [] };
        s.episode!.downtime_seconds = 133.4;
        return s;
      },
      detail: null,
      text: `dead-drop resolved on box after 2m13s (3 occurrences) · ${LINK}`,
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

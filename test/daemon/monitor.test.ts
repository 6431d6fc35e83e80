import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HEALTHY, checkDelay, step, stepRestart, type Effect, type Instant, type MonitorPolicy, type MonitorState } from '../../src/daemon/monitor';

const policy: MonitorPolicy = { failureThreshold: 3, intervalMs: 30_000, confirmIntervalMs: 5_000 };
/** A moment with both clocks agreeing (the monotonic one offset, as performance.now() is from the epoch). */
const at = (wall: number): Instant => ({ wall, mono: wall - 900_000 });
const H = 3_600_000;

/** Drive the machine with a fake clock: each check happens when the previous step asked for it. */
function drive(checks: boolean[], p = policy, start: MonitorState = HEALTHY) {
  let state = start;
  let now = 1_000_000;
  const log: { at: number; health: string; effects: Effect[]; next: number }[] = [];
  for (const ok of checks) {
    const r = step(state, ok, at(now), p);
    state = r.state;
    log.push({ at: now, health: state.health, effects: r.effects, next: r.nextCheckMs });
    now += r.nextCheckMs;
  }
  return { state, log };
}

const kinds = (log: { effects: Effect[] }[]) => log.map((l) => l.effects.map((e) => e.kind).join('+') || '-');

describe('monitor state machine', () => {
  const cases: { name: string; input: boolean[]; want: { health: string[]; effects: string[] } }[] = [
    { name: 'all healthy', input: [true, true], want: { health: ['healthy', 'healthy'], effects: ['-', '-'] } },
    {
      name: 'a blip is captured then discarded',
      input: [true, false, true],
      want: { health: ['healthy', 'suspect', 'healthy'], effects: ['-', 'capture', 'discard'] },
    },
    {
      name: 'failure confirmed at the threshold, captured once, committed once',
      input: [false, false, false, false],
      want: {
        health: ['suspect', 'suspect', 'unhealthy', 'unhealthy'],
        effects: ['capture', '-', 'commit', '-'],
      },
    },
    {
      name: 'recovery after an incident',
      input: [false, false, false, true, true],
      want: {
        health: ['suspect', 'suspect', 'unhealthy', 'healthy', 'healthy'],
        effects: ['capture', '-', 'commit', 'recover', '-'],
      },
    },
    {
      name: 'a pass in the middle resets the count',
      input: [false, false, true, false, false, false],
      want: {
        health: ['suspect', 'suspect', 'healthy', 'suspect', 'suspect', 'unhealthy'],
        effects: ['capture', '-', 'discard', 'capture', '-', 'commit'],
      },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { log } = drive(c.input);
      assert.deepEqual(
        log.map((l) => l.health),
        c.want.health,
      );
      assert.deepEqual(kinds(log), c.want.effects);
    });
  }

  test('rechecks come every confirm interval while suspect, then every interval', () => {
    const { log } = drive([true, false, false, false, false]);
    assert.deepEqual(
      log.map((l) => l.next),
      [30_000, 5_000, 5_000, 30_000, 30_000],
    );
  });

  test('commit carries the first failure time, the confirmation time and the count', () => {
    const { log } = drive([true, false, false, false]);
    const commit = log[3]!.effects[0]!;
    assert.deepEqual(commit, {
      kind: 'commit',
      trigger: 'health_check',
      firstFailureAt: log[1]!.at,
      confirmedAt: log[3]!.at,
      consecutiveFailures: 3,
    });
    assert.equal(log[3]!.at - log[1]!.at, 2 * policy.confirmIntervalMs);
  });

  test('threshold 1 captures and commits on the first failure', () => {
    const { log } = drive([false, false, true], { ...policy, failureThreshold: 1 });
    assert.deepEqual(kinds(log), ['capture+commit', '-', 'recover']);
    assert.deepEqual(
      log.map((l) => l.health),
      ['unhealthy', 'unhealthy', 'healthy'],
    );
  });

  test('recovery carries the downtime from the first failure', () => {
    const { log } = drive([false, false, false, false, true]);
    const recover = log[4]!.effects[0]!;
    assert.deepEqual(recover, { kind: 'recover', at: log[4]!.at, downtimeMs: log[4]!.at - log[0]!.at });
  });

  test('a restored unhealthy state (daemon restarted mid-incident) never commits again', () => {
    const restored: MonitorState = { health: 'unhealthy', consecutiveFailures: 5, firstFailureAt: 42 };
    const { log, state } = drive([false, false, false, true], policy, restored);
    assert.deepEqual(kinds(log), ['-', '-', '-', 'recover']);
    const recover = log[3]!.effects[0]!;
    assert.ok(recover.kind === 'recover' && recover.downtimeMs === log[3]!.at - 42);
    assert.equal(state.health, 'healthy');
  });

  const restarts: { name: string; input: MonitorState; want: { health: string; effects: Effect[] } }[] = [
    {
      name: 'from healthy: capture and commit at once, no confirmation needed',
      input: HEALTHY,
      want: {
        health: 'unhealthy',
        effects: [
          { kind: 'capture', firstFailureAt: 5000 },
          { kind: 'commit', trigger: 'unit_restart', firstFailureAt: 5000, confirmedAt: 5000, consecutiveFailures: 0 },
        ],
      },
    },
    {
      name: 'while suspect: the held capture is committed now, from the first failed check',
      input: { health: 'suspect', consecutiveFailures: 1, firstFailureAt: 4000 },
      want: {
        health: 'unhealthy',
        effects: [{ kind: 'commit', trigger: 'unit_restart', firstFailureAt: 4000, confirmedAt: 5000, consecutiveFailures: 1 }],
      },
    },
    {
      name: 'while unhealthy: joins the open incident',
      input: { health: 'unhealthy', consecutiveFailures: 4, firstFailureAt: 1000 },
      want: { health: 'unhealthy', effects: [{ kind: 'join', at: 5000 }] },
    },
  ];
  for (const c of restarts) {
    test(`unit restart ${c.name}`, () => {
      const r = stepRestart(c.input, at(5000), policy);
      assert.equal(r.state.health, c.want.health);
      assert.deepEqual(r.effects, c.want.effects);
      assert.equal(r.nextCheckMs, policy.confirmIntervalMs, 'look again soon: does the new run answer?');
    });
  }

  test('a restart incident recovers at the next passing check, with the downtime from the restart', () => {
    const r = stepRestart(HEALTHY, at(5000), policy);
    const next = step(r.state, true, at(7000), policy);
    assert.deepEqual(next.effects, [{ kind: 'recover', at: 7000, downtimeMs: 2000 }]);
    assert.equal(next.state.health, 'healthy');
  });

  test('a check that started before the restart was seen and passes after it: downtime 0, not negative', () => {
    const r = stepRestart(HEALTHY, at(5000), policy);
    const next = step(r.state, true, at(4000), policy);
    assert.deepEqual(next.effects, [{ kind: 'recover', at: 4000, downtimeMs: 0 }]);
  });
});

describe('a requested restart under way holds the confirmation', () => {
  const start = 1_000_000;
  /** Checks every confirm interval from `start`, with a hold until `until`. */
  function held(checks: boolean[], until: number) {
    let state: MonitorState = HEALTHY;
    let now = start;
    const out: string[] = [];
    for (const ok of checks) {
      const r = step(state, ok, at(now), policy, at(until).mono);
      state = r.state;
      out.push(`${state.health}:${r.effects.map((e) => e.kind).join('+') || '-'}`);
      now += policy.confirmIntervalMs;
    }
    return out;
  }
  const cases: { name: string; input: { checks: boolean[]; untilMs: number }; want: string[] }[] = [
    {
      name: 'it comes back within the hold: the capture is discarded, nothing is committed',
      input: { checks: [false, false, false, false, true], untilMs: 60_000 },
      want: ['suspect:capture', 'suspect:-', 'suspect:-', 'suspect:-', 'healthy:discard'],
    },
    {
      name: 'it does not come back: committed at the first failed check after the hold',
      input: { checks: [false, false, false, false, false], untilMs: 12_000 },
      want: ['suspect:capture', 'suspect:-', 'suspect:-', 'unhealthy:commit', 'unhealthy:-'],
    },
    { name: 'a hold that already ended holds nothing', input: { checks: [false, false, false], untilMs: -1 }, want: ['suspect:capture', 'suspect:-', 'unhealthy:commit'] },
    { name: 'empty', input: { checks: [], untilMs: 60_000 }, want: [] },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(held(c.input.checks, start + c.input.untilMs), c.want));

  test('a held suspicion rechecks at the confirm interval', () => {
    const r = step({ health: 'suspect', consecutiveFailures: 5, firstFailureAt: start }, false, at(start + 1000), policy, at(start + 60_000).mono);
    assert.equal(r.state.health, 'suspect');
    assert.equal(r.nextCheckMs, policy.confirmIntervalMs);
  });
});

describe('the wall clock steps an hour; what is timed goes by the monotonic clock', () => {
  test('the next check is due one interval after the last one started, whatever the wall clock did', () => {
    const cases: { name: string; input: { next: number; started: Instant; now: Instant }; want: number }[] = [
      { name: 'no step, a check of 200 ms', input: { next: 30_000, started: at(1_000_000), now: at(1_000_200) }, want: 29_800 },
      { name: 'stepped back 1 h during the check', input: { next: 30_000, started: at(1_000_000), now: { wall: 1_000_200 - H, mono: at(1_000_200).mono } }, want: 29_800 },
      { name: 'stepped forward 1 h during the check', input: { next: 30_000, started: at(1_000_000), now: { wall: 1_000_200 + H, mono: at(1_000_200).mono } }, want: 29_800 },
      { name: 'a check longer than the interval: due at once', input: { next: 5_000, started: at(1_000_000), now: at(1_006_000) }, want: 0 },
    ];
    for (const c of cases) assert.equal(checkDelay(c.input.next, c.input.started.mono, c.input.now.mono), c.want, c.name);
  });

  /** Two failed checks 5 s apart on the monotonic clock, the wall clock stepped `step` between them, held until 60 s after the first. */
  const held = (wallStep: number) => {
    const first = at(1_000_000);
    const second: Instant = { wall: first.wall + 5000 + wallStep, mono: first.mono + 5000 };
    const hold = first.mono + 60_000;
    const s1 = step(HEALTHY, false, first, { ...policy, failureThreshold: 2 }, hold);
    return step(s1.state, false, second, { ...policy, failureThreshold: 2 }, hold);
  };
  const holds: { name: string; input: number; want: string }[] = [
    { name: 'no step: still held', input: 0, want: 'suspect' },
    { name: 'stepped forward 1 h: still held, not released early', input: H, want: 'suspect' },
    { name: 'stepped back 1 h: still held (and it ends when it should: below)', input: -H, want: 'suspect' },
  ];
  for (const c of holds) test(`a requested restart's hold: ${c.name}`, () => assert.equal(held(c.input).state.health, c.want));

  test("a requested restart's hold ends when it should though the wall clock went back an hour", () => {
    const first = at(1_000_000);
    const hold = first.mono + 10_000;
    const p = { ...policy, failureThreshold: 2 };
    const s1 = step(HEALTHY, false, first, p, hold);
    const after: Instant = { wall: first.wall + 15_000 - H, mono: first.mono + 15_000 };
    const s2 = step(s1.state, false, after, p, hold);
    assert.deepEqual(s2.effects, [{ kind: 'commit', trigger: 'health_check', firstFailureAt: first.wall, confirmedAt: after.wall, consecutiveFailures: 2 }]);
  });

  const downtimes: { name: string; input: { wallStep: number; restored?: boolean }; want: number }[] = [
    { name: 'no step', input: { wallStep: 0 }, want: 20_000 },
    { name: 'stepped back 1 h: the downtime is still 20 s, not 0', input: { wallStep: -H }, want: 20_000 },
    { name: 'stepped forward 1 h: the downtime is still 20 s, not 1 h', input: { wallStep: H }, want: 20_000 },
    { name: 'restored from .state.json (no monotonic first failure): by the wall clock', input: { wallStep: H, restored: true }, want: 20_000 + H },
  ];
  for (const c of downtimes) {
    test(`downtime: ${c.name}`, () => {
      const first = at(1_000_000);
      let s = stepRestart(HEALTHY, first, policy).state;
      if (c.input.restored) s = { health: s.health, consecutiveFailures: s.consecutiveFailures, firstFailureAt: s.firstFailureAt };
      const back: Instant = { wall: first.wall + 20_000 + c.input.wallStep, mono: first.mono + 20_000 };
      const r = step(s, true, back, policy);
      assert.deepEqual(r.effects, [{ kind: 'recover', at: back.wall, downtimeMs: c.want }]);
    });
  }
});

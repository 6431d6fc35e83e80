import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HEALTHY, step, stepRestart, type Effect, type MonitorPolicy, type MonitorState } from '../../src/daemon/monitor';

const policy: MonitorPolicy = { failureThreshold: 3, intervalMs: 30_000, confirmIntervalMs: 5_000 };

/** Drive the machine with a fake clock: each check happens when the previous step asked for it. */
function drive(checks: boolean[], p = policy, start: MonitorState = HEALTHY) {
  let state = start;
  let now = 1_000_000;
  const log: { at: number; health: string; effects: Effect[]; next: number }[] = [];
  for (const ok of checks) {
    const r = step(state, ok, now, p);
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
      const r = stepRestart(c.input, 5000, policy);
      assert.equal(r.state.health, c.want.health);
      assert.deepEqual(r.effects, c.want.effects);
      assert.equal(r.nextCheckMs, policy.confirmIntervalMs, 'look again soon: does the new run answer?');
    });
  }

  test('a restart incident recovers at the next passing check, with the downtime from the restart', () => {
    const r = stepRestart(HEALTHY, 5000, policy);
    const next = step(r.state, true, 7000, policy);
    assert.deepEqual(next.effects, [{ kind: 'recover', at: 7000, downtimeMs: 2000 }]);
    assert.equal(next.state.health, 'healthy');
  });

  test('a check that started before the restart was seen and passes after it: downtime 0, not negative', () => {
    const r = stepRestart(HEALTHY, 5000, policy);
    const next = step(r.state, true, 4000, policy);
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
      const r = step(state, ok, now, policy, until);
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
    const r = step({ health: 'suspect', consecutiveFailures: 5, firstFailureAt: start }, false, start + 1000, policy, start + 60_000);
    assert.equal(r.state.health, 'suspect');
    assert.equal(r.nextCheckMs, policy.confirmIntervalMs);
  });
});

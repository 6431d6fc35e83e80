// The feed of services watched without a health URL (src/daemon/unit-only.ts): when the unit is up
// again after a failure, a unit found failed, the names watch_failed_units gives units, the
// `systemctl list-units --state=failed` reader, the down notification's words, and the unit watcher
// finding failed units through a fake systemctl. The daemon's side (restart path, notifications) is the
// e2e in test/e2e/unit-only.test.ts, against real systemd.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { Config, ServiceConfig } from '../../src/config/config';
import { SERVICE_NAME } from '../../src/config/config';
import { Logger } from '../../src/daemon/log';
import { factsOf, oneLine } from '../../src/daemon/notify';
import { renderSnapshot } from '../../src/incident/render';
import { newRuntime, type PersistedState, type ServiceRuntime } from '../../src/daemon/runtime';
import { UnitOnlyFeed, failedOnSight, serviceNameForUnit, unitRecovered, MAX_DISCOVERED, type UnitFailure } from '../../src/daemon/unit-only';
import { UnitWatcher, type JobEvent, type RestartEvent } from '../../src/daemon/units';
import { parseFailedUnits } from '../../src/systemd/failed-units';
import type { UnitState } from '../../src/systemd/unit';
import { waitFor } from '../e2e/wait';
import { snapshotFixture } from './_helpers';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const state = (over: Partial<UnitState>): UnitState => ({ id: 'backup.service', properties: {}, ...over });

describe('unitRecovered', () => {
  const known: UnitFailure = { invocationId: A, mono: 100 };
  const unknown: UnitFailure = { invocationId: null, mono: 100 };
  const cases: { name: string; input: [UnitState, UnitFailure, number]; want: boolean }[] = [
    { name: 'a oneshot still failed from the run that failed', input: [state({ activeState: 'failed', result: 'exit-code', invocationId: A }), known, 200], want: false },
    { name: "a oneshot's next run failed too", input: [state({ activeState: 'failed', result: 'exit-code', invocationId: B }), known, 200], want: false },
    { name: "a oneshot's next run under way", input: [state({ activeState: 'activating', subState: 'start', invocationId: B }), known, 200], want: false },
    { name: "a oneshot's next run ended well: inactive, success, a new invocation", input: [state({ activeState: 'inactive', result: 'success', invocationId: B }), known, 200], want: true },
    { name: 'reset-failed: inactive and success, but the failed run still', input: [state({ activeState: 'inactive', result: 'success', invocationId: A }), known, 200], want: false },
    { name: 'a restarted daemon: active with a new invocation', input: [state({ activeState: 'active', subState: 'running', invocationId: B }), known, 200], want: true },
    { name: 'a poll under way when the failure came: still the run that died', input: [state({ activeState: 'active', subState: 'running', invocationId: A }), known, 50], want: false },
    { name: 'in auto-restart (activating) is not up', input: [state({ activeState: 'activating', subState: 'auto-restart', invocationId: A }), known, 200], want: false },
    { name: 'dead run unknown: active in a poll begun after the failure', input: [state({ activeState: 'active', invocationId: B }), unknown, 200], want: true },
    { name: 'dead run unknown: active in a poll begun before it', input: [state({ activeState: 'active', invocationId: B }), unknown, 50], want: false },
  ];
  for (const c of cases) test(c.name, () => assert.equal(unitRecovered(...c.input), c.want));
});

describe('failedOnSight', () => {
  test('a unit in failed is a failure of the run it names', () => {
    assert.deepEqual(failedOnSight('backup.service', state({ activeState: 'failed', result: 'exit-code', invocationId: A, nRestarts: 0 }), 1000), {
      unit: 'backup.service',
      at: 1000,
      deadInvocationId: A,
      exit: null,
      reason: 'in failed (result exit-code) when first seen',
      gaveUp: 'failed',
      nRestarts: 0,
    });
  });
  test('inactive, active and activating are not', () => {
    for (const activeState of ['inactive', 'active', 'activating', undefined]) assert.equal(failedOnSight('x.service', state({ activeState }), 1), null);
  });
});

describe('serviceNameForUnit', () => {
  const cases: { name: string; input: [string, string[]]; want: string | RegExp }[] = [
    { name: 'the unit without .service', input: ['backup-db.service', []], want: 'backup-db' },
    { name: "systemd's \\x2d escape decoded", input: ['systemd-fsck@dev-disk-by\\x2dlabel-data.service', []], want: 'systemd-fsck_dev-disk-by-label-data' },
    { name: 'an instance: @ becomes _', input: ['worker@1.service', []], want: 'worker_1' },
    { name: 'a \\x escape of a character not allowed becomes _', input: ['a\\x20b.service', []], want: 'a_b' },
    { name: 'a leading character not allowed', input: ['_x.service', []], want: 'u_x' },
    { name: "taken by a listed service: 8 hex digits of the unit's sha256 (the README's example)", input: ['web.service', ['web']], want: 'web-c76ab372' },
    { name: 'too long: cut, with the hash', input: [`${'l'.repeat(80)}.service`, []], want: new RegExp(`^${'l'.repeat(55)}-[0-9a-f]{8}$`) },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = serviceNameForUnit(c.input[0], new Set(c.input[1]));
      if (typeof c.want === 'string') assert.equal(got, c.want);
      else assert.match(got, c.want);
      assert.match(got, SERVICE_NAME);
    });
  }
  test('the same unit gets the same name every time (its state survives a restart of preflight)', () => {
    assert.equal(serviceNameForUnit('web.service', new Set(['web'])), serviceNameForUnit('web.service', new Set(['web'])));
    assert.notEqual(serviceNameForUnit('web.service', new Set(['web'])), serviceNameForUnit('web@.service', new Set(['web'])));
  });
});

describe('parseFailedUnits', () => {
  test('systemctl 252 list-units --plain --no-legend: the first word of each service line', () => {
    const out = [
      'backup.service         loaded failed failed Nightly backup',
      '● old-bullet.service   loaded failed failed Printed with a bullet',
      'systemd-fsck@dev-disk-by\\x2dlabel-data.service loaded failed failed File System Check',
      'backup.service         loaded failed failed listed twice',
      'not-a-service.socket   loaded failed failed a socket',
      '',
    ].join('\n');
    assert.deepEqual(parseFailedUnits(out), ['backup.service', 'old-bullet.service', 'systemd-fsck@dev-disk-by\\x2dlabel-data.service']);
  });
  test('nothing failed: empty output', () => assert.deepEqual(parseFailedUnits(''), []));
});

describe('UnitOnlyFeed', () => {
  const config = { intervalSeconds: 5, timeoutSeconds: 2, bufferSamples: 10, failureThreshold: 2, confirmIntervalSeconds: 1 } as Config;
  const svc = (name: string, unit: string): ServiceConfig => ({ name, healthUrl: null, unit, expectStatus: [], intervalSeconds: 5, timeoutSeconds: 2, bufferSamples: 10 });
  function harness(services: ServiceRuntime[] = [newRuntime(svc('backup', 'backup.service'), config)], restored: PersistedState | null = null) {
    let mono = 1000;
    const lines: string[] = [];
    const failed: RestartEvent[] = [];
    const recovered: [string, number][] = [];
    const watched: string[] = [];
    const feed = new UnitOnlyFeed({
      config,
      services,
      log: new Logger({ out: (t) => lines.push(t), err: (t) => lines.push(t), isTTY: false }),
      mono: () => mono,
      restored: () => restored,
      fail: (e) => {
        failed.push(e);
        // what the daemon does on its restart path: the service goes down, the feed is told the dead run
        for (const rt of services) if (rt.cfg.unit === e.unit) {
          rt.state = { health: 'unhealthy', consecutiveFailures: 0, firstFailureAt: e.at };
          feed.failed(rt, e);
        }
      },
      recover: (rt, at) => {
        recovered.push([rt.cfg.name, at]);
        rt.state = { health: 'healthy', consecutiveFailures: 0, firstFailureAt: null };
      },
      watch: (u) => watched.push(u),
    });
    return { feed, services, failed, recovered, watched, lines, tick: (ms: number) => (mono += ms) };
  }
  const job = (over: Partial<JobEvent>): JobEvent => ({ unit: 'backup.service', type: 'start', phase: 'end', result: 'done', at: 5000, automatic: false, ...over });

  test('found failed at the first poll: one failure; the same state at the next poll: nothing more', () => {
    const h = harness();
    const rt = h.services[0]!;
    const failedState = state({ activeState: 'failed', result: 'exit-code', invocationId: A });
    h.feed.onState(rt, 'backup.service', failedState, 2000, 1000);
    h.feed.onState(rt, 'backup.service', failedState, 3000, 1500);
    assert.deepEqual(h.failed.map((e) => [e.unit, e.deadInvocationId, e.gaveUp]), [['backup.service', A, 'failed']]);
    assert.deepEqual(h.recovered, []);
    assert.ok(rt.lastCheckDone !== null, 'the poll counts as its check for /healthz');
  });

  test('a failure learnt from the follower, then the next run succeeds: one recovery, at the poll that shows it', () => {
    const h = harness();
    const rt = h.services[0]!;
    h.feed.onState(rt, 'backup.service', state({ activeState: 'inactive', result: 'success', invocationId: A }), 1000, 900);
    h.feed.failed(rt, { unit: 'backup.service', at: 1500, deadInvocationId: A, exit: { code: 'exited', status: 1, at: '1970-01-01T00:00:01.500Z' }, reason: 'status=1', nRestarts: null });
    rt.state = { health: 'unhealthy', consecutiveFailures: 0, firstFailureAt: 1500 };
    h.tick(100);
    h.feed.onState(rt, 'backup.service', state({ activeState: 'failed', result: 'exit-code', invocationId: A }), 2000, 1100);
    assert.deepEqual(h.recovered, []);
    h.feed.onState(rt, 'backup.service', state({ activeState: 'inactive', result: 'success', invocationId: B }), 3000, 1200);
    h.feed.onState(rt, 'backup.service', state({ activeState: 'inactive', result: 'success', invocationId: B }), 4000, 1300);
    assert.deepEqual(h.recovered, [['backup', 3000]]);
    assert.deepEqual(h.failed, [], 'a healthy unit seen after its first poll is no failure');
  });

  test("the follower's start job done ends it at once; a failed job does not", () => {
    const h = harness();
    const rt = h.services[0]!;
    h.feed.onState(rt, 'backup.service', state({ activeState: 'failed', invocationId: A }), 1000, 900);
    h.feed.onJob(rt, job({ result: 'failed' }));
    h.feed.onJob(rt, job({ phase: 'begin', result: undefined }));
    h.feed.onJob(rt, job({ type: 'restart' }));
    assert.deepEqual(h.recovered, []);
    h.feed.onJob(rt, job({ at: 6000 }));
    assert.deepEqual(h.recovered, [['backup', 6000]]);
    h.feed.onJob(rt, job({ at: 7000 }));
    assert.equal(h.recovered.length, 1, 'healthy already: nothing');
  });

  test('watch_failed_units: a found unit becomes a service named after it, watched, and failed once', () => {
    const h = harness();
    h.feed.discover('old-cron.service', state({ id: 'old-cron.service', activeState: 'failed', result: 'exit-code', invocationId: B }), 5000);
    const made = h.services[1];
    assert.ok(made);
    assert.equal(made.cfg.name, 'old-cron');
    assert.equal(made.cfg.healthUrl, null);
    assert.equal(made.cfg.unit, 'old-cron.service');
    assert.equal(made.cfg.discovered, true);
    assert.equal(made.cfg.intervalSeconds, 5);
    assert.deepEqual(h.watched, ['old-cron.service']);
    assert.deepEqual(h.failed.map((e) => [e.unit, e.deadInvocationId]), [['old-cron.service', B]]);
    assert.match(h.lines.join(''), /watch_failed_units: old-cron\.service entered failed; watched from now on as service old-cron/);
    // its next poll is not a first sight: the failure is not told twice
    h.feed.onState(made, 'old-cron.service', state({ activeState: 'failed', invocationId: B }), 6000, 2000);
    assert.equal(h.failed.length, 1);
  });

  test('found again after a restart of preflight with its incident open: no second failure; its next good run ends it', () => {
    const open: PersistedState = { version: 1, services: { 'old-cron': { incidentId: 'i1', firstFailureAt: 1000, consecutiveFailures: 0 } } };
    const h = harness([], open);
    h.feed.discover('old-cron.service', state({ activeState: 'failed', invocationId: B }), 5000);
    const made = h.services[0]!;
    assert.equal(made.openIncident?.id, 'i1');
    assert.equal(made.state.health, 'unhealthy');
    assert.deepEqual(h.failed, []);
    h.feed.onState(made, 'old-cron.service', state({ activeState: 'failed', invocationId: B }), 6000, 2000);
    h.feed.onState(made, 'old-cron.service', state({ activeState: 'inactive', result: 'success', invocationId: A }), 7000, 3000);
    assert.deepEqual(h.recovered, [['old-cron', 7000]]);
  });

  test(`watch_failed_units stops making services at ${MAX_DISCOVERED}, and says so once`, () => {
    const h = harness([]);
    for (let i = 0; i < MAX_DISCOVERED + 3; i++) h.feed.discover(`u${i}.service`, state({ activeState: 'failed', invocationId: A }), 1);
    assert.equal(h.services.length, MAX_DISCOVERED);
    assert.equal(h.lines.filter((l) => /are watched already/.test(l)).length, 1);
  });
});

describe('the down notification of a unit-only service', () => {
  const exit = { code: 'exited' as const, status: 1, at: '2026-12-02T03:00:01Z' };
  const line = (over: Parameters<typeof snapshotFixture>[0]): string => oneLine(factsOf(snapshotFixture({ service: 'backup', trigger: 'unit_restart', exit, probable_cause: 'x', summary: 'RAM 2%', ...over }), 'down', undefined));
  test('its unit in failed (a oneshot that exited 1): down, failed, not a restart', () => {
    assert.match(line({ health_url: null, unit: { ActiveState: 'failed' } }), /^backup down on [^:]+: failed \(exited 1\) · /);
  });
  test('preflight last says its unit failed, not restarted by systemd', () => {
    const first = (over: Parameters<typeof snapshotFixture>[0]): string => renderSnapshot(snapshotFixture({ service: 'backup', trigger: 'unit_restart', exit, ...over })).split('\n')[0] ?? '';
    assert.match(first({ health_url: null, unit: { ActiveState: 'failed' } }), /^backup failed at .* \(its unit failed\); /);
    assert.match(first({ health_url: null, unit: { ActiveState: 'active' } }), /^backup failed at .* \(restarted by systemd\); /);
  });
  test('restarted by systemd (Restart=, active again): said as a restart, as with a health URL', () => {
    assert.match(line({ health_url: null, unit: { ActiveState: 'active' } }), /^backup restarted on [^:]+: restarted by systemd \(exited 1\) · /);
    assert.match(line({ health_url: 'http://127.0.0.1:1/', unit: { ActiveState: 'failed' } }), /^backup restarted on [^:]+: restarted by systemd \(exited 1\) · /);
  });
});

describe('UnitWatcher with watch_failed_units (a fake systemctl)', () => {
  // list-units prints what the state file says is failed; show prints each unit asked for from it
  const fake = (dir: string): string => {
    const file = path.join(dir, 'systemctl');
    writeFileSync(
      file,
      `#!/bin/sh
state="${dir}/state"
if [ "$1" = list-units ]; then
  echo "$*" >> "${dir}/list-args"
  grep ' failed ' "$state" | while read -r unit active inv; do echo "$unit loaded failed failed test unit"; done
  exit 0
fi
seen=0
for u in "$@"; do
  if [ "$seen" = 1 ]; then
    line=$(grep "^$u " "$state")
    set -- $line
    printf 'Id=%s\\nActiveState=%s\\nInvocationID=%s\\nNRestarts=0\\n\\n' "$u" "$2" "$3"
  fi
  [ "$u" = "--" ] && seen=1
done
exit 0
`,
      { mode: 0o755 },
    );
    return file;
  };

  test('a failed unit no listed unit answers to is handed on once, then polled with the others', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'preflight-failed-units-'));
    try {
      writeFileSync(path.join(dir, 'state'), `backup.service failed ${A}\nold-cron.service failed ${B}\nweb.service active ${A}\n`);
      const found: [string, string | undefined][] = [];
      const states: string[] = [];
      const w = new UnitWatcher({
        units: ['backup.service'],
        intervalMs: 50,
        timeoutMs: 2000,
        follow: false,
        systemctl: fake(dir),
        log: new Logger({ out: () => undefined, err: () => undefined, isTTY: false }),
        onRestart: () => undefined,
        onState: (unit, u) => states.push(`${unit}=${u.activeState}`),
        onFailedUnit: (unit, u) => {
          found.push([unit, u.invocationId]);
          w.add(unit);
        },
      });
      await w.start();
      await waitFor('two more polls', 5000, async () => states.filter((s) => s.startsWith('old-cron')).length >= 2);
      await w.stop();
      // backup.service is listed: failed, but not found anew; old-cron once, with its dead run's id
      assert.deepEqual(found, [['old-cron.service', B]]);
      assert.ok(states.includes('old-cron.service=failed'));
      assert.match(readFileSync(path.join(dir, 'list-args'), 'utf8'), /^list-units --state=failed --type=service --all --plain --no-legend --no-pager --full$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

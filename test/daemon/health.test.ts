// /healthz: the verdict as a table over daemon statuses, the bounds from the config, then a real Daemon
// behind the real API: fresh; a service whose endpoint hangs (its checks still complete, by their
// timeout: the daemon is fine); a job in a service's queue that never ends; a probe loop that stopped.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DaemonStatus } from '../../src/daemon/daemon';
import { healthOf, maxCheckAgeMs, maxJobAgeMs, maxSampleAgeMs } from '../../src/daemon/health';
import { enqueue } from '../../src/daemon/runtime';
import { startDaemon, waitFor, type Harness } from './_daemon';
import { daemonStatus, serviceStatus } from './_helpers';

describe('bounds from the config', () => {
  test('a check is late past max(3 intervals, interval + timeout + 30 s)', () => {
    const cases: { input: [number, number]; want: number }[] = [
      { input: [30, 5], want: 90_000 },
      { input: [10, 5], want: 45_000 },
      { input: [1, 1], want: 32_000 },
      { input: [300, 10], want: 900_000 },
    ];
    for (const c of cases) assert.equal(maxCheckAgeMs(...c.input), c.want, String(c.input));
  });
  test('a job is stuck past max(5 min, 10 command deadlines)', () => {
    const cases: { input: number; want: number }[] = [
      { input: 0.1, want: 300_000 },
      { input: 5, want: 300_000 },
      { input: 60, want: 600_000 },
    ];
    for (const c of cases) assert.equal(maxJobAgeMs(c.input), c.want, String(c.input));
  });
  test('host samples are stale past max(30 s, 3 periods)', () => {
    assert.deepEqual([1, 10, 60].map(maxSampleAgeMs), [30_000, 30_000, 180_000]);
  });
});

describe('healthOf', () => {
  const svc = (over: Parameters<typeof serviceStatus>[0] = {}) => serviceStatus({ maxCheckAgeMs: 90_000, maxJobAgeMs: 300_000, ...over });
  const cases: { name: string; input: { status: Partial<DaemonStatus>; sampleSeconds?: number }; want: { http: number; status: string; problems: string[] } }[] = [
    { name: 'fresh', input: { status: { lastSampleAgeMs: 5000 } }, want: { http: 200, status: 'ok', problems: [] } },
    { name: 'no sample yet, just started', input: { status: { lastSampleAt: null, lastSampleAgeMs: null, uptimeMs: 100, services: [svc({ lastCheckAgeMs: null })] } }, want: { http: 503, status: 'starting', problems: [] } },
    {
      name: 'no sample in longer than the bound since the start',
      input: { status: { lastSampleAt: null, lastSampleAgeMs: null, uptimeMs: 31_000 } },
      want: { http: 503, status: 'stale', problems: ['host: no sample in the 31 s since the start (bound 30 s)'] },
    },
    { name: 'at the 30 s floor', input: { status: { lastSampleAgeMs: 30_000 }, sampleSeconds: 1 }, want: { http: 200, status: 'ok', problems: [] } },
    { name: 'stale', input: { status: { lastSampleAgeMs: 31_000 }, sampleSeconds: 10 }, want: { http: 503, status: 'stale', problems: ['host: the last sample is 31 s old (bound 30 s)'] } },
    { name: 'three long periods', input: { status: { lastSampleAgeMs: 170_000 }, sampleSeconds: 60 }, want: { http: 200, status: 'ok', problems: [] } },
    { name: 'more than three', input: { status: { lastSampleAgeMs: 181_000 }, sampleSeconds: 60 }, want: { http: 503, status: 'stale', problems: ['host: the last sample is 181 s old (bound 180 s)'] } },
    { name: 'a check at its bound', input: { status: { services: [svc({ lastCheckAgeMs: 90_000 })] } }, want: { http: 200, status: 'ok', problems: [] } },
    {
      name: 'a check past its bound',
      input: { status: { services: [svc({ name: 'api', lastCheckAgeMs: 90_100 }), svc()] } },
      want: { http: 503, status: 'stuck', problems: ['api: the last check completed 90.1 s ago (bound 90 s)'] },
    },
    { name: 'no check yet, within the bound of the start', input: { status: { uptimeMs: 60_000, services: [svc({ lastCheckAgeMs: null })] } }, want: { http: 200, status: 'ok', problems: [] } },
    {
      name: 'no check in longer than the bound since the start',
      input: { status: { uptimeMs: 95_000, services: [svc({ lastCheckAgeMs: null })] } },
      want: { http: 503, status: 'stuck', problems: ['web: no check completed in the 95 s since the start (bound 90 s)'] },
    },
    { name: 'a job running, within its bound', input: { status: { services: [svc({ oldestJobAgeMs: 299_000 })] } }, want: { http: 200, status: 'ok', problems: [] } },
    {
      name: 'a job past its bound',
      input: { status: { services: [svc({ oldestJobAgeMs: 301_000 })] } },
      want: { http: 503, status: 'stuck', problems: ['web: a capture, commit or recovery has been running for 301 s (bound 300 s)'] },
    },
    {
      name: 'everything wrong at once: stuck wins, every problem is said',
      input: { status: { lastSampleAgeMs: 40_000, services: [svc({ lastCheckAgeMs: 100_000, oldestJobAgeMs: 400_000 })] } },
      want: {
        http: 503,
        status: 'stuck',
        problems: [
          'host: the last sample is 40 s old (bound 30 s)',
          'web: the last check completed 100 s ago (bound 90 s)',
          'web: a capture, commit or recovery has been running for 400 s (bound 300 s)',
        ],
      },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const h = healthOf(daemonStatus(c.input.status), c.input.sampleSeconds ?? 10);
      assert.deepEqual({ http: h.ok ? 200 : 503, status: h.body.status, problems: h.body.problems }, c.want);
    });
  }

  test('the body: ages and bounds per service, in seconds', () => {
    const h = healthOf(daemonStatus({ uptimeMs: 3_845_400, services: [svc({ lastCheckAgeMs: 1234, oldestJobAgeMs: 56_789 })] }), 10);
    assert.deepEqual(h.body.services, [
      { name: 'web', health: 'healthy', consecutive_failures: 0, open_incident: null, last_check_age_seconds: 1.2, max_check_age_seconds: 90, oldest_job_age_seconds: 56.8, max_job_age_seconds: 300 },
    ]);
    assert.equal(h.body.uptime_seconds, 3845);
    assert.equal(h.body.last_sample_age_seconds, 1);
    assert.equal(h.body.max_sample_age_seconds, 30);
  });
});

describe('/healthz of a real daemon', () => {
  let d: Harness;
  before(async () => {
    d = await startDaemon();
    await waitFor('/healthz ok after the first check', 10_000, async () => {
      const h = await d.healthz();
      return h.status === 200 && h.body.services[0]!.last_check_age_seconds !== null;
    });
  });
  after(async () => d.close());
  const web = () => d.daemon.services[0]!;

  test('fresh: ages under a second, the bounds from the config (interval 0.2 s, timeout 0.1 s)', async () => {
    const h = await d.healthz();
    assert.equal(h.status, 200, JSON.stringify(h.body));
    const s = h.body.services[0]!;
    assert.ok(s.last_check_age_seconds !== null && s.last_check_age_seconds < 1, JSON.stringify(s));
    assert.equal(s.max_check_age_seconds, 30.3);
    assert.equal(s.oldest_job_age_seconds, null);
    assert.equal(s.max_job_age_seconds, 300);
    assert.deepEqual(h.body.problems, []);
  });

  test('an endpoint that hangs: its checks still complete (their timeout ends them), so the daemon is ok', async () => {
    d.answer = null;
    try {
      await waitFor('three failed checks', 5000, () => web().state.consecutiveFailures >= 3);
      const h = await d.healthz();
      assert.equal(h.status, 200, JSON.stringify(h.body));
      assert.ok(h.body.services[0]!.last_check_age_seconds! < 1);
    } finally {
      d.answer = { status: 200, body: 'ok' };
    }
    await waitFor('healthy again', 5000, () => web().state.health === 'healthy');
  });

  test('a job that never ends: 503 stuck once it has run past its bound, 200 when it ends', async () => {
    let release = (): void => undefined;
    enqueue(web(), () => new Promise<void>((r) => (release = r)), { error: () => undefined } as never);
    try {
      await waitFor('the job running', 2000, async () => (await d.healthz()).body.services[0]!.oldest_job_age_seconds !== null);
      assert.equal((await d.healthz()).status, 200, 'a young job is not stuck');
      // five minutes pass (the checks and samples go on meanwhile, so only the job is old)
      d.skew.mono += 301_000;
      const h = await waitFor('503', 3000, async () => {
        const r = await d.healthz();
        return r.status === 503 && r.body.services[0]!.last_check_age_seconds! < 1 && r.body.last_sample_age_seconds! < 1 ? r : null;
      });
      assert.equal(h.body.status, 'stuck');
      assert.equal(h.body.problems.length, 1, JSON.stringify(h.body.problems));
      assert.match(h.body.problems[0]!, /^web: a capture, commit or recovery has been running for 301(\.\d)? s \(bound 300 s\)$/);
    } finally {
      release();
    }
    await waitFor('/healthz ok again', 3000, async () => (await d.healthz()).status === 200);
  });

  test('a probe loop that stopped: 503 stuck once the last check is older than its bound', async () => {
    const rt = web();
    // between two checks: the timer that would start the next one is lost
    await waitFor('a check scheduled', 2000, () => rt.checking === null && rt.timer !== null);
    clearTimeout(rt.timer!);
    const timer = rt.timer;
    d.skew.mono += 31_000;
    const h = await d.healthz();
    assert.equal(h.status, 503, JSON.stringify(h.body));
    assert.equal(h.body.status, 'stuck');
    assert.match(h.body.problems.join('\n'), /^web: the last check completed 31(\.\d)? s ago \(bound 30\.3 s\)$/m);
    assert.equal(rt.timer, timer, 'nothing restarted the loop behind the test');
    // give the loop back so the daemon stops cleanly
    rt.timer = null;
    (d.daemon as unknown as { schedule(rt: unknown, ms: number): void }).schedule(rt, 0);
    await waitFor('/healthz ok again', 3000, async () => (await d.healthz()).status === 200);
  });
});

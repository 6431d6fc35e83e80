// GET /status through the in-process ApiServer: the exact body for a healthy service, a failing one
// with an open episode, a unit and a mute, and one never checked (stuck); and the token guards it like the rest.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiServer } from '../../src/daemon/server';
import { SnapshotStore } from '../../src/incident/store';
import { VERSION } from '../../src/version';
import { daemonStatus, request, serviceStatus } from './_helpers';

const NOW = Date.parse('2026-12-02T17:40:00.000Z');
const TOKEN = 'status-token-0123456789';

const status = daemonStatus({
  startedAt: NOW - 3_600_000,
  uptimeMs: 3_600_000,
  services: [
    serviceStatus({
      name: 'web',
      lastProbe: { at: NOW - 1500, ok: true, status: 200, latencyMs: 3.4 },
      lastCheckAgeMs: 1400,
      unit: { name: 'web.service', activeState: 'active', subState: 'running', at: NOW - 2000 },
    }),
    serviceStatus({
      name: 'dead-drop',
      health: 'unhealthy',
      consecutiveFailures: 4,
      lastProbe: { at: NOW - 800, ok: false, status: 503, latencyMs: 12, errorKind: 'http_status', message: 'HTTP 503 Service Unavailable' },
      lastCheckAgeMs: 700,
      openIncidentId: '2026-12-02T17-37-47.000Z',
      openIncidentSince: NOW - 133_000,
      episode: { state: 'flapping', occurrences: 3 },
      muted: { until: '2026-12-02T18:00:00.000Z', reason: 'deploy' },
      unit: null,
    }),
    serviceStatus({ name: 'quiet', lastCheckAgeMs: null }),
  ],
});

describe('GET /status', () => {
  let dir: string;
  let open: ApiServer;
  let guarded: ApiServer;
  const log = { warn: (m: string) => assert.fail(m), debug: () => undefined };
  const config = { services: [{ name: 'web' }, { name: 'dead-drop' }, { name: 'quiet' }] as never, retention: 5, sampleSeconds: 10, listen: { host: '127.0.0.1', port: 0 } };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'preflight-status-'));
    const store = new SnapshotStore({ dir, retention: 5 });
    open = new ApiServer({ config, store, status: () => status, log, now: () => NOW });
    guarded = new ApiServer({ config: { ...config, apiToken: TOKEN }, store, status: () => status, log, now: () => NOW });
    await open.listen();
    await guarded.listen();
  });
  after(async () => {
    await open.close();
    await guarded.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the body: per service health, last check, open episode with its age, unit, mute', async () => {
    const r = await request(`${open.url!}/status`);
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.deepEqual(JSON.parse(r.body), {
      schema: 'preflight.status/1',
      // a service with no check in the hour since the start is the daemon's own problem: stuck
      status: 'stuck',
      problems: ['quiet: no check completed in the 3600 s since the start (bound 90 s)'],
      version: VERSION,
      started_at: '2026-12-02T16:40:00.000Z',
      uptime_seconds: 3600,
      last_sample_age_seconds: 1,
      services: [
        {
          name: 'web',
          health: 'healthy',
          consecutive_failures: 0,
          last_check_age_seconds: 1.4,
          max_check_age_seconds: 90,
          last_check: { at: '2026-12-02T17:39:58.500Z', ok: true, status: 200, latency_ms: 3, error_kind: null, message: null },
          open_incident: null,
          oldest_job_age_seconds: null,
          unit: { name: 'web.service', active_state: 'active', sub_state: 'running', age_seconds: 2 },
        },
        {
          name: 'dead-drop',
          health: 'unhealthy',
          consecutive_failures: 4,
          last_check_age_seconds: 0.7,
          max_check_age_seconds: 90,
          last_check: { at: '2026-12-02T17:39:59.200Z', ok: false, status: 503, latency_ms: 12, error_kind: 'http_status', message: 'HTTP 503 Service Unavailable' },
          open_incident: { id: '2026-12-02T17-37-47.000Z', since: '2026-12-02T17:37:47.000Z', age_seconds: 133, state: 'flapping', occurrences: 3 },
          oldest_job_age_seconds: null,
          unit: null,
          muted: { until: '2026-12-02T18:00:00.000Z', reason: 'deploy' },
        },
        // a status without the optional fields (an older daemon's shape) has no unit or muted key at all
        { name: 'quiet', health: 'healthy', consecutive_failures: 0, last_check_age_seconds: null, max_check_age_seconds: 90, last_check: null, open_incident: null, oldest_job_age_seconds: null },
      ],
    });
  });

  test('HEAD has the length and no body', async () => {
    const g = await request(`${open.url!}/status`);
    const h = await request(`${open.url!}/status`, { method: 'HEAD' });
    assert.equal(h.status, 200);
    assert.equal(h.body, '');
    assert.equal(h.headers['content-length'], g.headers['content-length']);
  });

  test('read-only and token-protected like every route', async () => {
    assert.equal((await request(`${guarded.url!}/status`)).status, 401);
    assert.equal((await request(`${guarded.url!}/status`, { headers: { authorization: `Bearer ${TOKEN}x` } })).status, 401);
    assert.equal((await request(`${guarded.url!}/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
    assert.equal((await request(`${open.url!}/status`, { method: 'POST' })).status, 405);
  });
});

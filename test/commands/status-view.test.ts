// `preflight status`, the pure part: an answer (GET /status, /healthz, .state.json) read into a view and
// rendered, as a table of inputs and the exact text they give.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderStatus, statusJson, viewOfApi, viewOfState, type RenderOptions } from '../../src/commands/status-view';

const URL = 'http://127.0.0.1:9187';
const TOP = { status: 'ok', version: '0.9.0', uptime_seconds: 7380, problems: [] };
const WEB = {
  name: 'web',
  health: 'healthy',
  consecutive_failures: 0,
  last_check_age_seconds: 1.4,
  max_check_age_seconds: 90,
  last_check: { ok: true, status: 200, latency_ms: 3, error_kind: null, message: null },
  open_incident: null,
  unit: { name: 'web.service', active_state: 'active', sub_state: 'running', age_seconds: 2 },
};
const DOWN = {
  name: 'dead-drop',
  health: 'unhealthy',
  consecutive_failures: 4,
  last_check_age_seconds: 0.7,
  max_check_age_seconds: 90,
  last_check: { ok: false, status: 503, latency_ms: 12, error_kind: 'http_status', message: 'HTTP 503 Service Unavailable' },
  open_incident: { id: '2026-12-02T17-37-47.000Z', since: '2026-12-02T17:37:47.000Z', age_seconds: 133, state: 'flapping', occurrences: 3 },
  muted: { until: '2026-12-02T18:00:00.000Z', reason: 'deploy' },
  unit: null,
};
// its check has hung past its bound: the last one completed 2 min ago and timed out
const HUNG = {
  name: 'slow',
  health: 'suspect',
  consecutive_failures: 1,
  last_check_age_seconds: 125,
  max_check_age_seconds: 90,
  last_check: { ok: false, status: null, latency_ms: 5000, error_kind: 'timeout', message: 'no response within 5000 ms (stalled at headers)' },
  open_incident: null,
};
const plain: RenderOptions = { colour: false };

describe('renderStatus of an API answer', () => {
  const cases: { name: string; body: unknown; opts?: RenderOptions; want: string[] }[] = [
    {
      name: 'no services',
      body: { ...TOP, services: [] },
      want: ['preflight 0.9.0 at http://127.0.0.1:9187: ok, up 2h03m', 'no services configured'],
    },
    {
      name: 'a healthy service with a unit',
      body: { ...TOP, services: [WEB] },
      want: [
        'preflight 0.9.0 at http://127.0.0.1:9187: ok, up 2h03m',
        'SERVICE  HEALTH   CHECKED   LATENCY  UNIT',
        'web      healthy  1.4s ago  3 ms     active/running',
      ],
    },
    {
      name: 'healthy, failing with an open flapping episode and a mute, and a hanging one',
      body: { ...TOP, status: 'stuck', problems: ['slow: the last check completed 125 s ago (bound 90 s)'], services: [WEB, DOWN, HUNG] },
      want: [
        'preflight 0.9.0 at http://127.0.0.1:9187: stuck, up 2h03m',
        '  problem: slow: the last check completed 125 s ago (bound 90 s)',
        'SERVICE    HEALTH     CHECKED           LATENCY  INCIDENT                       MUTED                                UNIT            LAST ERROR',
        'web        healthy    1.4s ago          3 ms     -                              -                                    active/running',
        'dead-drop  unhealthy  0.7s ago          12 ms    flapping 2m13s, 3 occurrences  until 2026-12-02 18:00 UTC (deploy)  -               HTTP 503 Service Unavailable',
        'slow       suspect    2m05s ago (late)  5000 ms  -                              -                                    -               no response within 5000 ms (stalled at headers)',
      ],
    },
    {
      name: 'unknown fields are ignored, at the top and per service',
      body: { ...TOP, future: { x: 1 }, services: [{ ...WEB, replicas: 3, last_check: { ...WEB.last_check, tls: {} } }] },
      want: [
        'preflight 0.9.0 at http://127.0.0.1:9187: ok, up 2h03m',
        'SERVICE  HEALTH   CHECKED   LATENCY  UNIT',
        'web      healthy  1.4s ago  3 ms     active/running',
      ],
    },
    {
      name: 'fields absent: a name alone, and an answer without version or uptime',
      body: { services: [{ name: 'bare' }] },
      want: ['preflight at http://127.0.0.1:9187', 'SERVICE  HEALTH  CHECKED  LATENCY', 'bare     -       -        -'],
    },
    {
      name: 'fields of the wrong type are taken as absent; an entry without a name is skipped',
      body: { ...TOP, uptime_seconds: 'long', services: [{ name: 'odd', health: 7, last_check_age_seconds: '1', last_check: [], open_incident: 42, muted: { until: 5 } }, { health: 'healthy' }, 'x'] },
      want: ['preflight 0.9.0 at http://127.0.0.1:9187: ok', 'SERVICE  HEALTH  CHECKED  LATENCY', 'odd      -       -        -'],
    },
    {
      name: "an older daemon's /healthz: the open incident is its id, no latency",
      body: { ...TOP, status: 'ok', services: [{ name: 'dead-drop', health: 'unhealthy', consecutive_failures: 3, open_incident: '2026-12-02T17-37-47.000Z', last_check_age_seconds: 0.3, max_check_age_seconds: 30 }] },
      want: ['preflight 0.9.0 at http://127.0.0.1:9187: ok, up 2h03m', 'SERVICE    HEALTH     CHECKED   LATENCY  INCIDENT', 'dead-drop  unhealthy  0.3s ago  -        open'],
    },
    {
      name: 'before the first check',
      body: { ...TOP, status: 'starting', services: [{ name: 'web', health: 'healthy', last_check_age_seconds: null, max_check_age_seconds: 90, last_check: null }] },
      want: ['preflight 0.9.0 at http://127.0.0.1:9187: starting, up 2h03m', 'SERVICE  HEALTH   CHECKED  LATENCY', 'web      healthy  not yet  -'],
    },
    {
      name: 'a narrow terminal: columns cut at its width, an ellipsis where a cell is cut',
      body: { ...TOP, services: [WEB, DOWN] },
      opts: { colour: false, columns: 60 },
      want: [
        'preflight 0.9.0 at http://127.0.0.1:9187: ok, up 2h03m',
        'SERVICE    HEALTH     CHECKED   LATENCY  INCIDENT',
        'web        healthy    1.4s ago  3 ms     -',
        'dead-drop  unhealthy  0.7s ago  12 ms    flapping 2m13s, 3 …',
      ],
    },
    {
      name: 'colour: health, the late check, the incident, the mute; padding stays outside the codes',
      body: { ...TOP, services: [WEB, { ...DOWN, muted: undefined, last_check: { ok: false, latency_ms: 12 } }, HUNG] },
      opts: { colour: true },
      want: [
        'preflight 0.9.0 at http://127.0.0.1:9187: \x1b[32mok\x1b[0m, up 2h03m',
        'SERVICE    HEALTH     CHECKED           LATENCY  INCIDENT                       UNIT            LAST ERROR',
        'web        \x1b[32mhealthy\x1b[0m    1.4s ago          3 ms     -                              active/running',
        'dead-drop  \x1b[31munhealthy\x1b[0m  0.7s ago          12 ms    \x1b[31mflapping 2m13s, 3 occurrences\x1b[0m  -',
        'slow       \x1b[33msuspect\x1b[0m    \x1b[33m2m05s ago (late)\x1b[0m  5000 ms  -                              -               \x1b[2mno response within 5000 ms (stalled at headers)\x1b[0m',
      ],
    },
    {
      name: "colour: the daemon's own verdict when it is stuck",
      body: { ...TOP, status: 'stuck', problems: ['slow: the last check completed 125 s ago (bound 90 s)'], services: [] },
      opts: { colour: true },
      want: ['preflight 0.9.0 at http://127.0.0.1:9187: \x1b[31mstuck\x1b[0m, up 2h03m', '  problem: slow: the last check completed 125 s ago (bound 90 s)', 'no services configured'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(renderStatus(viewOfApi(c.body, URL), c.opts ?? plain), c.want.join('\n'));
    });
  }
});

describe('renderStatus of the state file (listen: off)', () => {
  const now = Date.parse('2026-12-02T17:40:00.000Z');
  const cases: { name: string; state: unknown; want: string[] }[] = [
    {
      name: 'one open incident, one service with none',
      state: { version: 1, services: { web: { incidentId: '2026-12-02T17-38-00.000Z', firstFailureAt: now - 120_000, consecutiveFailures: 3 } }, last: {} },
      want: ['web      unhealthy  -        -        open 2m00s', 'db       -          -        -        -'],
    },
    { name: 'no open incident', state: { version: 1, services: {} }, want: ['web      -       -        -', 'db       -       -        -'] },
    { name: 'a file that is not a state', state: null, want: ['web      -       -        -', 'db       -       -        -'] },
  ];
  const head = [
    'listen: off, so no daemon to ask: this is what the daemon last wrote to /srv/snap/.state.json, 5m00s ago',
    '(it is written on each incident and recovery; whether a daemon runs now cannot be told from it)',
  ];
  for (const c of cases) {
    test(c.name, () => {
      const text = renderStatus(viewOfState(c.state, ['web', 'db'], '/srv/snap/.state.json', 300, now), plain);
      const lines = text.split('\n');
      assert.deepEqual(lines.slice(0, 2), head);
      assert.deepEqual(lines.slice(3), c.want);
    });
  }
});

describe('statusJson', () => {
  test('the same keys from any source, absent ones null', () => {
    assert.deepEqual(statusJson(viewOfApi({ ...TOP, services: [DOWN, { name: 'bare' }] }, URL)), {
      source: { kind: 'api', url: URL },
      daemon: { status: 'ok', problems: [], version: '0.9.0', uptime_seconds: 7380 },
      services: [
        {
          name: 'dead-drop',
          health: 'unhealthy',
          consecutive_failures: 4,
          last_check_age_seconds: 0.7,
          max_check_age_seconds: 90,
          last_check: { ok: false, latency_ms: 12, error: 'HTTP 503 Service Unavailable' },
          open_incident: { id: '2026-12-02T17-37-47.000Z', age_seconds: 133, state: 'flapping', occurrences: 3 },
          muted: { until: '2026-12-02T18:00:00.000Z', reason: 'deploy' },
          unit: null,
        },
        { name: 'bare', health: null, consecutive_failures: null, last_check_age_seconds: null, max_check_age_seconds: null, last_check: null, open_incident: null, muted: null, unit: null },
      ],
    });
  });
});

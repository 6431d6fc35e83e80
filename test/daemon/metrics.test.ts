// /metrics rendering: escaping and values as tables, the exposition's structure checked line by line,
// and promtool's verdict when promtool is on PATH (test/e2e/api.test.ts installs it where missing).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import type { DaemonStatus } from '../../src/daemon/daemon';
import { escapeHelp, escapeLabelValue, family, formatValue, renderMetrics } from '../../src/daemon/metrics';
import { serviceStatus } from './_helpers';

const service = serviceStatus;

const busy: DaemonStatus = {
  startedAt: 1,
  lastSampleAt: 2,
  lastSampleAgeMs: 1,
  uptimeMs: 1,
  lastSampleDurationMs: 12.5,
  lastCaptureDurationMs: 812,
  services: [
    service({ name: 'web', lastProbe: { at: 1, ok: true, status: 200, latencyMs: 35 }, muted: null }),
    service({
      name: 'dead-drop',
      health: 'unhealthy',
      consecutiveFailures: 4,
      lastProbe: { at: 1, ok: false, status: 503, latencyMs: 1500, errorKind: 'http_status' },
      openIncidentId: '2026-11-25T03-04-05.123Z',
      incidentsTotal: { health_check: 2, unit_restart: 1, manual: 0 },
      unitRestartsTotal: 3,
      muted: { until: '2026-11-25T04:00:00.000Z', reason: 'deploy' },
    }),
  ],
  notifications: { queued: 0, delivered: 2, failed: 1, dropped: 0 },
  store: { parkedFallback: 2, parkedMemory: 1, writeFailuresTotal: 5 },
};

const idle: DaemonStatus = { startedAt: 0, lastSampleAt: null, lastSampleAgeMs: null, uptimeMs: 0, lastSampleDurationMs: null, lastCaptureDurationMs: null, services: [service()], notifications: null };

describe('exposition pieces', () => {
  test('label values', () => {
    const cases: { name: string; input: string; want: string }[] = [
      { name: 'plain', input: 'web', want: 'web' },
      { name: 'quote', input: 'a"b', want: 'a\\"b' },
      { name: 'backslash', input: 'a\\b', want: 'a\\\\b' },
      { name: 'newline', input: 'a\nb', want: 'a\\nb' },
      { name: 'all, backslash first', input: '\\"\n', want: '\\\\\\"\\n' },
      { name: 'empty', input: '', want: '' },
      { name: 'UTF-8 passes', input: 'wéb', want: 'wéb' },
    ];
    for (const c of cases) assert.equal(escapeLabelValue(c.input), c.want, c.name);
  });

  test('help text keeps quotes, escapes backslash and newline', () => {
    assert.equal(escapeHelp('say "hi"\\\nbye'), 'say "hi"\\\\\\nbye');
  });

  test('values', () => {
    const cases: { name: string; input: number; want: string }[] = [
      { name: 'integer', input: 3, want: '3' },
      { name: 'zero', input: 0, want: '0' },
      { name: 'fraction', input: 0.035, want: '0.035' },
      { name: 'tiny', input: 1e-7, want: '1e-7' },
      { name: 'NaN', input: Number.NaN, want: 'NaN' },
      { name: '+Inf', input: Infinity, want: '+Inf' },
      { name: '-Inf', input: -Infinity, want: '-Inf' },
    ];
    for (const c of cases) assert.equal(formatValue(c.input), c.want, c.name);
  });

  test('a family: HELP, TYPE, samples', () => {
    assert.deepEqual(family('x_total', 'counter', 'X.', [[{ a: '1', b: 'q"' }, 2], [{}, 1]]), [
      '# HELP x_total X.',
      '# TYPE x_total counter',
      'x_total{a="1",b="q\\""} 2',
      'x_total 1',
    ]);
  });
});

/** name -> { type, samples } parsed back from the text, asserting the structure on the way. */
function parse(text: string): Map<string, { type: string; samples: string[] }> {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const families = new Map<string, { type: string; samples: string[] }>();
  let current: string | null = null;
  const lines = text.slice(0, -1).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const help = /^# HELP (\w+) .+$/.exec(line);
    if (help) {
      const name = help[1]!;
      assert.ok(!families.has(name), `${name}: a second family block`);
      const type = /^# TYPE (\w+) (counter|gauge)$/.exec(lines[++i] ?? '');
      assert.equal(type?.[1], name, `TYPE follows HELP for ${name}`);
      families.set(name, { type: type![2]!, samples: [] });
      current = name;
      continue;
    }
    const sample = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
    assert.ok(sample, `not a sample line: ${line}`);
    assert.equal(sample[1], current, `sample of ${sample[1]} inside the ${current} family`);
    families.get(current!)!.samples.push(line);
  }
  return families;
}

describe('renderMetrics', () => {
  const text = renderMetrics({ status: busy, version: '0.1.0', nodeVersion: 'v18.15.0' });
  const families = parse(text);

  test('every metric the issue names, with its type', () => {
    const want: Record<string, string> = {
      preflight_service_up: 'gauge',
      preflight_probe_duration_seconds: 'gauge',
      preflight_consecutive_failures: 'gauge',
      preflight_incidents_total: 'counter',
      preflight_unit_restarts_total: 'counter',
      preflight_service_muted: 'gauge',
      preflight_capture_duration_seconds: 'gauge',
      preflight_sample_duration_seconds: 'gauge',
      preflight_notify_failures_total: 'counter',
      preflight_snapshots_parked: 'gauge',
      preflight_snapshot_write_failures_total: 'counter',
      preflight_build_info: 'gauge',
    };
    assert.deepEqual(Object.fromEntries([...families].map(([k, v]) => [k, v.type])), want);
    for (const [name, f] of families) if (f.type === 'counter') assert.match(name, /_total$/);
  });

  test('the values', () => {
    const cases: { name: string; input: string; want: string[] }[] = [
      { name: 'up', input: 'preflight_service_up', want: ['preflight_service_up{service="web"} 1', 'preflight_service_up{service="dead-drop"} 0'] },
      {
        name: 'probe duration in seconds',
        input: 'preflight_probe_duration_seconds',
        want: ['preflight_probe_duration_seconds{service="web"} 0.035', 'preflight_probe_duration_seconds{service="dead-drop"} 1.5'],
      },
      { name: 'muted (mute or maintenance window)', input: 'preflight_service_muted', want: ['preflight_service_muted{service="web"} 0', 'preflight_service_muted{service="dead-drop"} 1'] },
      { name: 'failures', input: 'preflight_consecutive_failures', want: ['preflight_consecutive_failures{service="web"} 0', 'preflight_consecutive_failures{service="dead-drop"} 4'] },
      {
        name: 'incidents by trigger, zeros included',
        input: 'preflight_incidents_total',
        want: [
          'preflight_incidents_total{service="web",trigger="health_check"} 0',
          'preflight_incidents_total{service="web",trigger="unit_restart"} 0',
          'preflight_incidents_total{service="web",trigger="manual"} 0',
          'preflight_incidents_total{service="dead-drop",trigger="health_check"} 2',
          'preflight_incidents_total{service="dead-drop",trigger="unit_restart"} 1',
          'preflight_incidents_total{service="dead-drop",trigger="manual"} 0',
        ],
      },
      { name: 'restarts', input: 'preflight_unit_restarts_total', want: ['preflight_unit_restarts_total{service="web"} 0', 'preflight_unit_restarts_total{service="dead-drop"} 3'] },
      { name: 'capture', input: 'preflight_capture_duration_seconds', want: ['preflight_capture_duration_seconds 0.812'] },
      { name: 'sample', input: 'preflight_sample_duration_seconds', want: ['preflight_sample_duration_seconds 0.0125'] },
      { name: 'notify failures', input: 'preflight_notify_failures_total', want: ['preflight_notify_failures_total 1'] },
      {
        name: 'parked, by where',
        input: 'preflight_snapshots_parked',
        want: ['preflight_snapshots_parked{where="fallback"} 2', 'preflight_snapshots_parked{where="memory"} 1'],
      },
      { name: 'write failures', input: 'preflight_snapshot_write_failures_total', want: ['preflight_snapshot_write_failures_total 5'] },
      { name: 'build info', input: 'preflight_build_info', want: ['preflight_build_info{version="0.1.0",node="v18.15.0"} 1'] },
    ];
    for (const c of cases) assert.deepEqual(families.get(c.input)?.samples, c.want, c.name);
  });

  test('a daemon that has not probed or sampled yet: families without made-up samples', () => {
    const f = parse(renderMetrics({ status: idle, version: '0.1.0', nodeVersion: 'v18.15.0' }));
    assert.deepEqual(f.get('preflight_probe_duration_seconds')?.samples, []);
    assert.deepEqual(f.get('preflight_capture_duration_seconds')?.samples, []);
    assert.deepEqual(f.get('preflight_notify_failures_total')?.samples, ['preflight_notify_failures_total 0']);
    assert.deepEqual(f.get('preflight_snapshots_parked')?.samples, []);
  });

  test('the capture coordinator: captures, commands, abandoned and unreaped children (only with DaemonStatus.commands)', () => {
    const commands = { limit: 8, running: 7, waiting: 3, abandonedTotal: 2, unreaped: 1, capturesRunning: 4, capturesWaiting: 96 };
    const f = parse(renderMetrics({ status: { ...busy, commands }, version: '0.1.0', nodeVersion: 'v18.15.0' }));
    const cases: { input: string; type: string; want: string[] }[] = [
      { input: 'preflight_captures_running', type: 'gauge', want: ['preflight_captures_running 4'] },
      { input: 'preflight_captures_waiting', type: 'gauge', want: ['preflight_captures_waiting 96'] },
      { input: 'preflight_commands_running', type: 'gauge', want: ['preflight_commands_running 7'] },
      { input: 'preflight_commands_abandoned_total', type: 'counter', want: ['preflight_commands_abandoned_total 2'] },
      { input: 'preflight_commands_unreaped', type: 'gauge', want: ['preflight_commands_unreaped 1'] },
    ];
    for (const c of cases) assert.deepEqual({ type: f.get(c.input)?.type, samples: f.get(c.input)?.samples }, { type: c.type, samples: c.want }, c.input);
    assert.equal(families.has('preflight_commands_running'), false, 'a status without commands has none of them');
  });

  test('promtool check metrics accepts both (when promtool is installed)', (t) => {
    const which = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
    const promtool = which.stdout.trim();
    if (which.status !== 0 || !promtool) {
      t.skip('promtool not on PATH (test/e2e/tools/ensure-promtool.sh installs it; the e2e metrics test runs it)');
      return;
    }
    for (const status of [busy, idle]) {
      const input = renderMetrics({ status, version: 'a"b\\c\nd', nodeVersion: 'v18.15.0' });
      const r = spawnSync(promtool, ['check', 'metrics'], { input, encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
      assert.equal(`${r.stdout}${r.stderr}`.trim(), '');
    }
  });
});

// /metrics: the daemon's status in the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): one HELP and one TYPE line per family,
// all of a family's samples together, counters ending in _total, units in the name (seconds).
// `promtool check metrics` must accept the output (test/e2e/api.test.ts runs it).
//
// Decisions:
// - preflight_service_up is preflight's own judgement: 0 only once a failure is confirmed
//   (failure_threshold), so a single blip does not page; consecutive_failures shows the raw count.
// - Durations are of the last probe, sample and capture (gauges): the daemon keeps no histograms.
// - A service not probed yet has no probe_duration sample rather than a made-up 0.
import type { Trigger } from '../incident/snapshot';
import type { DaemonStatus } from './daemon';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const TRIGGERS: Trigger[] = ['health_check', 'unit_restart', 'manual'];

type Labels = Record<string, string>;
type Sample = [Labels, number];

/** A label value inside double quotes: backslash, double quote and line feed escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: backslash and line feed escaped. */
export function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value: Go's float syntax for the special values, shortest round-trip decimal otherwise. */
export function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

function labelText(labels: Labels): string {
  const pairs = Object.entries(labels);
  if (pairs.length === 0) return '';
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

/** One metric family: HELP, TYPE and its samples. */
export function family(name: string, type: 'counter' | 'gauge', help: string, samples: Sample[]): string[] {
  return [`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`, ...samples.map(([l, v]) => `${name}${labelText(l)} ${formatValue(v)}`)];
}

export interface MetricsInput {
  status: DaemonStatus;
  version: string;
  /** process.version */
  nodeVersion: string;
}

/** The capture coordinator's gauges and counters; none when the status has no `commands` (built elsewhere). */
function commandFamilies(status: DaemonStatus): string[] {
  const c = status.commands;
  if (!c) return [];
  return [
    ...family('preflight_captures_running', 'gauge', 'Context captures running now (under the global limit on concurrent captures).', [[{}, c.capturesRunning]]),
    ...family('preflight_captures_waiting', 'gauge', 'Context captures waiting for their turn.', [[{}, c.capturesWaiting]]),
    ...family('preflight_commands_running', 'gauge', `Child processes (journalctl, systemctl) running now, at most ${c.limit}.`, [[{}, c.running]]),
    ...family(
      'preflight_commands_abandoned_total',
      'counter',
      'Commands whose deadline settled the call before the child exited (it ignored SIGKILL, e.g. in uninterruptible sleep).',
      [[{}, c.abandonedTotal]],
    ),
    ...family('preflight_commands_unreaped', 'gauge', 'Abandoned child processes that have not exited yet.', [[{}, c.unreaped]]),
  ];
}

export function renderMetrics({ status, version, nodeVersion }: MetricsInput): string {
  const svc = status.services;
  const ms = (x: number | null): Sample[] => (x === null ? [] : [[{}, x / 1000]]);
  const lines = [
    ...family(
      'preflight_service_up',
      'gauge',
      '1 unless a failure of the service is confirmed (failure_threshold consecutive failed checks), then 0.',
      svc.map((s) => [{ service: s.name }, s.health === 'unhealthy' ? 0 : 1]),
    ),
    ...family(
      'preflight_probe_duration_seconds',
      'gauge',
      'How long the last health check took, to its answer or its failure.',
      svc.flatMap((s): Sample[] => (s.lastProbe ? [[{ service: s.name }, s.lastProbe.latencyMs / 1000]] : [])),
    ),
    ...family(
      'preflight_consecutive_failures',
      'gauge',
      'Failed health checks in a row (0 after a passing one).',
      svc.map((s) => [{ service: s.name }, s.consecutiveFailures]),
    ),
    ...family(
      'preflight_incidents_total',
      'counter',
      'Snapshots committed since preflight started, by what triggered them.',
      svc.flatMap((s) => TRIGGERS.map((t): Sample => [{ service: s.name, trigger: t }, s.incidentsTotal[t]])),
    ),
    ...family(
      'preflight_unit_restarts_total',
      'counter',
      'Restarts of the service unit by systemd seen since preflight started.',
      svc.map((s) => [{ service: s.name }, s.unitRestartsTotal]),
    ),
    ...family(
      'preflight_service_muted',
      'gauge',
      '1 while a mute (preflight mute) or a maintenance window holds the service\'s notifications (failures are still captured), else 0.',
      svc.flatMap((s): Sample[] => (s.muted === undefined ? [] : [[{ service: s.name }, s.muted ? 1 : 0]])),
    ),
    ...family('preflight_capture_duration_seconds', 'gauge', 'How long the last context capture took.', ms(status.lastCaptureDurationMs)),
    ...family('preflight_sample_duration_seconds', 'gauge', 'How long the last host sample took.', ms(status.lastSampleDurationMs)),
    ...family(
      'preflight_notify_failures_total',
      'counter',
      'Notifications that were not delivered after their last retry (or were refused by a full queue).',
      [[{}, status.notifications?.failed ?? 0]],
    ),
    // a daemon without a store in its status (a test's) has no samples rather than made-up zeros
    ...family(
      'preflight_snapshots_parked',
      'gauge',
      'Snapshots the snapshot dir could not take, waiting to be moved back: in the fallback folder, or in memory when that failed too.',
      status.store ? [[{ where: 'fallback' }, status.store.parkedFallback], [{ where: 'memory' }, status.store.parkedMemory]] : [],
    ),
    ...family(
      'preflight_snapshot_write_failures_total',
      'counter',
      'Writes of a snapshot into the snapshot dir that failed (each one parked instead, never dropped).',
      status.store ? [[{}, status.store.writeFailuresTotal]] : [],
    ),
    ...commandFamilies(status),
    ...family('preflight_build_info', 'gauge', 'Always 1; the labels say which preflight and Node run.', [[{ version, node: nodeVersion }, 1]]),
  ];
  return `${lines.join('\n')}\n`;
}

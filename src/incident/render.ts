// The text form of a snapshot for `preflight last` and `preflight show`: what failed, why it most
// likely failed, and the evidence, readable in a terminal at 03:00 without jq.
import type { HostSample } from '../sample/host';
import type { Snapshot, SnapshotProcess } from './snapshot';
import { clip } from '../util/text';

const ERROR_WORDS: Record<string, string> = {
  http_status: 'unexpected HTTP status',
  timeout: 'timed out',
  connection_refused: 'connection refused',
  dns: 'DNS lookup failed',
  tls: 'TLS failure',
  reset: 'connection reset',
  body_mismatch: 'unexpected body',
  unit: 'unit failed',
};

const hhmmss = (at: string): string => at.slice(11, 19);
const when = (at: string): string => `${at.slice(0, 10)} ${at.slice(11, 19)} UTC`;
const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : `${Math.round(x)}%`);

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 || u === 0 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}


function table(rows: string[][], indent = '  '): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

function timeline(samples: HostSample[], max: number): string[] {
  const shown = samples.slice(-max);
  if (shown.length === 0) return ['  (no host samples)'];
  const disks = Object.keys(shown[shown.length - 1]!.disk_used_percent);
  const head = ['time', 'cpu', 'ram', 'swap', 'load1', ...disks.map((d) => `disk ${d}`), 'psi mem', 'psi io'];
  const rows = shown.map((s) => [
    hhmmss(s.at),
    pct(s.cpu_percent),
    pct(s.mem_used_percent),
    pct(s.swap_used_percent),
    s.load1 === null ? '-' : s.load1.toFixed(2),
    ...disks.map((d) => pct(s.disk_used_percent[d])),
    s.psi_memory_some_avg10 === null ? '-' : s.psi_memory_some_avg10.toFixed(1),
    s.psi_io_some_avg10 === null ? '-' : s.psi_io_some_avg10.toFixed(1),
  ]);
  return table([head, ...rows]);
}

function processes(list: SnapshotProcess[]): string[] {
  if (list.length === 0) return ['  (none)'];
  return table([
    ['PID', 'CPU', 'RSS', 'COMMAND'],
    ...list.map((p) => [String(p.pid), `${p.cpu_percent.toFixed(1)}%`, formatBytes(p.rss_bytes), clip(p.cmdline || p.command, 100)]),
  ]);
}

export function renderSnapshot(
  s: Snapshot,
  opts: { path?: string; timelineRows?: number; logLines?: number; processRows?: number } = {},
): string {
  const out: string[] = [];
  const status = s.recovery
    ? `recovered at ${when(s.recovery.at)} after ${formatDuration(s.recovery.downtime_seconds)}`
    : 'not recovered when captured';
  out.push(`${s.service} failed at ${when(s.transition.first_failure_at)} (${s.trigger.replace('_', ' ')}); ${status}`);
  if (s.error) {
    const what = ERROR_WORDS[s.error.kind] ?? s.error.kind;
    const detail = s.error.message && s.error.message !== what ? `: ${s.error.message}` : '';
    out.push(`  what failed: ${what}${detail}${s.health_url ? ` (${s.health_url})` : ''}`);
  }
  if (s.exit) out.push(`  exit: code=${s.exit.code} status=${s.exit.status}${s.exit.at ? ` at ${hhmmss(s.exit.at)}` : ''}`);
  out.push(`  confirmed: ${s.transition.confirmed_at ? when(s.transition.confirmed_at) : '-'} after ${s.transition.consecutive_failures} failed check(s)`);
  out.push(`  host: ${s.summary}`);
  const [first, ...rest] = s.findings;
  if (first) {
    out.push(`  probable cause: ${first.cause}`);
    for (const e of first.evidence) out.push(`    · ${e}`);
    for (const f of rest) {
      out.push(`  also: ${f.cause}`);
      for (const e of f.evidence) out.push(`    · ${e}`);
    }
  } else {
    out.push('  probable cause: none found in the captured evidence');
  }
  out.push('', 'host before the failure:', ...timeline(s.samples.host, opts.timelineRows ?? 12));
  if (s.samples.probe.length > 0) {
    out.push('', 'health checks:');
    out.push(
      ...table(
        s.samples.probe.slice(-10).map((p) => [
          hhmmss(p.at),
          p.ok ? 'ok' : 'FAIL',
          p.status === null ? '-' : String(p.status),
          `${Math.round(p.latency_ms)} ms`,
          p.error_kind ?? '',
        ]),
      ),
    );
  }
  if (s.processes) {
    const n = opts.processRows ?? 5;
    out.push('', 'top processes by cpu:', ...processes(s.processes.top_cpu.slice(0, n)));
    out.push('', 'top processes by memory:', ...processes(s.processes.top_memory.slice(0, n)));
  }
  if (s.unit) {
    const u = s.unit;
    const bits = [
      `${u.ActiveState ?? '?'}/${u.SubState ?? '?'}`,
      u.Result ? `result ${u.Result}` : '',
      u.NRestarts ? `restarts ${u.NRestarts}` : '',
      u.MainPID && u.MainPID !== '0' ? `main pid ${u.MainPID}` : '',
    ].filter(Boolean);
    out.push('', `unit ${u.Id ?? ''}: ${bits.join(', ')}`);
  }
  const logLines = opts.logLines ?? 20;
  if (s.journal.length > 0) {
    out.push('', `last log lines${s.unit?.Id ? ` (${s.unit.Id})` : ''}:`);
    for (const j of s.journal.slice(-logLines)) out.push(`  ${hhmmss(j.at)} ${j.pid === null ? '' : `[${j.pid}] `}${j.message}`);
  }
  if (s.kernel.length > 0) {
    out.push('', 'kernel:');
    for (const k of s.kernel.slice(-logLines)) out.push(`  ${hhmmss(k.at)} ${k.message}`);
  }
  if (s.capture.errors.length > 0) {
    out.push('', 'not captured:');
    for (const e of s.capture.errors) out.push(`  ${e.part}: ${e.reason}`);
  }
  if (s.recovery && s.recovery.samples.length > 0) {
    out.push('', 'host from the failure to the recovery:', ...timeline(s.recovery.samples, 6));
  }
  if (opts.path) out.push('', `file: ${opts.path}`);
  return out.join('\n');
}

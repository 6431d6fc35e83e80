// The text form of a snapshot for `preflight last` and `preflight show`: what failed, why it most
// likely failed, and the evidence, readable in a terminal at 03:00 without jq.
import type { HostSample } from '../sample/host';
import { upgradeSnapshot, type Finding, type Snapshot, type SnapshotProcess } from './snapshot';
import { clip } from '../util/text';
import { hhmmss, withoutTime } from '../util/time';
import { formatBytes, formatDuration } from '../util/units';
import { unitFailed } from './unit-failed';

export { formatBytes, formatDuration };

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

const when = (at: string): string => `${at.slice(0, 10)} ${at.slice(11, 19)} UTC`;
const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : `${Math.round(x)}%`);

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

const SCOPE_WORDS: Record<string, string> = {
  invocation: 'this run',
  unit: 'this unit',
  dependency: 'a dependency',
  host: 'the host',
  other: 'another unit',
};
const TRIGGER_WORDS: Record<string, string> = { health_check: 'health check failed', unit_restart: 'restarted by systemd', manual: 'manual snapshot' };

/** A quoted evidence line with its leading ISO time said as HH:MM:SS. */
function quoted(q: string): string {
  const bare = withoutTime(q);
  return bare === q ? q : `${hhmmss(q)} ${bare}`;
}

/** `[certain, this run]`, or nothing for a version 1 finding. */
function grade(f: Finding): string {
  const bits = [f.confidence, f.scope ? SCOPE_WORDS[f.scope] ?? f.scope : undefined].filter(Boolean);
  return bits.length > 0 ? ` [${bits.join(', ')}]` : '';
}

/** The first screen: what happened, why (with the line it rests on), and the service's last words. */
function head(s: Snapshot): string[] {
  const out: string[] = [];
  const status = s.recovery
    ? `recovered at ${when(s.recovery.at)} after ${formatDuration(s.recovery.downtime_seconds)}`
    : 'not recovered when captured';
  const trigger = unitFailed(s) ? 'its unit failed' : (TRIGGER_WORDS[s.trigger] ?? s.trigger);
  out.push(`${s.service} failed at ${when(s.transition.first_failure_at)} (${trigger}); ${status}`);
  const first = s.findings[0];
  const told = first !== undefined && first.cause === s.probable_cause;
  // version 2 quotes the line bare (its time is the finding's `at`); version 1 has only the evidence
  const quote = told ? (first.quote != null ? `${first.at ? `${hhmmss(first.at)} ` : ''}${first.quote}` : first.evidence[0] && quoted(first.evidence[0])) : undefined;
  out.push(`  probable cause: ${s.probable_cause}${told ? grade(first) : ''}${quote ? ` · ${quote}` : ''}`);
  const words = s.last_words[s.last_words.length - 1];
  if (words && !(quote ?? '').includes(words.message.trim().replace(/\s+/g, ' ').slice(0, 80))) {
    out.push(`  last words: ${hhmmss(words.at)} ${clip(words.message.replace(/\s+/g, ' ').trim(), 200)}`);
  }
  // line 2 stays the probable cause (what a glance reads); an episode of one reads as it always did
  const e = s.episode;
  if (e && (e.occurrences > 1 || e.restarts > 0)) {
    const restarts = e.restarts > 0 ? `, ${e.restarts} restart${e.restarts === 1 ? '' : 's'}` : '';
    out.push(`  episode: ${e.state}, ${e.occurrences} failure${e.occurrences === 1 ? '' : 's'}${restarts}, ${formatDuration(e.downtime_seconds)} down in total`);
  }
  if (s.muted) out.push(`  muted until ${when(s.muted.until)}${s.muted.reason ? ` (${s.muted.reason})` : ''}: not notified then`);
  return out;
}

/** An episode's later failures, compact (the newest 20), and where its probable cause changed. */
function occurrenceLines(s: Snapshot): string[] {
  const list = s.occurrences ?? [];
  if (list.length <= 1) return [];
  const dropped = s.episode?.occurrences_dropped ?? 0;
  const out = ['', `occurrences${dropped > 0 ? ` (${dropped} more not kept)` : ''}:`];
  const rows = list.slice(-20).map((o) => [
    when(o.at),
    o.error ? (ERROR_WORDS[o.error.kind] ?? o.error.kind) + (o.error.status !== null ? ` ${o.error.status}` : '') : o.exit ? `exit ${o.exit.code} ${o.exit.status}` : (TRIGGER_WORDS[o.trigger] ?? o.trigger),
    o.duration_seconds === null ? 'still down' : `${formatDuration(o.duration_seconds)} down`,
    o.finding ?? 'no finding',
  ]);
  out.push(...table(rows));
  for (const c of s.captures ?? []) out.push(`  cause changed at ${when(c.at)}: ${c.probable_cause}`);
  return out;
}

export function renderSnapshot(
  s0: Snapshot,
  opts: { path?: string; timelineRows?: number; logLines?: number; processRows?: number } = {},
): string {
  const s = upgradeSnapshot(s0);
  const out = head(s);
  if (s.error) {
    const what = ERROR_WORDS[s.error.kind] ?? s.error.kind;
    const detail = s.error.message && s.error.message !== what ? `: ${s.error.message}` : '';
    const body = s.error.body ? `; answered: ${clip(s.error.body.replace(/\s+/g, ' ').trim(), 120)}` : '';
    out.push(`  what failed: ${what}${detail}${s.health_url ? ` (${s.health_url})` : ''}${body}`);
  }
  if (s.exit) out.push(`  exit: code=${s.exit.code} status=${s.exit.status}${s.exit.at ? ` at ${hhmmss(s.exit.at)}` : ''}`);
  out.push(`  host: ${s.summary}`);
  const [first, ...rest] = s.findings;
  if (first) {
    out.push('', `evidence for "${first.cause}"${grade(first)}:`);
    for (const e of first.evidence) out.push(`  · ${e}`);
    for (const f of rest) {
      out.push(`also${grade(f)}: ${f.cause}`);
      for (const e of f.evidence) out.push(`  · ${e}`);
    }
  }
  if (s.context.length > 0) {
    out.push('', 'seen, not blamed:');
    for (const f of s.context) out.push(`  ${f.cause}`, ...f.evidence.slice(0, 1).map((e) => `    · ${e}`));
  }
  out.push(...occurrenceLines(s));
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

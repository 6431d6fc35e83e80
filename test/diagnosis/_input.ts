// Inputs for the diagnosis tests: the real captures in fixtures/cmd (the sandboxed systemd 252's crash
// and OOM kill, the published cgroup v2 OOM kill) as a capture holds them, host samples placed in time
// around one first failure, and a check that asserts the FIRST finding and the whole order.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { diagnose, type Diagnosis, type DiagnosisInput } from '../../src/diagnosis';
import { journalLine } from '../../src/incident/capture';
import type { Finding, SnapshotError, SnapshotJournalLine, SnapshotKernelLine } from '../../src/incident/snapshot';
import type { HostSample } from '../../src/sample/host';
import { parseJournalJson } from '../../src/systemd/journal';
import { parseSystemctlShow } from '../../src/systemd/unit';

export const FIXTURES = path.join(__dirname, '..', '..', 'fixtures');
const cmd = (name: string): string => fs.readFileSync(path.join(FIXTURES, 'cmd', name), 'utf8');

/** A journal fixture as a capture holds it: time order (the fixtures are `journalctl -r`, newest first). */
export function journal(name: string): SnapshotJournalLine[] {
  return parseJournalJson(cmd(name), { maxMessageChars: 2000 }).entries.reverse().map(journalLine);
}
export const kernelOf = (lines: SnapshotJournalLine[]): SnapshotKernelLine[] => lines.map(({ at, priority, message }) => ({ at, priority, message }));

/** One unit's raw `systemctl show` properties from a fixture, with edits for edge cases. */
export function unit(name: string, block = 0, edit: Record<string, string> = {}): Record<string, string> {
  const u = parseSystemctlShow(cmd(name))[block];
  assert.ok(u, `${name} has block ${block}`);
  return { ...u.properties, ...edit };
}

/** The first failure every case is placed around: 60 ms after the real flaky crash of the fixtures. */
export const FF = '2026-11-25T16:37:17.800Z';
const FF_MS = Date.parse(FF);
/** `FF` moved by so many seconds. */
export const at = (seconds: number): string => new Date(FF_MS + seconds * 1000).toISOString();

const GiB = 1024 ** 3;
/** A calm host sample (2 CPUs, 16 GiB, 2 GiB swap, / half full) `seconds` from the first failure, edited. */
export function sample(edit: Partial<HostSample> = {}, seconds = 0): HostSample {
  return {
    at: at(seconds),
    cpu_percent: 12,
    iowait_percent: 0.5,
    steal_percent: 0,
    mem_used_percent: 50,
    mem_total_bytes: 16 * GiB,
    mem_available_bytes: 8 * GiB,
    mem_used_bytes: 8 * GiB,
    swap_used_percent: 0,
    swap_total_bytes: 2 * GiB,
    swap_used_bytes: 0,
    load1: 0.4,
    load5: 0.3,
    load15: 0.2,
    procs_running: 1,
    procs_blocked: 0,
    psi_cpu_some_avg10: 0.3,
    psi_cpu_full_avg10: 0,
    psi_memory_some_avg10: 0,
    psi_memory_full_avg10: 0,
    psi_io_some_avg10: 0,
    psi_io_full_avg10: 0,
    disk_used_percent: { '/': 50 },
    disk_available_bytes: { '/': 20 * GiB },
    disk_inodes_used_percent: { '/': 10 },
    ...edit,
  };
}
/** n calm samples, 5 s apart, the last at the first failure. */
export const calm = (n: number): HostSample[] => Array.from({ length: n }, (_, i) => sample({}, (i - n + 1) * 5));
export const disk = (used: number, free = 0.3 * GiB, mount = '/'): Partial<HostSample> => ({
  disk_used_percent: { [mount]: used },
  disk_available_bytes: { [mount]: free },
  disk_inodes_used_percent: { [mount]: 10 },
});
export const memAvail = (fraction: number): Partial<HostSample> => ({ mem_available_bytes: fraction * 16 * GiB });

export const err = (kind: SnapshotError['kind'], message: string, status: number | null = null, latency: number | null = 5000): SnapshotError => ({
  kind,
  status,
  message,
  latency_ms: latency,
});
export const TIMEOUT = err('timeout', 'no response within 5000 ms');
export const REFUSED = err('connection_refused', 'connect ECONNREFUSED 127.0.0.1:18170', null, 1);
export const HTTP_503 = err('http_status', 'HTTP 503 Service Unavailable', 503, 12);

/** systemd's own line about a unit (PID 1, UNIT= set). */
export const sd = (seconds: number, message: string, priority = 5, extra: Partial<SnapshotJournalLine> = {}): SnapshotJournalLine => ({
  at: at(seconds),
  priority,
  pid: 1,
  message,
  systemd: true,
  ...extra,
});
/** The service's own line, of run `invocation`. */
export const own = (seconds: number, message: string, invocation = 'run1', priority = 6): SnapshotJournalLine => ({
  at: at(seconds),
  priority,
  pid: 70,
  message,
  invocation,
});

export function input(edit: Partial<DiagnosisInput> = {}): DiagnosisInput {
  return {
    trigger: 'health_check',
    error: null,
    unit: null,
    exit: null,
    journal: [],
    kernel: [],
    samples: calm(4),
    cpus: 2,
    firstFailureAt: FF,
    confirmedAt: at(1),
    intervalSeconds: 5,
    ...edit,
  };
}

export interface Want {
  /** the first finding: its cause (exactly, or a pattern anchored by the caller), scope and confidence */
  first?: { cause: string | RegExp; scope: Finding['scope']; confidence: Finding['confidence'] };
  /** every finding's cause in order, exactly */
  causes?: Array<string | RegExp>;
  /** substrings the first finding's evidence must hold */
  evidence?: string[];
  /** substrings no finding's cause or evidence may hold */
  never?: string[];
  /** the causes kept as context, in order */
  context?: Array<string | RegExp>;
  probableCause?: string | RegExp;
}

const matches = (got: string, want: string | RegExp): boolean => (typeof want === 'string' ? got === want : want.test(got));

export function check(i: DiagnosisInput, want: Want): Diagnosis {
  const d = diagnose(i);
  const causes = d.findings.map((f) => f.cause);
  const shown = `findings: ${JSON.stringify(d.findings, null, 1)}\ncontext: ${JSON.stringify(d.context.map((f) => f.cause))}`;
  if (want.first) {
    const f = d.findings[0];
    assert.ok(f, `no finding; ${shown}`);
    assert.ok(matches(f.cause, want.first.cause), `first cause ${JSON.stringify(f.cause)}, want ${want.first.cause}; ${shown}`);
    assert.equal(f.scope, want.first.scope, `scope of ${f.cause}`);
    assert.equal(f.confidence, want.first.confidence, `confidence of ${f.cause}`);
  }
  if (want.causes) {
    assert.equal(causes.length, want.causes.length, shown);
    want.causes.forEach((w, k) => assert.ok(matches(causes[k] ?? '', w), `cause ${k}: ${JSON.stringify(causes[k])}, want ${w}; ${shown}`));
  }
  for (const s of want.evidence ?? []) {
    const ev = d.findings[0]?.evidence ?? [];
    assert.ok(ev.some((e) => e.includes(s)), `evidence of the first finding lacks ${JSON.stringify(s)}: ${JSON.stringify(ev, null, 1)}`);
  }
  for (const s of want.never ?? []) {
    for (const f of d.findings) {
      assert.ok(!f.cause.includes(s) && !f.evidence.some((e) => e.includes(s)), `${JSON.stringify(s)} in finding ${JSON.stringify(f)}`);
    }
  }
  if (want.context) {
    const ctx = d.context.map((f) => f.cause);
    assert.equal(ctx.length, want.context.length, `context: ${JSON.stringify(ctx)}`);
    want.context.forEach((w, k) => assert.ok(matches(ctx[k] ?? '', w), `context ${k}: ${JSON.stringify(ctx[k])}, want ${w}`));
  }
  if (want.probableCause !== undefined) assert.ok(matches(d.probableCause, want.probableCause), `probable cause ${JSON.stringify(d.probableCause)}`);
  for (const f of d.findings) {
    // a notification's first line: short, and never without the lines it rests on
    assert.ok(f.cause.length <= 160, `cause too long for a phone: ${f.cause}`);
    assert.ok(f.evidence.length > 0, `no evidence for ${f.cause}`);
    assert.ok(f.scope !== undefined && f.confidence !== undefined && f.kind !== undefined, `untyped finding ${f.cause}`);
  }
  return d;
}

export type Case = { name: string; input: DiagnosisInput; want: Want };

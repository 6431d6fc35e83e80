// The golden snapshot: a crash of flaky.service built end to end from real captured inputs (the unit's
// journal across the crash, the kernel's OOM lines, systemctl show after the restart, /proc of the
// development VM, two process-table scans) with a fixed clock, through buildSnapshot (findings,
// summary, exit) and renderSnapshot. Any change to the snapshot or its text shows up as a diff here.
// Rewritten only on purpose: UPDATE_GOLDEN=1 node --import tsx --test test/incident/golden.test.ts
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { ServiceConfig } from '../../src/config/config';
import { buildSnapshot } from '../../src/incident/build';
import { hostFacts, journalLine, type CapturedContext } from '../../src/incident/capture';
import { renderSnapshot } from '../../src/incident/render';
import type { ProbeSample, Snapshot } from '../../src/incident/snapshot';
import { SnapshotStore } from '../../src/incident/store';
import { HostSampler } from '../../src/sample/host';
import { ProcessTable } from '../../src/sample/procs';
import { findDeadRunExit } from '../../src/systemd/exit';
import { parseJournalJson } from '../../src/systemd/journal';
import { classifyKernelLine } from '../../src/systemd/kernel';
import { parseSystemctlShow } from '../../src/systemd/unit';

const FIXTURES = path.resolve(__dirname, '..', '..', 'fixtures');
const GOLDEN = path.join(FIXTURES, 'golden');
// the crash's own time in the captured journal: every piece of evidence is then where it really was
const T0 = Date.parse('2026-11-25T16:37:17.732Z');
const tmp = mkdtempSync(path.join(tmpdir(), 'preflight-golden-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const service: ServiceConfig = {
  name: 'flaky',
  healthUrl: 'http://127.0.0.1:18170/health',
  unit: 'flaky.service',
  expectStatus: [{ min: 200, max: 399 }],
  intervalSeconds: 5,
  timeoutSeconds: 2,
  bufferSamples: 30,
};

function build() {
  const cmd = (f: string): string => readFileSync(path.join(FIXTURES, 'cmd', f), 'utf8');
  // both captures are journalctl -r output (newest first), as the readers ask for it; they hand lines
  // back in time order, and so does this
  const journal = parseJournalJson(cmd('journalctl-unit-flaky-crash.json'), { maxMessageChars: 2000 }).entries.reverse().map(journalLine);
  const kernel = parseJournalJson(cmd('journalctl-kernel-oom.json'), { maxMessageChars: 2000 })
    .entries.reverse()
    .filter((e) => classifyKernelLine(e.message) !== null)
    .map((e) => ({ at: e.at, priority: e.priority ?? null, message: e.message }));
  const unit = parseSystemctlShow(cmd('systemctl-show-restarted.txt'))[0]!;

  // two process scans one second apart: the captured procs-t0 and procs-t1 swapped into one root
  const procRoot = path.join(tmp, 'proc');
  cpSync(path.join(FIXTURES, 'edge', 'procs-t0', 'proc'), procRoot, { recursive: true });
  const table = new ProcessTable({ root: procRoot, pageSizeBytes: 4096 });
  table.scan(T0 - 1000);
  rmSync(procRoot, { recursive: true });
  cpSync(path.join(FIXTURES, 'edge', 'procs-t1', 'proc'), procRoot, { recursive: true });
  table.scan(T0);
  const { topCpu, topMemory } = table.top(5);
  const proc = (p: (typeof topCpu)[number]) => ({ pid: p.pid, command: p.comm, cmdline: p.cmdline, cpu_percent: Math.round(p.cpuPercent * 10) / 10, rss_bytes: p.rssBytes });

  const context: CapturedContext = {
    startedAt: T0,
    finishedAt: T0 + 512,
    host: { ...hostFacts(path.join(FIXTURES, 'proc')), cpus: 2, preflight_version: 'golden' },
    unit,
    journal,
    kernel,
    processes: { top_cpu: topCpu.map(proc), top_memory: topMemory.map(proc) },
    memoryEvents: null,
    errors: [{ part: 'memory.events', reason: 'cgroup v1: no memory.events for /system.slice/flaky.service' }],
  };

  // the VM's /proc, with /proc/stat's counters moving: 10 s of a 2-CPU box going from idle to busy
  const hostRoot = path.join(tmp, 'host', 'proc');
  cpSync(path.join(FIXTURES, 'proc'), hostRoot, { recursive: true });
  const sampler = new HostSampler({ root: hostRoot, disks: [], capacity: 30 });
  const probes: ProbeSample[] = [];
  let busy = 0;
  let idle = 0;
  return (async () => {
    for (let i = 4; i >= 0; i--) {
      busy += 200 * (4 - i) * 0.25;
      idle += 2000 - 200 * (4 - i) * 0.25;
      writeFileSync(path.join(hostRoot, 'stat'), `cpu  ${busy} 0 0 ${idle} 0 0 0 0 0 0\nprocs_running 3\nprocs_blocked 0\n`);
      await sampler.sample(T0 - i * 10_000);
      probes.push({ at: new Date(T0 - i * 5000).toISOString(), ok: true, status: 200, latency_ms: 3, error_kind: null });
    }
    const hostSamples = sampler.window();
    return buildSnapshot({
      id: '2026-11-25T16-37-17.732Z',
      service,
      trigger: 'unit_restart',
      firstFailureAt: T0,
      confirmedAt: T0,
      consecutiveFailures: 0,
      error: null,
      context,
      hostSamples,
      failureSample: hostSamples.at(-1)!,
      probeSamples: probes,
      restartExit: findDeadRunExit(journal),
      deadInvocation: 'c32224f002cf4b2e907470c4a9a57cf7',
      previousRestarts: [{ at: '2026-11-24T22:00:00.000Z', nRestarts: 0 }],
    });
  })();
}

function golden(name: string, actual: string): void {
  const file = path.join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, actual);
  assert.equal(actual, readFileSync(file, 'utf8'), `${file} differs (UPDATE_GOLDEN=1 rewrites it, on purpose only)`);
}

test('golden snapshot of a crash: the JSON file', async () => {
  const s = await build();
  assert.equal(s.exit?.status, 3, 'the dead run exited 3');
  assert.deepEqual([s.findings[0]?.cause, s.findings[0]?.scope, s.findings[0]?.confidence], ['exited with status 3', 'invocation', 'certain']);
  golden('flaky-crash.snapshot.json', `${JSON.stringify(s, null, 2)}\n`);
});

test('golden snapshot of a crash: what `preflight last` prints', async () => {
  golden('flaky-crash.txt', `${renderSnapshot(await build(), { path: '/var/lib/preflight/flaky/2026-11-25T16-37-17.732Z.json' })}\n`);
});

// A file written by version 1 (the golden of that version, kept as it was): an upgrade must never hide
// an old incident. `last` and `show` print it with its first finding as the probable cause.
test('a version 1 snapshot still reads and prints', async () => {
  const text = readFileSync(path.join(GOLDEN, 'v1-flaky-crash.snapshot.json'), 'utf8');
  const dir = path.join(tmp, 'v1');
  const store = new SnapshotStore({ dir, retention: 5 });
  const copy = path.join(tmp, 'v1-copy.json');
  writeFileSync(copy, text);
  const found = await store.readPath(copy);
  assert.equal(found.entry.probableCause, 'exited with status 3 (NOTIMPLEMENTED)');
  const out = renderSnapshot(JSON.parse(text) as Snapshot).split('\n');
  assert.equal(out[0], 'flaky failed at 2026-11-25 03:04:05 UTC (restarted by systemd); not recovered when captured');
  assert.equal(out[1], '  probable cause: exited with status 3 (NOTIMPLEMENTED) · 16:37:17 flaky.service: Main process exited, code=exited, status=3/NOTIMPLEMENTED');
});

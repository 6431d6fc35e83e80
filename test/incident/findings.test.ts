// The probable-cause engine on the real captures in fixtures/cmd (the sandboxed systemd 252's crash and
// OOM kill, the published cgroup v2 OOM kill) plus built host samples and kernel lines, rule by rule:
// each firing, each near miss, and the order when several fire.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { readUnitMemoryEvents } from '../../src/cgroup/memory-events';
import { computeFindings, rankFindings, type FindingsInput } from '../../src/incident/findings';
import type { SnapshotError, SnapshotJournalLine, SnapshotKernelLine } from '../../src/incident/snapshot';
import type { HostSample } from '../../src/sample/host';
import { parseJournalJson } from '../../src/systemd/journal';
import { parseSystemctlShow } from '../../src/systemd/unit';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures');
const cmd = (name: string): string => fs.readFileSync(path.join(FIXTURES, 'cmd', name), 'utf8');

/** A journal fixture as a snapshot holds it: time order (the fixtures are `journalctl -r`, newest first). */
function journal(name: string): SnapshotJournalLine[] {
  return parseJournalJson(cmd(name), { maxMessageChars: 2000 })
    .entries.reverse()
    .map((e) => ({ at: e.at, priority: e.priority ?? null, pid: e.pid ?? null, message: e.message }));
}
const kernelOf = (lines: SnapshotJournalLine[]): SnapshotKernelLine[] => lines.map(({ at, priority, message }) => ({ at, priority, message }));

/** One unit's raw `systemctl show` properties from a fixture, with edits for edge cases. */
function unit(name: string, block = 0, edit: Record<string, string> = {}): Record<string, string> {
  const u = parseSystemctlShow(cmd(name))[block];
  assert.ok(u, `${name} has block ${block}`);
  return { ...u.properties, ...edit };
}

const KERNEL_OOM = kernelOf(journal('journalctl-kernel-oom.json')); // hog.service's OOM kill, cgroup v1 hybrid
const CRASH = journal('journalctl-unit-flaky-crash.json'); // flaky: exit 3, restart, new run
const DEAD = journal('journalctl-unit-flaky-dead-invocation.json'); // flaky: the crashed run only
const HEALTHY = unit('systemctl-show-healthy.txt'); // flaky active/running, ControlGroup set
const AUTO_RESTART = unit('systemctl-show-auto-restart.txt'); // flaky right after exit 3
const RESTARTED = unit('systemctl-show-restarted.txt'); // flaky running again, NRestarts=1
const HOG_OOM_V1 = unit('systemctl-show-oom-killed-cgroup-v1.txt'); // hog after the kill: Result=signal, ControlGroup empty
const HOG_RUNNING = unit('systemctl-show-multi.txt', 1); // hog active, ControlGroup set
const NOT_FOUND = unit('systemctl-show-not-found.txt'); // nope.service inactive/dead
const V2_OOM = unit('systemctl-show-oom-kill-cgroup-v2.txt'); // published: Result=oom-kill, ExecMainStatus=9, no Id

// The published cgroup v2 OOM kill (fixtures/README-systemd.md): the kernel's lines and systemd's.
const V2_AT = '2026-03-01T10:00:02.000Z';
const V2_KERNEL: SnapshotKernelLine[] = [
  {
    at: V2_AT,
    priority: 6,
    message:
      'oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/system.slice/lab08-oom.service,task_memcg=/system.slice/lab08-oom.service,task=python3,pid=27501,uid=0',
  },
  {
    at: V2_AT,
    priority: 3,
    message:
      'Memory cgroup out of memory: Killed process 27501 (python3) total-vm:79664kB, anon-rss:65152kB, file-rss:6912kB, shmem-rss:0kB, UID:0 pgtables:192kB oom_score_adj:0',
  },
];
const sd = (at: string, message: string, priority = 5): SnapshotJournalLine => ({ at, priority, pid: 1, message });
const V2_JOURNAL: SnapshotJournalLine[] = [
  { at: '2026-03-01T10:00:01.000Z', priority: 6, pid: 27501, message: 'allocated ~49 MiB' },
  sd(V2_AT, 'lab08-oom.service: A process of this unit has been killed by the OOM killer.'),
  sd(V2_AT, 'lab08-oom.service: Main process exited, code=killed, status=9/KILL', 4),
  sd(V2_AT, "lab08-oom.service: Failed with result 'oom-kill'.", 4),
];

const GiB = 1024 ** 3;
let clock = Date.parse('2026-11-25T16:36:00.000Z');
/** A calm host sample (2 CPUs, 16 GiB, 2 GiB swap, / half full), with the given figures changed. */
function sample(edit: Partial<HostSample> = {}): HostSample {
  clock += 5000;
  return {
    at: new Date(clock).toISOString(),
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
const calm = (n: number): HostSample[] => Array.from({ length: n }, () => sample());
const disk = (used: number, free = 0.3 * GiB, mount = '/'): Partial<HostSample> => ({
  disk_used_percent: { [mount]: used },
  disk_available_bytes: { [mount]: free },
  disk_inodes_used_percent: { [mount]: 10 },
});
const memAvail = (fraction: number): Partial<HostSample> => ({ mem_available_bytes: fraction * 16 * GiB });

const err = (kind: SnapshotError['kind'], message: string, status: number | null = null, latency: number | null = 5000): SnapshotError => ({
  kind,
  status,
  message,
  latency_ms: latency,
});
const TIMEOUT = err('timeout', 'no response within 5000 ms');
const REFUSED = err('connection_refused', 'connect ECONNREFUSED 127.0.0.1:18170', null, 1);
const HTTP_503 = err('http_status', 'HTTP 503 Service Unavailable', 503, 12);

function input(edit: Partial<FindingsInput>): FindingsInput {
  return { error: null, trigger: 'health_check', unit: null, exit: null, journal: [], kernel: [], samples: calm(4), cpus: 2, ...edit };
}

interface Want {
  /** the causes in order, exactly */
  causes: Array<string | RegExp>;
  /** substrings the evidence of the finding at that index must hold */
  evidence?: Array<[number, string]>;
  /** substrings no evidence of that finding may hold */
  notEvidence?: Array<[number, string]>;
}

function check(i: FindingsInput, want: Want): void {
  const found = computeFindings(i);
  const causes = found.map((f) => f.cause);
  assert.equal(causes.length, want.causes.length, `causes: ${JSON.stringify(causes)}`);
  want.causes.forEach((w, k) => {
    if (typeof w === 'string') assert.equal(causes[k], w);
    else assert.match(causes[k] ?? '', w);
  });
  for (const [k, s] of want.evidence ?? []) {
    const ev = found[k]?.evidence ?? [];
    assert.ok(ev.some((e) => e.includes(s)), `evidence of ${JSON.stringify(causes[k])} lacks ${JSON.stringify(s)}: ${JSON.stringify(ev, null, 1)}`);
  }
  for (const [k, s] of want.notEvidence ?? []) {
    const ev = found[k]?.evidence ?? [];
    assert.ok(!ev.some((e) => e.includes(s)), `evidence of ${JSON.stringify(causes[k])} holds ${JSON.stringify(s)}`);
  }
  for (const f of found) {
    // a notification's first line: short, and never without the lines it rests on
    assert.ok(f.cause.length <= 90, `cause too long for a phone: ${f.cause}`);
    assert.ok(f.evidence.length > 0, `no evidence for ${f.cause}`);
    assert.deepEqual(Object.keys(f).sort(), ['cause', 'evidence']);
  }
}

type Case = { name: string; input: FindingsInput; want: Want };
const run = (cases: Case[]): void => {
  for (const c of cases) test(c.name, () => check(c.input, c.want));
};

const KILL_LINE = 'Killed process 13558 (node)';
const HOG_CGROUP = 'task_memcg=/preflight-e2e-capture/system.slice/hog.service';

describe('1. OOM kill of the unit', () => {
  run([
    {
      name: 'v1 sandbox: hog after the kill (ControlGroup empty), kernel lines matched by the unit name',
      input: input({ trigger: 'unit_restart', unit: HOG_OOM_V1, kernel: KERNEL_OOM }),
      want: {
        causes: ['OOM kill of node (pid 13558), cgroup memory limit', 'killed by signal 9 (SIGKILL)'],
        evidence: [
          [0, `2026-11-25T16:37:18.925Z kernel: Memory cgroup out of memory: ${KILL_LINE}`],
          [0, HOG_CGROUP],
          [0, 'task_memcg ends in hog.service (ControlGroup= is empty after the kill: matched by name)'],
          [1, 'ExecMainCode=2 ExecMainStatus=9'],
        ],
      },
    },
    {
      name: 'hog still active with its ControlGroup: matched by cgroup; a timeout is not "hung"',
      input: input({ unit: HOG_RUNNING, kernel: KERNEL_OOM, error: TIMEOUT }),
      want: { causes: ['OOM kill of node (pid 13558), cgroup memory limit'], evidence: [[0, KILL_LINE]], notEvidence: [[0, 'matched by name']] },
    },
    {
      name: 'cgroup v2 (published): Result=oom-kill, kernel and systemd lines; the unit names no cgroup',
      input: input({ trigger: 'unit_restart', unit: V2_OOM, kernel: V2_KERNEL, journal: V2_JOURNAL }),
      want: {
        causes: ['OOM kill of python3 (pid 27501), cgroup memory limit', 'killed by signal 9 (SIGKILL)'],
        evidence: [
          [0, 'Killed process 27501 (python3)'],
          [0, 'systemctl show: Result=oom-kill'],
          [0, 'A process of this unit has been killed by the OOM killer.'],
          [0, "Failed with result 'oom-kill'."],
          [1, `${V2_AT} lab08-oom.service: Main process exited, code=killed, status=9/KILL`],
          [1, 'allocated ~49 MiB'],
        ],
      },
    },
    {
      name: 'cgroup v2: Result=oom-kill alone',
      input: input({ trigger: 'unit_restart', unit: V2_OOM }),
      want: { causes: ['OOM kill (systemd Result=oom-kill)'], evidence: [[0, 'Result=oom-kill ExecMainStatus=9']] },
    },
    {
      name: 'memory.events oom_kill 1 (published v2 file) while the unit stayed active (OOMPolicy=continue)',
      input: input({
        unit: HEALTHY,
        error: TIMEOUT,
        memoryEvents: readUnitMemoryEvents('/system.slice/lab08-oom2.service', path.join(FIXTURES, 'sys', 'fs', 'cgroup')),
      }),
      want: { causes: ['OOM kill (memory.events oom_kill 1)'], evidence: [[0, 'memory.events: oom_kill 1, oom 1']] },
    },
    {
      // 4.18 (RHEL 8) prints no summary line; the cgroups are in the "Task in" line above the kill
      name: 'kernel 4.18: the "Task in" line ties the kill to the unit',
      input: input({
        unit: HOG_RUNNING,
        kernel: [
          { at: '2026-11-25T16:37:18.900Z', priority: 6, message: 'Task in /preflight-e2e-capture/system.slice/hog.service killed as a result of limit of /preflight-e2e-capture/system.slice/hog.service' },
          { at: '2026-11-25T16:37:18.901Z', priority: 6, message: 'memory: usage 65536kB, limit 65536kB, failcnt 62' },
          { at: '2026-11-25T16:37:18.902Z', priority: 3, message: 'Memory cgroup out of memory: Kill process 13558 (node) score 1000 or sacrifice child' },
          { at: '2026-11-25T16:37:18.903Z', priority: 3, message: 'Killed process 13558 (node) total-vm:991088kB, anon-rss:64640kB, file-rss:36440kB, shmem-rss:0kB' },
        ],
      }),
      want: { causes: ['OOM kill of node (pid 13558)'], evidence: [[0, '2026-11-25T16:37:18.903Z kernel: Killed process 13558 (node)']] },
    },
    {
      name: 'kernel 4.18: a global kill after a memcg kill does not borrow its "Task in" line',
      input: input({
        unit: HOG_RUNNING,
        kernel: [
          { at: '2026-11-25T16:37:18.900Z', priority: 6, message: 'Task in /preflight-e2e-capture/system.slice/hog.service killed as a result of limit of /preflight-e2e-capture/system.slice/hog.service' },
          { at: '2026-11-25T16:37:18.903Z', priority: 3, message: 'Killed process 13558 (node) total-vm:991088kB, anon-rss:64640kB, file-rss:36440kB, shmem-rss:0kB' },
          { at: '2026-11-25T16:38:00.000Z', priority: 3, message: 'Out of memory: Killed process 999 (mysqld) total-vm:4000000kB, anon-rss:3000000kB, file-rss:0kB' },
        ],
      }),
      want: { causes: ['OOM kill of node (pid 13558)', 'OOM kill of mysqld (pid 999), not tied to this unit'] },
    },
    {
      name: 'kernel 4.18: a "Task in" line of another cgroup makes it another process',
      input: input({
        unit: HEALTHY,
        kernel: [
          { at: '2026-11-25T16:37:18.900Z', priority: 6, message: 'Task in /preflight-e2e-capture/system.slice/hog.service killed as a result of limit of /preflight-e2e-capture/system.slice/hog.service' },
          { at: '2026-11-25T16:37:18.903Z', priority: 3, message: 'Killed process 13558 (node) total-vm:991088kB, anon-rss:64640kB, file-rss:36440kB, shmem-rss:0kB' },
        ],
      }),
      want: { causes: ['OOM kill of another process: node (pid 13558)'] },
    },
    {
      name: 'no cgroup in the kernel line (old kernel): matched by the main pid',
      input: input({
        unit: unit('systemctl-show-healthy.txt', 0, { MainPID: '4242', ControlGroup: '' }),
        kernel: [{ at: '2026-11-25T16:37:00.000Z', priority: 3, message: 'Out of memory: Killed process 4242 (node) total-vm:991088kB, anon-rss:964640kB, file-rss:0kB' }],
      }),
      want: { causes: ['OOM kill of node (pid 4242)'], evidence: [[0, "pid 4242 is the unit's main process"]] },
    },
    {
      name: 'near miss: memory.events with oom but no kill',
      input: input({ unit: HEALTHY, memoryEvents: { oom: 3, oomKill: 0 } }),
      want: { causes: [] },
    },
  ]);
});

describe('1b. OOM kill of another process', () => {
  run([
    {
      name: "near miss: hog's OOM kill seen while flaky is the service (another cgroup)",
      input: input({ unit: HEALTHY, kernel: KERNEL_OOM, error: HTTP_503 }),
      want: { causes: ['OOM kill of another process: node (pid 13558)'], evidence: [[0, HOG_CGROUP]] },
    },
    {
      name: 'no unit to match against',
      input: input({ kernel: KERNEL_OOM }),
      want: { causes: ['OOM kill of node (pid 13558), not tied to this unit'] },
    },
    {
      name: 'the OOM block without its kill lines is no kill',
      input: input({ unit: HEALTHY, kernel: KERNEL_OOM.filter((l) => !l.message.includes('Killed process') && !l.message.startsWith('oom-kill:')) }),
      want: { causes: [] },
    },
  ]);
});

describe('2. how the main process ended', () => {
  const exit = (code: 'exited' | 'killed' | 'dumped', status: number | string) => ({ code, status, at: '2026-11-25T16:37:17.732Z' });
  run([
    {
      name: 'flaky: the dead run, exit 3, with its last words',
      input: input({ trigger: 'unit_restart', unit: AUTO_RESTART, journal: DEAD }),
      want: {
        causes: ['exited with status 3 (NOTIMPLEMENTED)'],
        evidence: [
          [0, '2026-11-25T16:37:17.732Z flaky.service: Main process exited, code=exited, status=3/NOTIMPLEMENTED'],
          [0, "flaky.service: Failed with result 'exit-code'."],
          [0, '2026-11-25T16:37:17.708Z about to crash with exit 3'],
        ],
      },
    },
    {
      name: 'flaky restarted: both runs in the journal, last words from the dead one',
      input: input({ trigger: 'unit_restart', unit: RESTARTED, journal: CRASH }),
      want: { causes: ['exited with status 3 (NOTIMPLEMENTED)'], evidence: [[0, 'about to crash with exit 3']], notEvidence: [[0, 'pid=107']] },
    },
    {
      name: 'from ExecMainCode/ExecMainStatus alone',
      input: input({ trigger: 'unit_restart', unit: AUTO_RESTART }),
      want: { causes: ['exited with status 3 (NOTIMPLEMENTED)'], evidence: [[0, 'systemctl show: Result=exit-code ExecMainCode=1 ExecMainStatus=3']] },
    },
    {
      name: "last words: the service's last error line, then its last line",
      input: input({
        journal: [
          { at: '2026-11-25T16:37:10.000Z', priority: 3, pid: 70, message: 'fatal: cannot open /data/db: Permission denied' },
          { at: '2026-11-25T16:37:11.000Z', priority: 6, pid: 70, message: 'shutting down' },
          sd('2026-11-25T16:37:11.500Z', 'app.service: Main process exited, code=exited, status=1/FAILURE'),
          { at: '2026-11-25T16:37:13.000Z', priority: 3, pid: 71, message: 'a line of the next run' },
        ],
      }),
      want: {
        causes: ['exited with status 1 (FAILURE)'],
        evidence: [[0, '2026-11-25T16:37:10.000Z fatal: cannot open /data/db: Permission denied'], [0, '2026-11-25T16:37:11.000Z shutting down']],
        notEvidence: [[0, 'next run']],
      },
    },
    { name: 'killed by SIGSEGV', input: input({ exit: exit('killed', 'SEGV') }), want: { causes: ['killed by signal 11 (SIGSEGV)'], evidence: [[0, 'exit: code=killed status=SEGV']] } },
    { name: 'core dump on SIGABRT', input: input({ exit: exit('dumped', 'ABRT') }), want: { causes: ['crashed on signal 6 (SIGABRT), core dumped'] } },
    { name: 'killed, by number', input: input({ exit: exit('killed', 15) }), want: { causes: ['killed by signal 15 (SIGTERM)'] } },
    {
      name: "the capture's exit by number finds systemd's line by name",
      input: input({ exit: exit('killed', 9), journal: V2_JOURNAL }),
      want: { causes: ['OOM kill (reported by systemd)', 'killed by signal 9 (SIGKILL)'], evidence: [[1, 'code=killed, status=9/KILL']], notEvidence: [[1, 'exit: code=']] },
    },
    { name: 'exit 137 as a shell reports SIGKILL', input: input({ exit: exit('exited', 137) }), want: { causes: ['exited with status 137: killed by signal 9 (SIGKILL)'] } },
    { name: 'exit 143 as a shell reports SIGTERM', input: input({ exit: exit('exited', 143) }), want: { causes: ['exited with status 143: killed by signal 15 (SIGTERM)'] } },
    { name: 'exit 128 is no signal', input: input({ exit: exit('exited', 128) }), want: { causes: ['exited with status 128'] } },
    { name: 'a status that is not a number is quoted as it is', input: input({ exit: exit('exited', 'weird') }), want: { causes: ['exited with status weird'] } },
    { name: 'exit 1', input: input({ exit: exit('exited', 1) }), want: { causes: ['exited with status 1 (FAILURE)'] } },
    { name: 'exit 203: systemd could not exec', input: input({ exit: exit('exited', 203) }), want: { causes: ['exited with status 203 (EXEC)'] } },
    {
      name: 'watchdog: SIGABRT after a watchdog timeout',
      input: input({ exit: exit('killed', 'ABRT'), journal: [sd('2026-11-25T16:37:17.800Z', "app.service: Failed with result 'watchdog'.", 4)] }),
      want: { causes: ['killed by signal 6 (SIGABRT) after a watchdog timeout'] },
    },
    {
      name: 'watchdog, seen in the journal after the restart reset Result= to success',
      input: input({
        trigger: 'unit_restart',
        unit: RESTARTED,
        journal: [
          sd('2026-11-25T16:37:17.700Z', 'flaky.service: Watchdog timeout (limit 10s)!', 2),
          sd('2026-11-25T16:37:17.732Z', 'flaky.service: Main process exited, code=dumped, status=6/ABRT', 4),
          sd('2026-11-25T16:37:17.733Z', "flaky.service: Failed with result 'watchdog'.", 4),
        ],
      }),
      want: { causes: ['crashed on signal 6 (SIGABRT), core dumped after a watchdog timeout'], evidence: [[0, "Failed with result 'watchdog'."]] },
    },
    {
      name: 'cgroup v1 SIGKILL from ExecMain* when the kernel lines are missing',
      input: input({ trigger: 'unit_restart', unit: HOG_OOM_V1 }),
      want: { causes: ['killed by signal 9 (SIGKILL)'] },
    },
    { name: 'near miss: running unit, ExecMainCode=0', input: input({ unit: HEALTHY }), want: { causes: [] } },
    { name: 'near miss: restarted unit, no journal', input: input({ trigger: 'unit_restart', unit: RESTARTED }), want: { causes: [] } },
    {
      name: 'near miss: a finished oneshot (ExecMainCode=1, status 0)',
      input: input({ unit: unit('systemctl-show-healthy.txt', 0, { ExecMainCode: '1', ExecMainStatus: '0', SubState: 'exited' }) }),
      want: { causes: [] },
    },
  ]);
});

describe('3. restart loop', () => {
  const at = (hhmm: string): string => `2026-11-25T${hhmm}:00.000Z`;
  run([
    {
      name: 'NRestarts rising across incidents',
      input: input({
        unit: unit('systemctl-show-restarted.txt', 0, { NRestarts: '5' }),
        previousRestarts: [
          { at: at('03:10'), nRestarts: 3 },
          { at: at('03:00'), nRestarts: 1 },
        ],
      }),
      want: {
        causes: ['restart loop: NRestarts 1 → 5 since 03:00 UTC'],
        evidence: [
          [0, `${at('03:00')} NRestarts=1`],
          [0, `${at('03:10')} NRestarts=3`],
          [0, 'systemctl show: NRestarts=5'],
        ],
      },
    },
    {
      name: 'NRestarts ≥ 3 with a restart in the window (the real scheduled-restart line), below the exit',
      input: input({ trigger: 'unit_restart', unit: unit('systemctl-show-restarted.txt', 0, { NRestarts: '3' }), journal: CRASH }),
      want: {
        causes: ['exited with status 3 (NOTIMPLEMENTED)', 'restart loop: restarted 3 times (NRestarts=3)'],
        evidence: [[1, 'flaky.service: Scheduled restart job, restart counter is at 1.']],
      },
    },
    {
      name: 'three scheduled restarts in the window, no unit',
      input: input({
        journal: [1, 2, 3].map((n) => sd(`2026-11-25T16:3${n}:00.000Z`, `app.service: Scheduled restart job, restart counter is at ${n}.`, 6)),
      }),
      want: { causes: ['restart loop: 3 restarts in the window'] },
    },
    {
      name: 'near miss: one restart since the last incident (real fixture, NRestarts 0 → 1)',
      input: input({ trigger: 'unit_restart', unit: RESTARTED, previousRestarts: [{ at: at('03:00'), nRestarts: 0 }] }),
      want: { causes: [] },
    },
    {
      name: 'near miss: the counter was reset by hand in between',
      input: input({
        unit: unit('systemctl-show-restarted.txt', 0, { NRestarts: '1' }),
        previousRestarts: [
          { at: at('03:00'), nRestarts: 6 },
          { at: at('03:30'), nRestarts: 0 },
        ],
      }),
      want: { causes: [] },
    },
    {
      name: 'near miss: rising from an old count, but reset in between (9 → 2): 2 → 3 is one restart',
      input: input({
        unit: unit('systemctl-show-restarted.txt', 0, { NRestarts: '3' }),
        previousRestarts: [
          { at: at('03:00'), nRestarts: 0 },
          { at: at('03:10'), nRestarts: 9 },
          { at: at('03:30'), nRestarts: 2 },
        ],
      }),
      want: { causes: [] },
    },
    {
      name: 'near miss: NRestarts 3 but no restart in this window',
      input: input({ unit: unit('systemctl-show-restarted.txt', 0, { NRestarts: '3' }), error: HTTP_503 }),
      want: { causes: ['health check returned HTTP 503'] },
    },
  ]);
});

describe('4. disk full', () => {
  const enospc: SnapshotJournalLine = {
    at: '2026-11-25T16:37:10.000Z',
    priority: 3,
    pid: 63,
    message: "Error: ENOSPC: no space left on device, write '/var/lib/app/db.sqlite-journal'",
  };
  const pgFull: SnapshotJournalLine = { at: '2026-11-25T16:37:11.000Z', priority: 3, pid: 63, message: 'could not write to file "pg_wal/xlogtemp.63": No space left on device' };
  run([
    {
      name: '/ at 98.5%',
      input: input({ samples: [...calm(3), sample(disk(98.5, 0.3 * GiB))] }),
      want: { causes: ['disk full: / 98.5%'], evidence: [[0, 'disk / 98.5% used, 307 MiB free']] },
    },
    { name: 'near miss: / at 97%', input: input({ samples: [...calm(3), sample(disk(97))] }), want: { causes: [] } },
    { name: 'near miss: / at 97.99%', input: input({ samples: [sample(disk(97.99))] }), want: { causes: [] } },
    {
      name: 'inodes exhausted',
      input: input({ samples: [sample({ ...disk(40, 10 * GiB, '/var'), disk_inodes_used_percent: { '/var': 99.2 } })] }),
      want: { causes: ['disk full: /var inodes 99.2%'] },
    },
    {
      name: 'ENOSPC in the log only',
      input: input({ journal: [enospc, pgFull] }),
      want: { causes: ['no space left on device (ENOSPC in the log)'], evidence: [[0, 'ENOSPC: no space left on device'], [0, 'pg_wal']] },
    },
    {
      name: "ENOSPC in Go's words (lower case, no errno name)",
      input: input({ journal: [{ at: '2026-11-25T16:37:10.000Z', priority: 3, pid: 63, message: 'write /var/lib/app/wal/000123.log: no space left on device' }] }),
      want: { causes: ['no space left on device (ENOSPC in the log)'] },
    },
    {
      name: 'near miss: a log line about disk space that is no error',
      input: input({ journal: [{ at: '2026-11-25T16:37:10.000Z', priority: 6, pid: 63, message: 'checked free space on device /dev/sda1: 12 GiB left' }] }),
      want: { causes: [] },
    },
    {
      name: 'ranking: disk full with ENOSPC in the log beats exit 1 (the service said why)',
      input: input({ trigger: 'unit_restart', samples: [sample(disk(99.1))], journal: [enospc], exit: { code: 'exited', status: 1, at: '2026-11-25T16:37:12.000Z' } }),
      want: { causes: ['disk full: / 99.1%, ENOSPC in the log', 'exited with status 1 (FAILURE)'] },
    },
    {
      name: 'ranking: a full disk without ENOSPC is ambient, below exit 1',
      input: input({ trigger: 'unit_restart', samples: [sample(disk(99.1))], exit: { code: 'exited', status: 1, at: '2026-11-25T16:37:12.000Z' } }),
      want: { causes: ['exited with status 1 (FAILURE)', 'disk full: / 99.1%'] },
    },
  ]);
});

describe('5. memory exhausted, swap thrashing', () => {
  run([
    {
      name: '3% available',
      input: input({ samples: [...calm(2), sample(memAvail(0.03))] }),
      want: { causes: ['memory exhausted: 3% available'], evidence: [[0, 'memory 3% available (492 MiB of 16.0 GiB)']] },
    },
    { name: 'near miss: exactly 5% available', input: input({ samples: [sample(memAvail(0.05))] }), want: { causes: [] } },
    {
      name: 'swap thrashing',
      input: input({ samples: [sample({ swap_used_percent: 82, swap_used_bytes: 1.64 * GiB, psi_memory_some_avg10: 27.5, psi_memory_full_avg10: 6 })] }),
      want: { causes: ['swap thrashing: swap 82% used, memory stall 27.5%'], evidence: [[0, 'PSI memory some avg10 27.5%, full 6%']] },
    },
    {
      name: 'near miss: swap full of idle pages, no stall',
      input: input({ samples: [sample({ swap_used_percent: 90, swap_used_bytes: 1.8 * GiB, psi_memory_some_avg10: 0.4 })] }),
      want: { causes: [] },
    },
    {
      name: 'near miss: stalls without swap in use',
      input: input({ samples: [sample({ swap_used_percent: 10, psi_memory_some_avg10: 30 })] }),
      want: { causes: [] },
    },
  ]);
});

describe('6. PSI full stalls', () => {
  run([
    {
      name: 'I/O full 12%',
      input: input({ samples: [...calm(2), sample({ psi_io_some_avg10: 40, psi_io_full_avg10: 12 })] }),
      want: { causes: ['I/O stall: all tasks stalled 12% of the time'], evidence: [[0, 'PSI io full avg10 12% (some 40%)']] },
    },
    { name: 'near miss: I/O full 9.9%', input: input({ samples: [sample({ psi_io_full_avg10: 9.9 })] }), want: { causes: [] } },
    {
      name: 'memory and I/O both: two findings, memory first',
      input: input({ samples: [sample({ psi_memory_full_avg10: 15, psi_io_full_avg10: 20 })] }),
      want: { causes: ['memory stall: all tasks stalled 15% of the time', 'I/O stall: all tasks stalled 20% of the time'] },
    },
    { name: 'near miss: no PSI on this kernel (nulls)', input: input({ samples: [sample({ psi_io_full_avg10: null, psi_memory_full_avg10: null })] }), want: { causes: [] } },
  ]);
});

describe('7. CPU saturated', () => {
  const busy = (cpu: number, load1: number): HostSample => sample({ cpu_percent: cpu, load1 });
  run([
    {
      name: 'last three samples ≥ 95% and load 5.2 on 2 CPUs',
      input: input({ samples: [sample(), busy(99, 4.1), busy(97.5, 4.8), busy(98, 5.2)] }),
      want: { causes: ['CPU saturated: ≥ 97% busy, load 5.20 on 2 CPUs'], evidence: [[0, 'cpu 97.5%, load1 4.80'], [0, 'load1 5.20 > 2 × 2 CPUs']] },
    },
    { name: 'near miss: load exactly 2 × CPUs', input: input({ samples: [busy(99, 3), busy(99, 3.5), busy(99, 4)] }), want: { causes: [] } },
    { name: 'near miss: one of the last three at 90%', input: input({ samples: [busy(99, 6), busy(90, 6), busy(99, 6)] }), want: { causes: [] } },
    { name: 'near miss: a single busy sample', input: input({ samples: [busy(100, 9)] }), want: { causes: [] } },
    { name: 'near miss: CPU count unknown', input: input({ cpus: 0, samples: [busy(99, 6), busy(99, 6), busy(99, 6)] }), want: { causes: [] } },
  ]);
});

describe('8, 9. what the unit was doing when the check failed', () => {
  run([
    {
      name: 'timeout while active: hung, not crashed',
      input: input({ unit: HEALTHY, error: TIMEOUT }),
      want: {
        causes: ['hung, not crashed: flaky.service stayed active (running) but timed out'],
        evidence: [[0, 'health check: timeout: no response within 5000 ms after 5000 ms'], [0, 'ActiveState=active SubState=running MainPID=63']],
      },
    },
    {
      name: 'near miss: timeout while the unit is inactive is not hung',
      input: input({ unit: NOT_FOUND, error: TIMEOUT }),
      want: { causes: ['nope.service is not running (inactive/dead)'] },
    },
    {
      name: 'connection refused while inactive/dead',
      input: input({ unit: NOT_FOUND, error: REFUSED }),
      want: { causes: ['nope.service is not running (inactive/dead)'], evidence: [[0, 'connect ECONNREFUSED 127.0.0.1:18170'], [0, 'ActiveState=inactive SubState=dead']] },
    },
    {
      name: 'ranking: connection refused in auto-restart, below the exit that caused it',
      input: input({ unit: AUTO_RESTART, error: REFUSED, journal: DEAD }),
      want: { causes: ['exited with status 3 (NOTIMPLEMENTED)', 'flaky.service is restarting (activating/auto-restart, exit-code)'] },
    },
    {
      name: 'failed after too many restarts: the Result says why',
      input: input({ unit: unit('systemctl-show-not-found.txt', 0, { Id: 'app.service', LoadState: 'loaded', ActiveState: 'failed', SubState: 'failed', Result: 'start-limit-hit' }), error: REFUSED }),
      want: { causes: ['app.service is not running (failed/failed, start-limit-hit)'] },
    },
    { name: 'near miss: connection refused while active', input: input({ unit: HEALTHY, error: REFUSED }), want: { causes: [] } },
    { name: 'near miss: timeout with no unit', input: input({ error: TIMEOUT }), want: { causes: [] } },
    {
      name: 'timeout while active but the journal shows the main process died: not "hung"',
      input: input({ unit: RESTARTED, error: TIMEOUT, journal: CRASH }),
      want: { causes: ['exited with status 3 (NOTIMPLEMENTED)'] },
    },
  ]);
});

describe('kernel events', () => {
  const k = (message: string, at = '2026-11-25T16:37:00.000Z'): SnapshotKernelLine => ({ at, priority: 3, message });
  run([
    {
      name: 'segfault',
      input: input({ kernel: [k('node[1234]: segfault at 0 ip 00007f3c2a1b2c3d sp 00007ffd4e5f6a70 error 4 in libc.so.6[7f3c2a028000+155000] likely on CPU 1 (core 1, socket 0)')] }),
      want: { causes: ['segfault in node[1234]'], evidence: [[0, '2026-11-25T16:37:00.000Z kernel: node[1234]: segfault at 0']] },
    },
    {
      name: 'block I/O errors, counted past three',
      input: input({ kernel: [1, 2, 3, 4].map((n) => k(`I/O error, dev sda, sector ${2048 * n} op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 2`)) }),
      want: { causes: ['disk I/O errors on sda'], evidence: [[0, '4 such kernel lines in the window'], [0, 'sector 8192']], notEvidence: [[0, 'sector 2048 ']] },
    },
    {
      name: 'filesystem error remounts read-only',
      input: input({ kernel: [k('EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0'), k('EXT4-fs (sda1): Remounting filesystem read-only')] }),
      want: { causes: ['filesystem errors on sda1'] },
    },
    {
      name: 'hung task',
      input: input({ kernel: [k('INFO: task jbd2/sda1-8:123 blocked for more than 120 seconds.')] }),
      want: { causes: ['hung task: jbd2/sda1-8 blocked > 120 s'] },
    },
    {
      name: 'ranking: a filesystem error, then I/O errors, then the hung task they cause',
      input: input({
        kernel: [
          k('INFO: task postgres:4242 blocked for more than 245 seconds.'),
          k('blk_update_request: I/O error, dev nvme0n1, sector 12345 op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 0'),
          k('XFS (dm-0): metadata I/O error in "xfs_trans_read_buf_map" at daddr 0x2 len 1 error 5'),
        ],
      }),
      want: { causes: ['filesystem errors on dm-0', 'disk I/O errors on nvme0n1', 'hung task: postgres blocked > 245 s'] },
    },
    {
      name: "near miss: the OOM block's other lines (Call Trace, CPU:, Tasks state) alone",
      input: input({ kernel: KERNEL_OOM.filter((l) => /^(Call Trace|CPU:|Tasks state)/.test(l.message)) }),
      want: { causes: [] },
    },
  ]);
});

describe('HTTP status, and nothing at all', () => {
  run([
    { name: 'HTTP 503 and nothing else', input: input({ unit: HEALTHY, error: HTTP_503 }), want: { causes: ['health check returned HTTP 503'], evidence: [[0, 'HTTP 503 Service Unavailable']] } },
    { name: 'HTTP 503 with a full disk: only the disk', input: input({ error: HTTP_503, samples: [sample(disk(99))] }), want: { causes: ['disk full: / 99%'] } },
    { name: 'a calm host and a running unit: nothing stands out', input: input({ unit: HEALTHY, trigger: 'manual' }), want: { causes: [] } },
    { name: 'empty everything', input: input({ samples: [] }), want: { causes: [] } },
  ]);
});

describe('ranking across kinds', () => {
  run([
    {
      name: 'direct beats ambient: the OOM kill of the unit, then CPU saturated',
      input: input({ unit: HOG_RUNNING, kernel: KERNEL_OOM, error: TIMEOUT, samples: [sample({ cpu_percent: 99, load1: 6 }), sample({ cpu_percent: 99, load1: 6 }), sample({ cpu_percent: 99, load1: 6 })] }),
      want: { causes: [/^OOM kill of node/, /^CPU saturated/] },
    },
    {
      name: 'ambient beats symptom: memory exhausted, then hung',
      input: input({ unit: HEALTHY, error: TIMEOUT, samples: [sample(memAvail(0.02))] }),
      want: { causes: ['memory exhausted: 2% available', /^hung, not crashed/] },
    },
    {
      name: 'the unit not running beats an ambient condition',
      input: input({ unit: NOT_FOUND, error: REFUSED, samples: [sample({ psi_io_full_avg10: 30 })] }),
      want: { causes: ['nope.service is not running (inactive/dead)', /^I\/O stall/] },
    },
    {
      name: "the unit's OOM kill beats another process's",
      input: input({
        unit: HOG_RUNNING,
        kernel: [...KERNEL_OOM, { at: '2026-11-25T16:37:30.000Z', priority: 3, message: 'Out of memory: Killed process 999 (mysqld) total-vm:4000000kB, anon-rss:3000000kB, file-rss:0kB' }],
      }),
      want: { causes: [/^OOM kill of node/, 'OOM kill of mysqld (pid 999), not tied to this unit'] },
    },
  ]);

  test('rankFindings: ranks never increase down the list', () => {
    const ranked = rankFindings(
      input({ trigger: 'unit_restart', unit: HOG_OOM_V1, kernel: KERNEL_OOM, samples: [sample(disk(99)), sample(memAvail(0.01))], error: null }),
    );
    assert.deepEqual(
      ranked.map((f) => f.cause),
      ['OOM kill of node (pid 13558), cgroup memory limit', 'killed by signal 9 (SIGKILL)', 'disk full: / 99%', 'memory exhausted: 1% available'],
    );
    for (let i = 1; i < ranked.length; i++) assert.ok((ranked[i - 1]?.rank ?? 0) >= (ranked[i]?.rank ?? 0));
  });
});

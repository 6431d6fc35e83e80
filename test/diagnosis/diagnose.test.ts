// The diagnosis on real captures (fixtures/cmd: the sandboxed systemd 252's crash and OOM kill, the
// published cgroup v2 OOM kill) and built host samples, rule by rule: each firing with the FIRST
// finding's cause, scope and confidence; each near miss; and what must never be blamed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { readUnitMemoryEvents } from '../../src/cgroup/memory-events';
import type { SnapshotKernelLine } from '../../src/incident/snapshot';
import {
  FIXTURES,
  HTTP_503,
  REFUSED,
  TIMEOUT,
  at,
  calm,
  check,
  disk,
  err,
  input,
  journal,
  kernelOf,
  memAvail,
  own,
  sample,
  sd,
  unit,
  type Case,
} from './_input';

const run = (cases: Case[]): void => {
  for (const c of cases) test(c.name, () => void check(c.input, c.want));
};

const KERNEL_OOM = kernelOf(journal('journalctl-kernel-oom.json')); // hog.service's OOM kill at 16:37:18.925, cgroup v1 hybrid
const CRASH = journal('journalctl-unit-flaky-crash.json'); // flaky: exit 3 at 16:37:17.732, restart, new run
const DEAD = journal('journalctl-unit-flaky-dead-invocation.json'); // flaky: the crashed run only
const DEAD_RUN = 'c32224f002cf4b2e907470c4a9a57cf7';
const HEALTHY = unit('systemctl-show-healthy.txt'); // flaky active/running, ControlGroup set
const AUTO_RESTART = unit('systemctl-show-auto-restart.txt'); // flaky right after exit 3
const RESTARTED = unit('systemctl-show-restarted.txt'); // flaky running again, NRestarts=1
const HOG_OOM_V1 = unit('systemctl-show-oom-killed-cgroup-v1.txt'); // hog after the kill: Result=signal, ControlGroup empty
const HOG_RUNNING = unit('systemctl-show-multi.txt', 1); // hog active, ControlGroup set
const NOT_FOUND = unit('systemctl-show-not-found.txt'); // nope.service inactive/dead
const V2_OOM = unit('systemctl-show-oom-kill-cgroup-v2.txt'); // published: Result=oom-kill, ExecMainStatus=9, no Id
const EXIT_3 = { code: 'exited' as const, status: 3, at: '2026-11-25T16:37:17.732Z' };
const HOG_KILL = /^killed by the kernel's OOM killer: node \(pid 13558\) at the unit's memory limit$/;

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
const v2sd = (message: string, priority = 5) => ({ at: V2_AT, priority, pid: 1, message, systemd: true as const });
const V2_JOURNAL = [
  { at: '2026-03-01T10:00:01.000Z', priority: 6, pid: 27501, message: 'allocated ~49 MiB', invocation: 'v2run' },
  v2sd('lab08-oom.service: A process of this unit has been killed by the OOM killer.'),
  v2sd('lab08-oom.service: Main process exited, code=killed, status=9/KILL', 4),
  v2sd("lab08-oom.service: Failed with result 'oom-kill'.", 4),
];
const V2_KILL = { code: 'killed' as const, status: 'KILL', at: V2_AT };
const v2 = { firstFailureAt: V2_AT, confirmedAt: V2_AT, samples: [], trigger: 'unit_restart' as const, deadInvocation: 'v2run' };

describe('OOM kill of the unit: certain, and it explains the SIGKILL', () => {
  run([
    {
      name: 'v1 sandbox: hog after the kill (ControlGroup empty), the kernel line matched by the unit name',
      input: input({ trigger: 'unit_restart', unit: HOG_OOM_V1, kernel: KERNEL_OOM, exit: { code: 'killed', status: 'KILL', at: '2026-11-25T16:37:18.930Z' } }),
      want: {
        first: { cause: HOG_KILL, scope: 'unit', confidence: 'certain' },
        causes: [HOG_KILL],
        evidence: [
          '2026-11-25T16:37:18.925Z kernel: Memory cgroup out of memory: Killed process 13558 (node)',
          'task_memcg=/preflight-e2e-capture/system.slice/hog.service',
          'task_memcg ends in hog.service (ControlGroup= is empty after the kill: matched by name)',
          'exit: code=killed status=KILL',
        ],
      },
    },
    {
      name: 'hog still active with its ControlGroup: matched by cgroup; a timeout is not "hung"',
      input: input({ unit: HOG_RUNNING, kernel: KERNEL_OOM, error: TIMEOUT }),
      want: { first: { cause: HOG_KILL, scope: 'unit', confidence: 'certain' }, causes: [HOG_KILL], never: ['matched by name', 'hung'] },
    },
    {
      name: 'cgroup v2 (published): Result=oom-kill, the kernel and systemd lines; the unit names no cgroup',
      input: input({ ...v2, unit: V2_OOM, kernel: V2_KERNEL, journal: V2_JOURNAL, exit: V2_KILL }),
      want: {
        first: { cause: "killed by the kernel's OOM killer: python3 (pid 27501) at the unit's memory limit", scope: 'unit', confidence: 'certain' },
        causes: [/^killed by the kernel's OOM killer: python3/],
        evidence: [
          'Killed process 27501 (python3)',
          'systemctl show: Result=oom-kill',
          'A process of this unit has been killed by the OOM killer.',
          `${V2_AT} lab08-oom.service: Main process exited, code=killed, status=9/KILL`,
        ],
      },
    },
    {
      name: 'cgroup v2: Result=oom-kill alone',
      input: input({ ...v2, unit: V2_OOM, exit: V2_KILL }),
      want: { first: { cause: "killed by the kernel's OOM killer (systemd: Result=oom-kill)", scope: 'unit', confidence: 'certain' }, causes: [/OOM killer/] },
    },
    {
      name: 'memory.events oom_kill 1 (published v2 file) while the unit stayed active (OOMPolicy=continue)',
      input: input({
        unit: HEALTHY,
        error: TIMEOUT,
        memoryEvents: readUnitMemoryEvents('/system.slice/lab08-oom2.service', path.join(FIXTURES, 'sys', 'fs', 'cgroup')),
      }),
      want: { first: { cause: "killed by the kernel's OOM killer (memory.events oom_kill 1)", scope: 'unit', confidence: 'certain' }, evidence: ['memory.events: oom_kill 1, oom 1'] },
    },
    {
      // 4.18 (RHEL 8) prints no summary line; the cgroups are in the "Task in" line above the kill
      name: 'kernel 4.18: the "Task in" line ties the kill to the unit',
      input: input({
        unit: HOG_RUNNING,
        kernel: [
          { at: at(1.1), priority: 6, message: 'Task in /preflight-e2e-capture/system.slice/hog.service killed as a result of limit of /preflight-e2e-capture/system.slice/hog.service' },
          { at: at(1.1), priority: 6, message: 'memory: usage 65536kB, limit 65536kB, failcnt 62' },
          { at: at(1.1), priority: 3, message: 'Memory cgroup out of memory: Kill process 13558 (node) score 1000 or sacrifice child' },
          { at: at(1.1), priority: 3, message: 'Killed process 13558 (node) total-vm:991088kB, anon-rss:64640kB, file-rss:36440kB, shmem-rss:0kB' },
        ],
      }),
      want: { first: { cause: "killed by the kernel's OOM killer: node (pid 13558)", scope: 'unit', confidence: 'certain' } },
    },
    {
      name: 'no cgroup in the kernel line (old kernel): matched by the main pid',
      input: input({
        unit: unit('systemctl-show-healthy.txt', 0, { MainPID: '4242', ControlGroup: '' }),
        kernel: [{ at: at(-1), priority: 3, message: 'Out of memory: Killed process 4242 (node) total-vm:991088kB, anon-rss:964640kB, file-rss:0kB' }],
      }),
      want: { first: { cause: "killed by the kernel's OOM killer: node (pid 4242)", scope: 'unit', confidence: 'certain' }, evidence: ["pid 4242 is the unit's main process"] },
    },
    {
      name: 'an OOM kill of the unit long before the failure is only likely',
      input: input({ unit: HOG_RUNNING, kernel: KERNEL_OOM, error: HTTP_503, firstFailureAt: at(120), confirmedAt: at(121) }),
      want: { first: { cause: HOG_KILL, scope: 'unit', confidence: 'likely' } },
    },
    { name: 'near miss: memory.events with oom but no kill', input: input({ unit: HEALTHY, memoryEvents: { oom: 3, oomKill: 0 } }), want: { causes: [] } },
  ]);
});

describe("another cgroup's OOM kill is context, never the cause", () => {
  run([
    {
      name: "hog's OOM kill while flaky answers 503: the 503, and the kill as context",
      input: input({ unit: HEALTHY, kernel: KERNEL_OOM, error: HTTP_503 }),
      want: {
        first: { cause: 'health check returned HTTP 503', scope: 'unit', confidence: 'possible' },
        causes: ['health check returned HTTP 503'],
        context: ['OOM kill of another process: node (pid 13558) in /preflight-e2e-capture/system.slice/hog.service'],
        never: ['OOM', '13558'],
        probableCause: 'HTTP 503, no cause found',
      },
    },
    {
      name: "hog's OOM kill while flaky hangs: hung, not crashed",
      input: input({ unit: HEALTHY, kernel: KERNEL_OOM, error: TIMEOUT }),
      want: { first: { cause: 'hung, not crashed: flaky.service stayed active (running) but timed out', scope: 'unit', confidence: 'likely' }, never: ['OOM', '13558'] },
    },
    {
      name: 'no unit to match against: a memcg kill is some cgroup’s own trouble',
      input: input({ kernel: KERNEL_OOM, error: HTTP_503 }),
      want: { causes: ['health check returned HTTP 503'], context: [/^OOM kill of another process: node \(pid 13558\)/] },
    },
    {
      name: 'a global OOM (CONSTRAINT_NONE) that killed another process near the failure: the host, possible',
      input: input({
        unit: HEALTHY,
        error: TIMEOUT,
        kernel: [
          { at: at(-2), priority: 6, message: 'oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/system.slice/mysql.service,task=mysqld,pid=999,uid=110' },
          { at: at(-2), priority: 3, message: 'Out of memory: Killed process 999 (mysqld) total-vm:4000000kB, anon-rss:3000000kB, file-rss:0kB, shmem-rss:0kB' },
        ],
      }),
      want: {
        first: { cause: 'hung, not crashed: flaky.service stayed active (running) but timed out', scope: 'unit', confidence: 'likely' },
        causes: [/^hung/, "the host ran out of memory: the kernel's OOM killer killed mysqld (pid 999)"],
      },
    },
    {
      // the kernel prints cgroup paths from the hierarchy's root: another container's hog.service matches
      // this one's name, and only the time tells them apart
      name: 'a same-named unit killed a minute before this one died, matched only by name: not this unit',
      input: input({ trigger: 'unit_restart', unit: HOG_OOM_V1, kernel: KERNEL_OOM, firstFailureAt: at(61), confirmedAt: at(61), exit: { code: 'killed', status: 'KILL', at: at(61) } }),
      // a minute before is history: not even context
      want: { first: { cause: 'killed by signal 9 (SIGKILL)', scope: 'invocation', confidence: 'certain' }, context: [], never: ['13558'] },
    },
    {
      name: 'the OOM block without its kill lines is no kill',
      input: input({ unit: HEALTHY, kernel: KERNEL_OOM.filter((l) => !l.message.includes('Killed process') && !l.message.startsWith('oom-kill:')) }),
      want: { causes: [], context: [] },
    },
  ]);
});

describe('how the run ended: the mechanism, status first', () => {
  const exit = (code: 'exited' | 'killed' | 'dumped', status: number | string) => ({ code, status, at: at(-0.1) });
  const ended = (code: 'exited' | 'killed' | 'dumped', status: number | string, cause: string): Case => ({
    name: `${code} ${status}`,
    input: input({ trigger: 'unit_restart', exit: exit(code, status) }),
    want: { first: { cause, scope: 'invocation', confidence: 'certain' }, causes: [cause] },
  });
  run([
    {
      name: 'flaky: the dead run, exit 3; its last words kept apart',
      input: input({ trigger: 'unit_restart', unit: AUTO_RESTART, journal: DEAD, exit: EXIT_3, deadInvocation: DEAD_RUN }),
      want: {
        first: { cause: 'exited with status 3', scope: 'invocation', confidence: 'certain' },
        causes: ['exited with status 3'],
        evidence: ['2026-11-25T16:37:17.732Z flaky.service: Main process exited, code=exited, status=3/NOTIMPLEMENTED', "flaky.service: Failed with result 'exit-code'."],
      },
    },
    {
      name: 'flaky restarted: both runs in the journal; the new run says nothing of the crash',
      input: input({ trigger: 'unit_restart', unit: RESTARTED, journal: CRASH, exit: EXIT_3, deadInvocation: DEAD_RUN }),
      want: { first: { cause: 'exited with status 3', scope: 'invocation', confidence: 'certain' }, never: ['pid=107'] },
    },
    {
      name: 'from ExecMainCode/ExecMainStatus alone (no journal)',
      input: input({ trigger: 'unit_restart', unit: AUTO_RESTART, exit: { code: 'exited', status: 3, at: null } }),
      want: { first: { cause: 'exited with status 3', scope: 'invocation', confidence: 'certain' }, evidence: ['systemctl show: Result=exit-code ExecMainCode=1 ExecMainStatus=3'] },
    },
    ended('killed', 'SEGV', 'killed by signal 11 (SIGSEGV)'),
    ended('dumped', 'ABRT', 'crashed on signal 6 (SIGABRT), core dumped'),
    ended('killed', 15, 'killed by signal 15 (SIGTERM)'),
    ended('exited', 137, 'exited with status 137: killed by signal 9 (SIGKILL)'),
    ended('exited', 143, 'exited with status 143: killed by signal 15 (SIGTERM)'),
    ended('exited', 128, 'exited with status 128'),
    ended('exited', 'weird', 'exited with status weird'),
    ended('exited', 1, 'exited with status 1'),
    ended('exited', 203, 'could not execute the program (status 203/EXEC)'),
    {
      name: "the exit by number finds systemd's line by name",
      input: input({ ...v2, exit: { code: 'killed', status: 9, at: V2_AT }, journal: V2_JOURNAL.filter((l) => !l.message.includes('OOM killer') && !l.message.includes("'oom-kill'")) }),
      want: { first: { cause: 'killed by signal 9 (SIGKILL)', scope: 'invocation', confidence: 'certain' }, evidence: ['code=killed, status=9/KILL'], never: ['exit: code='] },
    },
    {
      name: "a segfault line at the run's own SIGSEGV is the same crash",
      input: input({
        trigger: 'unit_restart',
        exit: { code: 'killed', status: 'SEGV', at: at(0) },
        kernel: [{ at: at(-0.01), priority: 6, message: 'app[4321]: segfault at 0 ip 000055d1 sp 00007ffd error 4 in app[55d1+1000] likely on CPU 0 (core 0, socket 0)' }],
      }),
      want: { first: { cause: 'killed by signal 11 (SIGSEGV)', scope: 'invocation', confidence: 'certain' }, causes: [/SIGSEGV/], evidence: ['app[4321]: segfault at 0'], context: [] },
    },
  ]);
});

describe('restart loop', () => {
  const hhmm = (t: string): string => `2026-11-25T${t}:00.000Z`;
  run([
    {
      name: 'NRestarts rising across incidents, with a 503',
      input: input({
        unit: unit('systemctl-show-restarted.txt', 0, { NRestarts: '5' }),
        error: HTTP_503,
        previousRestarts: [
          { at: hhmm('03:10'), nRestarts: 3 },
          { at: hhmm('03:00'), nRestarts: 1 },
        ],
      }),
      want: {
        first: { cause: 'restart loop: NRestarts 1 → 5 since 03:00 UTC', scope: 'unit', confidence: 'certain' },
        causes: [/^restart loop/, 'health check returned HTTP 503'],
        evidence: [`${hhmm('03:00')} NRestarts=1`, `${hhmm('03:10')} NRestarts=3`, 'systemctl show: NRestarts=5'],
      },
    },
    {
      name: "NRestarts ≥ 3 with a restart in the window: the exit first, the loop after it",
      input: input({ trigger: 'unit_restart', unit: unit('systemctl-show-restarted.txt', 0, { NRestarts: '3' }), journal: CRASH, exit: EXIT_3, deadInvocation: DEAD_RUN }),
      want: {
        first: { cause: 'exited with status 3', scope: 'invocation', confidence: 'certain' },
        causes: ['exited with status 3', 'restart loop: restarted 3 times (NRestarts=3)'],
      },
    },
    {
      name: 'three scheduled restarts in the window, no unit',
      input: input({ journal: [1, 2, 3].map((n) => sd(-n, `app.service: Scheduled restart job, restart counter is at ${n}.`, 6)) }),
      want: { first: { cause: 'restart loop: 3 restarts in the window', scope: 'unit', confidence: 'certain' } },
    },
    {
      name: 'near miss: one restart since the last incident (real fixture, NRestarts 0 → 1)',
      input: input({ trigger: 'unit_restart', unit: RESTARTED, previousRestarts: [{ at: hhmm('03:00'), nRestarts: 0 }] }),
      want: { causes: [] },
    },
    {
      name: 'near miss: the counter was reset by hand in between',
      input: input({
        unit: unit('systemctl-show-restarted.txt', 0, { NRestarts: '1' }),
        previousRestarts: [
          { at: hhmm('03:00'), nRestarts: 6 },
          { at: hhmm('03:30'), nRestarts: 0 },
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

describe('host-wide conditions: possible, and only near the failure', () => {
  run([
    {
      name: '/ at 98.5% at the failure',
      input: input({ error: HTTP_503, samples: [...calm(3), sample(disk(98.5, 0.3 * 1024 ** 3), 1)] }),
      want: { first: { cause: 'disk full: / 98.5% used', scope: 'host', confidence: 'possible' }, evidence: ['disk / 98.5% used, 307 MiB free', 'HTTP 503'] },
    },
    { name: 'near miss: / at 97.99%', input: input({ samples: [sample(disk(97.99))] }), want: { causes: [] } },
    {
      name: 'near miss: / at 99% two minutes before the failure, 50% since',
      input: input({ error: HTTP_503, samples: [sample(disk(99), -120), ...calm(3)] }),
      want: { causes: ['health check returned HTTP 503'] },
    },
    {
      name: 'inodes exhausted',
      input: input({ samples: [sample({ ...disk(40, 10 * 1024 ** 3, '/var'), disk_inodes_used_percent: { '/var': 99.2 } })] }),
      want: { first: { cause: 'out of inodes: /var 99.2% used', scope: 'host', confidence: 'possible' } },
    },
    {
      name: 'a full disk does not outrank the exit it may explain',
      input: input({ trigger: 'unit_restart', samples: [sample(disk(99.1))], exit: { code: 'exited', status: 1, at: at(0) } }),
      want: { first: { cause: 'exited with status 1', scope: 'invocation', confidence: 'certain' }, causes: ['exited with status 1', 'disk full: / 99.1% used'] },
    },
    {
      name: '3% available',
      input: input({ samples: [...calm(2), sample(memAvail(0.03), 1)] }),
      want: { first: { cause: 'memory exhausted: 3% available', scope: 'host', confidence: 'possible' }, evidence: ['memory 3% available (492 MiB of 16.0 GiB)'] },
    },
    { name: 'near miss: exactly 5% available', input: input({ samples: [sample(memAvail(0.05))] }), want: { causes: [] } },
    {
      name: 'swap thrashing',
      input: input({ samples: [sample({ swap_used_percent: 82, swap_used_bytes: 1.64 * 1024 ** 3, psi_memory_some_avg10: 27.5, psi_memory_full_avg10: 6 })] }),
      want: { first: { cause: 'swap thrashing: swap 82% used, memory stall 27.5%', scope: 'host', confidence: 'possible' }, evidence: ['PSI memory some avg10 27.5%, full 6%'] },
    },
    { name: 'near miss: swap full of idle pages, no stall', input: input({ samples: [sample({ swap_used_percent: 90, psi_memory_some_avg10: 0.4 })] }), want: { causes: [] } },
    {
      name: 'I/O full 12%',
      input: input({ samples: [...calm(2), sample({ psi_io_some_avg10: 40, psi_io_full_avg10: 12 }, 1)] }),
      want: { first: { cause: 'I/O stall: all tasks stalled 12% of the time', scope: 'host', confidence: 'possible' }, evidence: ['PSI io full avg10 12% (some 40%)'] },
    },
    { name: 'near miss: I/O full 9.9%', input: input({ samples: [sample({ psi_io_full_avg10: 9.9 })] }), want: { causes: [] } },
    { name: 'near miss: no PSI on this kernel (nulls)', input: input({ samples: [sample({ psi_io_full_avg10: null, psi_memory_full_avg10: null })] }), want: { causes: [] } },
    {
      name: 'CPU: last three samples ≥ 95% and load 5.2 on 2 CPUs',
      input: input({ samples: [sample({}, -15), sample({ cpu_percent: 99, load1: 4.1 }, -10), sample({ cpu_percent: 97.5, load1: 4.8 }, -5), sample({ cpu_percent: 98, load1: 5.2 }, 0)] }),
      want: { first: { cause: 'CPU saturated: ≥ 97% busy, load 5.20 on 2 CPUs', scope: 'host', confidence: 'possible' }, evidence: ['cpu 97.5%, load1 4.80', 'load1 5.20 > 2 × 2 CPUs'] },
    },
    { name: 'near miss: load exactly 2 × CPUs', input: input({ samples: [-10, -5, 0].map((t) => sample({ cpu_percent: 99, load1: 4 }, t)) }), want: { causes: [] } },
    { name: 'near miss: CPU count unknown', input: input({ cpus: 0, samples: [-10, -5, 0].map((t) => sample({ cpu_percent: 99, load1: 6 }, t)) }), want: { causes: [] } },
    {
      name: 'memory exhausted and a hang: the hang (this unit, likely) before the host (possible)',
      input: input({ unit: HEALTHY, error: TIMEOUT, samples: [sample(memAvail(0.02))] }),
      want: { causes: [/^hung, not crashed/, 'memory exhausted: 2% available'] },
    },
  ]);
});

describe("the kernel's other words", () => {
  const k = (message: string, seconds = -1): SnapshotKernelLine => ({ at: at(seconds), priority: 3, message });
  run([
    {
      name: "another process's segfault is context",
      input: input({ error: HTTP_503, kernel: [k('node[1234]: segfault at 0 ip 00007f3c2a1b2c3d sp 00007ffd4e5f6a70 error 4 in libc.so.6[7f3c2a028000+155000] likely on CPU 1 (core 1, socket 0)')] }),
      want: { causes: ['health check returned HTTP 503'], context: ['segfault in node[1234] (another process)'], never: ['segfault'] },
    },
    {
      name: 'block I/O errors, counted past three',
      input: input({ kernel: [1, 2, 3, 4].map((n) => k(`I/O error, dev sda, sector ${2048 * n} op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 2`)) }),
      want: { first: { cause: 'disk I/O errors on sda', scope: 'host', confidence: 'possible' }, evidence: ['4 such kernel lines near the failure', 'sector 8192'] },
    },
    {
      name: 'filesystem error remounts read-only',
      input: input({ kernel: [k('EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0'), k('EXT4-fs (sda1): Remounting filesystem read-only')] }),
      want: { first: { cause: 'filesystem errors on sda1', scope: 'host', confidence: 'possible' } },
    },
    {
      name: 'hung task',
      input: input({ kernel: [k('INFO: task jbd2/sda1-8:123 blocked for more than 120 seconds.')] }),
      want: { first: { cause: 'hung task: jbd2/sda1-8 blocked > 120 s', scope: 'host', confidence: 'possible' } },
    },
    {
      name: 'near miss: I/O errors an hour before the failure',
      input: input({ kernel: [k('I/O error, dev sda, sector 2048 op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 2', -3600)] }),
      want: { causes: [] },
    },
  ]);
});

describe('what the unit was doing when the check failed', () => {
  run([
    {
      name: 'timeout while active: hung, not crashed',
      input: input({ unit: HEALTHY, error: TIMEOUT }),
      want: {
        first: { cause: 'hung, not crashed: flaky.service stayed active (running) but timed out', scope: 'unit', confidence: 'likely' },
        evidence: ['health check: timeout: no response within 5000 ms after 5000 ms', 'ActiveState=active SubState=running MainPID=63'],
      },
    },
    {
      name: 'connection refused while inactive/dead',
      input: input({ unit: NOT_FOUND, error: REFUSED }),
      want: {
        first: { cause: 'nope.service is not running (inactive/dead)', scope: 'unit', confidence: 'certain' },
        causes: ['nope.service is not running (inactive/dead)'],
        evidence: ['connect ECONNREFUSED 127.0.0.1:18170', 'ActiveState=inactive SubState=dead'],
      },
    },
    {
      name: 'connection refused in auto-restart: the exit that caused it, which absorbs the state',
      input: input({ unit: AUTO_RESTART, error: REFUSED, journal: DEAD, exit: EXIT_3, deadInvocation: DEAD_RUN }),
      want: { first: { cause: 'exited with status 3', scope: 'invocation', confidence: 'certain' }, causes: ['exited with status 3'], evidence: ['SubState=auto-restart'] },
    },
    {
      name: 'HTTP 503 and nothing else: possible, and the probable cause says none was found',
      input: input({ unit: HEALTHY, error: { ...HTTP_503, body: 'down for maintenance' } }),
      want: {
        first: { cause: 'health check returned HTTP 503', scope: 'unit', confidence: 'possible' },
        evidence: ['HTTP 503 Service Unavailable', 'it answered: down for maintenance'],
        probableCause: 'HTTP 503, no cause found',
      },
    },
    {
      name: 'refused while the unit is active and nothing listens on the health port',
      input: input({ unit: HEALTHY, error: REFUSED, firstFailureAt: at(60), confirmedAt: at(61), listening: { healthAddress: '127.0.0.1:18170', onHealthPort: false, unitListens: ['127.0.0.1:18171'] } }),
      want: { first: { cause: 'flaky.service is active but nothing listens on 127.0.0.1:18170 (it listens on 127.0.0.1:18171)', scope: 'unit', confidence: 'likely' } },
    },
    {
      name: 'refused right after the unit started: not listening yet',
      input: input({ unit: HEALTHY, error: REFUSED, firstFailureAt: '2026-11-25T16:37:19.000Z', confirmedAt: '2026-11-25T16:37:20.000Z', listening: { healthAddress: '127.0.0.1:18170', onHealthPort: false, unitListens: null } }),
      want: { first: { cause: 'flaky.service is active but not listening yet (started 2s ago)', scope: 'unit', confidence: 'likely' } },
    },
    { name: 'near miss: refused while active, listening unknown', input: input({ unit: HEALTHY, error: REFUSED }), want: { causes: ['health check: connection refused'] } },
    { name: 'a calm host and a running unit: nothing stands out', input: input({ unit: HEALTHY, trigger: 'manual' }), want: { causes: [], probableCause: 'manual snapshot, no cause found' } },
    { name: 'empty everything', input: input({ samples: [] }), want: { causes: [], probableCause: 'failed, no cause found' } },
  ]);
});

describe('time: an earlier incident is never this one’s cause', () => {
  run([
    {
      name: 'a crash that was reported and recovered, then a 503: the crash is context',
      input: input({
        unit: RESTARTED,
        error: HTTP_503,
        journal: CRASH,
        firstFailureAt: at(8),
        confirmedAt: at(9),
        previous: { firstFailureAt: '2026-11-25T16:37:17.732Z', recoveredAt: '2026-11-25T16:37:19.000Z' },
      }),
      want: { causes: ['health check returned HTTP 503'], never: ['status 3', 'about to crash'] },
    },
    {
      name: "the service's own error line after the recovery is the cause; before it, it is not",
      input: input({
        unit: HEALTHY,
        error: HTTP_503,
        journal: [own(-3, 'error: something from the last incident', 'c32224f002cf4b2e907470c4a9a57cf7'), own(0.2, 'error: cache full', 'c32224f002cf4b2e907470c4a9a57cf7')],
        previous: { firstFailureAt: at(-10), recoveredAt: at(-2) },
      }),
      want: { first: { cause: 'the service logged: error: cache full', scope: 'invocation', confidence: 'likely' }, causes: ['the service logged: error: cache full'], never: ['last incident'] },
    },
  ]);
});

describe('requested stops and restarts', () => {
  const stopping = (seconds: number, type = 'stop') => sd(seconds, 'Stopping stop.service - flaky test service on 127.0.0.1:18413...', 6, { job: { type } });
  const stopped = (seconds: number, type = 'stop') => sd(seconds, 'Stopped stop.service - flaky test service on 127.0.0.1:18413.', 6, { job: { type, result: 'done' } });
  const STOPPED_UNIT = unit('systemctl-show-not-found.txt', 0, { Id: 'stop.service', LoadState: 'loaded', ActiveState: 'inactive', SubState: 'dead', Result: 'success' });
  run([
    {
      name: 'systemctl stop: stopped on request, certain',
      input: input({ unit: STOPPED_UNIT, error: REFUSED, journal: [stopping(-0.5), stopped(-0.4)] }),
      want: { first: { cause: 'stopped on request at 16:37:17', scope: 'unit', confidence: 'certain' }, causes: ['stopped on request at 16:37:17'] },
    },
    {
      name: 'a stop after a crash that was reported and recovered: never the old crash',
      input: input({
        unit: STOPPED_UNIT,
        error: REFUSED,
        journal: [...CRASH, stopping(6), stopped(6.1)],
        firstFailureAt: at(6.5),
        confirmedAt: at(7),
        previous: { firstFailureAt: '2026-11-25T16:37:17.732Z', recoveredAt: '2026-11-25T16:37:19.000Z' },
      }),
      want: { first: { cause: 'stopped on request at 16:37:23', scope: 'unit', confidence: 'certain' }, causes: [/^stopped on request/], never: ['status 3'] },
    },
    {
      name: 'an automatic restart (Restart=) is nobody’s request',
      input: input({ trigger: 'unit_restart', unit: RESTARTED, journal: CRASH, exit: EXIT_3, deadInvocation: DEAD_RUN }),
      want: { first: { cause: 'exited with status 3', scope: 'invocation', confidence: 'certain' }, never: ['on request'] },
    },
    {
      name: 'a requested restart that did not come back',
      input: input({
        unit: unit('systemctl-show-not-found.txt', 0, { Id: 'app.service', LoadState: 'loaded', ActiveState: 'activating', SubState: 'start-pre', TimeoutStartUSec: '1min 30s' }),
        error: REFUSED,
        // as systemd 252 logs `systemctl restart` (fixtures/systemd/requested-restart): the stop phase begins as a stop
        journal: [sd(-1, 'Stopping app.service - app...', 6, { job: { type: 'stop' } }), sd(-0.9, 'Stopped app.service - app.', 6, { job: { type: 'restart', result: 'done' } }), sd(-0.9, 'Starting app.service - app...', 6, { job: { type: 'start' } })],
      }),
      want: { first: { cause: 'restarted on request at 16:37:16 and not back within its start timeout (90s)', scope: 'unit', confidence: 'certain' } },
    },
  ]);
});

describe('limits of the unit', () => {
  run([
    {
      name: 'MemoryCurrent at 97% of MemoryMax while answering 503',
      input: input({
        unit: unit('systemctl-show-healthy.txt', 0, { MemoryMax: String(200 * 1024 * 1024), MemoryCurrent: String(194 * 1024 * 1024) }),
        error: HTTP_503,
      }),
      want: { first: { cause: 'memory at 97% of MemoryMax=200M', scope: 'unit', confidence: 'likely' }, evidence: ['HTTP 503'] },
    },
    {
      name: 'TasksCurrent at TasksMax, and the service said it could not spawn',
      input: input({
        unit: unit('systemctl-show-healthy.txt', 0, { TasksMax: '16', TasksCurrent: '16' }),
        error: HTTP_503,
        journal: [own(0.1, 'error: spawn failed: Resource temporarily unavailable', 'c32224f002cf4b2e907470c4a9a57cf7')],
      }),
      want: { first: { cause: 'tasks at 16 of TasksMax=16', scope: 'unit', confidence: 'likely' }, causes: ['tasks at 16 of TasksMax=16'], evidence: ['spawn failed'] },
    },
    { name: 'near miss: memory at 90% of MemoryMax', input: input({ unit: unit('systemctl-show-healthy.txt', 0, { MemoryMax: '1000', MemoryCurrent: '900' }), error: HTTP_503 }), want: { causes: ['health check returned HTTP 503'] } },
  ]);
});

describe("the service's own process", () => {
  const procs = (cpu: number, rssGiB: number) => ({
    top_cpu: [{ pid: 4242, command: 'node', cmdline: 'node server.js', cpu_percent: cpu, rss_bytes: rssGiB * 1024 ** 3 }],
    top_memory: [{ pid: 4242, command: 'node', cmdline: 'node server.js', cpu_percent: cpu, rss_bytes: rssGiB * 1024 ** 3 }],
  });
  run([
    {
      name: 'no unit, its listener pinned a CPU while answering 503',
      input: input({ error: HTTP_503, servicePid: 4242, processes: procs(98, 1.1) }),
      want: { first: { cause: "the service's own process node (pid 4242) was using 98% CPU and 1.1 GiB RSS", scope: 'unit', confidence: 'likely' } },
    },
    {
      name: 'the top CPU user at 60%: said, but only possible',
      input: input({ error: HTTP_503, servicePid: 4242, processes: procs(60, 0.1) }),
      want: { first: { cause: "the service's own process node (pid 4242) was using 60% CPU and 102 MiB RSS", scope: 'unit', confidence: 'possible' } },
    },
    { name: 'near miss: an idle service process', input: input({ error: HTTP_503, servicePid: 4242, processes: procs(2, 0.05) }), want: { causes: ['health check returned HTTP 503'] } },
  ]);
});

describe('the service logged it: the general fallback', () => {
  run([
    {
      name: 'an error line near the failure outranks the bare 503',
      input: input({ unit: HEALTHY, error: HTTP_503, journal: [own(-20, 'started'), own(0.1, 'fatal: cache warmup failed: upstream returned garbage', 'c32224f002cf4b2e907470c4a9a57cf7')] }),
      want: {
        first: { cause: 'the service logged: fatal: cache warmup failed: upstream returned garbage', scope: 'invocation', confidence: 'likely' },
        causes: [/^the service logged/],
        evidence: ['HTTP 503'],
      },
    },
    {
      name: 'an error line of an earlier run is not this run’s words',
      input: input({ unit: HEALTHY, error: HTTP_503, journal: [own(0.1, 'fatal: old run', 'another-run')] }),
      want: { causes: ['health check returned HTTP 503'] },
    },
    {
      name: 'an error line long before the failure is not its cause',
      input: input({ unit: HEALTHY, error: HTTP_503, journal: [own(-50, 'error: warm-up slow', 'c32224f002cf4b2e907470c4a9a57cf7')] }),
      want: { causes: ['health check returned HTTP 503'] },
    },
  ]);
});

describe("the health check's own errors, and systemd-coredump's entry", () => {
  const tls = { ...err('tls', 'TLS certificate expired at 2020-02-01T00:00:00Z (CN=localhost)', null, 5), tls: { code: 'CERT_HAS_EXPIRED', subject: 'CN=localhost', issuer: 'CN=ca', valid_from: '2020-01-01T00:00:00Z', valid_to: '2020-02-01T00:00:00Z' } };
  // the published systemd-coredump entry (fixtures/systemd/coredump-published/hyprv3-issue-18.txt) as its MESSAGE
  const published = fs.readFileSync(path.join(FIXTURES, 'systemd', 'coredump-published', 'hyprv3-issue-18.txt'), 'utf8');
  const message = published
    .split('\n')
    .map((l, i) => (i === 0 ? l.replace(/^.*?systemd-coredump\[\d+\]: (?:\[\S+\] )?/, '') : l.trim()))
    .join('\n')
    .trim();
  run([
    {
      name: 'an expired certificate: certain, this unit, in the words a person acts on',
      input: input({ unit: HEALTHY, error: tls }),
      want: { first: { cause: 'TLS certificate expired at 2020-02-01T00:00:00Z (CN=localhost)', scope: 'unit', confidence: 'certain' } },
    },
    {
      name: 'a name that does not exist',
      input: input({ error: err('dns', 'DNS: no such name app.internal', null, 3) }),
      want: { first: { cause: 'DNS: no such name app.internal', scope: 'unit', confidence: 'certain' } },
    },
    {
      name: 'a resolver that did not answer is only likely (it may be a blip)',
      input: input({ error: err('dns', 'DNS: the resolver did not answer for app.internal', null, 3) }),
      want: { first: { cause: 'DNS: the resolver did not answer for app.internal', scope: 'unit', confidence: 'likely' } },
    },
    {
      name: "a core dump with systemd-coredump's stack: the crash, with its first frames as evidence",
      input: input({
        trigger: 'unit_restart',
        exit: { code: 'dumped', status: 'ABRT', at: at(0) },
        journal: [{ at: at(0.3), priority: 2, pid: 835, message }],
      }),
      want: { first: { cause: 'crashed on signal 6 (SIGABRT), core dumped', scope: 'invocation', confidence: 'certain' }, causes: [/core dumped/], evidence: ['systemd-coredump: 0x00007f6184b7826c n/a (libc.so.6 + 0x8926c)'] },
    },
  ]);
});

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { parseJournalJson } from '../../src/systemd/journal';
import { KERNEL_GREP, classifyKernelLine, collectOomKills, parseOomKill, unitOwnsCgroup, type KernelEventKind, type OomKillInfo } from '../../src/systemd/kernel';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'cmd');
const kernelEntries = parseJournalJson(fs.readFileSync(path.join(FIXTURES, 'journalctl-kernel-oom.json'), 'utf8'), {
  maxMessageChars: 4000,
}).entries.reverse();

// A cgroup v2 host's OOM kill, verbatim from a published measurement (see fixtures/README-systemd.md)
const V2_SUMMARY =
  'oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/system.slice/lab08-oom.service,task_memcg=/system.slice/lab08-oom.service,task=python3,pid=27501,uid=0';
const V2_KILLED =
  'Memory cgroup out of memory: Killed process 27501 (python3) total-vm:79664kB, anon-rss:65152kB, file-rss:6912kB, shmem-rss:0kB, UID:0 pgtables:192kB oom_score_adj:0';

describe('classifyKernelLine', () => {
  test('the real OOM block from the sandbox, in order', () => {
    assert.deepEqual(
      kernelEntries.map((e) => classifyKernelLine(e.message)),
      ['oom_invoked', null, null, 'memcg_oom', 'memcg_oom', null, 'oom_kill_summary', 'oom_killed'],
    );
  });

  // Lines built from the printk formats cited in src/systemd/kernel.ts, as the kernel fills them in.
  const cases: Array<{ name: string; input: string; want: KernelEventKind | null }> = [
    { name: 'v2 host summary (published)', input: V2_SUMMARY, want: 'oom_kill_summary' },
    { name: 'v2 host memcg kill (published)', input: V2_KILLED, want: 'oom_killed' },
    {
      name: 'global OOM kill',
      input: 'Out of memory: Killed process 1806845 (python) total-vm:5082240kB, anon-rss:2044904kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:4500kB oom_score_adj:0',
      want: 'oom_killed',
    },
    { name: 'kill line before 4.x (no reason prefix)', input: 'Killed process 1234 (node) total-vm:100kB, anon-rss:50kB, file-rss:0kB', want: 'oom_killed' },
    {
      name: 'global summary with global_oom',
      input: 'oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/system.slice/x.service,task=python,pid=1806845,uid=1000',
      want: 'oom_kill_summary',
    },
    { name: 'summary with the OOM[n] prefix', input: `OOM[3]: ${V2_SUMMARY}`, want: 'oom_kill_summary' },
    { name: 'invoked, with a space in the comm', input: 'Web Content invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=167', want: 'oom_invoked' },
    { name: 'memcg limit, before 4.19', input: 'Task in /system.slice/x.service killed as a result of limit of /system.slice/x.service', want: 'memcg_oom' },
    { name: 'memcg kill, before 4.x', input: 'Memory cgroup out of memory: Kill process 1234 (java) score 1000 or sacrifice child', want: 'memcg_oom' },
    {
      name: 'ext4 error',
      input: 'EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0',
      want: 'fs_error',
    },
    { name: 'ext4 remount read-only', input: 'EXT4-fs (sda1): Remounting filesystem read-only', want: 'fs_error' },
    { name: 'jbd2 abort', input: 'Aborting journal on device sda1-8.', want: 'fs_error' },
    { name: 'XFS metadata I/O error is a filesystem error', input: 'XFS (dm-0): metadata I/O error in "xfs_trans_read_buf_map" at daddr 0x2 len 1 error 5', want: 'fs_error' },
    { name: 'XFS shutdown', input: 'XFS (dm-0): Filesystem has been shut down due to log error (0x2).', want: 'fs_error' },
    { name: 'btrfs error', input: 'BTRFS error (device sdb): bdev /dev/sdb errs: wr 1, rd 0, flush 0, corrupt 0, gen 0', want: 'fs_error' },
    { name: 'block I/O error, 6.x', input: 'I/O error, dev sda, sector 2048 op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 2', want: 'io_error' },
    {
      name: 'block I/O error, 5.x (blk_update_request prefix)',
      input: 'blk_update_request: I/O error, dev sda, sector 12345 op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 0',
      want: 'io_error',
    },
    { name: 'block error, other status', input: 'critical medium error, dev nvme0n1, sector 4096 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 2', want: 'io_error' },
    { name: 'buffer I/O error', input: 'Buffer I/O error on dev sda1, logical block 0, async page read', want: 'io_error' },
    {
      name: 'segfault',
      input: 'node[1234]: segfault at 0 ip 00007f3c2a1b2c3d sp 00007ffd4e5f6a70 error 4 in libc.so.6[7f3c2a028000+155000] likely on CPU 1 (core 1, socket 0)',
      want: 'segfault',
    },
    { name: 'general protection fault', input: 'traps: node[4321] general protection fault ip:55d5c0a1b2c3 sp:7ffc8d9e0f10 error:0 in node[55d5c0000000+1000000]', want: 'segfault' },
    { name: 'hung task', input: 'INFO: task jbd2/sda1-8:123 blocked for more than 120 seconds.', want: 'hung_task' },
    { name: 'hung task, newer counter suffix', input: 'INFO: task postgres:4242 blocked for more than 245 seconds. [#3]', want: 'hung_task' },
    { name: 'empty', input: '', want: null },
    { name: 'an app that mentions a segfault', input: 'installing segfault handler', want: null },
    { name: 'audit noise', input: 'audit: type=1400 audit(1700000000.000:42): apparmor="DENIED" operation="open"', want: null },
    { name: 'a task list row of the OOM dump', input: '[  13558]     0 13558   264156    25277    16160     9117         0   622592        0             0 node', want: null },
  ];
  for (const c of cases) test(c.name, () => assert.equal(classifyKernelLine(c.input), c.want));
});

describe('parseOomKill', () => {
  const cases: Array<{ name: string; input: string; want: OomKillInfo | null }> = [
    {
      name: 'real summary from the sandbox (cgroup path with the sandbox prefix)',
      input: kernelEntries[6]?.message ?? '',
      want: {
        constraint: 'CONSTRAINT_MEMCG',
        memcg: '/preflight-e2e-capture/system.slice/hog.service',
        taskMemcg: '/preflight-e2e-capture/system.slice/hog.service',
        comm: 'node',
        pid: 13558,
        uid: 0,
      },
    },
    {
      name: 'real kill line from the sandbox',
      input: kernelEntries[7]?.message ?? '',
      want: { reason: 'Memory cgroup out of memory', pid: 13558, comm: 'node', totalVmBytes: 991088 * 1024, anonRssBytes: 64640 * 1024 },
    },
    {
      name: 'v2 host summary (published)',
      input: V2_SUMMARY,
      want: { constraint: 'CONSTRAINT_MEMCG', memcg: '/system.slice/lab08-oom.service', taskMemcg: '/system.slice/lab08-oom.service', comm: 'python3', pid: 27501, uid: 0 },
    },
    {
      name: 'v2 host kill line (published)',
      input: V2_KILLED,
      want: { reason: 'Memory cgroup out of memory', pid: 27501, comm: 'python3', totalVmBytes: 79664 * 1024, anonRssBytes: 65152 * 1024 },
    },
    {
      name: 'global OOM: no oom_memcg',
      input: 'oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0-1,3,global_oom,task_memcg=/system.slice/x.service,task=python,pid=1806845,uid=1000',
      want: { constraint: 'CONSTRAINT_NONE', taskMemcg: '/system.slice/x.service', comm: 'python', pid: 1806845, uid: 1000 },
    },
    {
      name: 'a comm with spaces, commas and parentheses',
      input: 'Out of memory: Killed process 42 (my (odd), app) total-vm:10kB, anon-rss:4kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:1kB oom_score_adj:0',
      want: { reason: 'Out of memory', pid: 42, comm: 'my (odd), app', totalVmBytes: 10240, anonRssBytes: 4096 },
    },
    {
      name: 'summary before the memcg context (padded pid)',
      input: 'oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,task=java,pid= 4321,uid=    0',
      want: { constraint: 'CONSTRAINT_NONE', comm: 'java', pid: 4321, uid: 0 },
    },
    {
      name: 'memcg limit line before 4.19',
      input: 'Task in /docker/abc killed as a result of limit of /docker',
      want: { taskMemcg: '/docker/abc', memcg: '/docker' },
    },
    { name: 'cut kill line', input: 'Memory cgroup out of memory: Killed process 12', want: null },
    { name: 'not an OOM line', input: 'Call Trace:', want: null },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(parseOomKill(c.input), c.want));
});

describe('collectOomKills', () => {
  test('joins the real summary and kill line by pid', () => {
    const kills = collectOomKills(kernelEntries);
    assert.equal(kills.length, 1);
    assert.deepEqual(kills[0], {
      constraint: 'CONSTRAINT_MEMCG',
      memcg: '/preflight-e2e-capture/system.slice/hog.service',
      taskMemcg: '/preflight-e2e-capture/system.slice/hog.service',
      comm: 'node',
      pid: 13558,
      uid: 0,
      reason: 'Memory cgroup out of memory',
      totalVmBytes: 991088 * 1024,
      anonRssBytes: 64640 * 1024,
      line: kernelEntries[7]?.message,
      at: kernelEntries[7]?.at,
    });
  });
  test('two kills stay two; a kill line without a summary stands alone', () => {
    const kills = collectOomKills([
      { message: V2_SUMMARY },
      { message: V2_KILLED },
      { message: 'Out of memory: Killed process 7 (x) total-vm:1kB, anon-rss:1kB, file-rss:0kB' },
    ]);
    assert.deepEqual(
      kills.map((k) => [k.pid, k.memcg]),
      [
        [27501, '/system.slice/lab08-oom.service'],
        [7, undefined],
      ],
    );
  });
  test('no OOM lines: none', () => assert.deepEqual(collectOomKills([{ message: 'Call Trace:' }]), []));
});

describe('unitOwnsCgroup', () => {
  const cases: Array<{ name: string; unit: string; memcg: string; want: boolean }> = [
    { name: 'same path (a host)', unit: '/system.slice/lab08-oom.service', memcg: '/system.slice/lab08-oom.service', want: true },
    { name: 'kernel path with a prefix outside the namespace', unit: '/system.slice/hog.service', memcg: '/sdbox-x/system.slice/hog.service', want: true },
    { name: 'a cgroup below the unit (Delegate=)', unit: '/system.slice/hog.service', memcg: '/system.slice/hog.service/worker', want: true },
    { name: 'trailing slashes', unit: '/system.slice/hog.service/', memcg: '/system.slice/hog.service/', want: true },
    { name: 'another unit', unit: '/system.slice/hog.service', memcg: '/system.slice/flaky.service', want: false },
    { name: 'a longer name', unit: '/system.slice/hog.service', memcg: '/system.slice/hog.service2', want: false },
    { name: 'a longer name before', unit: '/system.slice/hog.service', memcg: '/x/my-system.slice/hog.service', want: false },
    { name: 'the slice only', unit: '/system.slice/hog.service', memcg: '/system.slice', want: false },
    { name: 'unit without a cgroup (dead)', unit: '', memcg: '/system.slice/hog.service', want: false },
    { name: 'relative path', unit: 'system.slice/hog.service', memcg: '/system.slice/hog.service', want: false },
    { name: 'root matches only root', unit: '/', memcg: '/system.slice', want: false },
  ];
  for (const c of cases) test(c.name, () => assert.equal(unitOwnsCgroup(c.unit, c.memcg), c.want));
});

describe('KERNEL_GREP (the journalctl prefilter) keeps every line classifyKernelLine keeps', () => {
  const grep = new RegExp(KERNEL_GREP);
  const lines = [
    ...kernelEntries.map((e) => e.message),
    'Out of memory: Killed process 1806845 (python) total-vm:5082240kB, anon-rss:2044904kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:4500kB oom_score_adj:0',
    'Task in /system.slice/x.service killed as a result of limit of /system.slice/x.service',
    'INFO: task kworker/0:1:123 blocked for more than 120 seconds.',
    'node[4242]: segfault at 0 ip 00007f sp 00007ffc error 4 in node[400000+2000000]',
    'traps: node[4242] general protection fault ip:7f sp:7ffc error:0 in libc.so.6',
    'EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0',
    'EXT4-fs (sda1): Remounting filesystem read-only',
    'Aborting journal on device sda1-8.',
    'XFS (dm-0): metadata I/O error in "xfs_imap_to_bp+0x5d/0x100" at daddr 0x1 len 32 error 5',
    'BTRFS error (device sda2): bdev /dev/sda2 errs: wr 1, rd 0, flush 0, corrupt 0, gen 0',
    'blk_update_request: I/O error, dev sda, sector 12345 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 0',
    'Buffer I/O error on dev sda1, logical block 0, async page read',
    V2_SUMMARY,
    V2_KILLED,
  ];
  for (const l of lines.filter((x) => classifyKernelLine(x) !== null)) {
    test(l.slice(0, 60), () => assert.match(l, grep));
  }
  test('and drops the chatter', () => {
    assert.doesNotMatch('usb 1-1: new high-speed USB device number 2 using xhci_hcd', grep);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { cmdlineFromBytes, parsePidStatus, readPidCmdline, readPidStatus } from '../../src/proc/pid-status';
import { assertParseError, procRoot } from './_helpers';

const KB = 1024;

describe('readPidStatus on fixture roots', () => {
  const cases = [
    { name: 'sleep (real capture)', root: procRoot(), pid: 4242, want: { name: 'sleep', state: 'S', uid: 0, vmHwmBytes: 1792 * KB, vmRssBytes: 1792 * KB, threads: 1 } },
    { name: 'node, 7 threads (real capture)', root: procRoot(), pid: 4244, want: { name: 'node', state: 'R', uid: 0, vmHwmBytes: 43920 * KB, vmRssBytes: 43920 * KB, threads: 7 } },
    { name: 'kernel thread: no Vm lines', root: procRoot(), pid: 2, want: { name: 'kthreadd', state: 'S', uid: 0, threads: 1 } },
    { name: 'zombie: no Vm lines', root: procRoot('zombie'), pid: 4245, want: { name: 'python3', state: 'Z', uid: 0, threads: 1 } },
    { name: 'name with parentheses', root: procRoot('comm-parens'), pid: 4243, want: { name: 'my (weird) proc', state: 'S', uid: 0, vmHwmBytes: 1788 * KB, vmRssBytes: 1788 * KB, threads: 1 } },
    { name: 'escaped newline in the name is unescaped', root: procRoot('comm-newline'), pid: 4246, want: { name: 'a) b\nc (d', state: 'S', uid: 0, vmHwmBytes: 13836 * KB, vmRssBytes: 13836 * KB, threads: 1 } },
  ];
  for (const { name, root, pid, want } of cases) it(name, () => assert.deepEqual(readPidStatus(pid, root), want));

  it('a vanished pid is null', () => assert.equal(readPidStatus(999999, procRoot()), null));
  it('an empty status is malformed (fixture)', () => assertParseError(() => readPidStatus(4248, procRoot('empty')), { field: 'Name' }));

  const bad = [
    { name: 'VmRSS without kB', input: 'Name:\tx\nVmRSS:\t12\n', want: { line: 2, field: 'VmRSS' } },
    { name: 'Threads not a number', input: 'Name:\tx\nThreads:\tmany\n', want: { line: 2, field: 'Threads' } },
    { name: 'Uid missing', input: 'Name:\tx\nUid:\n', want: { line: 2, field: 'Uid' } },
  ];
  for (const { name, input, want } of bad) it(name, () => assertParseError(() => parsePidStatus(input), want));
  it('a backslash in the name is unescaped', () => assert.equal(parsePidStatus('Name:\ta\\\\b\\tc\n').name, 'a\\b\tc'));
});

describe('readPidCmdline', () => {
  const cases = [
    { name: 'NULs become spaces, trailing one trimmed', root: procRoot(), pid: 4244, max: 256, want: 'node -e const t=Date.now(); for(;;){}' },
    { name: 'capped at maxBytes', root: procRoot(), pid: 4244, max: 9, want: 'node -e c' },
    { name: 'kernel thread: empty', root: procRoot(), pid: 2, max: 256, want: '' },
    { name: 'zombie: empty', root: procRoot('zombie'), pid: 4245, max: 256, want: '' },
    { name: 'path with spaces and parentheses', root: procRoot('comm-parens'), pid: 4243, max: 256, want: '/tmp/cap/my (weird) proc 3600' },
    { name: 'empty file (fixture)', root: procRoot('empty'), pid: 4248, max: 256, want: '' },
    { name: 'vanished pid', root: procRoot(), pid: 999999, max: 256, want: null },
  ];
  for (const { name, root, pid, max, want } of cases) it(name, () => assert.equal(readPidCmdline(pid, root, max), want));

  const bytes = [
    { name: 'a cut two-byte character is dropped', input: [0x61, 0xc3], capped: true, want: 'a' },
    { name: 'a whole two-byte character is kept', input: [0x61, 0xc3, 0xa9], capped: true, want: 'aé' },
    { name: 'a cut four-byte character is dropped', input: [0x61, 0x00, 0xf0, 0x9f, 0x98], capped: true, want: 'a' },
    { name: 'not capped: bytes kept as decoded', input: [0x61, 0x00, 0x62, 0x00], capped: false, want: 'a b' },
  ];
  for (const { name, input, capped, want } of bytes) {
    it(name, () => assert.equal(cmdlineFromBytes(Buffer.from(input), input.length, capped), want));
  }

  it('reads a real child whose cmdline is longer than a page, capped at maxBytes', async () => {
    const long = 'x'.repeat(10000);
    const script = 'setTimeout(() => {}, 30000)';
    const child = spawn(process.execPath, ['-e', script, long], { stdio: 'ignore' });
    const want = `${process.execPath} -e ${script} ${long}`.slice(0, 8192);
    try {
      await new Promise((r) => child.once('spawn', r));
      // Until exec completes, the fork still shows the parent's cmdline: poll until it is the child's.
      let got: string | null = '';
      for (let i = 0; i < 100 && got !== want; i++) {
        got = readPidCmdline(child.pid ?? 0, '/proc', 8192);
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(got, want);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

// End to end, a read that really never ends: journalctl for one service reads a file on a FUSE mount
// that never answers a READ (test/e2e/fuse/stuck-fuse.py), so the reader sits in D state and ignores
// SIGKILL. The built daemon runs in a private mount namespace with that mount; fake journalctl and
// systemctl come first on PATH. Asserted: the next service's capture is not delayed, the hung one's
// snapshot is written with the reason, /metrics counts the unreaped child, and SIGTERM ends the daemon
// within the command deadline. Needs root, /dev/fuse, unshare and python3; skipped otherwise.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { request } from '../daemon/_helpers';
import { RunningDaemon, TestService, waitFor } from './daemon';

const FUSE_SERVER = path.join(__dirname, 'fuse', 'stuck-fuse.py');
const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const why =
  process.getuid?.() !== 0 ? 'needs root' : !existsSync('/dev/fuse') ? 'no /dev/fuse' : !has('unshare') || !has('python3') ? 'needs unshare and python3' : null;

/** Processes in D state whose command line mentions `what` (from /proc). */
function stuckReaders(what: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (state === 'D' && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(what)) out.push(Number(pid));
    } catch {
      // gone
    }
  }
  return out;
}

test('a journalctl in D state (FUSE read never answered) delays neither the next capture nor stop', { skip: why ?? false }, async (t) => {
  const work = mkdtempSync(path.join(tmpdir(), 'preflight-stuck-'));
  const mnt = path.join(work, 'mnt');
  const bin = path.join(work, 'bin');
  mkdirSync(mnt);
  mkdirSync(bin);
  const serverPid = path.join(work, 'fuse.pid');
  const stuckFile = path.join(mnt, 'journal');
  // journalctl: the hung service's read execs a reader of the stuck file; -f waits; the rest print a line
  writeFileSync(
    path.join(bin, 'journalctl'),
    [
      '#!/bin/sh',
      'case " $* " in',
      `  *" _SYSTEMD_UNIT=hung.service "*) exec cat ${stuckFile} ;;`,
      '  *" -f "*) exec sleep 3600 ;;',
      'esac',
      'msg="last words"; [ "$1" = -k ] && msg="Memory cgroup out of memory: Killed process 42 (node) total-vm:100kB, anon-rss:50kB"',
      'printf \'{"__REALTIME_TIMESTAMP":"%s000000","MESSAGE":"%s","PRIORITY":"3"}\\n\' "$(date +%s)" "$msg"',
      '',
    ].join('\n'),
  );
  writeFileSync(
    path.join(bin, 'systemctl'),
    ['#!/bin/sh', 'seen=', 'for u in "$@"; do [ -n "$seen" ] && printf "Id=%s\\nLoadState=loaded\\nActiveState=failed\\nSubState=failed\\n\\n" "$u"; [ "$u" = -- ] && seen=1; done', 'exit 0', ''].join('\n'),
  );
  // the daemon's "node": a private mount namespace with the FUSE server mounted, then node itself (exec,
  // so the pid and signals the test sees are node's)
  const wrapper = path.join(bin, 'node-in-ns');
  writeFileSync(
    wrapper,
    [
      '#!/bin/sh',
      `exec unshare -m --propagation private sh -c '`,
      `  python3 ${FUSE_SERVER} ${mnt} > ${work}/fuse.out 2>&1 & echo $! > ${serverPid}`,
      `  for i in $(seq 100); do grep -q ready ${work}/fuse.out 2>/dev/null && break; sleep 0.05; done`,
      `  exec ${process.execPath} "$@"' node-in-ns "$@"`,
      '',
    ].join('\n'),
  );
  for (const f of ['journalctl', 'systemctl', 'node-in-ns']) chmodSync(path.join(bin, f), 0o755);

  const hung = await TestService.start();
  const next = await TestService.start();
  let d: RunningDaemon | null = null;
  try {
    d = await RunningDaemon.start({
      node: wrapper,
      env: { PATH: `${bin}:${process.env.PATH ?? ''}` },
      yaml: () =>
        [
          'timeout_seconds: 0.2',
          'services:',
          `  - name: hung`,
          `    health_url: http://127.0.0.1:${hung.port}/health`,
          '    unit: hung.service',
          `  - name: next`,
          `    health_url: http://127.0.0.1:${next.port}/health`,
          '    unit: next.service',
        ].join('\n'),
    });
    const daemon = d;
    hung.mode = '503';
    // the hung service fails first; the next one a moment later, while the hung read is stuck
    await waitFor('the reader stuck in D state', 10_000, () => stuckReaders(stuckFile).length > 0);
    const t0 = Date.now();
    next.mode = '503';
    const nextSnap = await waitFor('the next service snapshot', 10_000, () => daemon.snapshots('next')[0]);
    const nextAfter = Date.now() - t0;
    const hungSnap = await waitFor('the hung service snapshot', 10_000, () => daemon.snapshots('hung')[0]);
    const metrics = (await request(`${daemon.api}/metrics`)).body;
    const readers = stuckReaders(stuckFile);
    const stop = await daemon.stop();
    t.diagnostic(`next snapshot ${nextAfter} ms after its failure began (capture ${nextSnap.snapshot.capture.duration_ms} ms); ${readers.length} reader(s) in D state; stop ${stop.ms} ms`);

    assert.deepEqual(nextSnap.snapshot.capture.errors, []);
    assert.deepEqual(nextSnap.snapshot.journal.map((l) => l.message), ['last words']);
    // its capture did not wait for the stuck one: well under the 2 s command deadline
    assert.ok(nextSnap.snapshot.capture.duration_ms < 1500, `next capture took ${nextSnap.snapshot.capture.duration_ms} ms`);
    const journalError = hungSnap.snapshot.capture.errors.find((e) => e.part === 'journal');
    assert.match(journalError?.reason ?? '', /timed out after 2000 ms \(did not exit on SIGKILL; left to the kernel\)/);
    assert.ok(readers.length >= 1, 'a reader was in D state when the snapshots were written');
    assert.match(metrics, /^preflight_commands_unreaped [1-9]\d*$/m);
    assert.match(metrics, /^preflight_commands_abandoned_total [1-9]\d*$/m);
    // exit 0, and without "a system call is still hung": the abandoned child no longer holds the event loop
    assert.deepEqual({ code: stop.code, signal: stop.signal, stderr: daemon.stderr }, { code: 0, signal: null, stderr: '' });
    assert.ok(stop.ms < 2000 + 150 + 1500, `stop took ${stop.ms} ms`);
  } finally {
    await d?.stop();
    // the server's exit aborts the FUSE connection: the stuck readers get ENOTCONN and exit
    if (existsSync(serverPid)) spawnSync('kill', [readFileSync(serverPid, 'utf8').trim()]);
    await hung.close();
    await next.close();
    if (d) rmSync(d.dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
});

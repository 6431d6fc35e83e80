// Rows where journalctl misbehaves (fake binaries on PATH, never the host's journal): missing, hung
// (killed at its deadline, but a child it left holds the pipe open: 'close' never comes), flooding
// (100 MB of journal JSON per call). The snapshot is still written, the part that could not be taken is
// a capture error with its reason, the next service's capture is not held up, and RSS stays bounded.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CAPTURE_LIMITS } from '../../../src/incident/capture';
import type { Snapshot } from '../../../src/incident/snapshot';
import { RunningDaemon, waitFor } from '../daemon';
import { Endpoints, assertNothingLost, fakeBin, names, peakRssMiB, record } from './harness';
import type { Row } from './row';

/**
 * 100 MB of `journalctl -o json` lines, each a kernel segfault line stamped now (what --grep would let
 * through, and what the kernel rules keep): the reader must keep its newest lines and drop the rest as it reads.
 */
const FLOOD = [
  'ts="$(/bin/date +%s)000000"',
  `line='{"__REALTIME_TIMESTAMP":"'"$ts"'","_BOOT_ID":"0","PRIORITY":"3","_TRANSPORT":"kernel","SYSLOG_IDENTIFIER":"kernel","MESSAGE":"flood[4242]: segfault at 0 ip 0000000000401000 sp 00007ffd00000000 error 4 in flood[400000+1000]${'x'.repeat(120)}"}'`,
  '/usr/bin/yes "$line" | /usr/bin/head -c 100000000',
].join('\n');

interface Case {
  row: string;
  journalctl: string | null;
  /** checks on each service's snapshot */
  check: (s: Snapshot) => void;
  /** ms from a service's first failed check to its snapshot on disk */
  maxLatencyMs: number;
  boundMiB: number;
}

async function journalRow(c: Case, dir: string): Promise<void> {
  const t0 = Date.now();
  const ep = await Endpoints.start();
  // PATH is only this folder: "missing" means no journalctl (nor systemctl) anywhere on it
  const bin = fakeBin({ journalctl: c.journalctl === null ? null : c.journalctl.replaceAll('$PIDS', path.join(dir, 'pids')), systemctl: null });
  const all = names('j', 3);
  const d = await RunningDaemon.start({ env: { PATH: bin }, yaml: () => ep.yaml(all) });
  try {
    await waitFor('every service checked twice', 10_000, () => all.every((s) => (ep.hits.get(s) ?? 0) >= 2));
    // the first service fails, then the second a second later: its capture must not wait for the first's
    const waits: Array<Promise<number>> = [];
    for (const s of all.slice(0, 2)) {
      ep.set([s], '503');
      const t = Date.now();
      waits.push(waitFor(`${s}'s snapshot (log: ${d.process.output.slice(-1500)})`, 40_000, () => d.snapshots(s).length >= 1).then(() => Date.now() - t));
      await new Promise((r) => setTimeout(r, 1000));
    }
    const latency = await Promise.all(waits);
    for (const [i, ms] of latency.entries()) assert.ok(ms < c.maxLatencyMs, `${all[i]}: snapshot ${ms} ms after the failure (bound ${c.maxLatencyMs} ms)`);
    for (const s of all.slice(0, 2)) c.check(d.snapshots(s)[0]!.snapshot);
    const reasons = [...new Set(errorsOf(d.snapshots(all[0]!)[0]!.snapshot).map((e) => `${e.part}: ${e.reason}`))].join('; ');
    const rss = peakRssMiB(d.child.pid);
    const stop = await d.stop();
    assert.equal(stop.code, 0, d.process.output.slice(-2000));
    assert.ok(stop.ms < 5000, `stop took ${stop.ms} ms`);
    await assertNothingLost(d.snapshotDir, all.slice(0, 2), { healthy: [all[2]!] });
    record(c.row, rss, c.boundMiB, t0, `snapshot ${latency.join(' / ')} ms after the failure; stop ${stop.ms} ms; capture errors: ${reasons || 'none'}`);
  } finally {
    await d.cleanup();
    await ep.close();
  }
}

/** Kill the children a hung fake journalctl left behind (by the pids it wrote down): only ours. */
function killLeftovers(dir: string): void {
  let text = '';
  try {
    text = readFileSync(path.join(dir, 'pids'), 'utf8');
  } catch {
    return;
  }
  for (const pid of text.split('\n').filter(Boolean).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

const errorsOf = (s: Snapshot): Array<{ part: string; reason: string }> => s.capture.errors;

const cases: Case[] = [
  {
    row: 'journalctl missing',
    journalctl: null,
    maxLatencyMs: 8000,
    boundMiB: 200,
    check: (s) => {
      const kernel = errorsOf(s).filter((e) => e.part === 'kernel');
      assert.equal(kernel.length, 1, JSON.stringify(errorsOf(s)));
      assert.match(kernel[0]!.reason, /journalctl.*(not installed|not found|ENOENT)/i);
    },
  },
  {
    row: 'journalctl hung (child holds the pipe)',
    // the shell is SIGKILLed at the deadline; the sleep it started keeps stdout open for 60 s
    journalctl: '/bin/sleep 60 & echo $! >> "$PIDS"; wait',
    // deadline (2 s) + grace, twice over, plus detection: far below the 60 s the pipe stays open
    maxLatencyMs: 10_000,
    boundMiB: 200,
    check: (s) => {
      const kernel = errorsOf(s).filter((e) => e.part === 'kernel');
      assert.equal(kernel.length, 1, JSON.stringify(errorsOf(s)));
      assert.match(kernel[0]!.reason, /timed out|deadline|timeout/i);
    },
  },
  {
    row: 'journalctl flooding (100 MB a call)',
    journalctl: FLOOD,
    maxLatencyMs: 20_000,
    boundMiB: 250,
    check: (s) => {
      // the newest CAPTURE_LIMITS.kernelLines of them, whole, and no capture error for the kernel
      assert.equal(s.kernel.length, CAPTURE_LIMITS.kernelLines);
      assert.deepEqual(s.kernel.filter((k) => !/^flood\[4242\]: segfault at 0 ip /.test(k.message)), []);
      assert.deepEqual(errorsOf(s).filter((e) => e.part === 'kernel'), []);
      assert.ok(s.capture.finished_at, 'capture finished');
    },
  },
];

export const commandRows: Row[] = cases.map((c) => ({
  name: `${c.row}: the snapshot is written, the next capture not held up`,
  run: async () => {
    const dir = fakeBin({});
    try {
      await journalRow(c, dir);
    } finally {
      killLeftovers(dir);
    }
  },
}));

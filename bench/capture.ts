// What one context capture costs (captureContext from src/incident/capture.ts, in-process), next to its
// floors measured in the same run:
//   spawn floor   `true` spawned through the same exec helper, once and three at a time (a capture runs
//                 systemctl show, journalctl -u and journalctl -k concurrently), and the same three commands
//                 asked for nothing (`-n 0`, one property)
//   scan floor    readdir /proc + readFileSync of every /proc/[pid]/stat, no parsing
// The capture's 500 ms between its two process scans (CAPTURE_LIMITS.processScanGapMs, for current CPU %
// per process) is a deliberate wait, not cost: wall time is shown with and without it, and CPU time
// separately: this process's own (process.cpuUsage) and its reaped children's (cutime + cstime from
// /proc/self/stat, 10 ms ticks, so shown as a mean over rounds).
//
// Part 1 runs on this machine, with whatever systemctl and journalctl answer here (PID 1 may not be
// systemd: then systemctl fails fast and journalctl finds no journal). Part 2 runs the same measurement
// INSIDE the real-systemd sandbox (test/e2e/sandbox.ts; needs root) with a flaky unit that has restarted
// and a journal full of its lines: the real cost. It is skipped, with the reason, where the sandbox cannot boot.
//
//   make bench-capture                      BENCH_ROUNDS=30 BENCH_CAPTURE_ROUNDS=10 (defaults)
//   node --import tsx bench/capture.ts --json UNIT    one measurement as JSON (what the sandbox runs)
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ServiceConfig } from '../src/config/config';
import { CAPTURE_LIMITS, captureContext, hostFacts, readUnit } from '../src/incident/capture';
import { ProcessTable } from '../src/sample/procs';
import { journalctlKernelArgs, parseJournalJson, readKernelJournal, readUnitJournal } from '../src/systemd/journal';
import { classifyKernelLine } from '../src/systemd/kernel';
import { run } from '../src/util/exec';
import { machineLine, median, nowMs, printTable, quantile, sleep } from './stats';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const CAPTURE_ROUNDS = Number(process.env.BENCH_CAPTURE_ROUNDS ?? 10);
const WARMUP = 3;
const TIMEOUT_MS = 5000;
const JOURNAL_LINES = 100;
const SANDBOX_PORT_ENV = 'BENCH_CAPTURE_PORT';

/** One variant's measurements, ms. */
interface Row {
  name: string;
  wall: number[];
  cpu: number[];
  childCpu: number[];
  /** what the last run saw: errors, line counts */
  note: string;
}

interface Measurement {
  where: string;
  processes: number;
  rows: Row[];
}

/** CPU ms of this process's reaped children: cutime + cstime of /proc/self/stat (split at the last ')'). */
function childCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // after the name: state is field 3, so cutime (16) and cstime (17) are at 13 and 14
  return ((Number(f[13]) + Number(f[14])) * 1000) / 100;
}

function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function scanFloor(): number {
  let n = 0;
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    try {
      readFileSync(`/proc/${name}/stat`, 'latin1');
      n++;
    } catch {
      // gone between readdir and open
    }
  }
  return n;
}

async function timed(row: Row, fn: () => Promise<string> | string, keep: boolean): Promise<void> {
  const c0 = ownCpuMs();
  const k0 = childCpuMs();
  const t0 = nowMs();
  const note = await fn();
  const dt = nowMs() - t0;
  // children are reaped asynchronously: give the exit a moment to land in cutime
  const c1 = ownCpuMs();
  await sleep(2);
  const k1 = childCpuMs();
  if (!keep) return;
  row.wall.push(dt);
  row.cpu.push(c1 - c0);
  row.childCpu.push(k1 - k0);
  row.note = note;
}

/** Every measurement, on this machine (or, run with --json inside the sandbox, on that one). */
async function measure(unit: string, where: string): Promise<Measurement> {
  const service: ServiceConfig = {
    name: 'bench',
    healthUrl: 'http://127.0.0.1:9/health',
    unit,
    expectStatus: [{ min: 200, max: 399 }],
    intervalSeconds: 30,
    timeoutSeconds: 5,
    bufferSamples: 30,
  };
  // the daemon's window with the default buffer_samples 30 x sample_seconds 10
  const since = new Date(Date.now() - 300_000);
  const table = new ProcessTable();
  const common = { since, timeoutMs: TIMEOUT_MS, maxMessageChars: CAPTURE_LIMITS.messageChars };
  const sinceArg = `@${Math.floor(since.getTime() / 1000)}`;
  const quiet = { timeoutMs: TIMEOUT_MS, maxBytes: 1 << 20 };
  const variants: { name: string; fn: () => Promise<string> | string }[] = [
    {
      name: 'part: systemctl show (readUnit)',
      fn: async () => {
        const r = await readUnit(unit, TIMEOUT_MS);
        return r.error ?? `${r.unit?.activeState}/${r.unit?.subState}`;
      },
    },
    {
      name: `part: journalctl -u -n ${JOURNAL_LINES}`,
      fn: async () => {
        const r = await readUnitJournal(unit, { ...common, lines: JOURNAL_LINES, maxBytes: CAPTURE_LIMITS.journalBytes });
        return r.ok ? `${r.entries.length} lines` : r.reason;
      },
    },
    {
      name: 'part: journalctl -k',
      fn: async () => {
        const r = await readKernelJournal({ ...common, maxBytes: CAPTURE_LIMITS.kernelBytes });
        if (!r.ok) return r.reason;
        const kept = r.entries.filter((e) => classifyKernelLine(e.message) !== null).length;
        return `${r.entries.length} lines (${kept} kept)`;
      },
    },
    {
      // an alternative, not what preflight does: the same kernel read with only the fields it uses
      name: 'alt: journalctl -k --output-fields',
      fn: async () => {
        const args = [...journalctlKernelArgs({ since, lines: 2000 }), '--output-fields=MESSAGE,PRIORITY,_PID,SYSLOG_PID,SYSLOG_IDENTIFIER'];
        const r = await run('journalctl', args, { timeoutMs: TIMEOUT_MS, maxBytes: CAPTURE_LIMITS.kernelBytes });
        const parsed = parseJournalJson(r.stdout, { maxMessageChars: CAPTURE_LIMITS.messageChars });
        const kept = parsed.entries.filter((e) => classifyKernelLine(e.message) !== null).length;
        return `${parsed.entries.length} lines (${kept} kept), ${(r.stdout.length / 1024).toFixed(0)} KiB`;
      },
    },
    {
      // an alternative, not what preflight does: journalctl's PCRE2 --grep as a coarse prefilter of the
      // classifier's kernel lines (classifyKernelLine still decides); needs a journalctl built +PCRE2
      name: 'alt: journalctl -k --grep prefilter',
      fn: async () => {
        const grep = 'oom-kill|invoked oom-killer|Killed process|memory: usage|Memory cgroup|Task in |blocked for more than|segfault at|general protection|-fs |Aborting journal|XFS \\(|BTRFS|error, dev|Buffer I/O error';
        const args = [...journalctlKernelArgs({ since, lines: 2000 }), '--grep', grep];
        const r = await run('journalctl', args, { timeoutMs: TIMEOUT_MS, maxBytes: CAPTURE_LIMITS.kernelBytes });
        const parsed = parseJournalJson(r.stdout, { maxMessageChars: CAPTURE_LIMITS.messageChars });
        const kept = parsed.entries.filter((e) => classifyKernelLine(e.message) !== null).length;
        return `${parsed.entries.length} lines (${kept} kept), ${(r.stdout.length / 1024).toFixed(0)} KiB`;
      },
    },
    { name: 'part: process scan (ProcessTable)', fn: () => `${table.scan(Date.now())} pids` },
    { name: 'part: host facts', fn: () => hostFacts().hostname ?? '?' },
    { name: 'floor: spawn true', fn: async () => `exit ${(await run('true', [], quiet)).exitCode}` },
    {
      name: 'floor: 3x spawn true, parallel',
      fn: async () => `exit ${(await Promise.all([0, 1, 2].map(() => run('true', [], quiet)))).map((r) => r.exitCode).join(',')}`,
    },
    {
      name: 'floor: same 3 commands, -n 0 / -p Id',
      fn: async () => {
        const rs = await Promise.all([
          run('systemctl', ['show', '-p', 'Id', '--no-pager', '--', unit], quiet),
          run('journalctl', ['-o', 'json', '--no-pager', '-q', '--since', sinceArg, '-n', '0', `--unit=${unit}`], quiet),
          run('journalctl', ['-k', '-o', 'json', '--no-pager', '-q', '--since', sinceArg, '-n', '0'], quiet),
        ]);
        return `exit ${rs.map((r) => r.exitCode).join(',')}`;
      },
    },
    { name: 'floor: /proc scan (readdir + stat)', fn: () => `${scanFloor()} pids` },
  ];
  const rows = new Map<string, Row>();
  const rowOf = (name: string): Row => {
    let r = rows.get(name);
    if (!r) rows.set(name, (r = { name, wall: [], cpu: [], childCpu: [], note: '' }));
    return r;
  };
  rowOf('capture (captureContext)');
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    // rotate the order so no variant always runs first (cold caches) or last
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(round + k) % variants.length]!;
      await timed(rowOf(v.name), v.fn, round >= WARMUP);
    }
  }
  const captureTable = new ProcessTable();
  for (let round = 0; round < 1 + CAPTURE_ROUNDS; round++) {
    await timed(
      rowOf('capture (captureContext)'),
      async () => {
        const c = await captureContext({ service, since, journalLines: JOURNAL_LINES, timeoutMs: TIMEOUT_MS, processes: captureTable });
        const errors = c.errors.map((e) => `${e.part}: ${e.reason.slice(0, 70)}`);
        return `${c.journal.length} journal, ${c.kernel.length} kernel lines; errors: ${errors.length ? errors.join(' | ') : 'none'}`;
      },
      round >= 1,
    );
  }
  return { where, processes: scanFloor(), rows: [...rows.values()] };
}

const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function report(m: Measurement): Record<string, number> {
  const by = (name: string): Row => m.rows.find((r) => r.name === name)!;
  const cap = by('capture (captureContext)');
  const gap = CAPTURE_LIMITS.processScanGapMs;
  console.log(`${m.where}: ${m.processes} processes in /proc; ${ROUNDS} interleaved rounds per part/floor, ${CAPTURE_ROUNDS} captures`);
  printTable([
    ['variant', 'wall med ms', 'wall p90 ms', 'cpu med ms', 'child cpu mean ms', 'last run saw'],
    ...m.rows.map((r) => [r.name, ms(median(r.wall)), ms(quantile(r.wall, 0.9)), ms(median(r.cpu)), ms(mean(r.childCpu)), r.note.slice(0, 90)]),
    [`capture minus the ${gap} ms scan gap`, ms(median(cap.wall) - gap), ms(quantile(cap.wall, 0.9) - gap), '', '', ''],
  ]);
  const floorCpu = median(by('floor: 3x spawn true, parallel').cpu) + 2 * median(by('floor: /proc scan (readdir + stat)').cpu);
  const floorChild = mean(by('floor: 3x spawn true, parallel').childCpu);
  const captureCpu = median(cap.cpu);
  const captureChild = mean(cap.childCpu);
  console.log(
    `capture CPU ${ms(captureCpu)} ms own + ${ms(captureChild)} ms children; floor (3 spawns of true + 2 /proc scans) ${ms(floorCpu)} ms own + ${ms(floorChild)} ms children: x${((captureCpu + captureChild) / (floorCpu + floorChild)).toFixed(1)}`,
  );
  return {
    capture_wall_ms: median(cap.wall),
    capture_wall_minus_gap_ms: median(cap.wall) - gap,
    capture_cpu_ms: captureCpu,
    capture_child_cpu_ms: captureChild,
    spawn3_floor_wall_ms: median(by('floor: 3x spawn true, parallel').wall),
    scan_floor_ms: median(by('floor: /proc scan (readdir + stat)').wall),
    scan_ms: median(by('part: process scan (ProcessTable)').wall),
    cpu_x_floor: (captureCpu + captureChild) / (floorCpu + floorChild),
  };
}

/** Part 2: boot real systemd, give it a flaky unit with a journal and a restart, measure inside. */
async function inSandbox(): Promise<Measurement | string> {
  const { Sandbox, flakyUnit, httpGet, sandboxUnavailable, untilHealthy } = await import('../test/e2e/sandbox');
  const why = sandboxUnavailable();
  if (why !== null) return why;
  const { freePort } = await import('../test/daemon/_helpers');
  const port = Number(process.env[SANDBOX_PORT_ENV] ?? (await freePort()));
  const sb = await Sandbox.up('bench-capture', { units: { 'flaky.service': flakyUnit({ port, restartSec: 1 }) } });
  try {
    const started = await sb.exec(['systemctl', 'start', 'flaky.service']);
    if (started.exitCode !== 0) throw new Error(`systemctl start flaky.service: ${started.stderr}`);
    await untilHealthy(port, 10_000);
    // a journal worth reading: a run that logged and crashed, and a new run that logs
    for (let i = 0; i < 150; i++) await httpGet(port, '/fail');
    await httpGet(port, '/crash');
    await untilHealthy(port, 10_000);
    for (let i = 0; i < 150; i++) await httpGet(port, '/fail');
    const repo = path.resolve(__dirname, '..');
    const r = await sb.exec([process.execPath, '--import', 'tsx', path.join(__dirname, 'capture.ts'), '--json', 'flaky.service'], {
      cwd: repo,
      timeoutMs: 120_000,
      env: { BENCH_ROUNDS: String(ROUNDS), BENCH_CAPTURE_ROUNDS: String(CAPTURE_ROUNDS) },
    });
    if (r.exitCode !== 0) throw new Error(`capture inside the sandbox failed (${r.exitCode ?? r.signal}): ${r.stderr.slice(-2000)}`);
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Measurement;
  } finally {
    await sb.down();
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === '--json') {
    const m = await measure(process.argv[3] ?? 'flaky.service', 'inside the systemd sandbox');
    process.stdout.write(`${JSON.stringify(m)}\n`);
    return;
  }
  const hostUnit = process.env.BENCH_CAPTURE_UNIT ?? 'preflight-bench-none.service';
  console.log(`context capture cost (journal lines ${JOURNAL_LINES}, timeout ${TIMEOUT_MS} ms per command)`);
  console.log(machineLine());
  console.log('');
  const host = report(await measure(hostUnit, `this machine (PID 1: ${readFileSync('/proc/1/comm', 'utf8').trim()}, unit ${hostUnit})`));
  console.log('');
  const inside = await inSandbox();
  const fields: string[] = Object.entries(host).map(([k, v]) => `${k}=${v.toFixed(1)}`);
  if (typeof inside === 'string') {
    console.log(`sandbox: skipped (${inside})`);
    fields.push('sandbox=skipped');
  } else {
    const s = report(inside);
    for (const [k, v] of Object.entries(s)) fields.push(`sandbox_${k}=${v.toFixed(1)}`);
  }
  console.log(`RESULT ${fields.join(' ')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

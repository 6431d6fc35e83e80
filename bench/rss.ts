// Memory of the running daemon: the BUILT bundle as `preflight start` (make build first; make bench-rss
// does) watching 10, then 100 services, each a TestService endpoint on 127.0.0.1 served by this process,
// probed every ~10 s, three times the default rate (each service's interval is spread over +-10%, so
// checks do not line up; BENCH_RSS_INTERVAL=1 is a stress load of 100 checks/s at 100 services), host
// samples every 1 s, rings of 30, the API listening on loopback. Along the run services fail and recover
// (a 503, a hang past the timeout, a wrong body; one at a time every 3 s, and a tenth of them at once
// halfway), so captures, snapshot writes and recovery rewrites happen while memory is read.
// Shown next to an idle `node -e 'setInterval(()=>{},1e9)'` measured the same way, at the same time.
//
// Read from /proc/<pid>/status every 200 ms: VmRSS (resident now; "steady" = median over the last 10 s),
// VmHWM (the kernel's high-water mark of VmRSS = "peak", read at the end), and RssAnon / RssFile (heap and
// stacks vs mapped files such as node's own binary) at the steady point. Goals (README, measured here, not
// asserted): at 100 services, steady within idle + 15 MiB and peak within idle + 25 MiB.
//
//   make bench-rss                  BENCH_RSS_SECONDS=60 (default) per run
//   BENCH_RSS_NODE_OPTIONS='' make bench-rss      NODE_OPTIONS for the daemon only (default: the unit's NODE_FLAGS)
//     (only the V8 flags node allows there: --max-semi-space-size, --max-old-space-size, --jitless, ...)
//   BENCH_RSS_V8_FLAGS='--no-opt' make bench-rss      v8.setFlagsFromString() in a --require'd file, before
//     the bundle loads: what the daemon itself could do at startup (any V8 flag that still acts after boot)
//   BENCH_RSS_SERVICES=10,100,200 make bench-rss
//   BENCH_RSS_INTERVAL=1 make bench-rss   health-check interval per service (default 10 s; 1 s = 100 checks/s at 100 services)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NODE_FLAGS } from '../src/commands/unit';
import { freePort } from '../test/daemon/_helpers';
import { PreflightProcess, TestService, waitFor, type Mode } from '../test/e2e/daemon';
import { machineLine, median, printTable, sleep } from './stats';

const SECONDS = Number(process.env.BENCH_RSS_SECONDS ?? 60);
const COUNTS = (process.env.BENCH_RSS_SERVICES ?? '10,100').split(',').map(Number);
/** By default the daemon runs with the node flags of the unit `preflight unit` prints (as installed). */
const NODE_OPTIONS = process.env.BENCH_RSS_NODE_OPTIONS ?? NODE_FLAGS.join(' ');
const V8_FLAGS = process.env.BENCH_RSS_V8_FLAGS ?? '';
/** Each service's health-check interval in seconds (spread over +-10%); 1 s is a stress load of 100 checks/s at 100 services. */
const INTERVAL = Number(process.env.BENCH_RSS_INTERVAL ?? 10);
const STEADY_WINDOW_MS = 10_000;
const SAMPLE_MS = 200;
const MIB = 1024; // status fields are in kB

interface Status {
  at: number;
  rss: number;
  hwm: number;
  anon: number;
  file: number;
}

/** VmRSS, VmHWM, RssAnon, RssFile of a pid in kB; null when it is gone. */
function readStatus(pid: number): Status | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return null;
  }
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : Number.NaN;
  };
  return { at: Date.now(), rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') };
}

/** Samples a pid's status every SAMPLE_MS until stopped. */
class Sampler {
  readonly samples: Status[] = [];
  private readonly timer: NodeJS.Timeout;
  constructor(readonly pid: number) {
    this.timer = setInterval(() => {
      const s = readStatus(pid);
      if (s) this.samples.push(s);
    }, SAMPLE_MS);
  }
  /** Stop sampling without a result (a run that failed). */
  cancel(): void {
    clearInterval(this.timer);
  }
  /** Stop; steady = median of the last STEADY_WINDOW_MS, peak = the last VmHWM read. */
  stop(): { steady: number; peak: number; anon: number; file: number; n: number } {
    clearInterval(this.timer);
    const last = this.samples.at(-1);
    if (!last) throw new Error(`no /proc/${this.pid}/status samples`);
    const window = this.samples.filter((s) => s.at >= last.at - STEADY_WINDOW_MS);
    return { steady: median(window.map((s) => s.rss)), peak: last.hwm, anon: median(window.map((s) => s.anon)), file: median(window.map((s) => s.file)), n: window.length };
  }
}

interface RunResult {
  services: number;
  steady: number;
  peak: number;
  anon: number;
  file: number;
  checks: number;
  captures: number;
  snapshots: number;
  recoveries: number;
  cpuSeconds: number;
}

function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, clock ticks
}

async function runDaemon(n: number, cleanups: Array<() => void>, alongside?: () => void): Promise<RunResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'preflight-bench-rss-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const services: TestService[] = [];
  let pf: PreflightProcess | undefined;
  let sampler: Sampler | undefined;
  const timers: NodeJS.Timeout[] = [];
  try {
    for (let i = 0; i < n; i++) services.push(await new TestService().start());
    const apiPort = await freePort();
    const lines = [
      `snapshot_dir: ${JSON.stringify(path.join(dir, 'snapshots'))}`,
      'timeout_seconds: 0.5',
      'failure_threshold: 2',
      'confirm_interval_seconds: 0.5',
      'sample_seconds: 1',
      'buffer_samples: 30',
      'journal_lines: 100',
      `listen: "127.0.0.1:${apiPort}"`,
      'services:',
      // interval spread over +-10%, so the checks drift apart as they would in production
      ...services.flatMap((s, i) => [`  - name: s${i}`, `    health_url: ${s.url}`, `    interval_seconds: ${(INTERVAL * (0.9 + (0.2 * i) / Math.max(1, n - 1))).toFixed(3)}`]),
    ];
    const config = path.join(dir, 'preflight.yaml');
    writeFileSync(config, `${lines.join('\n')}\n`);
    let nodeOptions = NODE_OPTIONS;
    if (V8_FLAGS) {
      const preload = path.join(dir, 'v8-flags.cjs');
      writeFileSync(preload, `require('node:v8').setFlagsFromString(${JSON.stringify(V8_FLAGS)});\n`);
      nodeOptions = `${nodeOptions} --require ${JSON.stringify(preload)}`.trim();
    }
    const env: NodeJS.ProcessEnv = { RUNTIME_DIRECTORY: path.join(dir, 'run'), NODE_OPTIONS: nodeOptions };
    pf = new PreflightProcess(config, { env });
    const daemon = pf;
    const pid = pf.child.pid;
    if (pid === undefined) throw new Error('preflight did not start');
    sampler = new Sampler(pid);
    await waitFor('a first check of every service', 15_000, () => {
      if (daemon.child.exitCode !== null) throw new Error(`preflight exited: ${daemon.output}`);
      return services.every((s) => s.hits >= 1);
    });
    // setpriv execs node: the pid sampled is the daemon's own
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    if (!cmdline.includes('preflight.js')) throw new Error(`pid ${pid} is not the daemon: ${cmdline}`);
    alongside?.();

    // the failure schedule: one service every 3 s for 4 s, and a tenth of them at once halfway for 5 s
    const modes: Mode[] = ['503', 'hang', 'wrong-body'];
    const breakFor = (s: TestService, mode: Mode, ms: number): void => {
      if (s.mode !== 'ok') return;
      void s.set(mode);
      timers.push(setTimeout(() => void s.set('ok'), ms));
    };
    let k = 0;
    for (let t = 3000; t < SECONDS * 1000 - 6000; t += 3000) {
      const i = (k * 7) % n; // spread over the list, deterministic
      const mode = modes[k++ % modes.length]!;
      timers.push(setTimeout(() => breakFor(services[i]!, mode, 4000), t));
    }
    timers.push(
      setTimeout(() => {
        const burst = Math.max(1, Math.round(n / 10));
        for (let j = 0; j < burst; j++) breakFor(services[(j * 10 + 3) % n]!, modes[j % modes.length]!, 5000);
      }, (SECONDS * 1000) / 2),
    );
    await sleep(SECONDS * 1000);
    const mem = sampler.stop();
    sampler = undefined;
    const cpuSeconds = cpuSecondsOf(pid);
    for (const t of timers) clearTimeout(t);
    const stopped = await pf.stop();
    if (stopped.code !== 0) throw new Error(`preflight exited with ${stopped.code ?? stopped.signal}: ${pf.output.slice(-2000)}`);
    const out = pf.output;
    const count = (re: RegExp): number => out.split('\n').filter((l) => re.test(l)).length;
    let snapshots = 0;
    for (let i = 0; i < n; i++) {
      try {
        snapshots += readdirSync(path.join(dir, 'snapshots', `s${i}`)).filter((f) => f.endsWith('.json') && !f.startsWith('.')).length;
      } catch {
        // never failed long enough
      }
    }
    return {
      services: n,
      ...mem,
      checks: services.reduce((a, s) => a + s.hits, 0),
      captures: count(/capturing context$/),
      snapshots,
      recoveries: count(/: recovered after \d+s; /),
      cpuSeconds,
    };
  } finally {
    sampler?.cancel();
    for (const t of timers) clearTimeout(t);
    await pf?.stop();
    for (const s of services) await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const mib = (kb: number): string => (kb / MIB).toFixed(1);

async function main(): Promise<void> {
  const cleanups: Array<() => void> = [];
  let idle: ChildProcess | undefined;
  process.once('SIGINT', () => {
    idle?.kill('SIGKILL');
    for (const c of cleanups) c();
    process.exit(130);
  });
  // the idle node runs alongside the first daemon run: same node binary, same sampling, its own process
  let idleSampler: Sampler | undefined;
  const startIdle = (): void => {
    idle = spawn(process.execPath, ['-e', 'setInterval(()=>{},1e9)'], { stdio: 'ignore', env: { ...process.env, NODE_OPTIONS: '' } });
    if (idle.pid === undefined) throw new Error('idle node did not start');
    idleSampler = new Sampler(idle.pid);
  };
  const runs: RunResult[] = [];
  let idleMem: ReturnType<Sampler['stop']> | undefined;
  try {
    for (const [i, n] of COUNTS.entries()) {
      runs.push(await runDaemon(n, cleanups, i === 0 ? startIdle : undefined));
      if (i === 0 && idleSampler) idleMem = idleSampler.stop();
      if (i === 0) idle?.kill('SIGKILL');
    }
  } finally {
    idle?.kill('SIGKILL');
    if (!idleMem) idleSampler?.cancel();
  }
  if (!idleMem) throw new Error('the idle node was not measured');

  console.log(`daemon memory: the built bundle, each service checked every ~${INTERVAL} s, ${SECONDS} s per run, /proc/<pid>/status every ${SAMPLE_MS} ms; steady = median VmRSS of the last ${STEADY_WINDOW_MS / 1000} s, peak = VmHWM`);
  const flags = [NODE_OPTIONS && `daemon NODE_OPTIONS=${NODE_OPTIONS}`, V8_FLAGS && `daemon v8.setFlagsFromString(${V8_FLAGS})`].filter(Boolean);
  console.log([machineLine(), ...flags].join('; '));
  console.log('');
  printTable([
    ['process', 'steady MiB', 'peak MiB', 'steady-idle', 'peak-idle', 'anon MiB', 'file MiB', 'checks', 'captures', 'snapshots', 'recoveries', 'cpu s'],
    ['idle node', mib(idleMem.steady), mib(idleMem.peak), '-', '-', mib(idleMem.anon), mib(idleMem.file), '-', '-', '-', '-', '-'],
    ...runs.map((r) => [
      `preflight, ${r.services} services`,
      mib(r.steady),
      mib(r.peak),
      `+${mib(r.steady - idleMem.steady)}`,
      `+${mib(r.peak - idleMem.peak)}`,
      mib(r.anon),
      mib(r.file),
      r.checks,
      r.captures,
      r.snapshots,
      r.recoveries,
      r.cpuSeconds.toFixed(1),
    ]),
  ]);
  const at100 = runs.find((r) => r.services === 100);
  if (at100) {
    const steadyOk = at100.steady - idleMem.steady <= 15 * MIB;
    const peakOk = at100.peak - idleMem.peak <= 25 * MIB;
    console.log(`goal at 100 services: steady <= idle + 15 MiB: ${steadyOk ? 'met' : 'MISSED'}; peak <= idle + 25 MiB: ${peakOk ? 'met' : 'MISSED'}`);
  }
  const fields = runs.flatMap((r) => [`rss${r.services}_steady_mib=${mib(r.steady)}`, `rss${r.services}_peak_mib=${mib(r.peak)}`]);
  console.log(`RESULT ${fields.join(' ')} idle_mib=${mib(idleMem.steady)} idle_peak_mib=${mib(idleMem.peak)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  // a run that failed half way may leave a sampling timer behind: do not wait on it
  process.exit(1);
});

// Detection latency of the recorder: from the moment a service starts failing to the moment its snapshot
// is durable on disk, for the BUILT bundle run as `preflight start` (make build first; make bench-detection
// does), against real HTTP endpoints on 127.0.0.1, at compressed intervals. Shown next to
//   bound   interval + (failure_threshold - 1) x confirm_interval: the worst wait for the first failed check
//           plus the fast rechecks; the goal is detection within bound + 1 s (capture and write)
//   naive   failure_threshold x interval: the same threshold with every recheck at the normal interval
//
// What is timed, per trial (one trial = one service broken once; trials are staggered over the run):
//   t0        this process switches the endpoint to 503 (performance.now() and Date.now() just before;
//             the switch is synchronous: the next request the endpoint answers gets the 503)
//   visible   inotify (fs.watch on the service's snapshot folder) reports the final <id>.json name:
//             the rename of the atomic write, before its folder fsync
//   durable   the daemon's `<service>: DOWN ...; snapshot <file>` line arrives on its stdout pipe: it is
//             logged after the write's file fsync, rename and folder fsync (and the small state file's
//             write); the file is then read back and parsed to confirm it
// Both are stamped with performance.now() in this process when the event reaches its loop (sub-ms
// resolution; the event-loop delay of this process, which also serves the endpoints, is the error).
// The breakdown comes from the snapshot's own times (the daemon's Date.now(), ms resolution, same clock):
//   phase     t0 -> transition.first_failure_at: waiting for the service's next scheduled check
//   confirm   first_failure_at -> confirmed_at: the (threshold - 1) fast rechecks
//   commit    confirmed_at -> DOWN line: waiting for the held capture, building, writing
//
//   make bench-detection
// The third default config rechecks faster than the capture's 500 ms between its two process scans, so
// its commit waits for the held capture: that is where the "+ 1 s" goes.
//
//   BENCH_TRIALS=40 BENCH_DETECTION_CONFIGS='3,0.5,2;2,0.5,3' make bench-detection   (interval,confirm,threshold;...)
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Snapshot } from '../src/incident/snapshot';
import { PreflightProcess, TestService, waitFor } from '../test/e2e/daemon';
import { machineLine, nowMs, printTable, quantile, sleep } from './stats';

interface Policy {
  interval: number;
  confirm: number;
  threshold: number;
}

const TRIALS = Number(process.env.BENCH_TRIALS ?? 20);
const POLICIES: Policy[] = (process.env.BENCH_DETECTION_CONFIGS ?? '2,0.5,3;1,0.25,3;1,0.1,2').split(';').map((spec) => {
  const [interval, confirm, threshold] = spec.split(',').map(Number);
  if (!(interval! > 0 && confirm! > 0 && Number.isInteger(threshold) && threshold! >= 1)) {
    throw new Error(`BENCH_DETECTION_CONFIGS: ${JSON.stringify(spec)} is not interval,confirm,threshold`);
  }
  return { interval: interval!, confirm: confirm!, threshold: threshold! };
});

const boundS = (p: Policy): number => p.interval + (p.threshold - 1) * p.confirm;
const naiveS = (p: Policy): number => p.threshold * p.interval;

interface Trial {
  service: string;
  brokeAt: number;
  brokeWall: number;
  visibleAt: number;
  durableAt: number;
  snapshot: Snapshot;
}

/** The daemon's stdout, split into lines, each stamped when its chunk arrived; waiters match lines by regex. */
class Lines {
  private buf = '';
  private readonly waiters = new Set<{ re: RegExp; resolve: (v: { m: RegExpExecArray; at: number }) => void }>();

  constructor(stream: NodeJS.ReadableStream) {
    stream.on('data', (d: string) => {
      const at = nowMs();
      this.buf += d;
      for (let i = this.buf.indexOf('\n'); i >= 0; i = this.buf.indexOf('\n')) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        for (const w of this.waiters) {
          const m = w.re.exec(line);
          if (m) {
            this.waiters.delete(w);
            w.resolve({ m, at });
          }
        }
      }
    });
  }

  /** The next line matching `re`; rejects after `ms`. */
  next(re: RegExp, ms: number, what: string): Promise<{ m: RegExpExecArray; at: number }> {
    return new Promise((resolve, reject) => {
      const w = {
        re,
        resolve: (v: { m: RegExpExecArray; at: number }) => {
          clearTimeout(timer);
          resolve(v);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      this.waiters.add(w);
    });
  }
}

function writeConfig(dir: string, p: Policy, services: TestService[]): string {
  const file = path.join(dir, 'preflight.yaml');
  const lines = [
    `snapshot_dir: ${JSON.stringify(path.join(dir, 'snapshots'))}`,
    `interval_seconds: ${p.interval}`,
    `timeout_seconds: ${Math.min(1, p.interval)}`,
    `confirm_interval_seconds: ${p.confirm}`,
    `failure_threshold: ${p.threshold}`,
    'sample_seconds: 1',
    'buffer_samples: 30',
    'listen: off',
    'services:',
    ...services.flatMap((s, i) => [`  - name: s${i}`, `    health_url: ${s.url}`]),
  ];
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

async function runPolicy(p: Policy, cleanups: Array<() => void>): Promise<Trial[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'preflight-bench-detect-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const services: TestService[] = [];
  const watchers: FSWatcher[] = [];
  const visible = new Map<string, number>();
  let pf: PreflightProcess | undefined;
  try {
    for (let i = 0; i < TRIALS; i++) services.push(await new TestService().start());
    // the folders exist before the daemon starts so inotify can watch them (the store keeps existing folders)
    for (let i = 0; i < TRIALS; i++) {
      const folder = path.join(dir, 'snapshots', `s${i}`);
      mkdirSync(folder, { recursive: true });
      watchers.push(
        watch(folder, (_event, name) => {
          const n = String(name ?? '');
          if (n.endsWith('.json') && !n.startsWith('.') && !visible.has(`s${i}`)) visible.set(`s${i}`, nowMs());
        }),
      );
    }
    const config = writeConfig(dir, p, services);
    pf = new PreflightProcess(config, { env: { RUNTIME_DIRECTORY: path.join(dir, 'run') } });
    const lines = new Lines(pf.child.stdout!);
    const daemon = pf;
    await waitFor('two checks of every service', 15_000 + 3 * p.interval * 1000, () => {
      if (daemon.child.exitCode !== null) throw new Error(`preflight exited: ${daemon.output}`);
      return services.every((s) => s.hits >= 2);
    });

    const bound = boundS(p) * 1000;
    // breaks staggered so about two incidents overlap: the daemon is not idle, nor flooded with captures
    const gapMs = Math.max(1000, bound / 2);
    const waitMs = (bound + 1000) * 3 + 10_000;
    const start = nowMs();
    const trials: Promise<Trial>[] = [];
    for (let k = 0; k < TRIALS; k++) {
      // a random moment in the k-th slot; each service's own checks run at a random offset chosen by the daemon
      await sleep(Math.max(0, start + k * gapMs + Math.random() * gapMs * 0.5 - nowMs()));
      const name = `s${k}`;
      const s = services[k]!;
      const down = lines.next(new RegExp(`^<\\d>${name}: DOWN .*; snapshot (.+\\.json)$`), waitMs, `${name}'s DOWN line`);
      const brokeAt = nowMs();
      const brokeWall = Date.now();
      await s.set('503');
      trials.push(
        (async (): Promise<Trial> => {
          const { m, at } = await down;
          const file = m[1]!;
          // durable means readable and complete now, whatever happens to the daemon next
          if (!existsSync(file)) throw new Error(`${name}: the DOWN line names ${file}, which does not exist`);
          const snapshot = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
          if (snapshot.transition.consecutive_failures !== p.threshold) {
            throw new Error(`${name}: consecutive_failures ${snapshot.transition.consecutive_failures}, want ${p.threshold}`);
          }
          const recovered = lines.next(new RegExp(`^<\\d>${name}: recovered after`), waitMs, `${name}'s recovery`);
          await s.set('ok');
          await recovered;
          return { service: name, brokeAt, brokeWall, visibleAt: visible.get(name) ?? Number.NaN, durableAt: at, snapshot };
        })(),
      );
    }
    const done = await Promise.all(trials);
    const stopped = await pf.stop();
    if (stopped.code !== 0) throw new Error(`preflight exited with ${stopped.code ?? stopped.signal}: ${pf.output.slice(-2000)}`);
    return done;
  } finally {
    for (const w of watchers) w.close();
    await pf?.stop();
    for (const s of services) await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const s3 = (ms: number): string => (ms / 1000).toFixed(2);
const stats = (xs: number[]): string[] => [s3(quantile(xs, 0.5)), s3(quantile(xs, 0.9)), s3(Math.max(...xs))];

async function main(): Promise<void> {
  const cleanups: Array<() => void> = [];
  // Ctrl-C: the daemons die with this process (pdeathsig), the temp folders are removed here
  process.once('SIGINT', () => {
    for (const c of cleanups) c();
    process.exit(130);
  });
  const results: { p: Policy; trials: Trial[] }[] = [];
  for (const p of POLICIES) results.push({ p, trials: await runPolicy(p, cleanups) });

  console.log(`detection latency: ${TRIALS} trials per config, the built bundle watching ${TRIALS} endpoints on 127.0.0.1`);
  console.log('t0 = endpoint switched to 503; durable = DOWN line (after fsync, rename, folder fsync) received and file parsed');
  console.log(machineLine());
  console.log('');
  const summary: (string | number)[][] = [
    ['interval,confirm,thr', 'median s', 'p90 s', 'max s', 'bound s', 'bound+1 s', 'within+1', 'naive s', 'p90/naive'],
  ];
  const detail: (string | number)[][] = [['interval,confirm,thr', 'step (median / p90 / max, s)', 'median', 'p90', 'max']];
  for (const { p, trials } of results) {
    const tag = `${p.interval},${p.confirm},${p.threshold}`;
    const durable = trials.map((t) => t.durableAt - t.brokeAt);
    const bound = boundS(p) * 1000;
    const within = durable.filter((d) => d <= bound + 1000).length;
    summary.push([tag, ...stats(durable), s3(bound), s3(bound + 1000), `${within}/${trials.length}`, s3(naiveS(p) * 1000), (quantile(durable, 0.9) / (naiveS(p) * 1000)).toFixed(2)]);
    const first = (t: Trial): number => Date.parse(t.snapshot.transition.first_failure_at);
    const confirmed = (t: Trial): number => Date.parse(t.snapshot.transition.confirmed_at ?? '');
    const rows: [string, number[]][] = [
      ['phase: t0 -> first failed check', trials.map((t) => first(t) - t.brokeWall)],
      ['confirm: first -> confirmed', trials.map((t) => confirmed(t) - first(t))],
      ['commit: confirmed -> DOWN line', trials.map((t) => t.brokeWall + (t.durableAt - t.brokeAt) - confirmed(t))],
      ['capture.duration (in snapshot)', trials.map((t) => t.snapshot.capture.duration_ms)],
      ['t0 -> file visible (inotify)', trials.map((t) => t.visibleAt - t.brokeAt)],
      ['t0 -> durable (DOWN line)', durable],
    ];
    for (const [label, xs] of rows) detail.push([tag, label, ...stats(xs)]);
  }
  printTable(summary);
  console.log('');
  printTable(detail);
  const key = (i: number): string => (i === 0 ? '' : `${String.fromCharCode(97 + i)}_`);
  const fields = results.map(({ p, trials }, i) => {
    const durable = trials.map((t) => t.durableAt - t.brokeAt);
    const within = durable.filter((d) => d <= boundS(p) * 1000 + 1000).length;
    return `${key(i)}detection_p90_s=${s3(quantile(durable, 0.9))} ${key(i)}detection_max_s=${s3(Math.max(...durable))} ${key(i)}bound_s=${boundS(p).toFixed(2)} ${key(i)}naive_s=${naiveS(p).toFixed(2)} ${key(i)}within_bound_plus_1s=${within}/${trials.length}`;
  });
  console.log(`RESULT ${fields.join(' ')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

// Is a crash that systemd restarts faster than the health-check interval captured? The issue's
// acceptance: "captured every time (the seed design captures none of them)". One sandbox (real systemd
// as PID 1, test/e2e/sandbox.ts), two identical flaky units (Restart=on-failure, RestartSec=500ms, so
// each crash is back in well under a second), and the BUILT preflight installed as a real service
// (test/e2e/preflight-unit.ts) watching both with interval_seconds 5:
//   with-unit  health_url + `unit: a.service`  (restart detection: journal follower + systemctl poll)
//   seed       health_url only                 (health checks alone: the seed design)
// Both units are crashed together (GET /crash, exit 3) CRASHES times, 6-8 s apart, so each crash and its
// recovery complete before the next and the crashes fall at drifting phases of the 5 s check cycle.
// A snapshot belongs to the latest crash before the moment its file appeared. Latency: crash request sent
// -> snapshot file present in the host-side view of the snapshot folder (polled every 20 ms).
//
//   make bench-restart                                    (builds dist/preflight.js first)
//   RESTART_BENCH_CRASHES=5 node --import tsx bench/restart-capture.ts
//   RESTART_BENCH_JOURNAL=/tmp/pf.log ...                 keep preflight's and the units' journals
import { randomInt } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Snapshot } from '../src/incident/snapshot';
import { STATE_DIR, UNIT as PREFLIGHT_UNIT, installPreflightUnit, type InstalledPreflight } from '../test/e2e/preflight-unit';
import { Sandbox, flakyUnit, httpGet, sandboxUnavailable, untilHealthy } from '../test/e2e/sandbox';
import { median, nowMs, printTable, quantile, sleep } from './stats';

const CRASHES = Number(process.env.RESTART_BENCH_CRASHES ?? 20);
const JOURNAL_OUT = process.env.RESTART_BENCH_JOURNAL ?? '';
const INTERVAL_S = 5;
const GAP_MS: [number, number] = [6000, 8000];
/** After the last crash: long enough for a health-check incident (2 checks) to be confirmed and written. */
const TAIL_MS = 8000;
const POLL_MS = 20;
const LAST_LINE = 'about to crash with exit 3';

interface Watched {
  service: 'with-unit' | 'seed';
  unit: string;
  port: number;
}
const WATCHED: readonly Watched[] = [
  { service: 'with-unit', unit: 'a.service', port: 18500 },
  { service: 'seed', unit: 'b.service', port: 18501 },
];

const CONFIG = `snapshot_dir: ${STATE_DIR}
interval_seconds: ${INTERVAL_S}
timeout_seconds: 1
failure_threshold: 2
confirm_interval_seconds: 0.5
sample_seconds: 1
journal_lines: 200
listen: off
services:
  - name: with-unit
    health_url: http://127.0.0.1:${WATCHED[0]!.port}/health
    unit: ${WATCHED[0]!.unit}
  - name: seed
    health_url: http://127.0.0.1:${WATCHED[1]!.port}/health
`;

interface Crash {
  /** nowMs() when the crash requests were sent */
  at: number;
  wall: number;
  /** per port: ms from the crash request until /health answered 200 again (null: not within 5 s) */
  downtimeMs: Map<number, number | null>;
}

const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');

/** First time each snapshot file (not temp files, which start with '.') was seen, per service. */
class SnapshotWatcher {
  readonly seen = new Map<string, Map<string, number>>();
  private timer: NodeJS.Timeout | null = null;
  constructor(private readonly root: string, services: readonly string[]) {
    for (const s of services) this.seen.set(s, new Map());
  }
  start(): void {
    const tick = (): void => {
      this.scan();
      this.timer = setTimeout(tick, POLL_MS);
    };
    tick();
  }
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.scan();
  }
  private scan(): void {
    const t = nowMs();
    for (const [service, files] of this.seen) {
      let names: string[];
      try {
        names = fs.readdirSync(path.join(this.root, service));
      } catch {
        continue; // the folder appears with the first snapshot
      }
      for (const f of names) if (f.endsWith('.json') && !f.startsWith('.') && !files.has(f)) files.set(f, t);
    }
  }
}

/** Crash request sent -> /health answers 200 again, in ms; null if not within 5 s. */
async function downtime(port: number, t0: number): Promise<number | null> {
  const deadline = t0 + 5000;
  let sawDown = false;
  while (nowMs() < deadline) {
    const r = await httpGet(port, '/health', 300);
    if (r !== 200) sawDown = true;
    else if (sawDown) return nowMs() - t0;
    await sleep(10);
  }
  return null;
}

async function crashAll(): Promise<Crash> {
  const at = nowMs();
  const wall = Date.now();
  const answers = await Promise.all(WATCHED.map((w) => httpGet(w.port, '/crash')));
  answers.forEach((a, i) => {
    if (a !== 200) throw new Error(`GET 127.0.0.1:${WATCHED[i]!.port}/crash answered ${a}`);
  });
  const downs = await Promise.all(WATCHED.map((w) => downtime(w.port, at)));
  return { at, wall, downtimeMs: new Map(WATCHED.map((w, i) => [w.port, downs[i] ?? null])) };
}

interface Attributed {
  crash: number;
  file: string;
  latencyS: number;
  snapshot: Snapshot;
}

function attribute(pf: InstalledPreflight, service: string, seen: Map<string, number>, crashes: Crash[]): { byCrash: Attributed[][]; before: string[] } {
  const byCrash: Attributed[][] = crashes.map(() => []);
  const before: string[] = [];
  for (const [file, t] of seen) {
    let i = -1;
    for (let k = 0; k < crashes.length; k++) if (crashes[k]!.at <= t) i = k;
    if (i < 0) {
      before.push(file);
      continue;
    }
    const snapshot = JSON.parse(fs.readFileSync(path.join(pf.hostSnapshotDir, service, file), 'utf8')) as Snapshot;
    byCrash[i]!.push({ crash: i, file, latencyS: (t - crashes[i]!.at) / 1000, snapshot });
  }
  return { byCrash, before };
}

interface JournalLine {
  /** epoch ms */
  at: number;
  text: string;
}

/** The units' journal, short-iso-precise in UTC ("2026-11-25T17:22:25.356186+0000 host ident: msg"). */
async function journalOf(sb: Sandbox, units: readonly string[]): Promise<JournalLine[]> {
  const r = await sb.exec(['journalctl', ...units.flatMap((u) => ['-u', u]), '-o', 'short-iso-precise', '--no-pager', '-q'], {
    env: { TZ: 'UTC' },
    timeoutMs: 30_000,
  });
  const out: JournalLine[] = [];
  for (const text of r.stdout.split('\n')) {
    const stamp = /^(\S+?)([+-]\d\d):?(\d\d) /.exec(text);
    const at = stamp ? Date.parse(`${stamp[1]}${stamp[2]}:${stamp[3]}`) : Number.NaN;
    if (Number.isFinite(at)) out.push({ at, text });
  }
  return out;
}

async function main(): Promise<void> {
  const why = sandboxUnavailable();
  if (why !== null) {
    console.log(`bench-restart: skipped: ${why}`);
    return;
  }
  const started = nowMs();
  const units = Object.fromEntries(WATCHED.map((w) => [w.unit, flakyUnit({ port: w.port, restartSec: 0.5, description: `restart bench ${w.unit}` })]));
  const sb = await Sandbox.up('bench-restart', { units });
  try {
    for (const w of WATCHED) {
      const r = await sb.exec(['systemctl', 'start', w.unit]);
      if (r.exitCode !== 0) throw new Error(`systemctl start ${w.unit}: ${r.stderr.trim()}`);
    }
    for (const w of WATCHED) await untilHealthy(w.port, 10_000, 500);
    const pf = await installPreflightUnit(sb, { configText: CONFIG });
    // every service seen healthy at least once and the unit watcher's first poll (which only records) done
    await sleep(INTERVAL_S * 1000 + 1000);
    const watcher = new SnapshotWatcher(pf.hostSnapshotDir, WATCHED.map((w) => w.service));
    watcher.start();
    const bootS = (nowMs() - started) / 1000;

    const crashes: Crash[] = [];
    let notReady = 0;
    for (let i = 0; i < CRASHES; i++) {
      if (i > 0) {
        const due = crashes[i - 1]!.at + randomInt(GAP_MS[0], GAP_MS[1] + 1);
        await sleep(Math.max(0, due - nowMs()));
      }
      for (const w of WATCHED) {
        if ((await httpGet(w.port, '/health', 500)) !== 200) {
          notReady++;
          await untilHealthy(w.port, 5000, 500);
        }
      }
      crashes.push(await crashAll());
      process.stderr.write(`\rcrash ${i + 1}/${CRASHES}`);
    }
    process.stderr.write('\n');
    await sleep(TAIL_MS);
    watcher.stop();
    const runS = (nowMs() - started) / 1000;

    const nRestarts: Record<string, string> = {};
    for (const w of WATCHED) {
      nRestarts[w.unit] = (await sb.exec(['systemctl', 'show', '-p', 'NRestarts', '--value', w.unit])).stdout.trim();
    }

    const journal = await journalOf(sb, [PREFLIGHT_UNIT, ...WATCHED.map((w) => w.unit)]);
    if (JOURNAL_OUT) {
      const crashTimes = crashes.map((c, i) => `crash ${i + 1} at ${new Date(c.wall).toISOString()}`).join('\n');
      fs.writeFileSync(JOURNAL_OUT, `${crashTimes}\n\n${journal.map((l) => l.text).join('\n')}\n`);
      console.log(`journals of ${PREFLIGHT_UNIT} and the units, with crash times: ${JOURNAL_OUT}`);
    }

    const rows: (string | number)[][] = [
      ['service', 'crashes', 'restarts', 'down p50 s', 'failed checks', 'discarded', 'snapshots', 'captured', 'captured %', 'triggers', 'exit 3', 'last line', 'lat p50 s', 'lat p90 s'],
    ];
    const result: Record<string, { captured: number; latencies: number[]; missed: number[]; captureMs: number[] }> = {};
    for (const w of WATCHED) {
      const { byCrash, before } = attribute(pf, w.service, watcher.seen.get(w.service)!, crashes);
      const all = byCrash.flat();
      const captured = byCrash.filter((s) => s.length > 0).length;
      const missed = byCrash.flatMap((s, i) => (s.length === 0 ? [i + 1] : []));
      const triggers = new Map<string, number>();
      for (const a of all) triggers.set(a.snapshot.trigger, (triggers.get(a.snapshot.trigger) ?? 0) + 1);
      const isExit3 = (a: Attributed): boolean => a.snapshot.exit?.code === 'exited' && String(a.snapshot.exit.status) === '3';
      const exit3 = all.filter(isExit3).length;
      const lastLine = all.filter((a) => a.snapshot.journal.some((l) => l.message === LAST_LINE)).length;
      // the first snapshot after each crash: what an operator waits for
      const latencies = byCrash.flatMap((s) => (s[0] ? [s[0].latencyS] : []));
      const downs = crashes.map((c) => c.downtimeMs.get(w.port)).filter((d): d is number => typeof d === 'number');
      // the daemon logs the first failed check of a suspicion, and a suspicion dropped when a recheck passes
      const logged = (needle: string): number => journal.filter((l) => l.text.includes(`preflight[`) && l.text.includes(`${w.service}: `) && l.text.includes(needle)).length;
      result[w.service] = { captured, latencies, missed, captureMs: all.map((a) => a.snapshot.capture.duration_ms) };
      rows.push([
        w.service,
        crashes.length,
        nRestarts[w.unit] ?? '?',
        fmt(median(downs) / 1000),
        logged('capturing context'),
        logged('recovered before confirmation'),
        all.length + (before.length > 0 ? ` (+${before.length} before)` : ''),
        captured,
        fmt((100 * captured) / crashes.length, 0),
        [...triggers].map(([k, v]) => `${k}=${v}`).join(',') || '-',
        w.service === 'with-unit' ? exit3 : '-',
        w.service === 'with-unit' ? lastLine : '-',
        fmt(median(latencies)),
        fmt(quantile(latencies, 0.9)),
      ]);
      if (missed.length > 0) console.log(`${w.service}: no snapshot for crash ${missed.join(', ')}`);
      const dupes = byCrash.flatMap((s, i) => (s.length > 1 ? [`crash ${i + 1}: ${s.map((a) => a.file).join(' ')}`] : []));
      if (dupes.length > 0) console.log(`${w.service}: more than one snapshot for ${dupes.join('; ')}`);
      const notExit3 = all.filter((a) => !isExit3(a));
      if (w.service === 'with-unit' && notExit3.length > 0) {
        console.log(`with-unit: exit not exited/3 in ${notExit3.map((a) => `${a.file} (${JSON.stringify(a.snapshot.exit)})`).join(', ')}`);
      }
    }

    // where the with-unit latency goes, from journal times (same clock as the crash requests)
    const stages = { exit: [] as number[], seen: [] as number[], written: [] as number[] };
    const sources = { follower: 0, poll: 0 };
    crashes.forEach((c, i) => {
      const end = crashes[i + 1]?.wall ?? Number.POSITIVE_INFINITY;
      const first = (from: number, test: (t: string) => boolean): number | undefined =>
        journal.find((l) => l.at >= from && l.at < end && test(l.text))?.at;
      const exit = first(c.wall, (t) => t.includes(`${WATCHED[0]!.unit}: Main process exited`));
      if (exit === undefined) return;
      const seenLine = journal.find((l) => l.at >= exit && l.at < end && /with-unit: a\.service (exited|restarted) \(/.test(l.text));
      const written = first(exit, (t) => t.includes('with-unit: DOWN'));
      stages.exit.push(exit - c.wall);
      if (seenLine) {
        stages.seen.push(seenLine.at - exit);
        if (/a\.service exited \(/.test(seenLine.text)) sources.follower++;
        else sources.poll++;
        if (written !== undefined) stages.written.push(written - seenLine.at);
      }
    });
    const ms = (xs: number[]): string => `${fmt(median(xs), 0)}/${fmt(quantile(xs, 0.9), 0)} ms`;
    const stageLine =
      `with-unit latency by stage (p50/p90, journal times): crash request -> systemd logs the exit ${ms(stages.exit)}; ` +
      `-> preflight logs it ${ms(stages.seen)} (journal follower ${sources.follower}, systemctl poll ${sources.poll}); ` +
      `-> snapshot written ${ms(stages.written)} (of which context capture ${ms(result['with-unit']!.captureMs)})`;

    const missed = result['with-unit']!.missed;
    for (const n of missed) {
      // the evidence for a miss: preflight's own log and PID 1's lines about the unit around it
      const c = crashes[n - 1]!;
      const lines = journal.filter((l) => l.at >= c.wall - 1000 && l.at <= c.wall + GAP_MS[0]).map((l) => l.text);
      console.error(`--- with-unit missed crash ${n} at ${new Date(c.wall).toISOString()}: journal from 1 s before\n${lines.join('\n')}`);
    }

    console.log(
      `restart capture: ${crashes.length} crashes ${GAP_MS[0] / 1000}-${GAP_MS[1] / 1000} s apart, interval_seconds ${INTERVAL_S}, RestartSec=500ms ` +
        `(node ${process.version}; setup ${fmt(bootS, 1)} s, run ${fmt(runS, 0)} s${notReady > 0 ? `, ${notReady} waits for a unit not yet back` : ''})`,
    );
    printTable(rows);
    console.log(stageLine);
    const wu = result['with-unit']!;
    console.log(
      `RESULT crashes=${crashes.length} captured_with_unit=${wu.captured} captured_seed=${result.seed!.captured} ` +
        `latency_p50_s=${fmt(median(wu.latencies))} latency_p90_s=${fmt(quantile(wu.latencies, 0.9))}`,
    );
  } finally {
    await sb.down();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

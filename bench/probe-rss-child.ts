// One variant of bench/probe-rss.ts, run in a fresh process (bundled by esbuild, run by plain node, as
// the shipped preflight.js is). Probes a local server like the daemon would: `services` services, each
// every `intervalMs`, never two probes of one service at once; prints one JSON line with its memory.
import { readFileSync } from 'node:fs';
import { probe } from '../src/probe/http';

export interface ChildConfig {
  variant: 'fetch' | 'http';
  /** One URL (and timeout) per service. */
  targets: { url: string; timeoutMs: number }[];
  intervalMs: number;
  durationMs: number;
  maxBodyBytes: number;
  /** Spread the services' first probes over one interval instead of starting them all at once. */
  stagger: boolean;
}

export interface ChildReport {
  variant: string;
  probes: number;
  outcomes: Record<string, number>;
  peakKib: number;
  steadyKib: number;
  /** user + system CPU seconds the whole child used. */
  cpuSeconds: number;
  /** V8 heap size (heapTotal) at the same moment as steadyKib. */
  heapKib: number;
  /** Probes still unsettled 5 s after the loop stopped (each had a deadline of at most 1 s). */
  stuck: number;
  /** getActiveResourcesInfo() after the loop stopped and in-flight probes finished. */
  resourcesAfter: string[];
}

// @types/node 18.15.8 does not declare fetch (it was experimental in 18.15); just what this file uses.
interface FetchResponse {
  status: number;
  body: { getReader(): { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(): Promise<void> } } | null;
}
declare const fetch: (url: string, init: { signal: AbortSignal; redirect: 'manual'; headers: Record<string, string> }) => Promise<FetchResponse>;

/** The same job as src/probe/http.ts, done the way DESIGN.md first planned: fetch + AbortSignal.timeout. */
async function fetchProbe(url: string, timeoutMs: number, maxBody: number): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual', headers: { 'user-agent': 'preflight/bench' } });
    const reader = res.body?.getReader();
    let n = 0;
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      n += value?.byteLength ?? 0;
      if (n > maxBody) {
        await reader.cancel();
        break;
      }
    }
    return res.status >= 200 && res.status <= 299 ? 'ok' : 'http_status';
  } catch (err) {
    const e = err as { name?: string; cause?: { code?: string } };
    if (e.name === 'TimeoutError') return 'timeout';
    if (e.cause?.code === 'ECONNREFUSED') return 'connection_refused';
    return `other:${e.cause?.code ?? e.name ?? '?'}`;
  }
}

async function httpProbe(url: string, timeoutMs: number, maxBody: number): Promise<string> {
  const r = await probe({ url, timeoutMs, expectStatus: [{ min: 200, max: 299 }], maxBodyBytes: maxBody });
  return r.ok ? 'ok' : (r.errorKind ?? '?');
}

function statusKib(field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m?.[1] === undefined ? Number.NaN : Number(m[1]);
}

async function main(): Promise<void> {
  const cfg = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as ChildConfig;
  const one = cfg.variant === 'fetch' ? fetchProbe : httpProbe;
  const outcomes: Record<string, number> = {};
  let probes = 0;
  const inFlight = new Set<Promise<void>>();
  const busy = new Array<boolean>(cfg.targets.length).fill(false);
  const timers: NodeJS.Timeout[] = [];
  const tick = (i: number, t: { url: string; timeoutMs: number }): void => {
    if (busy[i]) return;
    busy[i] = true;
    const p = one(t.url, t.timeoutMs, cfg.maxBodyBytes).then((kind) => {
      outcomes[kind] = (outcomes[kind] ?? 0) + 1;
      probes++;
      busy[i] = false;
      inFlight.delete(p);
    });
    inFlight.add(p);
  };
  cfg.targets.forEach((t, i) => {
    // Staggered: service i starts i/n of an interval late, so probes are spread over the interval as a
    // scheduler would spread them; unstaggered, all n start in the same tick (the worst burst).
    const offset = cfg.stagger ? Math.floor((i * cfg.intervalMs) / cfg.targets.length) : 0;
    timers.push(
      setTimeout(() => {
        tick(i, t);
        timers.push(setInterval(() => tick(i, t), cfg.intervalMs));
      }, offset),
    );
  });
  // PROBE_RSS_TRACE=1: RSS and heap once a second on stderr, to tell growth (a leak) from GC sawtooth.
  const trace = process.env.PROBE_RSS_TRACE
    ? setInterval(() => {
        const m = process.memoryUsage();
        process.stderr.write(`${cfg.variant} t=${Math.round(process.uptime())}s rss=${(statusKib('VmRSS') / 1024).toFixed(1)} heapUsed=${(m.heapUsed / 1048576).toFixed(1)} heapTotal=${(m.heapTotal / 1048576).toFixed(1)} external=${(m.external / 1048576).toFixed(1)} probes=${probes}\n`);
      }, 1000)
    : undefined;
  await new Promise((r) => setTimeout(r, cfg.durationMs));
  clearInterval(trace);
  // Steady: what the process holds while the loop is still running, at its end.
  const steadyKib = statusKib('VmRSS');
  const heapKib = Math.round(process.memoryUsage().heapTotal / 1024);
  for (const t of timers) clearTimeout(t);
  // A probe that never settles is a finding, not a reason to hang the bench: wait a bounded time.
  const drainDeadline = Date.now() + 5000;
  while (inFlight.size > 0 && Date.now() < drainDeadline) await new Promise((r) => setTimeout(r, 20));
  const stuck = inFlight.size;
  await new Promise((r) => setTimeout(r, 200));
  const getInfo = (process as unknown as { getActiveResourcesInfo?: () => string[] }).getActiveResourcesInfo;
  const report: ChildReport = {
    variant: cfg.variant,
    probes,
    outcomes,
    peakKib: statusKib('VmHWM'),
    steadyKib,
    heapKib,
    cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    stuck,
    resourcesAfter: getInfo?.() ?? [],
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  // stuck probes may hold sockets open; the report is out, so do not wait for them
  if (stuck > 0) process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`probe-rss child: ${String(err)}\n`);
  process.exitCode = 1;
});

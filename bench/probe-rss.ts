// Peak and steady RSS of the health-probe loop: fetch (undici) vs node:http (src/probe/http.ts) vs an
// idle node, each in a fresh child process, against a local 127.0.0.1 server run by this process.
// The product goal (README): steady RSS within idle + 15 MiB, peak within idle + 25 MiB at 100 services.
//
//   node --import tsx bench/probe-rss.ts            # 100 services every 100 ms for 10 s per variant
//   PROBE_RSS_NODE=/path/to/node18.15 node --import tsx bench/probe-rss.ts
//   PROBE_RSS_SECONDS=30 PROBE_RSS_SERVICES=200 PROBE_RSS_INTERVAL_MS=1000 node --import tsx bench/probe-rss.ts
//   (also PROBE_RSS_STAGGER=0, PROBE_RSS_ONLY=http, PROBE_RSS_NODE_FLAGS=..., PROBE_RSS_TRACE=1: see below)
//
// Children run a bundle made here with esbuild and plain `node` (no tsx loader in them), as the shipped
// preflight.js runs. The server answers with `Connection: close` so both variants open a fresh
// connection per probe (undici would otherwise pool them), which is what the daemon does.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import type { ChildConfig, ChildReport } from './probe-rss-child';

const SECONDS = Number(process.env.PROBE_RSS_SECONDS ?? 10);
const SERVICES = Number(process.env.PROBE_RSS_SERVICES ?? 100);
const INTERVAL_MS = Number(process.env.PROBE_RSS_INTERVAL_MS ?? 100);
const MAX_BODY = 64 * 1024;
const MIB = 1024;
// PROBE_RSS_STAGGER=0: all services probe in the same tick (worst burst) instead of spread over the interval.
const STAGGER = process.env.PROBE_RSS_STAGGER !== '0';
// The node that runs the children (default: this one), e.g. a Node 18.15 binary to check the floor we support.
const CHILD_NODE = process.env.PROBE_RSS_NODE ?? process.execPath;
// Only the variants whose name contains this (idle always runs): PROBE_RSS_ONLY=http
const ONLY = process.env.PROBE_RSS_ONLY ?? '';
// Extra node flags for every child, to try V8 settings: PROBE_RSS_NODE_FLAGS='--max-semi-space-size=2'
const NODE_FLAGS = (process.env.PROBE_RSS_NODE_FLAGS ?? '').split(' ').filter(Boolean);

function startServer(): Promise<{ base: string; close(): void }> {
  const sockets = new Set<Socket>();
  const big = Buffer.alloc(256 * 1024, 'b'); // 4x maxBodyBytes: the probe must stop reading
  const server = http.createServer((req, res) => {
    res.setHeader('connection', 'close');
    switch (req.url) {
      case '/ok':
        res.end('{"status":"UP"}');
        return;
      case '/503':
        res.writeHead(503).end('overloaded');
        return;
      case '/big':
        res.end(big);
        return;
      case '/hang':
        return; // headers never come; the client's deadline ends it
      default:
        res.writeHead(404).end();
    }
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        base: `http://127.0.0.1:${port}`,
        close: () => {
          for (const s of sockets) s.destroy();
          server.close();
        },
      });
    });
  });
}

/**
 * A URL that refuses connections for the whole run. Not a port bound and closed: for the length of a bench
 * run another process on this machine (a test server on an ephemeral port) may take it and answer. Port 2
 * is below the ephemeral range, needs root to bind and is not on fetch's blocked-port list (1 is); checked anyway.
 */
async function refusedUrl(): Promise<string> {
  const url = 'http://127.0.0.1:2/health';
  const code = await new Promise<string>((resolve) => {
    const req = http.get(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(`HTTP ${res.statusCode}`);
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
  if (code !== 'ECONNREFUSED') throw new Error(`${url} should refuse connections for the bench, got ${code}`);
  return url;
}

function targets(base: string, refused: string, mixed: boolean): ChildConfig['targets'] {
  return Array.from({ length: SERVICES }, (_, i) => {
    if (!mixed) return { url: `${base}/ok`, timeoutMs: 1000 };
    // per 10 services: 6 healthy, one 503, one hanging (timeout), one refused, one oversized body
    switch (i % 10) {
      case 6:
        return { url: `${base}/503`, timeoutMs: 1000 };
      case 7:
        return { url: `${base}/hang`, timeoutMs: 500 };
      case 8:
        return { url: refused, timeoutMs: 1000 };
      case 9:
        return { url: `${base}/big`, timeoutMs: 1000 };
      default:
        return { url: `${base}/ok`, timeoutMs: 1000 };
    }
  });
}

const IDLE_CHILD = `
const fs = require('fs');
const kib = (f) => Number(new RegExp('^' + f + ':\\\\s+(\\\\d+) kB', 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
setTimeout(() => {
  const steadyKib = kib('VmRSS');
  process.stdout.write(JSON.stringify({ variant: 'idle', probes: 0, outcomes: {}, peakKib: kib('VmHWM'), steadyKib, heapKib: Math.round(process.memoryUsage().heapTotal / 1024), stuck: 0, cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6, resourcesAfter: process.getActiveResourcesInfo() }) + '\\n');
}, Number(process.argv[1]));
`;

/** Run one child to completion; its stdout is one JSON line. Async: this process also serves the probes. */
function runChild(name: string, args: string[]): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    execFile(CHILD_NODE, [...NODE_FLAGS, ...args], { encoding: 'utf8', timeout: (SECONDS + 60) * 1000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (process.env.PROBE_RSS_TRACE) process.stderr.write(stderr);
      if (err) {
        const e = err as { code?: unknown; signal?: unknown };
        reject(new Error(`child '${name}' failed (exit ${String(e.code)}, signal ${String(e.signal)}): ${stderr.trim().split('\n').slice(-5).join(' | ')}`));
      } else resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as ChildReport);
    });
  });
}

const mib = (kib: number): string => (kib / MIB).toFixed(1);

async function main(): Promise<void> {
  const outdir = join(__dirname, '..', '.tmp');
  mkdirSync(outdir, { recursive: true });
  const bundle = join(outdir, 'probe-rss-child.js');
  buildSync({
    entryPoints: [join(__dirname, 'probe-rss-child.ts')],
    bundle: true,
    platform: 'node',
    target: 'node18.15',
    format: 'cjs',
    outfile: bundle,
    logLevel: 'warning',
  });

  const server = await startServer();
  const refused = await refusedUrl();
  const rows: { name: string; r: ChildReport }[] = [];
  try {
    rows.push({ name: 'idle', r: await runChild('idle', ['-e', IDLE_CHILD, String(SECONDS * 1000)]) });
    for (const mixed of [false, true]) {
      for (const variant of ['fetch', 'http'] as const) {
        if (!`${variant}${mixed ? ' mixed' : ' ok'}`.includes(ONLY)) continue;
        const cfg: ChildConfig = { variant, targets: targets(server.base, refused, mixed), intervalMs: INTERVAL_MS, durationMs: SECONDS * 1000, maxBodyBytes: MAX_BODY, stagger: STAGGER };
        const name = `${variant}${mixed ? ' mixed' : ' ok'}`;
        const cfgFile = join(outdir, 'probe-rss-child.json');
        writeFileSync(cfgFile, JSON.stringify(cfg));
        rows.push({ name, r: await runChild(name, [bundle, cfgFile]) });
      }
    }
  } finally {
    server.close();
  }

  const idle = rows[0]?.r ?? { peakKib: Number.NaN, steadyKib: Number.NaN };
  const flags = NODE_FLAGS.length ? ` (child flags: ${NODE_FLAGS.join(' ')})` : '';
  const childVersion = CHILD_NODE === process.execPath ? process.version : execFileSync(CHILD_NODE, ['--version'], { encoding: 'utf8' }).trim();
  process.stdout.write(`children on node ${childVersion}${flags}, ${SERVICES} services every ${INTERVAL_MS} ms for ${SECONDS} s per variant (${STAGGER ? 'staggered' : 'all at once'}), fresh process each\n\n`);
  const header = ['variant', 'probes', 'peak MiB', 'steady MiB', 'peak-idle', 'steady-idle', 'heap MiB', 'cpu s', 'stuck', 'handles after', 'outcomes'];
  const lines = rows.map(({ name, r }) => [
    name,
    String(r.probes),
    mib(r.peakKib),
    mib(r.steadyKib),
    name === 'idle' ? '-' : `+${mib(r.peakKib - idle.peakKib)}`,
    name === 'idle' ? '-' : `+${mib(r.steadyKib - idle.steadyKib)}`,
    mib(r.heapKib),
    r.cpuSeconds.toFixed(1),
    String(r.stuck),
    String(r.resourcesAfter.length),
    Object.entries(r.outcomes).map(([k, v]) => `${k} ${v}`).join(', '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  for (const l of [header, ...lines]) process.stdout.write(`${l.map((c, i) => (i === l.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')}\n`);
  const peakOf = (prefix: string): string => {
    const peaks = rows.filter((x) => x.name.startsWith(prefix)).map((x) => x.r.peakKib);
    return peaks.length ? mib(Math.max(...peaks)) : 'n/a';
  };
  process.stdout.write(`\nRESULT fetch_peak_mib=${peakOf('fetch')} http_peak_mib=${peakOf('http')} idle_peak_mib=${mib(idle.peakKib)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`probe-rss: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});

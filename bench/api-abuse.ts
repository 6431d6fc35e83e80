// Does /healthz still answer while someone on the box holds the API's connections? The real ApiServer on
// 127.0.0.1; an attacker in a child process holds more sockets than the server's connection limit
// (idle ones, slowloris ones sending a header line every 500 ms, keep-alive ones that sent one request
// and sit), reopening each the moment the server closes it; meanwhile this process asks /healthz on a
// fresh connection every 200 ms (2 s deadline) and reports how many got an answer and how fast.
// Variants: the server as configured (SERVER_LIMITS), and the same with timeouts cut to 1 s (the
// option "shorter idle/header timeouts"). Results: bench/api-abuse.md.
//   node --import tsx bench/api-abuse.ts        (BENCH_SECONDS=10, BENCH_SOCKETS=96 per attack)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApiServer, SERVER_LIMITS } from '../src/daemon/server';
import { SnapshotStore } from '../src/incident/store';
import { daemonStatus, request } from '../test/daemon/_helpers';
import { nowMs, printTable, quantile, sleep } from './stats';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SOCKETS = Number(process.env.BENCH_SOCKETS ?? 96);

// the attacker: argv = port, kind, count; prints "ready" once every socket is open
const ATTACKER = `
const net = require('node:net');
const [port, kind, count] = process.argv.slice(1);
let open = 0, ready = false;
function one() {
  const s = net.connect(Number(port), '127.0.0.1');
  let t;
  s.on('connect', () => {
    open++;
    if (!ready && open >= Number(count)) { ready = true; console.log('ready'); }
    if (kind === 'slowloris') {
      s.write('GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n');
      let i = 0;
      t = setInterval(() => s.write('X-' + i++ + ': y\\r\\n'), 500);
    } else if (kind === 'keepalive') {
      s.write('GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n');
    }
  });
  s.on('data', () => undefined);
  s.on('error', () => undefined);
  s.on('close', () => { clearInterval(t); open--; setImmediate(one); });
}
for (let i = 0; i < Number(count); i++) one();
`;

function attack(port: number, kind: string, count: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', ATTACKER, String(port), kind, String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      if (d.includes('ready')) resolve(child);
    });
    // when the server refuses connections the attacker never gets all of them: go on after 2 s anyway
    setTimeout(() => resolve(child), 2000);
  });
}

async function measure(url: string): Promise<{ ok: number; tries: number; latencies: number[] }> {
  const latencies: number[] = [];
  let ok = 0;
  let tries = 0;
  const end = nowMs() + SECONDS * 1000;
  while (nowMs() < end) {
    tries++;
    const t0 = nowMs();
    try {
      const r = await request(`${url}/healthz`, { timeoutMs: 2000 });
      if (r.status === 200) {
        ok++;
        latencies.push(nowMs() - t0);
      }
    } catch {
      /* refused, reset or no answer within 2 s: not an answer */
    }
    await sleep(200);
  }
  return { ok, tries, latencies };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'preflight-abuse-'));
  const store = new SnapshotStore({ dir: path.join(dir, 'snapshots'), retention: 5, fallbackDir: path.join(dir, 'fallback') });
  const config = { services: [{ name: 'web' }] as never, retention: 5, sampleSeconds: 10, listen: { host: '127.0.0.1', port: 0 } };
  const variants: { name: string; limits: Partial<typeof SERVER_LIMITS> }[] = [
    { name: 'as configured', limits: {} },
    { name: 'timeouts 1 s', limits: { headersTimeoutMs: 1000, requestTimeoutMs: 2000, idleTimeoutMs: 1000 } },
  ];
  const rows: (string | number)[][] = [['variant', 'attack', 'sockets', 'answered', 'p50 ms', 'p99 ms', 'max ms', 'closed/s', 'server cpu %']];
  for (const v of variants) {
    for (const kind of ['none', 'idle', 'slowloris', 'keepalive']) {
      const server = new ApiServer({ config, store, status: () => daemonStatus(), log: { warn: () => undefined, debug: () => undefined }, limits: v.limits });
      const { port } = await server.listen();
      const child = kind === 'none' ? null : await attack(port, kind, SOCKETS);
      const cpu0 = process.cpuUsage();
      const t0 = nowMs();
      const m = await measure(`http://127.0.0.1:${port}`);
      const cpu = process.cpuUsage(cpu0);
      const wall = nowMs() - t0;
      const c = server.connectionStats();
      child?.kill('SIGKILL');
      await server.close();
      const f = (q: number): string => (m.latencies.length ? quantile(m.latencies, q).toFixed(1) : '-');
      const cpuPercent = ((cpu.user + cpu.system) / 1000 / wall) * 100;
      rows.push([v.name, kind, kind === 'none' ? 0 : SOCKETS, `${m.ok}/${m.tries}`, f(0.5), f(0.99), f(1), Math.round((c.evicted + c.refused) / (wall / 1000)), cpuPercent.toFixed(0)]);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  console.log(`/healthz on a fresh connection every 200 ms for ${SECONDS} s while an attacker holds sockets (connection limit ${SERVER_LIMITS.maxConnections})`);
  printTable(rows);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

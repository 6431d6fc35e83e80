// Shared by the notifier, API and metrics tests (unit and e2e): a snapshot and a daemon status to
// start from, an HTTP client that never pools connections, raw bytes for the requests no client would
// send, and a webhook receiver on 127.0.0.1.
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import type { DaemonStatus, ServiceStatus } from '../../src/daemon/daemon';
import type { Snapshot } from '../../src/incident/snapshot';

/** A complete snapshot of `dead-drop` failing with a 503, its OOM kill as the probable cause. */
export function snapshotFixture(over: Partial<Snapshot> = {}): Snapshot {
  const id = over.id ?? '2026-11-25T03-04-05.123Z';
  return {
    schema: 'preflight.snapshot/2',
    id,
    service: 'dead-drop',
    health_url: 'http://127.0.0.1:8080/health',
    unit: null,
    host: { hostname: 'box', kernel: '6.1.0', cpus: 4, boot_id: null, uptime_seconds: 100, preflight_version: 'test' },
    trigger: 'health_check',
    // the id is the first failure's time with ':' made filesystem-safe
    transition: { first_failure_at: id.slice(0, 24).replace(/T(\d\d)-(\d\d)-/, 'T$1:$2:'), confirmed_at: '2026-11-25T03:04:15.000Z', consecutive_failures: 3 },
    error: { kind: 'http_status', status: 503, message: 'HTTP 503 Service Unavailable', latency_ms: 12 },
    summary: 'RAM 94% | disk / 87% | load 4.20 | cpu 99%',
    probable_cause: "killed by the kernel's OOM killer: node (pid 4242) at the unit's memory limit",
    findings: [
      {
        cause: "killed by the kernel's OOM killer: node (pid 4242) at the unit's memory limit",
        kind: 'oom_kill',
        scope: 'unit',
        confidence: 'certain',
        at: '2026-11-25T03:04:04.900Z',
        quote: '2026-11-25T03:04:04.900Z kernel: Memory cgroup out of memory: Killed process 4242 (node)',
        evidence: ['2026-11-25T03:04:04.900Z kernel: Memory cgroup out of memory: Killed process 4242 (node)'],
      },
    ],
    context: [],
    last_words: [],
    samples: { host: [], probe: [] },
    exit: null,
    journal: [],
    kernel: [],
    processes: null,
    recovery: null,
    capture: { started_at: '2026-11-25T03:04:05.200Z', finished_at: '2026-11-25T03:04:06.000Z', duration_ms: 800, errors: [] },
    ...over,
  };
}

export function serviceStatus(over: Partial<ServiceStatus> = {}): ServiceStatus {
  return {
    name: 'web',
    health: 'healthy',
    consecutiveFailures: 0,
    lastProbe: null,
    openIncidentId: null,
    incidentsTotal: { health_check: 0, unit_restart: 0, manual: 0 },
    unitRestartsTotal: 0,
    lastCheckAgeMs: 1000,
    maxCheckAgeMs: 90_000,
    oldestJobAgeMs: null,
    maxJobAgeMs: 300_000,
    ...over,
  };
}

export function daemonStatus(over: Partial<DaemonStatus> = {}): DaemonStatus {
  return {
    startedAt: 1_000_000,
    lastSampleAt: 1_000_000,
    lastSampleAgeMs: 1000,
    uptimeMs: 60_000,
    lastSampleDurationMs: 3,
    lastCaptureDurationMs: null,
    services: [serviceStatus()],
    notifications: null,
    ...over,
  };
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh connection; rejects only when there is no answer at all (code ETIMEDOUT after `timeoutMs`). */
export function request(url: string, opts: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {}, agent: false, timeout: opts.timeoutMs ?? 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer from ${url}`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

export interface RawResult {
  /** the status of the first response line; 0 when nothing HTTP came back */
  status: number;
  text: string;
  closedAfterMs: number;
  /** chunks written before the server closed */
  sent: number;
}

/**
 * Raw bytes to 127.0.0.1:port (paths no client library would send as written, slow or oversized
 * headers), one chunk every `gapMs`; resolves with what came back when the server closes, or after `ms`.
 */
export function raw(port: number, chunks: string | string[], gapMs = 0, ms = 10_000): Promise<RawResult> {
  const parts = typeof chunks === 'string' ? [chunks] : chunks;
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(timer);
      clearTimeout(limit);
      s.destroy();
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text, closedAfterMs: Date.now() - t0, sent });
    };
    const limit = setTimeout(done, ms);
    s.setEncoding('utf8').on('data', (d: string) => (text += d));
    s.on('close', done);
    s.on('error', () => undefined);
    const next = (): void => {
      if (sent >= parts.length || s.destroyed) return;
      s.write(parts[sent++]!);
      timer = setTimeout(next, gapMs);
    };
    s.on('connect', next);
  });
}

export interface Received {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Receiver {
  url: string;
  port: number;
  got: Received[];
  close(): Promise<void>;
}

export type Answer = { status: number; body?: string; headers?: Record<string, string> } | null;

/** A webhook receiver on 127.0.0.1 (ephemeral port); `answer` decides per request, null to hang. */
export function receiver(answer: (r: Received, n: number) => Answer): Promise<Receiver> {
  const got: Received[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      const r = { url: req.url ?? '', headers: req.headers, body, at: Date.now() };
      got.push(r);
      const a = answer(r, got.length);
      if (a === null) return;
      res.writeHead(a.status, a.headers ?? {});
      res.end(a.body ?? '');
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        got,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    }),
  );
}

/** A 127.0.0.1 port nothing listens on (bound, noted, closed). */
export async function freePort(): Promise<number> {
  const r = await receiver(() => ({ status: 200 }));
  await r.close();
  return r.port;
}

// The HTTP API: the evidence without SSH, without opening a hole in the server. node:http, GET/HEAD
// only, loopback unless a bearer token guards it. Routing and validation are pure functions
// (`route`, `authorized`, `isLoopbackHost`, `listenProblem`, and `healthOf` in health.ts) so every hostile request
// shape is a table row in test/daemon/server.test.ts.
//
// Decisions:
// - Nothing from the URL is decoded or used as a path. The path may hold only [A-Za-z0-9._~/-]: any
//   `%` (so %2f, %2e, %00), backslash or other byte is a 400 before routing. A service must be one of
//   the configured names (404 otherwise) and an id must match SNAPSHOT_ID_RE; the store re-checks both.
// - `.`/`..` segments are 400, empty segments (`//`, trailing `/`) are 404, a URL over 2048 bytes is
//   414, headers over 8 KiB are 431 (Node's parser), a request with a body is 400.
// - With a token every route needs it, /healthz, /status and /metrics included (a scraper can send it); the
//   check runs first, so an unauthenticated client learns nothing about services or ids.
// - Slow clients: headers must arrive within 5 s, the whole request within 10 s, and a connection
//   idle (or not reading its answer) for 5 s is closed. At most 64 connections at once; at the limit a
//   new connection closes the one idle longest, so idle or slowloris sockets cannot lock /healthz out
//   (connections.ts says why that and not a per-address limit or shorter timeouts).
// - Responses: Cache-Control: no-store, X-Content-Type-Options: nosniff, a CSP that allows nothing.
//   A snapshot is served byte for byte as stored.
import { createHash, timingSafeEqual } from 'node:crypto';
import * as http from 'node:http';
import { isIPv4, isIPv6, type AddressInfo, type Socket } from 'node:net';
import { hostPort, type Config } from '../config/config';
import { entryJson } from '../incident/snapshot-file';
import { SNAPSHOT_ID_RE, type SnapshotStore } from '../incident/store';
import { errnoCode, errorMessage } from '../util/errors';
import { VERSION } from '../version';
import type { DaemonStatus } from './daemon';
import { ConnectionGuard, type ConnectionStats } from './connections';
import { healthOf } from './health';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics';
import { statusBody } from './status-body';

export { healthOf };

export type Route =
  | { kind: 'healthz' }
  | { kind: 'metrics' }
  | { kind: 'status' }
  | { kind: 'last'; service: string }
  | { kind: 'list'; service: string; limit: number }
  | { kind: 'snapshot'; service: string; id: string };

export type Routed = { ok: true; route: Route } | { ok: false; status: number; error: string };

export interface RouteContext {
  /** the configured service names (and those watch_failed_units made since); nothing else is a service */
  services: { has(name: string): boolean };
  /** the largest `?limit=` */
  retention: number;
  maxUrlBytes?: number;
}

export const DEFAULT_LIST_LIMIT = 10;
export const SERVER_LIMITS = {
  maxUrlBytes: 2048,
  maxHeaderBytes: 8192,
  headersTimeoutMs: 5000,
  requestTimeoutMs: 10_000,
  idleTimeoutMs: 5000,
  maxConnections: 64,
};

const PATH_CHARS = /^\/[A-Za-z0-9._~/-]*$/;
const LIMIT_RE = /^[1-9][0-9]{0,5}$/;

const fail = (status: number, error: string): Routed => ({ ok: false, status, error });

/** Where a request goes, or the status that refuses it. Pure: no I/O, nothing decoded. */
export function route(method: string | undefined, url: string | undefined, ctx: RouteContext): Routed {
  const raw = url ?? '';
  if (Buffer.byteLength(raw) > (ctx.maxUrlBytes ?? SERVER_LIMITS.maxUrlBytes)) return fail(414, 'URL too long');
  if (method !== 'GET' && method !== 'HEAD') return fail(405, 'only GET and HEAD');
  const q = raw.indexOf('?');
  const pathPart = q === -1 ? raw : raw.slice(0, q);
  const query = q === -1 ? '' : raw.slice(q + 1);
  if (!PATH_CHARS.test(pathPart)) return fail(400, 'the path may hold only letters, digits and . _ ~ - /');
  const segments = pathPart.slice(1).split('/');
  if (segments.some((s) => s === '.' || s === '..')) return fail(400, 'dot segments are not allowed');
  if (segments.some((s) => s === '')) return fail(404, 'not found');
  const [first, service, what, ...rest] = segments;
  if (segments.length === 1 && first === 'healthz') return { ok: true, route: { kind: 'healthz' } };
  if (segments.length === 1 && first === 'metrics') return { ok: true, route: { kind: 'metrics' } };
  if (segments.length === 1 && first === 'status') return { ok: true, route: { kind: 'status' } };
  if (first !== 'failure-context' || service === undefined || what === undefined || rest.length > 0) return fail(404, 'not found');
  if (!ctx.services.has(service)) return fail(404, 'no such service');
  if (what === 'last') return { ok: true, route: { kind: 'last', service } };
  if (what === 'list') {
    let limit = Math.min(DEFAULT_LIST_LIMIT, ctx.retention);
    for (const pair of query === '' ? [] : query.split('&')) {
      const eq = pair.indexOf('=');
      const key = eq === -1 ? pair : pair.slice(0, eq);
      if (key !== 'limit') continue;
      const value = eq === -1 ? '' : pair.slice(eq + 1);
      if (!LIMIT_RE.test(value) || Number(value) > ctx.retention) return fail(400, `limit must be a whole number from 1 to ${ctx.retention} (the retention)`);
      limit = Number(value);
    }
    return { ok: true, route: { kind: 'list', service, limit } };
  }
  if (SNAPSHOT_ID_RE.test(what)) return { ok: true, route: { kind: 'snapshot', service, id: what } };
  return fail(404, 'no such snapshot');
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** `Authorization: Bearer <token>`, compared in constant time; always true without a token. */
export function authorized(header: string | undefined, token: string | undefined): boolean {
  if (token === undefined) return true;
  const m = /^Bearer +(\S+) *$/i.exec(header ?? '');
  if (!m?.[1]) return false;
  return timingSafeEqual(digest(m[1]), digest(token));
}

/** 127.0.0.0/8, ::1 (however written), localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  return isIPv6(h) && new URL(`http://[${h}]/`).hostname === '[::1]';
}

/** Why `start` must refuse this config's listen address, or null. */
export function listenProblem(c: Pick<Config, 'listen' | 'apiToken'>): { reason: string; hint: string } | null {
  if (!c.listen || c.apiToken !== undefined || isLoopbackHost(c.listen.host)) return null;
  const where = hostPort(c.listen.host, c.listen.port);
  return {
    reason: `listen: ${where} is not a loopback address and api_token is not set`,
    hint: 'add api_token: <a long random string> (openssl rand -hex 32), or listen on 127.0.0.1',
  };
}

const BASE_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

export interface ApiServerOptions {
  config: Pick<Config, 'services' | 'retention' | 'apiToken' | 'sampleSeconds' | 'listen'>;
  store: SnapshotStore;
  status: () => DaemonStatus;
  log: { warn(m: string): void; debug(m: string): void };
  limits?: Partial<typeof SERVER_LIMITS>;
  /** the wall clock /status reads incident and unit ages on (a test's own); Date.now by default */
  now?: () => number;
  /** the services now, when they can grow at run time (watch_failed_units); default: the config's */
  hasService?: (name: string) => boolean;
}

export class ApiServer {
  private readonly server: http.Server;
  private readonly ctx: RouteContext;
  private readonly limits: typeof SERVER_LIMITS;
  private bound: { host: string; port: number } | null = null;
  private readonly connections: ConnectionGuard;

  constructor(private readonly opts: ApiServerOptions) {
    this.limits = { ...SERVER_LIMITS, ...opts.limits };
    this.ctx = {
      services: opts.hasService ? { has: opts.hasService } : new Set(opts.config.services.map((s) => s.name)),
      retention: opts.config.retention,
      maxUrlBytes: this.limits.maxUrlBytes,
    };
    this.server = http.createServer({
      maxHeaderSize: this.limits.maxHeaderBytes,
      requestTimeout: this.limits.requestTimeoutMs,
      // Node checks the two timeouts above on this period (default 30 s, too coarse for a 5 s limit)
      connectionsCheckingInterval: Math.min(1000, this.limits.headersTimeoutMs),
      keepAliveTimeout: this.limits.idleTimeoutMs,
    });
    this.server.headersTimeout = this.limits.headersTimeoutMs; // not a createServer option before Node 18.17
    // not server.maxConnections: that drops the newest connection, the guard closes the longest idle one
    this.connections = new ConnectionGuard(this.limits.maxConnections, (m) => opts.log.warn(m));
    this.connections.attach(this.server);
    this.server.setTimeout(this.limits.idleTimeoutMs); // idle or not reading: destroyed
    this.server.on('request', (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        opts.log.warn(`api: ${req.method ?? '?'} failed: ${errorMessage(err)}`);
        if (!res.headersSent) this.send(res, req.method === 'HEAD', 500, { error: 'internal error' });
        else res.destroy();
      });
    });
    this.server.on('clientError', (err: Error, socket: Socket) => {
      const code = errnoCode(err);
      const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      if (socket.writable) {
        const body = JSON.stringify({ error: http.STATUS_CODES[status] ?? 'bad request' });
        const head = Object.entries({ ...BASE_HEADERS, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), connection: 'close' })
          .map(([k, v]) => `${k}: ${v}`)
          .join('\r\n');
        socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\n${head}\r\n\r\n${body}`);
      }
      socket.destroy();
    });
  }

  /** Bind `config.listen` (or `at`); rejects with an error naming the address when it cannot. */
  listen(at: { host: string; port: number } | null = this.opts.config.listen): Promise<{ host: string; port: number }> {
    if (!at) return Promise.reject(new Error('listen: off'));
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        const shown = hostPort(at.host, at.port);
        const code = errnoCode(err);
        const why = code === 'EADDRINUSE' ? 'the address is already in use' : code === 'EADDRNOTAVAIL' ? 'no such local address' : code === 'EACCES' ? 'permission denied' : errorMessage(err);
        reject(new Error(`listen ${shown}: ${why}${code ? ` (${code})` : ''}; change listen: in the config, or set listen: off`, { cause: err }));
      };
      this.server.once('error', onError);
      this.server.listen(at.port, at.host, () => {
        this.server.off('error', onError);
        const a = this.server.address() as AddressInfo;
        this.bound = { host: a.address, port: a.port };
        resolve(this.bound);
      });
    });
  }

  /** The base URL clients reach the bound address at (http://127.0.0.1:9187), null before listen. */
  get url(): string | null {
    if (!this.bound) return null;
    return `http://${hostPort(this.bound.host, this.bound.port)}`;
  }

  /** Open connections, and how many were closed or refused at the limit. */
  connectionStats(): ConnectionStats {
    return this.connections.stats();
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const head = req.method === 'HEAD';
    if (!authorized(req.headers.authorization, this.opts.config.apiToken)) {
      res.setHeader('www-authenticate', 'Bearer realm="preflight"');
      this.send(res, head, 401, { error: 'missing or wrong bearer token (Authorization: Bearer <api_token>)' });
      return;
    }
    const r = route(req.method, req.url, this.ctx);
    if (!r.ok) {
      if (r.status === 405) res.setHeader('allow', 'GET, HEAD');
      this.send(res, head, r.status, { error: r.error });
      return;
    }
    if ((req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined) {
      res.setHeader('connection', 'close');
      this.send(res, head, 400, { error: 'a GET has no body' });
      return;
    }
    const store = this.opts.store;
    const rt = r.route;
    switch (rt.kind) {
      case 'healthz': {
        const h = healthOf(this.opts.status(), this.opts.config.sampleSeconds);
        this.send(res, head, h.ok ? 200 : 503, h.body);
        return;
      }
      case 'status': {
        // always 200: the answer is the status, whatever it says (/healthz is the one probes judge by code)
        this.send(res, head, 200, statusBody(this.opts.status(), this.opts.config.sampleSeconds, (this.opts.now ?? Date.now)()));
        return;
      }
      case 'metrics': {
        const text = renderMetrics({ status: this.opts.status(), version: VERSION, nodeVersion: process.version });
        this.sendText(res, head, 200, METRICS_CONTENT_TYPE, text);
        return;
      }
      case 'last': {
        const found = await store.last(rt.service);
        if (!found) this.send(res, head, 404, { error: `no snapshot of ${rt.service} yet` });
        else this.sendText(res, head, 200, 'application/json; charset=utf-8', found.text);
        return;
      }
      case 'snapshot': {
        const found = await store.read(rt.service, rt.id);
        if (!found) this.send(res, head, 404, { error: 'no such snapshot' });
        else this.sendText(res, head, 200, 'application/json; charset=utf-8', found.text);
        return;
      }
      case 'list': {
        const out = (await store.list(rt.service)).slice(0, rt.limit).map((e) => ({ ...entryJson(e), url: `/failure-context/${e.service}/${e.id}` }));
        this.send(res, head, 200, out);
        return;
      }
    }
  }

  private send(res: http.ServerResponse, head: boolean, status: number, body: unknown): void {
    this.sendText(res, head, status, 'application/json; charset=utf-8', `${JSON.stringify(body, null, 2)}\n`);
  }

  private sendText(res: http.ServerResponse, head: boolean, status: number, type: string, text: string): void {
    const body = Buffer.from(text, 'utf8');
    res.writeHead(status, { ...BASE_HEADERS, 'content-type': type, 'content-length': body.length });
    if (head) res.end();
    else res.end(body);
  }
}

// The HTTP health probe. Built on node:http/https, not fetch: fetch loads undici, which roughly doubles
// the daemon's peak RSS (bench/probe-rss.ts measures it), and the daemon's memory budget is a product
// goal. Each probe is a fresh connection with no keep-alive agent, so it measures what a new client of
// the service would see, and nothing (socket, timer, lookup) outlives the promise it returns.
import * as http from 'node:http';
import * as https from 'node:https';
import { isIP } from 'node:net';
import type { Socket } from 'node:net';
import * as tls from 'node:tls';
import { getSystemErrorName } from 'node:util';
import { errnoCode, errorMessage, quote } from '../util/errors';
import type { StatusRange } from '../config/config';
import { VERSION } from '../version';
import { firstLine } from '../util/text';
import { refusedCertificate, type TlsFailure } from './tls';

export type { StatusRange, TlsFailure };

/** Why a probe failed; the snapshot's `error.kind` (DESIGN.md, schema preflight.snapshot/1). */
export type ProbeErrorKind = 'http_status' | 'timeout' | 'connection_refused' | 'dns' | 'tls' | 'reset' | 'body_mismatch';

/** One service's health check, from its `health_url`, `timeout`, `expect_status` and `expect_body` config keys. */
export interface ProbeSpec {
  url: string;
  /** One deadline for everything: DNS, connect, TLS, headers and the body read. */
  timeoutMs: number;
  /** Accepted statuses; an empty list means 200–299 (the config never passes one: its default is 200–399). */
  expectStatus: StatusRange[];
  /** A substring the body must contain (compared as UTF-8 bytes against what was read). */
  expectBody?: string;
  /** Read at most this many body bytes (default 64 KiB); past it the connection is dropped. */
  maxBodyBytes?: number;
}

/** The outcome of one GET against a health URL. */
export interface ProbeResult {
  /** Epoch ms when the probe started. */
  at: number;
  ok: boolean;
  status?: number;
  /** From the start to the end of the body read (or to the failure). */
  latencyMs: number;
  errorKind?: ProbeErrorKind;
  /** One line: "HTTP 503 Service Unavailable", "no response within 2000 ms (stalled at connect)", … */
  message?: string;
  /** First ~200 characters of the body when the status or body check failed. */
  bodySnippet?: string;
  /** Body bytes read (at most maxBodyBytes), when a response arrived. */
  bodyBytes?: number;
  /** The body was longer than maxBodyBytes: reading stopped there and the connection was dropped. */
  bodyTruncated?: boolean;
  /** The server's certificate was refused: why, and the certificate's facts (errorKind 'tls'). */
  tls?: TlsFailure;
  /** The name lookup failed (errorKind 'dns'), or the deadline passed during it (errorKind 'timeout'). */
  dns?: ProbeDnsFailure;
}

/**
 * A failed lookup of the URL's host. `code` is Node's: ENOTFOUND (getaddrinfo's EAI_NONAME or EAI_NODATA:
 * the resolver answered that the name has no address), EAI_AGAIN (no answer: a resolver that times out,
 * cannot be reached, or answers SERVFAIL), EAI_FAIL, …; ETIMEOUT when the probe's own deadline passed
 * while the lookup was still running (Node's dns.TIMEOUT code, used here for the same thing).
 */
export interface ProbeDnsFailure {
  host: string;
  code: string;
}

/**
 * Small stable codes so a probe result fits a Float64Array ring; 0 means ok. Never renumber: rings and
 * snapshots written by older versions keep these values.
 */
export const PROBE_ERROR_CODES: Record<ProbeErrorKind, number> = {
  http_status: 1,
  timeout: 2,
  connection_refused: 3,
  dns: 4,
  tls: 5,
  reset: 6,
  body_mismatch: 7,
};

/** The ring code for a result: 0 for ok, else its kind's code. */
export function probeErrorCode(r: Pick<ProbeResult, 'ok' | 'errorKind'>): number {
  return r.ok || r.errorKind === undefined ? 0 : PROBE_ERROR_CODES[r.errorKind];
}

/** The kind a ring code stands for; undefined for 0 (ok) and for codes this version does not know. */
export function probeErrorKindOf(code: number): ProbeErrorKind | undefined {
  for (const [kind, c] of Object.entries(PROBE_ERROR_CODES)) {
    if (c === code) return kind as ProbeErrorKind;
  }
  return undefined;
}

// A shared agent without keep-alive: every probe still opens (and closes) its own connection, but no
// Agent is built per probe (bench/probe-rss.ts: a little less heap churn than agent:false). HTTPS uses
// no agent at all: the probe makes its TLS connection itself (connectVerified) so the certificate is
// judged before the request is handed a socket. No TLS session is ever offered: a resumed session
// would skip the handshake, and with it the certificate check a probe exists to make (an expired or
// replaced certificate must fail the next probe).
const HTTP_AGENT = new http.Agent({ keepAlive: false });
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
const SNIPPET_CHARS = 200;
// Enough bytes for SNIPPET_CHARS characters of any UTF-8 (at most 4 bytes each).
const SNIPPET_BYTES = SNIPPET_CHARS * 4;

/** The URL a probe can fetch, or why not (bad syntax, unsupported scheme). */
function parseProbeUrl(url: string): URL | string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `invalid URL ${quote(url)} (expected http://host[:port]/path or https://…)`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return `unsupported scheme "${u.protocol}" in ${quote(url)} (only http:// and https:// can be probed)`;
  }
  return u;
}

/**
 * Why a health URL cannot be probed, or undefined when it can. The config rejects such URLs at load
 * time with its own hints (config.ts Reader.url); this is for callers that probe other URLs.
 */
export function probeUrlProblem(url: string): string | undefined {
  const u = parseProbeUrl(url);
  return typeof u === 'string' ? u : undefined;
}

/** Where a probe was when it failed; said in timeout and reset messages because it tells a human where to look. */
export type ProbeStage = 'dns lookup' | 'connect' | 'TLS handshake' | 'response headers' | 'body';

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_NODATA', 'EAI_FAIL']);
// The resolver answered: the name has no address. Node reports getaddrinfo's EAI_NONAME and EAI_NODATA
// both as ENOTFOUND (doc/api/errors.md; lib/internal/errors.js DNSException); the other two are for
// callers that pass getaddrinfo's own codes.
const NO_SUCH_NAME = new Set(['ENOTFOUND', 'EAI_NONAME', 'EAI_NODATA']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ECONNABORTED']);
// The connection never got to the service: reported with the refused ones, the message keeps the real code.
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'EHOSTDOWN']);
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_CRL',
  'HOSTNAME_MISMATCH',
]);

function isTlsCode(code: string, message: string): boolean {
  return (
    TLS_CODES.has(code) ||
    code.startsWith('CERT_') ||
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    (code === 'EPROTO' && /ssl|tls/i.test(message))
  );
}


/**
 * getaddrinfo's own code behind Node's ENOTFOUND, from the libuv errno Node keeps next to it
 * (EAI_NONAME -3008: no such name; EAI_NODATA -3007: the name exists and has no address).
 */
function getaddrinfoCode(err: unknown): string | undefined {
  const errno = typeof err === 'object' && err !== null ? (err as { errno?: unknown }).errno : undefined;
  if (typeof errno !== 'number' || errno >= 0) return undefined;
  try {
    return getSystemErrorName(errno);
  } catch {
    return undefined; // not an errno libuv knows
  }
}

/** The name a failed lookup was for: Node's `hostname` on getaddrinfo errors, else the caller's. */
function lookedUp(err: unknown, host: string | undefined): string | undefined {
  const h = typeof err === 'object' && err !== null ? (err as { hostname?: unknown }).hostname : undefined;
  return typeof h === 'string' && h !== '' ? h : host;
}

/**
 * Classify a network error from node:http/https by its code (messages are only a fallback, for
 * errors Node raises without one). `host` names the lookup when the error does not. Pure:
 * table-tested without a network.
 */
export function classifyProbeError(
  err: unknown,
  stage?: ProbeStage,
  host?: string,
): { kind: ProbeErrorKind; message: string; dns?: ProbeDnsFailure } {
  const code = errnoCode(err) ?? '';
  const raw = firstLine(errorMessage(err)) || 'unknown error';
  const withCode = code && !raw.includes(code) ? `${raw} (${code})` : raw;
  const during = stage ? ` during ${stage}` : '';
  if (UNREACHABLE_CODES.has(code)) return { kind: 'connection_refused', message: withCode };
  if (DNS_CODES.has(code)) {
    const name = lookedUp(err, host);
    if (name === undefined) return { kind: 'dns', message: `DNS: ${withCode}` };
    const dns = { host: name, code };
    if (NO_SUCH_NAME.has(code)) {
      // "no such name" would send a person to check a name that exists: say so when it only lacks an address
      const nodata = code === 'EAI_NODATA' || (code === 'ENOTFOUND' && getaddrinfoCode(err) === 'EAI_NODATA');
      return { kind: 'dns', message: nodata ? `DNS: no address for ${name} (the name exists)` : `DNS: no such name ${name}`, dns };
    }
    // getaddrinfo's "temporary failure": glibc gives it for a timeout, an unreachable resolver and SERVFAIL
    if (code === 'EAI_AGAIN') return { kind: 'dns', message: `DNS: the resolver did not answer for ${name}`, dns };
    return { kind: 'dns', message: `DNS: the lookup of ${name} failed (${code})`, dns };
  }
  if (isTlsCode(code, raw)) return { kind: 'tls', message: `TLS: ${withCode}` };
  if (code === 'ETIMEDOUT') return { kind: 'timeout', message: `${withCode}${during}` };
  if (RESET_CODES.has(code) || /socket hang up|aborted|premature close/i.test(raw)) {
    return { kind: 'reset', message: `connection closed by peer${during}: ${withCode}` };
  }
  if (code.startsWith('HPE_')) return { kind: 'reset', message: `invalid HTTP response${during}: ${withCode}` };
  // Anything else still broke the exchange before a usable answer; keep the words so a human can tell.
  return { kind: 'reset', message: `${withCode}${during}` };
}

function statusAccepted(status: number, ranges: readonly StatusRange[]): boolean {
  // the config never passes an empty list (expect_status defaults to 200-399); other callers get 2xx
  if (ranges.length === 0) return status >= 200 && status <= 299;
  return ranges.some((r) => status >= r.min && status <= r.max);
}

function snippet(body: Buffer): string {
  // Decode a little more than needed so a multi-byte character is not cut at the byte boundary.
  return body.subarray(0, SNIPPET_BYTES).toString('utf8').slice(0, SNIPPET_CHARS);
}

/**
 * GET `spec.url` once, on a fresh connection, within `spec.timeoutMs`. Never rejects: every failure is a
 * result with an `errorKind`. Redirects are not followed (a 3xx is just a status).
 */
export function probe(spec: ProbeSpec): Promise<ProbeResult> {
  const at = Date.now();
  const started = performance.now();
  const latency = (): number => performance.now() - started;

  const url = parseProbeUrl(spec.url);
  if (typeof url === 'string') {
    // Config validation should have refused this already; the kind is the nearest one (nothing was
    // reachable) and the message says it is the URL, so an operator is not sent after the network.
    return Promise.resolve({ at, ok: false, latencyMs: 0, errorKind: 'connection_refused', message: url });
  }
  const maxBody = Math.max(0, spec.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
  const isHttps = url.protocol === 'https:';
  // the URL keeps an IPv6 address in brackets; lookups, TLS and messages want it bare
  const host = url.hostname.replace(/^\[|\]$/g, '');

  return new Promise<ProbeResult>((resolve) => {
    let done = false;
    let stage: ProbeStage = isIP(host) ? 'connect' : 'dns lookup';
    let status: number | undefined;
    let statusText = '';
    // Without expectBody only the snippet's bytes are kept (the rest is counted, not held), so a busy
    // loop of probes does not churn 64 KiB buffers through the heap.
    const keepLimit = spec.expectBody === undefined ? Math.min(maxBody, SNIPPET_BYTES) : maxBody;
    const chunks: Buffer[] = [];
    let kept = 0;
    let bodyBytes = 0;
    const take = (chunk: Buffer): void => {
      bodyBytes += chunk.length;
      if (kept >= keepLimit) return;
      const part = chunk.length > keepLimit - kept ? chunk.subarray(0, keepLimit - kept) : chunk;
      chunks.push(part);
      kept += part.length;
    };
    let req: http.ClientRequest | undefined;
    // The TLS connection: before the hand-over req.destroy() cannot reach it, so finish() destroys it too.
    let tlsSocket: tls.TLSSocket | undefined;

    const finish = (r: Omit<ProbeResult, 'at' | 'latencyMs'>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // Always drop the connection: no keep-alive, no half-read body left in a kernel buffer.
      req?.destroy();
      tlsSocket?.destroy();
      resolve({ at, latencyMs: latency(), ...r });
    };

    const timer = setTimeout(() => {
      const what =
        stage === 'body'
          ? `body not complete within ${spec.timeoutMs} ms (HTTP ${status}, ${bodyBytes} bytes read)`
          : `no response within ${spec.timeoutMs} ms (stalled at ${stage})`;
      // a lookup still running at the deadline: the resolver did not answer in time
      const dns = stage === 'dns lookup' ? { dns: { host, code: 'ETIMEOUT' } } : {};
      finish({ ok: false, errorKind: 'timeout', message: what, ...dns, ...(status === undefined ? {} : { status, bodyBytes }) });
    }, spec.timeoutMs);

    const fail = (err: unknown): void => {
      const { kind, message, dns } = classifyProbeError(err, stage, host);
      finish({ ok: false, errorKind: kind, message, ...(dns ? { dns } : {}), ...(status === undefined ? {} : { status, bodyBytes }) });
    };

    const judge = (truncated: boolean): void => {
      // most checks pass with no body test: the body is only joined when something will read it
      const body = (): Buffer => Buffer.concat(chunks, kept);
      const base = { status: status as number, bodyBytes, ...(truncated ? { bodyTruncated: true } : {}) };
      if (!statusAccepted(base.status, spec.expectStatus)) {
        const text = statusText || http.STATUS_CODES[base.status] || '';
        finish({ ok: false, errorKind: 'http_status', message: `HTTP ${base.status}${text ? ` ${text}` : ''}`, bodySnippet: snippet(body()), ...base });
        return;
      }
      if (spec.expectBody !== undefined && !body().includes(spec.expectBody, 0, 'utf8')) {
        const read = truncated
          ? `looked only at the first ${bodyBytes} bytes; the body was longer and was not read further`
          : `looked at the whole body, ${bodyBytes} bytes`;
        finish({ ok: false, errorKind: 'body_mismatch', message: `body does not contain ${quote(spec.expectBody, 60)} (${read})`, bodySnippet: snippet(body()), ...base });
        return;
      }
      finish({ ok: true, ...base });
    };

    const trackStages = (socket: Socket): void => {
      socket.once('lookup', () => {
        if (stage === 'dns lookup') stage = 'connect';
      });
      socket.once('connect', () => {
        if (stage === 'connect' || stage === 'dns lookup') stage = isHttps ? 'TLS handshake' : 'response headers';
      });
    };

    // The request's socket for https: a TLS connection that gets to the request only once its
    // certificate passed, so nothing is written on a connection that is not verified. Node still runs
    // every check it runs when it rejects by itself (chain, dates, host name; tls.ts says where);
    // rejectUnauthorized false only keeps the socket, and the certificate, alive for refusedCertificate.
    // NODE_TLS_REJECT_UNAUTHORIZED=0 still turns verification off, as it does for Node's own rejection.
    const connectVerified = (_options: unknown, oncreate: (err: Error | null, socket?: Socket) => void): undefined => {
      const socket = tls.connect({
        host,
        port: Number(url.port) || 443,
        // SNI must not be an address (RFC 6066; Node warns): the same rule as https.Agent's
        servername: isIP(host) ? undefined : host,
        rejectUnauthorized: false,
      });
      tlsSocket = socket;
      trackStages(socket);
      let handed = false;
      // before the hand-over this is the connection's only error listener; after it, the request's own
      // listeners report (the same classification), so this one stays only so no error goes unheard
      socket.on('error', (err) => {
        if (!handed) fail(err);
      });
      socket.once('secureConnect', () => {
        const refused = process.env.NODE_TLS_REJECT_UNAUTHORIZED === '0' ? undefined : refusedCertificate(socket, host);
        if (refused) {
          finish({ ok: false, errorKind: 'tls', message: refused.message, tls: refused.tls });
          return;
        }
        if (stage !== 'body') stage = 'response headers';
        handed = true;
        oncreate(null, socket);
      });
      return undefined; // the request waits for oncreate
    };

    const options: https.RequestOptions = {
      method: 'GET',
      headers: { 'user-agent': `preflight/${VERSION}`, accept: '*/*' },
      // Without an agent Node sends Connection: close and closes the socket (as with keepAlive false).
      ...(isHttps
        ? { createConnection: connectVerified as unknown as https.RequestOptions['createConnection'], defaultPort: 443 }
        : { agent: HTTP_AGENT }),
    };
    try {
      req = (isHttps ? https : http).request(url, options, (res) => {
        stage = 'body';
        status = res.statusCode ?? 0;
        statusText = res.statusMessage ?? '';
        res.on('data', (chunk: Buffer) => {
          if (done) return;
          const room = maxBody - bodyBytes;
          if (chunk.length > room) {
            // More than maxBody bytes is proof enough: stop here rather than wait for an 'end' that an
            // endless (or 1 GB) body would never reach in time; judge() drops the connection.
            take(chunk.subarray(0, room));
            judge(true);
            return;
          }
          take(chunk);
        });
        res.on('end', () => judge(false));
        // Node 18 emits 'aborted' then 'error' (ECONNRESET "aborted") when the peer closes mid-body;
        // 'close' before 'end' covers versions that emit neither.
        res.on('error', fail);
        res.on('aborted', () => fail(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
        res.on('close', () => {
          if (!res.complete) fail(Object.assign(new Error('response closed before its end'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
        });
      });
    } catch (err) {
      fail(err);
      return;
    }
    req.on('error', fail);
    if (!isHttps) req.on('socket', trackStages);
    req.end();
  });
}

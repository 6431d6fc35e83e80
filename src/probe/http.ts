// The HTTP health probe. Built on node:http/https, not fetch: fetch loads undici, which roughly doubles
// the daemon's peak RSS (bench/probe-rss.ts measures it), and the daemon's memory budget is a product
// goal. Each probe is a fresh connection with no keep-alive agent, so it measures what a new client of
// the service would see, and nothing (socket, timer, lookup) outlives the promise it returns.
import * as http from 'node:http';
import * as https from 'node:https';
import { isIP } from 'node:net';
import type { Socket } from 'node:net';
import * as tls from 'node:tls';
import { quote } from '../util/errors';
import { VERSION } from '../version';
import { presentedCertificate, refusedCertificate, type TlsCertificate } from './tls';
import { parseTcpUrl, probeTcp } from './tcp';
import { classifyProbeError, type ProbeStage } from './classify';
import type { ProbeResult, ProbeSpec, StatusRange } from './result';

export { classifyProbeError, type ProbeStage } from './classify';
export {
  PROBE_ERROR_CODES,
  probeErrorCode,
  probeErrorKindOf,
  type ProbeDnsFailure,
  type ProbeErrorKind,
  type ProbeResult,
  type ProbeSpec,
  type StatusRange,
  type TlsFailure,
} from './result';

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
    return `unsupported scheme "${u.protocol}" in ${quote(url)} (only http://, https:// and tcp:// can be probed)`;
  }
  return u;
}

/**
 * Why a health URL cannot be probed, or undefined when it can. The config rejects such URLs at load
 * time with its own hints (config.ts Reader.url); this is for callers that probe other URLs.
 */
export function probeUrlProblem(url: string): string | undefined {
  const u = isTcpUrl(url) ? parseTcpUrl(url) : parseProbeUrl(url);
  return typeof u === 'string' ? u : undefined;
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

const isTcpUrl = (url: string): boolean => /^tcp:/i.test(url);

/** The request's headers: ours, then the service's `headers` (which replace ours by name, in any case). */
function requestHeaders(own: ProbeSpec['headers']): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': `preflight/${VERSION}`, accept: '*/*' };
  for (const [name, value] of Object.entries(own ?? {})) {
    delete headers[name.toLowerCase()];
    headers[name] = value;
  }
  return headers;
}

/**
 * GET `spec.url` once, on a fresh connection, within `spec.timeoutMs`. Never rejects: every failure is a
 * result with an `errorKind`. Redirects are not followed (a 3xx is just a status). A tcp:// URL is
 * only connected to (tcp.ts).
 */
export function probe(spec: ProbeSpec): Promise<ProbeResult> {
  if (isTcpUrl(spec.url)) return probeTcp(spec);
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
    // The certificate the server presented, once the handshake is done: kept on every result after it
    // (its expiry is worth a warning however the check ends), with the verify error tls_insecure let pass.
    let certificate: TlsCertificate | undefined;

    const finish = (r: Omit<ProbeResult, 'at' | 'latencyMs'>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // Always drop the connection: no keep-alive, no half-read body left in a kernel buffer.
      req?.destroy();
      tlsSocket?.destroy();
      resolve({ at, latencyMs: latency(), ...(certificate && !r.tls ? { tls: certificate } : {}), ...r });
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
        // tls_ca_file: the CAs (or the self-signed certificate) this service's certificate must chain to, instead of the system's
        ...(spec.ca !== undefined ? { ca: spec.ca } : {}),
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
        if (refused && !spec.insecure) {
          finish({ ok: false, errorKind: 'tls', message: refused.message, tls: refused.tls });
          return;
        }
        // tls_insecure: go on, and keep what verification said (its code) with the certificate
        certificate = refused ? refused.tls : presentedCertificate(socket);
        if (stage !== 'body') stage = 'response headers';
        handed = true;
        oncreate(null, socket);
      });
      return undefined; // the request waits for oncreate
    };

    const options: https.RequestOptions = {
      method: 'GET',
      headers: requestHeaders(spec.headers),
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

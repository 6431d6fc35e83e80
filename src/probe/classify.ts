// A network error from node:net/http/https/tls, classified by its code into the probe's error kinds,
// with one line a person acts on. Shared by the HTTP and TCP probes (and the notifier's delivery
// errors); pure: table-tested without a network.
import { getSystemErrorName } from 'node:util';
import { errnoCode, errorMessage } from '../util/errors';
import { firstLine } from '../util/text';
import type { ProbeDnsFailure, ProbeErrorKind } from './result';

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

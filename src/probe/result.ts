// What a health probe is asked (ProbeSpec) and what it answers (ProbeResult), for every scheme the
// probe speaks (http.ts: http:// and https://; tcp.ts: tcp://), and the small stable codes a result is
// kept as in a service's ring. Pure types and tables.
import type { StatusRange } from '../config/config';
import type { TlsCertificate, TlsFailure } from './tls';

export type { StatusRange, TlsCertificate, TlsFailure };

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
  /** Request headers (`headers:` of the service), sent after preflight's own and replacing them by name. */
  headers?: Record<string, string>;
  /** PEM: the CAs https:// certificates must chain to instead of the system's (`tls_ca_file`, read at config load). */
  ca?: string;
  /** Accept a certificate that fails verification (`tls_insecure`); the result still says why it failed (tls.code). */
  insecure?: boolean;
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
  /**
   * https://: the server's certificate, once it was presented. On errorKind 'tls' why it was refused;
   * otherwise `code` is null when it was verified, or the verify error tls_insecure let pass.
   */
  tls?: TlsCertificate;
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

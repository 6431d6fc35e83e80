// A service's health URL and probe options in preflight.yaml: `health_url` (http://, https:// or
// tcp://host:port), `headers` (shared with notifications.headers: one validation, one redaction),
// `tls_ca_file` (read here, at config load, so a missing or unreadable file is an error with its line
// and not a failed check at 03:00) and `tls_insecure`. Keys that mean nothing for the URL's scheme
// are errors, not silently ignored: expect_status on a tcp:// check, tls_ca_file on http://, any of
// them on a unit-only service (unit: and no health_url:).
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { quote } from '../util/errors';
import { parseTcpUrl, TCP_EXAMPLE } from '../probe/tcp';
import type { ServiceConfig } from './config';
import type { Reader } from './reader';
import type { Pos, YamlEntry, YamlMap } from './yaml';

export const PROBE_KEYS = ['headers', 'tls_ca_file', 'tls_insecure'] as const;
export const REDACTED = '<redacted>';
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A CA bundle larger than this is not one someone meant (the system's whole store is ~220 KiB). */
const MAX_CA_BYTES = 1024 * 1024;

/** The probe options of one service, as ServiceConfig carries them (each only when given). */
export type ProbeOptions = Pick<ServiceConfig, 'headers' | 'tlsCaFile' | 'tlsCa' | 'tlsInsecure'>;

/** `headers:` (of notifications or of a service): header names once each (in any case), values one line. */
export function parseHeaders(r: Reader, entry: YamlEntry, path: string): Record<string, string> {
  const headers: Record<string, string> = {};
  const hm = r.map(entry, path, 'one "Header-Name: value" per line, indented under headers:');
  const seen = new Map<string, Pos>();
  for (const h of hm.entries.values()) {
    if (!HEADER_NAME.test(h.key)) r.fail(h.keyPos, `${path}: ${quote(h.key)} is not a valid header name`, 'header names are letters, digits and - (e.g. Authorization, X-Token)');
    const first = seen.get(h.key.toLowerCase());
    if (first) r.fail(h.keyPos, `${path}: header '${h.key}' is already set on line ${first.line}`, 'header names ignore case; keep one');
    seen.set(h.key.toLowerCase(), h.keyPos);
    const value = r.text(h, `${path}.${h.key}`, 'a header value', `e.g. ${h.key}: "Bearer …"`);
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) r.fail(h.value, `${path}.${h.key}: the value holds a control character`, 'header values are one line of text');
    headers[h.key] = value;
  }
  return headers;
}

/** `health_url`: an http:// or https:// URL, or tcp://host:port (a port is required). */
export function parseHealthUrl(r: Reader, entry: YamlEntry, path: string): string {
  const v = entry.value;
  const raw = v.kind === 'scalar' && v.value !== null ? (v.quoted ? String(v.value) : v.raw) : '';
  if (!/^tcp:/i.test(raw)) return r.url(entry, path, 'http://127.0.0.1:8080/health');
  const t = parseTcpUrl(raw);
  if (typeof t === 'string') {
    const hint = t.startsWith('no port ')
      ? `add the port the service listens on, e.g. ${TCP_EXAMPLE}`
      : `write tcp://host:port and nothing else, e.g. ${TCP_EXAMPLE}`;
    r.fail(v, `${path}: ${t}`, hint);
  }
  return raw;
}

/** A PEM file of CA certificates, read now; the error names the file and says what to fix. */
function readCaFile(r: Reader, entry: YamlEntry, path: string): { file: string; pem: string } {
  const file = r.path(entry, path, true);
  let pem: string;
  try {
    const buf = readFileSync(file);
    if (buf.length > MAX_CA_BYTES) r.fail(entry.value, `${path}: ${quote(file)} is ${buf.length} bytes, more than a CA file`, 'name the PEM file of the CA (or of the self-signed certificate) that signed this service\'s certificate');
    pem = buf.toString('utf8');
  } catch (err) {
    if (err instanceof Error && err.name === 'ConfigError') throw err;
    const code = (err as { code?: string }).code ?? 'error';
    const hint =
      code === 'ENOENT'
        ? 'no such file: write the path of the PEM file holding the CA certificate (or the server\'s self-signed one)'
        : code === 'EACCES'
          ? 'preflight cannot read it: make it readable by the user preflight runs as (a CA certificate is not a secret)'
          : code === 'EISDIR'
            ? 'that is a folder: name the PEM file itself'
            : 'name a readable PEM file';
    return r.fail(entry.value, `${path}: cannot read ${quote(file)} (${code})`, hint);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    r.fail(entry.value, `${path}: ${quote(file)} holds no PEM certificate`, 'expected "-----BEGIN CERTIFICATE-----" blocks; convert DER with openssl x509 -inform der -in ca.der -out ca.pem');
  }
  try {
    new X509Certificate(pem); // the first certificate; Node reads the rest when it connects
  } catch {
    r.fail(entry.value, `${path}: ${quote(file)} is not a readable PEM certificate`, 'check the file with openssl x509 -in FILE -noout -subject');
  }
  return { file, pem };
}

/**
 * The service's `headers`, `tls_ca_file` and `tls_insecure`, checked against its health URL's scheme
 * (and tcp:// against expect_status and expect_body, which it cannot use).
 */
export function parseProbeOptions(r: Reader, map: YamlMap, path: string, healthUrl: string): ProbeOptions {
  const e = (k: string): YamlEntry | undefined => map.entries.get(k);
  const scheme = /^([a-z]+):/i.exec(healthUrl)?.[1]?.toLowerCase();
  const out: ProbeOptions = {};
  if (scheme === 'tcp') {
    for (const key of ['expect_status', 'expect_body', 'headers', 'tls_ca_file', 'tls_insecure']) {
      const k = e(key);
      if (k) r.fail(k.keyPos, `${path}.${key}: a tcp:// check only connects, so ${key} has nothing to apply to`, `remove ${key}, or check an http:// or https:// health URL`);
    }
    return out;
  }
  const headers = e('headers');
  if (headers) out.headers = parseHeaders(r, headers, `${path}.headers`);
  const ca = e('tls_ca_file');
  const insecure = e('tls_insecure');
  for (const k of [ca, insecure]) {
    if (k && scheme !== 'https') r.fail(k.keyPos, `${path}.${k.key}: health_url is ${scheme}://, which uses no TLS`, `use an https:// health URL, or remove ${k.key}`);
  }
  if (ca) {
    const { file, pem } = readCaFile(r, ca, `${path}.tls_ca_file`);
    out.tlsCaFile = file;
    out.tlsCa = pem;
  }
  if (insecure) {
    out.tlsInsecure = r.boolean(insecure, `${path}.tls_insecure`);
    if (out.tlsInsecure && ca) {
      r.fail(insecure.value, `${path}.tls_insecure: true skips the verification tls_ca_file is for (line ${ca.keyPos.line})`, 'keep one: tls_ca_file to verify against that CA, or tls_insecure: true not to verify');
    }
  }
  return out;
}

/**
 * A unit-only service (unit: and no health_url:) has no check for these keys to apply to: each is an
 * error at its line rather than a setting silently ignored.
 */
export function rejectProbeKeys(r: Reader, map: YamlMap, path: string): void {
  for (const key of ['expect_status', 'expect_body', ...PROBE_KEYS]) {
    const k = map.entries.get(key);
    if (k) r.fail(k.keyPos, `${path}.${key}: this service has no health_url, so ${key} has nothing to apply to`, `add the health_url: it belongs to, or remove ${key} (the unit alone is watched through systemd)`);
  }
  // its unit is read by the one poll of every unit, at the top-level interval: a per-service one would lie
  const interval = map.entries.get('interval_seconds');
  if (interval) r.fail(interval.keyPos, `${path}.interval_seconds: a service without health_url has no checks to space`, 'remove it: its unit is polled with the others every top-level interval_seconds (and followed in the journal at once)');
}

/** Header lines for the effective config: names as given, every value redacted. */
export function formatHeaders(headers: Record<string, string> | undefined, indent: string, s: (v: string) => string): string[] {
  const names = Object.keys(headers ?? {});
  return names.length === 0 ? [] : [`${indent}headers:`, ...names.map((h) => `${indent}  ${s(h)}: ${s(REDACTED)}`)];
}

/** A service's probe options for the effective config (the CA file by its path, not its contents). */
export function formatProbeOptions(svc: ServiceConfig, s: (v: string) => string): string[] {
  const out = formatHeaders(svc.headers, '    ', s);
  if (svc.tlsCaFile !== undefined) out.push(`    tls_ca_file: ${s(svc.tlsCaFile)}`);
  if (svc.tlsInsecure !== undefined) out.push(`    tls_insecure: ${svc.tlsInsecure}`);
  return out;
}

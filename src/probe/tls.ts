// The probe's certificate check, said the way a person acts on it. The probe connects with
// rejectUnauthorized false and decides here, at secureConnect, before a byte of the request is written:
// Node has by then run exactly the checks it runs when it rejects on its own (OpenSSL's chain
// verification, then tls.checkServerIdentity for the host name; lib/_tls_wrap.js onConnectSecure, the
// same in Node 18.15 and 20), sets `authorized` and puts the refusal's code in `authorizationError`,
// and the certificate is still there to be read. (When Node rejects by itself the socket is destroyed
// before the error is seen, and the certificate with it.)
import type { PeerCertificate, TLSSocket } from 'node:tls';

/** A refused certificate's facts, kept in the probe result (and the snapshot) next to the message. */
export interface TlsFailure {
  /** Node's code for the refusal: CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID, DEPTH_ZERO_SELF_SIGNED_CERT, … */
  code: string;
  /** The server's (leaf) certificate's subject, attributes in the certificate's order: "CN=localhost", "C=US, O=Example, CN=app". */
  subject: string | null;
  /** Its issuer, in the same form. */
  issuer: string | null;
  /** notBefore, ISO 8601 UTC to the second: "2020-01-01T00:00:00Z". */
  validFrom: string | null;
  /** notAfter, same form. */
  validTo: string | null;
  /** subjectAltName entries as Node prints them (unquoted): "DNS:example.invalid", "IP Address:127.0.0.1". */
  altNames: string[];
}

/** The certificate a server presented: a refusal's facts, or (code null) a verified certificate's. */
export type TlsCertificate = Omit<TlsFailure, 'code'> & { code: string | null };

/** The parts of a PeerCertificate read here; getPeerCertificate() returns `{}` when there is none. */
export type CertificateFields = Partial<Pick<PeerCertificate, 'subject' | 'issuer' | 'valid_from' | 'valid_to' | 'subjectaltname'>>;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
// OpenSSL's ASN1_TIME_print, which Node uses for valid_from/valid_to: "Feb  1 00:00:00 2020 GMT"
// (day padded with a space; a GeneralizedTime may carry fractional seconds).
const CERT_DATE = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d+)? (\d{4}) GMT$/;

/** A certificate date as Node prints it, as "2020-02-01T00:00:00Z"; null when absent or not in that form. */
export function certDate(text: string | undefined): string | null {
  const m = CERT_DATE.exec(text ?? '');
  if (!m) return null;
  const month = MONTHS.indexOf(m[1] ?? '') + 1;
  if (month === 0) return null;
  const two = (s: string | number | undefined): string => String(s).padStart(2, '0');
  return `${m[6]}-${two(month)}-${two(m[2])}T${m[3]}:${m[4]}:${m[5]}Z`;
}

/**
 * A subject or issuer as "C=US, O=Example, CN=app" (the object's order, which is the certificate's);
 * a repeated attribute, which Node gives as an array, is written once per value. Null when empty.
 */
export function distinguishedName(name: PeerCertificate['subject'] | undefined): string | null {
  if (!name || typeof name !== 'object') return null;
  const parts: string[] = [];
  for (const [key, value] of Object.entries(name as unknown as Record<string, string | string[]>)) {
    for (const v of Array.isArray(value) ? value : [value]) parts.push(`${key}=${v}`);
  }
  return parts.length > 0 ? parts.join(', ') : null;
}

/**
 * Node's `subjectaltname` string split into its entries. Node joins them with ", " and, since the
 * 2022 altname fixes, writes a value holding a comma or a quote as a JSON string (`DNS:"a, b"`);
 * those are decoded here the way tls.checkServerIdentity decodes them.
 */
export function splitAltNames(text: string | undefined): string[] {
  if (!text) return [];
  if (!text.includes('"')) return text.split(', ');
  const out: string[] = [];
  let token = '';
  let i = 0;
  while (i < text.length) {
    const sep = text.indexOf(', ', i);
    const q = text.indexOf('"', i);
    if (q !== -1 && (sep === -1 || q < sep)) {
      token += text.slice(i, q);
      const m = /^"(?:[^"\\]|\\.)*"/.exec(text.slice(q));
      if (!m) return [...out, token + text.slice(q)]; // not Node's escaping: keep the rest as it is
      token += JSON.parse(m[0]) as string;
      i = q + m[0].length;
    } else if (sep !== -1) {
      out.push(token + text.slice(i, sep));
      token = '';
      i = sep + 2;
    } else {
      token += text.slice(i);
      i = text.length;
    }
  }
  out.push(token);
  return out;
}

/** The facts of a refused certificate; pure. */
export function tlsFailureOf(code: string, cert: CertificateFields | undefined): TlsFailure {
  return {
    code,
    subject: distinguishedName(cert?.subject),
    issuer: distinguishedName(cert?.issuer),
    validFrom: certDate(cert?.valid_from),
    validTo: certDate(cert?.valid_to),
    altNames: splitAltNames(cert?.subjectaltname),
  };
}

// OpenSSL 3.0's X509_verify_cert_error_string for the codes Node names (src/crypto/crypto_common.cc
// X509ErrorCode; the list in doc/api/tls.md "X509 certificate error codes"): the words Node's own
// Error carries when it rejects, which authorizationError does not (it holds the code alone).
// Read from this machine's libcrypto (OpenSSL 3.0.19); 1.1.1 spells "self signed" without the hyphen.
const OPENSSL_WORDS: Record<string, string> = {
  UNABLE_TO_GET_ISSUER_CERT: 'unable to get issuer certificate',
  UNABLE_TO_GET_CRL: 'unable to get certificate CRL',
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: "unable to decrypt certificate's signature",
  UNABLE_TO_DECRYPT_CRL_SIGNATURE: "unable to decrypt CRL's signature",
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: 'unable to decode issuer public key',
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
  CRL_SIGNATURE_FAILURE: 'CRL signature failure',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CRL_NOT_YET_VALID: 'CRL is not yet valid',
  CRL_HAS_EXPIRED: 'CRL has expired',
  ERROR_IN_CERT_NOT_BEFORE_FIELD: "format error in certificate's notBefore field",
  ERROR_IN_CERT_NOT_AFTER_FIELD: "format error in certificate's notAfter field",
  ERROR_IN_CRL_LAST_UPDATE_FIELD: "format error in CRL's lastUpdate field",
  ERROR_IN_CRL_NEXT_UPDATE_FIELD: "format error in CRL's nextUpdate field",
  OUT_OF_MEM: 'out of memory',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in certificate chain',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get local issuer certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate',
  CERT_CHAIN_TOO_LONG: 'certificate chain too long',
  CERT_REVOKED: 'certificate revoked',
  INVALID_CA: 'invalid CA certificate',
  PATH_LENGTH_EXCEEDED: 'path length constraint exceeded',
  INVALID_PURPOSE: 'unsuitable certificate purpose',
  CERT_UNTRUSTED: 'certificate not trusted',
  CERT_REJECTED: 'certificate rejected',
  HOSTNAME_MISMATCH: 'hostname mismatch',
};

// The chain ends at a CA this machine does not trust (or the server did not send the intermediate).
const UNKNOWN_CA = new Set(['UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN']);

/** "CN=x" of a name when it has one, else the whole name, else nothing. */
function shortName(dn: string | null): string | null {
  if (dn === null) return null;
  const cn = dn.split(', ').find((p) => p.startsWith('CN='));
  return cn ?? dn;
}

function inParens(s: string | null, prefix = ''): string {
  return s === null ? '' : ` (${prefix}${s})`;
}

/** An IPv6 altname as people write it: Node prints "0:0:0:0:0:0:0:1" for ::1 (the URL parser compresses). */
function compactIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip;
  }
}

/** Who the certificate is for, as checkServerIdentity reads it: its DNS and IP altnames, else its CN. */
function namesOf(f: TlsFailure): string[] {
  const names = f.altNames.flatMap((a) => (a.startsWith('DNS:') ? [a.slice(4)] : a.startsWith('IP Address:') ? [compactIp(a.slice(11))] : []));
  if (names.length > 0) return names;
  const cn = shortName(f.subject);
  return cn?.startsWith('CN=') ? [cn.slice(3)] : [];
}

/**
 * The one line for a refused certificate: "TLS certificate expired at 2020-02-01T00:00:00Z (CN=localhost)",
 * "TLS hostname mismatch: the certificate is for example.invalid, not 127.0.0.1", … and for the rarer
 * refusals OpenSSL's words with the code ("TLS: unsuitable certificate purpose (INVALID_PURPOSE)").
 * `host` is the name or address the probe connected to. Pure.
 */
export function tlsFailureMessage(f: TlsFailure, host: string): string {
  const who = inParens(shortName(f.subject));
  switch (f.code) {
    case 'CERT_HAS_EXPIRED':
      return `TLS certificate expired${f.validTo ? ` at ${f.validTo}` : ''}${who}`;
    case 'CERT_NOT_YET_VALID':
      return `TLS certificate not valid until ${f.validFrom ?? 'a later date'}${who}`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
    case 'HOSTNAME_MISMATCH': {
      const names = namesOf(f);
      const shown = names.length > 3 ? `${names.slice(0, 3).join(', ')} (and ${names.length - 3} more)` : names.join(', ');
      return names.length > 0
        ? `TLS hostname mismatch: the certificate is for ${shown}, not ${host}`
        : `TLS hostname mismatch: the certificate names no host, not ${host}`;
    }
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return `TLS self-signed certificate${who}`;
    default:
      break;
  }
  if (UNKNOWN_CA.has(f.code)) return `TLS certificate from an unknown CA${inParens(shortName(f.issuer), 'issuer ')}`;
  const cn = shortName(f.subject);
  const also = cn === null ? '' : `, ${cn}`;
  const words = OPENSSL_WORDS[f.code];
  if (words !== undefined) return `TLS: ${words} (${f.code}${also})`;
  // Node puts OpenSSL's words in authorizationError for a code it has no name for.
  return /^[A-Z0-9_]+$/.test(f.code) ? `TLS: certificate refused (${f.code}${also})` : `TLS: ${f.code}${who}`;
}

/** The certificate of a verified connection (code null); undefined when the server sent none. */
export function presentedCertificate(socket: TLSSocket): TlsCertificate | undefined {
  const cert = socket.getPeerCertificate() as CertificateFields;
  if (Object.keys(cert).length === 0) return undefined;
  return { ...tlsFailureOf('', cert), code: null };
}

/**
 * At secureConnect: undefined when the connection is verified as Node would verify it, else the refusal
 * as a message and the certificate's facts. `host` is what the probe connected to (what Node checked).
 */
export function refusedCertificate(socket: TLSSocket, host: string): { message: string; tls: TlsFailure } | undefined {
  if (socket.authorized) return undefined;
  // @types/node says Error; Node sets `verifyError.code || verifyError.message`, a string.
  const reason = socket.authorizationError as unknown;
  const code = typeof reason === 'string' && reason !== '' ? reason : reason instanceof Error ? ((reason as { code?: string }).code ?? reason.message) : 'UNSPECIFIED';
  const cert = socket.getPeerCertificate() as CertificateFields;
  const tls = tlsFailureOf(code, Object.keys(cert).length > 0 ? cert : undefined);
  return { message: tlsFailureMessage(tls, host), tls };
}

// The certificate-expiry warning (src/diagnosis/rules/certificate.ts): a certificate the failed check saw
// that ends within 7 days of the failure is a `possible` finding ranked after the failure's own
// symptom, never the probable cause; an expired or refused one is the TLS failure itself.
import { describe, test } from 'node:test';
import { FF, HTTP_503, REFUSED, TIMEOUT, at, check, err, input, unit, type Case } from './_input';
import type { SnapshotError } from '../../src/incident/snapshot';
import assert from 'node:assert/strict';

const HEALTHY = unit('systemctl-show-healthy.txt');
const DAY = 24 * 3600;
const withCert = (e: SnapshotError, validTo: string, code: string | null = null): SnapshotError => ({
  ...e,
  tls: { code, subject: 'CN=app.internal', issuer: 'CN=internal ca', valid_from: '2026-09-01T00:00:00Z', valid_to: validTo },
});
const IN_3_DAYS = at(3 * DAY).replace(/\.\d{3}Z$/, 'Z');
const WARNING = `TLS certificate expires in 2 days 23 hours, at ${IN_3_DAYS} (CN=app.internal)`;

describe('a certificate near its end', () => {
  const cases: Case[] = [
    {
      name: '503 with a certificate ending in 3 days: the symptom first, the warning after it; no cause claimed',
      input: input({ unit: HEALTHY, error: withCert(HTTP_503, IN_3_DAYS) }),
      want: { causes: ['health check returned HTTP 503', WARNING], probableCause: 'HTTP 503, no cause found' },
    },
    {
      name: 'tls_insecure: the verify error it let pass is in the evidence',
      input: input({ error: withCert(TIMEOUT, IN_3_DAYS, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY') }),
      want: { causes: ['health check timed out', WARNING] },
    },
    {
      name: 'ending in 8 days: nothing to say',
      input: input({ error: withCert(HTTP_503, at(8 * DAY)) }),
      want: { causes: ['health check returned HTTP 503'] },
    },
    {
      name: 'expired: the TLS failure is the cause, no warning beside it',
      input: input({ error: withCert(err('tls', 'TLS certificate expired at 2026-11-25T00:00:00Z (CN=app.internal)', null, 5), '2026-11-25T00:00:00Z', 'CERT_HAS_EXPIRED') }),
      want: { causes: ['TLS certificate expired at 2026-11-25T00:00:00Z (CN=app.internal)'], probableCause: 'TLS certificate expired at 2026-11-25T00:00:00Z (CN=app.internal)' },
    },
    {
      name: 'refused for its name and ending soon: the refusal is certain and first, the warning after',
      input: input({ error: withCert(err('tls', 'TLS hostname mismatch: the certificate is for app.internal, not 127.0.0.1', null, 5), IN_3_DAYS, 'ERR_TLS_CERT_ALTNAME_INVALID') }),
      want: {
        first: { cause: 'TLS hostname mismatch: the certificate is for app.internal, not 127.0.0.1', scope: 'unit', confidence: 'certain' },
        causes: ['TLS hostname mismatch: the certificate is for app.internal, not 127.0.0.1', WARNING],
      },
    },
    {
      name: 'no certificate (a refused connection, before any handshake): nothing',
      input: input({ error: REFUSED }),
      want: { causes: ['health check: connection refused'] },
    },
  ];
  for (const c of cases) test(c.name, () => void check(c.input, c.want));

  test('the warning finding, exactly', () => {
    const d = check(input({ error: withCert(HTTP_503, IN_3_DAYS, 'DEPTH_ZERO_SELF_SIGNED_CERT') }), {});
    const quote = `certificate CN=app.internal from CN=internal ca, valid 2026-09-01T00:00:00Z to ${IN_3_DAYS} (not verified: DEPTH_ZERO_SELF_SIGNED_CERT)`;
    assert.deepEqual(d.findings.filter((f) => f.kind === 'tls_expiring')[0], {
      cause: WARNING,
      kind: 'tls_expiring',
      scope: 'unit',
      confidence: 'possible',
      at: FF,
      quote,
      evidence: [quote],
    });
    assert.deepEqual(d.findings.map((f) => f.kind), ['http_status', 'tls_expiring']);
  });
});

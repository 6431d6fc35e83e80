// The certificate facts and messages of src/probe/tls.ts, pure. The strings parsed here are in the forms
// Node prints (valid_from, subjectaltname); where a form is unusual (quoted altnames, an IPv6 altname)
// it is taken from a real certificate made by openssl and read by Node's X509Certificate at test time.
// The probe against real TLS servers is in http.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certDate, distinguishedName, splitAltNames, tlsFailureMessage, tlsFailureOf, type TlsFailure } from '../../src/probe/tls';
import { haveOpenssl } from './_certs';

test('certDate', async (t) => {
  const cases: { name: string; input: string | undefined; want: string | null }[] = [
    { name: 'one-digit day, padded with a space', input: 'Feb  1 00:00:00 2020 GMT', want: '2020-02-01T00:00:00Z' },
    { name: 'two-digit day', input: 'Dec 31 23:59:59 2099 GMT', want: '2099-12-31T23:59:59Z' },
    { name: 'fractional seconds (GeneralizedTime)', input: 'Jan 15 08:30:05.250 2031 GMT', want: '2031-01-15T08:30:05Z' },
    { name: 'empty', input: '', want: null },
    { name: 'absent', input: undefined, want: null },
    { name: 'truncated', input: 'Feb  1 00:00', want: null },
    { name: 'not a month', input: 'Foo  1 00:00:00 2020 GMT', want: null },
    { name: 'not GMT', input: 'Feb  1 00:00:00 2020 UTC', want: null },
  ];
  for (const c of cases) await t.test(c.name, () => assert.equal(certDate(c.input), c.want));
});

test('distinguishedName', async (t) => {
  const cases: { name: string; input: unknown; want: string | null }[] = [
    { name: 'CN only', input: { CN: 'localhost' }, want: 'CN=localhost' },
    { name: 'in the certificate\'s order', input: { C: 'US', O: "Let's Encrypt", CN: 'R3' }, want: "C=US, O=Let's Encrypt, CN=R3" },
    { name: 'a repeated attribute (Node gives an array)', input: { OU: ['ops', 'web'], CN: 'app' }, want: 'OU=ops, OU=web, CN=app' },
    { name: 'a null-prototype object, as Node 18+ returns', input: Object.assign(Object.create(null) as object, { CN: 'x' }), want: 'CN=x' },
    { name: 'empty', input: {}, want: null },
    { name: 'absent', input: undefined, want: null },
  ];
  for (const c of cases) await t.test(c.name, () => assert.equal(distinguishedName(c.input as Parameters<typeof distinguishedName>[0]), c.want));
});

test('splitAltNames', async (t) => {
  const cases: { name: string; input: string | undefined; want: string[] }[] = [
    { name: 'one', input: 'DNS:example.invalid', want: ['DNS:example.invalid'] },
    { name: 'several', input: 'IP Address:127.0.0.1, DNS:localhost', want: ['IP Address:127.0.0.1', 'DNS:localhost'] },
    { name: 'a quoted value holding a comma', input: 'DNS:a.invalid, URI:"http://x.invalid/a\\u002cb", DNS:b.invalid', want: ['DNS:a.invalid', 'URI:http://x.invalid/a,b', 'DNS:b.invalid'] },
    { name: 'a quote never closed (truncated): the rest kept as it is', input: 'DNS:a.invalid, URI:"http://x', want: ['DNS:a.invalid', 'URI:"http://x'] },
    { name: 'empty', input: '', want: [] },
    { name: 'absent', input: undefined, want: [] },
  ];
  for (const c of cases) await t.test(c.name, () => assert.deepEqual(splitAltNames(c.input), c.want));

  await t.test('Node\'s own output for a real certificate with a comma in a URI and an IPv6 address', { skip: haveOpenssl() ? false : 'openssl not found' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'preflight-alt-'));
    try {
      writeFileSync(
        join(dir, 'c.cnf'),
        '[ req ]\ndistinguished_name = dn\nprompt = no\n[ dn ]\nCN = localhost\n[ ext ]\nsubjectAltName = @alt\n[ alt ]\nDNS.1 = example.invalid\nURI.1 = http://x.invalid/a,b\nIP.1 = ::1\nemail.1 = ops@example.invalid\n',
      );
      execFileSync('openssl', ['req', '-x509', '-config', 'c.cnf', '-extensions', 'ext', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '1'], { cwd: dir, stdio: 'ignore', timeout: 30_000 });
      const x = new X509Certificate(readFileSync(join(dir, 'c.pem')));
      const names = splitAltNames(x.subjectAltName);
      assert.deepEqual(names, ['DNS:example.invalid', 'URI:http://x.invalid/a,b', 'IP Address:0:0:0:0:0:0:0:1', 'email:ops@example.invalid'], String(x.subjectAltName));
      // the message names the hosts the way checkServerIdentity reads them, the IPv6 one compressed
      const f = tlsFailureOf('ERR_TLS_CERT_ALTNAME_INVALID', { subject: { CN: 'localhost' } as X509Subject, subjectaltname: x.subjectAltName });
      assert.equal(tlsFailureMessage(f, '127.0.0.1'), 'TLS hostname mismatch: the certificate is for example.invalid, ::1, not 127.0.0.1');
      assert.equal(certDate(x.validTo)?.endsWith('Z'), true, x.validTo);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

type X509Subject = NonNullable<Parameters<typeof distinguishedName>[0]>;

test('tlsFailureMessage', async (t) => {
  const base: TlsFailure = {
    code: '',
    subject: 'CN=localhost',
    issuer: 'CN=preflight test root',
    validFrom: '2020-01-01T00:00:00Z',
    validTo: '2020-02-01T00:00:00Z',
    altNames: ['IP Address:127.0.0.1', 'DNS:localhost'],
  };
  const cases: { name: string; input: { f: Partial<TlsFailure>; host?: string }; want: string }[] = [
    { name: 'expired', input: { f: { code: 'CERT_HAS_EXPIRED' } }, want: 'TLS certificate expired at 2020-02-01T00:00:00Z (CN=localhost)' },
    { name: 'expired, no date', input: { f: { code: 'CERT_HAS_EXPIRED', validTo: null } }, want: 'TLS certificate expired (CN=localhost)' },
    { name: 'not yet valid', input: { f: { code: 'CERT_NOT_YET_VALID', validFrom: '2090-01-01T00:00:00Z' } }, want: 'TLS certificate not valid until 2090-01-01T00:00:00Z (CN=localhost)' },
    {
      name: 'hostname mismatch',
      input: { f: { code: 'ERR_TLS_CERT_ALTNAME_INVALID', subject: 'CN=example.invalid', altNames: ['DNS:example.invalid'] } },
      want: 'TLS hostname mismatch: the certificate is for example.invalid, not 127.0.0.1',
    },
    {
      name: 'hostname mismatch, no altnames: the CN is what the certificate is for',
      input: { f: { code: 'ERR_TLS_CERT_ALTNAME_INVALID', subject: 'O=Example, CN=old.invalid', altNames: [] }, host: 'app.invalid' },
      want: 'TLS hostname mismatch: the certificate is for old.invalid, not app.invalid',
    },
    {
      name: 'hostname mismatch, many names',
      input: { f: { code: 'ERR_TLS_CERT_ALTNAME_INVALID', altNames: ['DNS:a.invalid', 'DNS:b.invalid', 'URI:x', 'DNS:c.invalid', 'DNS:d.invalid', 'DNS:e.invalid'] } },
      want: 'TLS hostname mismatch: the certificate is for a.invalid, b.invalid, c.invalid (and 2 more), not 127.0.0.1',
    },
    { name: 'hostname mismatch, no names at all', input: { f: { code: 'ERR_TLS_CERT_ALTNAME_INVALID', subject: 'O=Example', altNames: [] } }, want: 'TLS hostname mismatch: the certificate names no host, not 127.0.0.1' },
    { name: 'self-signed', input: { f: { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', issuer: 'CN=localhost' } }, want: 'TLS self-signed certificate (CN=localhost)' },
    { name: 'self-signed, no CN: the whole subject', input: { f: { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', subject: 'O=Example, OU=ops' } }, want: 'TLS self-signed certificate (O=Example, OU=ops)' },
    { name: 'self-signed, no subject', input: { f: { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', subject: null } }, want: 'TLS self-signed certificate' },
    { name: 'unknown CA (leaf alone)', input: { f: { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' } }, want: 'TLS certificate from an unknown CA (issuer CN=preflight test root)' },
    { name: 'unknown CA (root sent)', input: { f: { code: 'SELF_SIGNED_CERT_IN_CHAIN' } }, want: 'TLS certificate from an unknown CA (issuer CN=preflight test root)' },
    { name: 'unknown CA (local issuer)', input: { f: { code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', issuer: 'C=US, O=Corp, CN=Corp Issuing CA 2' } }, want: 'TLS certificate from an unknown CA (issuer CN=Corp Issuing CA 2)' },
    { name: 'unknown CA, no issuer', input: { f: { code: 'UNABLE_TO_GET_ISSUER_CERT', issuer: null } }, want: 'TLS certificate from an unknown CA' },
    { name: 'another code Node names: OpenSSL\'s words', input: { f: { code: 'CERT_REVOKED' } }, want: 'TLS: certificate revoked (CERT_REVOKED, CN=localhost)' },
    { name: 'a code this table does not know', input: { f: { code: 'SOME_NEW_CODE', subject: null } }, want: 'TLS: certificate refused (SOME_NEW_CODE)' },
    { name: 'words where Node had no code name', input: { f: { code: 'unable to get CRL issuer certificate' } }, want: 'TLS: unable to get CRL issuer certificate (CN=localhost)' },
  ];
  for (const c of cases) await t.test(c.name, () => assert.equal(tlsFailureMessage({ ...base, ...c.input.f }, c.input.host ?? '127.0.0.1'), c.want));
});

test('tlsFailureOf', async (t) => {
  await t.test('a certificate as getPeerCertificate gives it', () => {
    const cert = { subject: { CN: 'localhost' }, issuer: { CN: 'preflight test root' }, valid_from: 'Jan  1 00:00:00 2020 GMT', valid_to: 'Feb  1 00:00:00 2020 GMT', subjectaltname: 'IP Address:127.0.0.1' };
    assert.deepEqual(tlsFailureOf('CERT_HAS_EXPIRED', cert as Parameters<typeof tlsFailureOf>[1]), {
      code: 'CERT_HAS_EXPIRED',
      subject: 'CN=localhost',
      issuer: 'CN=preflight test root',
      validFrom: '2020-01-01T00:00:00Z',
      validTo: '2020-02-01T00:00:00Z',
      altNames: ['IP Address:127.0.0.1'],
    });
  });
  await t.test('no certificate: the code alone', () => {
    assert.deepEqual(tlsFailureOf('UNABLE_TO_GET_ISSUER_CERT', undefined), { code: 'UNABLE_TO_GET_ISSUER_CERT', subject: null, issuer: null, validFrom: null, validTo: null, altNames: [] });
  });
});

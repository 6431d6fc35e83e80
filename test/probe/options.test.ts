// A service's probe options end to end, from preflight.yaml to a real TLS server on 127.0.0.1: a
// self-signed certificate made at test time (ending in 3 days) is refused by default, verified through
// tls_ca_file, accepted with tls_insecure (the verify error and the expiry still recorded); headers
// reach the server; and the expiring certificate becomes the snapshot's warning finding and one log line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/config';
import { diagnose } from '../../src/diagnosis';
import type { SnapshotError } from '../../src/incident/snapshot';
import { ExpiryNotices, timeLeftWords } from '../../src/probe/expiry';
import { probe, type ProbeResult } from '../../src/probe/http';
import { probeSpecOf } from '../../src/probe/options';
import { TestCa, caDate as stamp, haveOpenssl } from './_certs';

const DAY = 24 * 3600 * 1000;
const iso = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19)}Z`;

/** The snapshot's error for a failed check, as the daemon writes it (daemon.ts, the capture effect). */
function snapshotError(r: ProbeResult): SnapshotError {
  return {
    kind: r.errorKind ?? 'http_status',
    status: r.status ?? null,
    message: r.message ?? '',
    latency_ms: Math.round(r.latencyMs),
    ...(r.bodySnippet ? { body: r.bodySnippet } : {}),
    ...(r.tls ? { tls: { code: r.tls.code, subject: r.tls.subject, issuer: r.tls.issuer, valid_from: r.tls.validFrom, valid_to: r.tls.validTo } } : {}),
  };
}

test('https probe options against a self-signed certificate that ends in 3 days', { skip: haveOpenssl() ? false : 'openssl not found' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'preflight-options-'));
  // whole seconds, so the certificate's dates are exactly these
  const now = Math.floor(Date.now() / 1000) * 1000;
  const from = now - DAY;
  const to = now + 3 * DAY;
  const cert = new TestCa(dir).selfSigned('localhost', stamp(from), stamp(to), { ca: false, san: 'IP:127.0.0.1, DNS:localhost' });
  const caFile = join(dir, 'self.pem');
  writeFileSync(caFile, cert.cert);
  let status = 200;
  const seen: { headers: Record<string, string | string[] | undefined> }[] = [];
  const server = https.createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    seen.push({ headers: req.headers });
    res.statusCode = status;
    res.end(status === 200 ? 'ok' : 'down');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
  const config = (extra: string): ReturnType<typeof parseConfig>['services'][number] => {
    const c = parseConfig(`services:\n  - name: web\n    health_url: ${url}\n${extra}`, 'p.yaml', { HOME: '/home/op' });
    return c.services[0]!;
  };
  const facts = { subject: 'CN=localhost', issuer: 'CN=localhost', validFrom: iso(from), validTo: iso(to), altNames: ['IP Address:127.0.0.1', 'DNS:localhost'] };
  try {
    await t.test('without tls_ca_file: refused as self-signed, nothing sent', async () => {
      const before = seen.length;
      const r = await probe(probeSpecOf(config('')));
      assert.equal(r.ok, false);
      assert.equal(r.errorKind, 'tls');
      assert.equal(r.message, 'TLS self-signed certificate (CN=localhost)');
      assert.deepEqual(r.tls, { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', ...facts });
      assert.equal(seen.length, before, 'no request on an unverified connection');
    });

    await t.test('with tls_ca_file naming it: verified, the certificate kept with code null', async () => {
      const svc = config(`    tls_ca_file: ${caFile}\n`);
      assert.equal(svc.tlsCaFile, caFile);
      const r = await probe(probeSpecOf(svc));
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(r.status, 200);
      assert.deepEqual(r.tls, { code: null, ...facts });
    });

    await t.test('with tls_insecure: accepted, and the verify error and the expiry still recorded', async () => {
      const r = await probe(probeSpecOf(config('    tls_insecure: true\n')));
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(r.status, 200);
      assert.deepEqual(r.tls, { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', ...facts });
    });

    await t.test('tls_insecure: false is the default: refused', async () => {
      const r = await probe(probeSpecOf(config('    tls_insecure: false\n')));
      assert.equal(r.errorKind, 'tls');
    });

    await t.test('headers reach the server, and replace preflight\'s own by name', async () => {
      const r = await probe(probeSpecOf(config(`    tls_ca_file: ${caFile}\n    headers:\n      Authorization: Bearer s3cret\n      User-Agent: probe-of-web\n`)));
      assert.equal(r.ok, true, JSON.stringify(r));
      const got = seen[seen.length - 1]!.headers;
      assert.equal(got.authorization, 'Bearer s3cret');
      assert.equal(got['user-agent'], 'probe-of-web');
      assert.equal(got.accept, '*/*');
    });

    await t.test('ending in 3 days: one log line over many checks', async () => {
      const notices = new ExpiryNotices();
      const spec = probeSpecOf(config(`    tls_ca_file: ${caFile}\n`));
      const lines: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await probe(spec);
        const line = notices.note('web', r.tls, r.at);
        if (line) lines.push(line);
      }
      assert.deepEqual(lines, [`web: TLS certificate expires in 2 days 23 hours, at ${iso(to)} (CN=localhost); renew it before then, or checks will fail`]);
    });

    await t.test('ending in 3 days, and the service answers 503: the warning finding, after the symptom, never the cause', async () => {
      status = 503;
      const r = await probe(probeSpecOf(config('    tls_insecure: true\n')));
      assert.equal(r.errorKind, 'http_status');
      const firstFailureAt = new Date(r.at).toISOString();
      const d = diagnose({
        trigger: 'health_check',
        error: snapshotError(r),
        unit: null,
        exit: null,
        journal: [],
        kernel: [],
        samples: [],
        cpus: 2,
        firstFailureAt,
        confirmedAt: firstFailureAt,
        intervalSeconds: 30,
      });
      assert.deepEqual(d.findings.map((f) => f.kind), ['http_status', 'tls_expiring']);
      const left = timeLeftWords(to - r.at);
      assert.equal(left, '2 days 23 hours');
      assert.deepEqual(d.findings.filter((f) => f.kind === 'tls_expiring')[0], {
        cause: `TLS certificate expires in ${left}, at ${iso(to)} (CN=localhost)`,
        kind: 'tls_expiring',
        scope: 'unit',
        confidence: 'possible',
        at: firstFailureAt,
        quote: `certificate CN=localhost from CN=localhost, valid ${iso(from)} to ${iso(to)} (not verified: DEPTH_ZERO_SELF_SIGNED_CERT)`,
        evidence: [`certificate CN=localhost from CN=localhost, valid ${iso(from)} to ${iso(to)} (not verified: DEPTH_ZERO_SELF_SIGNED_CERT)`],
      });
      assert.equal(d.probableCause, 'HTTP 503, no cause found');
    });
  } finally {
    await new Promise<void>((done) => server.close(() => done()));
    rmSync(dir, { recursive: true, force: true });
  }
});

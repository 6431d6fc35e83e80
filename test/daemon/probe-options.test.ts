// A real Daemon with a tcp:// service at a real listener that was closed, and an https:// service whose
// self-signed certificate (made at test time) ends in 3 days, checked with tls_insecure every 100 ms:
// the TCP failure is committed as connection_refused; the certificate is logged once, not per check.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/config';
import { Daemon } from '../../src/daemon/daemon';
import { Logger } from '../../src/daemon/log';
import type { Snapshot } from '../../src/incident/snapshot';
import { TestCa, caDate as stamp, haveOpenssl } from '../probe/_certs';
import { sleep, waitFor } from './_daemon';


test('tcp:// refused is an incident of connection_refused; a certificate near its end is one log line', { skip: haveOpenssl() ? false : 'openssl not found' }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'preflight-daemon-probe-'));
  const day = 24 * 3600 * 1000;
  const cert = new TestCa(path.join(dir, 'ca')).selfSigned('localhost', stamp(Date.now() - day), stamp(Date.now() + 3 * day), { ca: false, san: 'IP:127.0.0.1' });
  const tlsServer = https.createServer({ key: cert.key, cert: cert.cert }, (_req, res) => res.end('ok'));
  await new Promise<void>((done) => tlsServer.listen(0, '127.0.0.1', done));
  const closed = net.createServer();
  await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
  const closedPort = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((done) => closed.close(() => done()));
  const config = parseConfig(
    [
      `snapshot_dir: ${JSON.stringify(path.join(dir, 'snapshots'))}`,
      'interval_seconds: 0.1',
      'timeout_seconds: 0.1',
      'confirm_interval_seconds: 0.1',
      'failure_threshold: 2',
      'sample_seconds: 0.2',
      'journal_lines: 0',
      'listen: off',
      'services:',
      '  - name: db',
      `    health_url: tcp://127.0.0.1:${closedPort}`,
      '  - name: web',
      `    health_url: https://127.0.0.1:${(tlsServer.address() as net.AddressInfo).port}/health`,
      '    tls_insecure: true',
    ].join('\n'),
    path.join(dir, 'preflight.yaml'),
  );
  const logged: string[] = [];
  const io = { out: (t: string) => logged.push(t), err: (t: string) => logged.push(t), isTTY: false };
  const daemon = new Daemon(config, new Logger(io), {}, { followJournal: false });
  try {
    await daemon.start();
    await waitFor('the db incident', 10_000, async () => (await daemon.store.list('db')).length > 0);
    const web = daemon.services.find((s) => s.cfg.name === 'web')!;
    const checks = (): number => web.probes.samples().length;
    await waitFor('several web checks', 10_000, () => checks() >= 5);
    await sleep(300);
    const last = await daemon.store.last('db');
    const snap = JSON.parse(last!.text) as Snapshot;
    assert.equal(snap.health_url, `tcp://127.0.0.1:${closedPort}`);
    assert.deepEqual({ kind: snap.error?.kind, status: snap.error?.status, message: snap.error?.message }, { kind: 'connection_refused', status: null, message: `connect ECONNREFUSED 127.0.0.1:${closedPort}` });
    assert.equal(web.lastProbe?.ok, true);
    assert.equal(web.lastProbe?.tls?.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    const warnings = logged.filter((l) => l.includes('TLS certificate expires'));
    assert.equal(warnings.length, 1, `${checks()} checks, ${warnings.length} lines:\n${logged.join('\n')}`);
    assert.match(warnings[0]!, /^<4>web: TLS certificate expires in 2 days 23 hours, at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(CN=localhost\); renew it before then, or checks will fail$/);
  } finally {
    await daemon.stop();
    await new Promise<void>((done) => tlsServer.close(() => done()));
    rmSync(dir, { recursive: true, force: true });
  }
});

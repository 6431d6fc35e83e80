// The probe against real servers on 127.0.0.1 (ephemeral ports): each failure a health endpoint can show,
// made for real, and the classification the snapshot will carry for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { lookup } from 'node:dns';
import type { TLSSocket } from 'node:tls';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PROBE_ERROR_CODES,
  classifyProbeError,
  probe,
  probeErrorCode,
  probeErrorKindOf,
  probeUrlProblem,
  type ProbeErrorKind,
  type ProbeResult,
  type ProbeSpec,
  type StatusRange,
  type TlsFailure,
} from '../../src/probe/http';
import { TestCa, haveOpenssl, type Issued, type LeafSpec } from './_certs';
import { withTimeout } from '../../src/util/exec';
import { VERSION } from '../../src/version';

// Generous: only guards against a probe that never resolves; speed is measured in bench/, not here.
const NEVER_MS = 10_000;

interface Running {
  port: number;
  url(path?: string): string;
  /** Every socket the server accepted (so tests can count connections and bytes). */
  sockets: net.Socket[];
  close(): Promise<void>;
}

function track(server: net.Server): Promise<Running> {
  const sockets: net.Socket[] = [];
  server.on('connection', (s: net.Socket) => sockets.push(s));
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      const scheme = server instanceof https.Server ? 'https' : 'http';
      resolve({
        port,
        url: (path = '/health') => `${scheme}://127.0.0.1:${port}${path}`,
        sockets,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

function httpServer(handler: http.RequestListener): Promise<Running> {
  return track(http.createServer(handler));
}

/** Resolves with the probe's result, or fails the test if it never resolves (it must never hang). */
function probeBounded(spec: ProbeSpec): Promise<ProbeResult> {
  return withTimeout(probe(spec), NEVER_MS, `probe of ${spec.url} did not resolve`);
}

function spec(url: string, more: Partial<ProbeSpec> = {}): ProbeSpec {
  return { url, timeoutMs: 2000, expectStatus: [{ min: 200, max: 299 }], ...more };
}

test('status and body checks', async (t) => {
  const cases: {
    name: string;
    input: { status: number; body: string; expectStatus?: StatusRange[]; expectBody?: string };
    want: { ok: boolean; status: number; errorKind?: ProbeErrorKind; message?: RegExp; snippet?: string };
  }[] = [
    { name: '200 ok', input: { status: 200, body: 'fine' }, want: { ok: true, status: 200 } },
    {
      name: '503 is http_status with the reason phrase and a body snippet',
      input: { status: 503, body: 'down for maintenance' },
      want: { ok: false, status: 503, errorKind: 'http_status', message: /^HTTP 503 Service Unavailable$/, snippet: 'down for maintenance' },
    },
    { name: '204 inside a range', input: { status: 204, body: '', expectStatus: [{ min: 200, max: 299 }] }, want: { ok: true, status: 204 } },
    {
      name: '302 in a list of ranges',
      input: { status: 302, body: '', expectStatus: [{ min: 200, max: 200 }, { min: 301, max: 302 }] },
      want: { ok: true, status: 302 },
    },
    {
      name: '404 outside a list of ranges',
      input: { status: 404, body: 'no', expectStatus: [{ min: 200, max: 200 }, { min: 301, max: 302 }] },
      want: { ok: false, status: 404, errorKind: 'http_status', message: /^HTTP 404 Not Found$/, snippet: 'no' },
    },
    { name: 'empty expectStatus means 2xx: 200', input: { status: 200, body: '', expectStatus: [] }, want: { ok: true, status: 200 } },
    {
      name: 'empty expectStatus means 2xx: 301',
      input: { status: 301, body: '', expectStatus: [] },
      want: { ok: false, status: 301, errorKind: 'http_status', message: /^HTTP 301 Moved Permanently$/, snippet: '' },
    },
    { name: 'expected body found', input: { status: 200, body: '{"status":"UP"}', expectBody: '"UP"' }, want: { ok: true, status: 200 } },
    {
      name: 'wrong body is body_mismatch',
      input: { status: 200, body: '{"status":"DOWN"}', expectBody: '"UP"' },
      want: { ok: false, status: 200, errorKind: 'body_mismatch', message: /does not contain "\\"UP\\"".*whole body, 17 bytes/, snippet: '{"status":"DOWN"}' },
    },
    {
      name: 'status is checked before the body',
      input: { status: 500, body: 'UP but broken', expectBody: 'UP' },
      want: { ok: false, status: 500, errorKind: 'http_status', snippet: 'UP but broken' },
    },
    {
      name: 'multi-byte body matched as UTF-8',
      input: { status: 200, body: 'état: prêt ✓', expectBody: 'prêt ✓' },
      want: { ok: true, status: 200 },
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const srv = await httpServer((_req, res) => {
        res.writeHead(c.input.status, { 'content-type': 'text/plain; charset=utf-8', location: '/elsewhere' });
        res.end(c.input.body);
      });
      try {
        const r = await probeBounded(spec(srv.url(), { expectStatus: c.input.expectStatus ?? [{ min: 200, max: 299 }], expectBody: c.input.expectBody }));
        assert.equal(r.ok, c.want.ok, JSON.stringify(r));
        assert.equal(r.status, c.want.status);
        assert.equal(r.errorKind, c.want.errorKind);
        if (c.want.message) assert.match(r.message ?? '', c.want.message);
        assert.equal(r.bodySnippet, c.want.snippet);
        assert.equal(r.bodyBytes, Buffer.byteLength(c.input.body));
        assert.ok(r.latencyMs >= 0);
      } finally {
        await srv.close();
      }
    });
  }
});

test('a 3xx is a status: the redirect target is never requested', async () => {
  const paths: string[] = [];
  const srv = await httpServer((req, res) => {
    paths.push(req.url ?? '');
    if (req.url === '/health') res.writeHead(302, { location: '/target' }).end();
    else res.writeHead(200).end('target');
  });
  try {
    const r = await probeBounded(spec(srv.url()));
    assert.equal(r.errorKind, 'http_status');
    assert.equal(r.status, 302);
    assert.match(r.message ?? '', /^HTTP 302 Found$/);
    assert.deepEqual(paths, ['/health']);
  } finally {
    await srv.close();
  }
});

test('sends User-Agent preflight/<version>, a fresh connection per probe, Connection: close', async () => {
  const seen: http.IncomingHttpHeaders[] = [];
  const srv = await httpServer((req, res) => {
    seen.push(req.headers);
    res.end('ok');
  });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await probeBounded(spec(srv.url()))).ok, true);
    assert.equal(seen.length, 3);
    for (const h of seen) {
      assert.equal(h['user-agent'], `preflight/${VERSION}`);
      assert.equal(h.connection, 'close');
    }
    assert.equal(srv.sockets.length, 3, 'one TCP connection per probe');
  } finally {
    await srv.close();
  }
});

test('latency runs to the end of the body read', async () => {
  const srv = await httpServer((_req, res) => {
    res.writeHead(200);
    res.write('part one ');
    setTimeout(() => res.end('part two'), 150);
  });
  try {
    const r = await probeBounded(spec(srv.url(), { expectBody: 'part two' }));
    assert.equal(r.ok, true, JSON.stringify(r));
    // A lower bound only (timers never fire early): the body's second half came 150 ms after the headers.
    assert.ok(r.latencyMs >= 140, `latency ${r.latencyMs} should include the body's 150 ms`);
  } finally {
    await srv.close();
  }
});

test('timeouts, whatever the stage', async (t) => {
  await t.test('server accepts and never answers', async () => {
    const srv = await track(net.createServer(() => {}));
    try {
      const r = await probeBounded(spec(srv.url(), { timeoutMs: 300 }));
      assert.equal(r.errorKind, 'timeout', JSON.stringify(r));
      assert.equal(r.ok, false);
      assert.equal(r.status, undefined);
      assert.match(r.message ?? '', /^no response within 300 ms \(stalled at response headers\)$/);
      assert.ok(r.latencyMs >= 290 && r.latencyMs < NEVER_MS, `latency ${r.latencyMs}`);
      assert.equal(srv.sockets.length, 1);
    } finally {
      await srv.close();
    }
  });

  await t.test('headers sent, body stalls', async () => {
    const srv = await httpServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only part');
    });
    try {
      const r = await probeBounded(spec(srv.url(), { timeoutMs: 300 }));
      assert.equal(r.errorKind, 'timeout', JSON.stringify(r));
      assert.equal(r.status, 200);
      assert.equal(r.bodyBytes, 9);
      assert.match(r.message ?? '', /^body not complete within 300 ms \(HTTP 200, 9 bytes read\)$/);
    } finally {
      await srv.close();
    }
  });

  await t.test('https endpoint that never starts the TLS handshake', async () => {
    const srv = await track(net.createServer(() => {}));
    try {
      const r = await probeBounded(spec(`https://127.0.0.1:${srv.port}/health`, { timeoutMs: 300 }));
      assert.equal(r.errorKind, 'timeout', JSON.stringify(r));
      assert.match(r.message ?? '', /stalled at TLS handshake/);
    } finally {
      await srv.close();
    }
  });
});

test('connection refused on a port that was bound and closed', async () => {
  const srv = await httpServer((_req, res) => res.end());
  const url = srv.url();
  await srv.close();
  const r = await probeBounded(spec(url));
  assert.equal(r.errorKind, 'connection_refused', JSON.stringify(r));
  assert.equal(r.message, `connect ECONNREFUSED 127.0.0.1:${srv.port}`);
});

test('the server drops the connection: reset', async (t) => {
  const cases: { name: string; input: (req: http.IncomingMessage, res: http.ServerResponse) => void; want: { status?: number; message: RegExp } }[] = [
    {
      name: 'before any response',
      input: (req) => req.socket.destroy(),
      want: { message: /during response headers: socket hang up \(ECONNRESET\)/ },
    },
    {
      name: 'mid-body (content-length promised more)',
      input: (_req, res) => {
        res.writeHead(200, { 'content-length': '1000' });
        res.write('partial');
        setTimeout(() => res.socket?.destroy(), 20);
      },
      want: { status: 200, message: /during body/ },
    },
    {
      name: 'mid-body (chunked, no terminating chunk)',
      input: (_req, res) => {
        res.writeHead(200);
        res.write('partial');
        setTimeout(() => res.socket?.destroy(), 20);
      },
      want: { status: 200, message: /during body/ },
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const srv = await httpServer(c.input);
      try {
        const r = await probeBounded(spec(srv.url()));
        assert.equal(r.errorKind, 'reset', JSON.stringify(r));
        assert.equal(r.status, c.want.status);
        assert.match(r.message ?? '', c.want.message);
      } finally {
        await srv.close();
      }
    });
  }
});

/** A server streaming forever (respecting backpressure), counting the bytes the kernel accepted. */
async function endlessServer(): Promise<Running & { written(): number; stopped: Promise<void> }> {
  let written = 0;
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const chunk = Buffer.alloc(16 * 1024, 'x');
  const srv = await httpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk)) written += chunk.length;
      if (!res.destroyed) {
        written += chunk.length; // the write that returned false was still accepted (buffered)
        res.once('drain', pump);
      }
    };
    res.on('close', () => stop());
    pump();
  });
  return { ...srv, written: () => written, stopped };
}

test('an endless body is read only up to maxBodyBytes, then the connection is dropped', async (t) => {
  await t.test('ok, truncated at the cap', async (t) => {
    const srv = await endlessServer();
    try {
      const r = await probeBounded(spec(srv.url(), { maxBodyBytes: 64 * 1024, timeoutMs: 5000 }));
      assert.equal(r.ok, true, JSON.stringify({ ...r, bodySnippet: undefined }));
      assert.equal(r.bodyBytes, 64 * 1024);
      assert.equal(r.bodyTruncated, true);
      // the server saw the connection go away: it stops writing
      await withTimeout(srv.stopped, NEVER_MS, 'endless server still writing after the probe resolved');
      const atStop = srv.written();
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(srv.written(), atStop, 'no more writes after the probe dropped the connection');
      // What the server got out is the cap plus socket buffers (a few MiB on loopback), nowhere near endless.
      assert.ok(atStop < 32 * 1024 * 1024, `server wrote ${atStop} bytes`);
      t.diagnostic(`server got ${atStop} bytes out before the probe dropped the connection (probe read ${r.bodyBytes})`);
    } finally {
      await srv.close();
    }
  });

  await t.test('body_mismatch says only the first bytes were looked at', async () => {
    const srv = await endlessServer();
    try {
      const r = await probeBounded(spec(srv.url(), { maxBodyBytes: 1000, expectBody: 'needle' }));
      assert.equal(r.errorKind, 'body_mismatch', JSON.stringify({ ...r, bodySnippet: undefined }));
      assert.match(r.message ?? '', /looked only at the first 1000 bytes/);
      assert.equal(r.bodySnippet, 'x'.repeat(200));
      await withTimeout(srv.stopped, NEVER_MS, 'endless server still writing after the probe resolved');
    } finally {
      await srv.close();
    }
  });

  await t.test('a body of exactly maxBodyBytes is whole, not truncated', async () => {
    const srv = await httpServer((_req, res) => res.end('y'.repeat(1000)));
    try {
      const r = await probeBounded(spec(srv.url(), { maxBodyBytes: 1000 }));
      assert.equal(r.ok, true);
      assert.equal(r.bodyBytes, 1000);
      assert.equal(r.bodyTruncated, undefined);
    } finally {
      await srv.close();
    }
  });
});

/** Runs probe-child.ts (which inherits this process's tsx loader flags) with `env`; its results, in order. */
function probeInChild(env: NodeJS.ProcessEnv, times: number, urls: string[]): Promise<ProbeResult[]> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...process.execArgv.filter((a) => !a.startsWith('--test')), join(__dirname, 'probe-child.ts'), String(times), ...urls],
      { env: { ...process.env, ...env }, timeout: NEVER_MS, encoding: 'utf8' },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(JSON.parse(stdout) as ProbeResult[])),
    );
  });
}

interface TlsServer extends Running {
  /** Requests the server's handler saw. */
  requests: number;
  /** Application bytes the server decrypted (the request, if one was sent). */
  appBytes: number;
  reused: boolean[];
}

/** A real node:https server on 127.0.0.1 serving `chain` (leaf first) with `key`. */
async function tlsServer(key: string, chain: string[]): Promise<TlsServer> {
  const server = https.createServer({ key, cert: chain.join('') }, (req, res) => {
    s.requests++;
    s.reused.push((req.socket as TLSSocket).isSessionReused());
    res.end('ok');
  });
  server.on('secureConnection', (sock: TLSSocket) => sock.on('data', (d: Buffer) => (s.appBytes += d.length)));
  const s: TlsServer = Object.assign(await track(server), { requests: 0, appBytes: 0, reused: [] as boolean[] });
  return s;
}

// Fixed dates (openssl ca -startdate/-enddate) so every field can be asserted exactly.
const FROM = '20240101000000Z';
const TO = '20991231235959Z';
const FROM_ISO = '2024-01-01T00:00:00Z';
const TO_ISO = '2099-12-31T23:59:59Z';

test('https: refused certificates say why, with the certificate\'s facts; nothing is sent on them', { skip: haveOpenssl() ? false : 'openssl not found' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'preflight-tls-'));
  const servers: TlsServer[] = [];
  const serve = async (key: string, chain: string[]): Promise<TlsServer> => {
    const s = await tlsServer(key, chain);
    servers.push(s);
    return s;
  };
  try {
    const ca = new TestCa(dir);
    const root = ca.selfSigned('preflight test root', FROM, TO, { ca: true });
    const inter = ca.sign(root, { cn: 'preflight test intermediate', san: 'DNS:unused.invalid', from: FROM, to: TO, eku: 'ca' });
    const leaf = (over: Partial<LeafSpec> = {}, issuer = root): Issued => ca.sign(issuer, { cn: 'localhost', san: 'IP:127.0.0.1, DNS:localhost', from: FROM, to: TO, ...over });
    const valid = leaf();
    const viaInter = leaf({}, inter);
    const self = ca.selfSigned('localhost', FROM, TO, { ca: false, san: 'IP:127.0.0.1, DNS:localhost' });
    const rootPem = join(dir, 'root.pem');
    writeFileSync(rootPem, root.cert);

    const local = ['IP Address:127.0.0.1', 'DNS:localhost'];
    const cases: {
      name: string;
      input: { cert: Issued; chain?: string[]; trusted: boolean };
      want: { message: string; tls: TlsFailure } | 'ok';
    }[] = [
      {
        name: 'expired',
        input: { cert: leaf({ from: '20200101000000Z', to: '20200201000000Z' }), trusted: true },
        want: {
          message: 'TLS certificate expired at 2020-02-01T00:00:00Z (CN=localhost)',
          tls: { code: 'CERT_HAS_EXPIRED', subject: 'CN=localhost', issuer: 'CN=preflight test root', validFrom: '2020-01-01T00:00:00Z', validTo: '2020-02-01T00:00:00Z', altNames: local },
        },
      },
      {
        name: 'not yet valid',
        input: { cert: leaf({ from: '20900101000000Z', to: '20910101000000Z' }), trusted: true },
        want: {
          message: 'TLS certificate not valid until 2090-01-01T00:00:00Z (CN=localhost)',
          tls: { code: 'CERT_NOT_YET_VALID', subject: 'CN=localhost', issuer: 'CN=preflight test root', validFrom: '2090-01-01T00:00:00Z', validTo: '2091-01-01T00:00:00Z', altNames: local },
        },
      },
      {
        name: 'hostname mismatch: a certificate for example.invalid served at 127.0.0.1',
        input: { cert: leaf({ cn: 'example.invalid', san: 'DNS:example.invalid' }), trusted: true },
        want: {
          message: 'TLS hostname mismatch: the certificate is for example.invalid, not 127.0.0.1',
          tls: { code: 'ERR_TLS_CERT_ALTNAME_INVALID', subject: 'CN=example.invalid', issuer: 'CN=preflight test root', validFrom: FROM_ISO, validTo: TO_ISO, altNames: ['DNS:example.invalid'] },
        },
      },
      {
        name: 'a client-only certificate (extendedKeyUsage clientAuth): OpenSSL\'s words and the code',
        input: { cert: leaf({ eku: 'clientAuth' }), trusted: true },
        want: {
          message: 'TLS: unsuitable certificate purpose (INVALID_PURPOSE, CN=localhost)',
          tls: { code: 'INVALID_PURPOSE', subject: 'CN=localhost', issuer: 'CN=preflight test root', validFrom: FROM_ISO, validTo: TO_ISO, altNames: local },
        },
      },
      {
        name: 'self-signed',
        input: { cert: self, trusted: false },
        want: {
          message: 'TLS self-signed certificate (CN=localhost)',
          tls: { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', subject: 'CN=localhost', issuer: 'CN=localhost', validFrom: FROM_ISO, validTo: TO_ISO, altNames: local },
        },
      },
      {
        name: 'unknown CA, the server sends its certificate alone',
        input: { cert: valid, trusted: false },
        want: {
          message: 'TLS certificate from an unknown CA (issuer CN=preflight test root)',
          tls: { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', subject: 'CN=localhost', issuer: 'CN=preflight test root', validFrom: FROM_ISO, validTo: TO_ISO, altNames: local },
        },
      },
      {
        name: 'unknown CA, the server sends the root too',
        input: { cert: valid, chain: [valid.cert, root.cert], trusted: false },
        want: {
          message: 'TLS certificate from an unknown CA (issuer CN=preflight test root)',
          tls: { code: 'SELF_SIGNED_CERT_IN_CHAIN', subject: 'CN=localhost', issuer: 'CN=preflight test root', validFrom: FROM_ISO, validTo: TO_ISO, altNames: local },
        },
      },
      {
        name: 'unknown CA, the server sends an intermediate whose root is unknown',
        input: { cert: viaInter, chain: [viaInter.cert, inter.cert], trusted: false },
        want: {
          message: 'TLS certificate from an unknown CA (issuer CN=preflight test intermediate)',
          tls: { code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', subject: 'CN=localhost', issuer: 'CN=preflight test intermediate', validFrom: FROM_ISO, validTo: TO_ISO, altNames: local },
        },
      },
      { name: 'valid, signed by the trusted root', input: { cert: valid, trusted: true }, want: 'ok' },
      { name: 'valid, through an intermediate the server sends', input: { cert: viaInter, chain: [viaInter.cert, inter.cert], trusted: true }, want: 'ok' },
    ];

    // Each case gets its own server; the trusted ones are probed from one child that trusts the root.
    const started = await Promise.all(cases.map((c) => serve(c.input.cert.key, c.input.chain ?? [c.input.cert.cert])));
    const trustedIdx = cases.flatMap((c, i) => (c.input.trusted ? [i] : []));
    const fromChild = await probeInChild({ NODE_EXTRA_CA_CERTS: rootPem }, 1, trustedIdx.map((i) => (started[i] as TlsServer).url()));
    const results = new Map<number, ProbeResult>(trustedIdx.map((i, k) => [i, fromChild[k] as ProbeResult]));
    for (const [i, c] of cases.entries()) if (!c.input.trusted) results.set(i, await probeBounded(spec((started[i] as TlsServer).url())));

    for (const [i, c] of cases.entries()) {
      await t.test(c.name, () => {
        const r = results.get(i) as ProbeResult;
        const srv = started[i] as TlsServer;
        if (c.want === 'ok') {
          assert.equal(r.ok, true, JSON.stringify(r));
          assert.equal(r.status, 200);
          assert.equal(r.tls?.code, null, 'a verified certificate is kept, with no refusal code');
          assert.deepEqual(srv.reused, [false], 'one request, on a full handshake');
          assert.ok(srv.appBytes > 0, 'the byte count sees a request when one is sent');
          return;
        }
        assert.equal(r.ok, false);
        assert.equal(r.errorKind, 'tls', JSON.stringify(r));
        assert.equal(r.message, c.want.message);
        assert.deepEqual(r.tls, c.want.tls);
        assert.equal(r.status, undefined);
        // the connection was refused before the request was written: the server decrypted nothing
        assert.equal(srv.requests, 0, 'no request reached the server');
        assert.equal(srv.appBytes, 0, 'no application byte reached the server');
      });
    }

    await t.test('NODE_TLS_REJECT_UNAUTHORIZED=0 turns verification off, as it does for Node', async () => {
      const srv = await serve(self.key, [self.cert]);
      const [r] = await probeInChild({ NODE_TLS_REJECT_UNAUTHORIZED: '0' }, 1, [srv.url()]);
      assert.equal(r?.ok, true, JSON.stringify(r));
    });

    await t.test('trusted: every probe does a full handshake (no session is resumed)', async () => {
      const srv = await serve(valid.key, [valid.cert]);
      const rs = await probeInChild({ NODE_EXTRA_CA_CERTS: rootPem }, 3, [srv.url()]);
      assert.deepEqual(rs.map((r) => [r.ok, r.status, r.errorKind]), [[true, 200, undefined], [true, 200, undefined], [true, 200, undefined]]);
      // A resumed TLS session would skip the certificate check a probe exists to make.
      assert.deepEqual(srv.reused, [false, false, false]);
    });

    await t.test('https://[::1] with a certificate for 127.0.0.1: the address is named bare', { skip: haveIpv6() ? false : 'no ::1 here' }, async () => {
      const server = https.createServer({ key: valid.key, cert: valid.cert }, (_req, res) => res.end('ok'));
      await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
      try {
        const [r] = await probeInChild({ NODE_EXTRA_CA_CERTS: rootPem }, 1, [`https://[::1]:${(server.address() as net.AddressInfo).port}/health`]);
        assert.equal(r?.errorKind, 'tls', JSON.stringify(r));
        assert.equal(r?.message, 'TLS hostname mismatch: the certificate is for 127.0.0.1, localhost, not ::1');
      } finally {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      }
    });

    await t.test('100 refused handshakes leave no sockets or timers behind', { skip: activeResources ? false : 'needs process.getActiveResourcesInfo' }, async () => {
      const srv = servers[cases.findIndex((c) => c.name === 'self-signed')] as TlsServer;
      const before = countResources();
      for (let i = 0; i < 100; i += 10) {
        const rs = await Promise.all(Array.from({ length: 10 }, () => probe(spec(srv.url()))));
        assert.ok(rs.every((r) => r.errorKind === 'tls'));
      }
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 50));
      const after = countResources();
      for (const kind of new Set([...before.keys(), ...after.keys()])) {
        assert.ok((after.get(kind) ?? 0) <= (before.get(kind) ?? 0), `${kind}: ${before.get(kind) ?? 0} before, ${after.get(kind) ?? 0} after`);
      }
    });
  } finally {
    await Promise.all(servers.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  }
});

function haveIpv6(): boolean {
  try {
    const s = execFileSync(process.execPath, ['-e', "require('net').createServer().listen(0,'::1',function(){this.close()})"], { stdio: 'pipe', timeout: 5000 });
    return s !== undefined;
  } catch {
    return false;
  }
}

test('https:// against a plain-HTTP server is a tls error', async () => {
  const srv = await httpServer((_req, res) => res.end('ok'));
  try {
    const r = await probeBounded(spec(`https://127.0.0.1:${srv.port}/health`));
    assert.equal(r.errorKind, 'tls', JSON.stringify(r));
    assert.match(r.message ?? '', /^TLS: .*wrong version number/i);
    assert.equal(r.tls, undefined, 'no certificate was sent');
  } finally {
    await srv.close();
  }
});

test('a name under .invalid fails as dns (or, where the resolver hangs, as a bounded timeout in dns lookup)', async () => {
  const r = await probeBounded(spec('http://preflight-probe-test.invalid/health', { timeoutMs: 3000 }));
  assert.equal(r.ok, false);
  if (r.errorKind === 'timeout') assert.match(r.message ?? '', /stalled at dns lookup/);
  else {
    assert.equal(r.errorKind, 'dns', JSON.stringify(r));
    assert.match(r.message ?? '', /^DNS: (no such name|the resolver did not answer for) preflight-probe-test\.invalid$/);
  }
  assert.equal(r.dns?.host, 'preflight-probe-test.invalid');
});

/** `unshare -rmn` (a user, mount and network namespace of its own) works here, with `ip`. */
function canUnshare(): boolean {
  try {
    execFileSync('unshare', ['-rmn', 'sh', '-c', 'ip link set lo up'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/** Runs dns-child.ts in a private network whose only resolver is the child's own (see that file). */
function dnsChild(dir: string, mode: string, timeoutMs: number): { lookup: Record<string, unknown> | null; probe: ProbeResult } {
  const node = [process.execPath, ...process.execArgv.filter((a) => !a.startsWith('--test')), join(__dirname, 'dns-child.ts'), mode, 'app.internal', String(timeoutMs)];
  const script = `ip link set lo up && mount --bind "$1/resolv.conf" /etc/resolv.conf && mount --bind "$1/nsswitch.conf" /etc/nsswitch.conf && shift && exec "$@"`;
  const out = execFileSync('unshare', ['-rmn', 'sh', '-c', script, 'sh', dir, ...node], {
    // one try of one second, so a silent resolver gives getaddrinfo's EAI_AGAIN quickly
    env: { ...process.env, RES_OPTIONS: 'timeout:1 attempts:1' },
    encoding: 'utf8',
    timeout: NEVER_MS,
  });
  return JSON.parse(out) as { lookup: Record<string, unknown> | null; probe: ProbeResult };
}

test('DNS: no such name vs the resolver did not answer, from glibc in a private network', { skip: canUnshare() ? false : 'unshare -rmn not permitted here' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'preflight-dns-'));
  writeFileSync(join(dir, 'resolv.conf'), 'nameserver 127.0.0.1\n');
  writeFileSync(join(dir, 'nsswitch.conf'), 'hosts: files dns\n');
  const agains = { code: 'EAI_AGAIN', errno: -3001 };
  const cases: {
    name: string;
    input: { mode: string; timeoutMs: number };
    want: { lookup: { code: string; errno: number } | null; kind?: ProbeErrorKind; message?: string; dnsCode?: string };
  }[] = [
    { name: 'the resolver gives an address: the probe passes', input: { mode: 'address', timeoutMs: 3000 }, want: { lookup: null } },
    { name: 'NXDOMAIN', input: { mode: 'nxdomain', timeoutMs: 3000 }, want: { lookup: { code: 'ENOTFOUND', errno: -3008 }, kind: 'dns', message: 'DNS: no such name app.internal', dnsCode: 'ENOTFOUND' } },
    {
      name: 'NOERROR without an address (EAI_NODATA, which Node also calls ENOTFOUND)',
      input: { mode: 'nodata', timeoutMs: 3000 },
      want: { lookup: { code: 'ENOTFOUND', errno: -3007 }, kind: 'dns', message: 'DNS: no address for app.internal (the name exists)', dnsCode: 'ENOTFOUND' },
    },
    { name: 'a resolver that never answers (RES_OPTIONS timeout:1)', input: { mode: 'silent', timeoutMs: 3000 }, want: { lookup: agains, kind: 'dns', message: 'DNS: the resolver did not answer for app.internal', dnsCode: 'EAI_AGAIN' } },
    { name: 'no resolver listening', input: { mode: 'none', timeoutMs: 3000 }, want: { lookup: agains, kind: 'dns', message: 'DNS: the resolver did not answer for app.internal', dnsCode: 'EAI_AGAIN' } },
    { name: 'SERVFAIL is EAI_AGAIN too', input: { mode: 'servfail', timeoutMs: 3000 }, want: { lookup: agains, kind: 'dns', message: 'DNS: the resolver did not answer for app.internal', dnsCode: 'EAI_AGAIN' } },
    { name: 'REFUSED is EAI_AGAIN too', input: { mode: 'refused', timeoutMs: 3000 }, want: { lookup: agains, kind: 'dns', message: 'DNS: the resolver did not answer for app.internal', dnsCode: 'EAI_AGAIN' } },
    {
      name: 'the probe\'s deadline passes while the resolver is silent',
      input: { mode: 'silent', timeoutMs: 300 },
      want: { lookup: agains, kind: 'timeout', message: 'no response within 300 ms (stalled at dns lookup)', dnsCode: 'ETIMEOUT' },
    },
  ];
  try {
    for (const c of cases) {
      await t.test(c.name, () => {
        const got = dnsChild(dir, c.input.mode, c.input.timeoutMs);
        if (c.want.lookup === null) assert.equal(got.lookup, null);
        else assert.deepEqual({ code: got.lookup?.code, errno: got.lookup?.errno, hostname: got.lookup?.hostname }, { ...c.want.lookup, hostname: 'app.internal' });
        if (c.want.kind === undefined) {
          assert.equal(got.probe.ok, true, JSON.stringify(got.probe));
          assert.equal(got.probe.dns, undefined);
          return;
        }
        assert.equal(got.probe.errorKind, c.want.kind, JSON.stringify(got.probe));
        assert.equal(got.probe.message, c.want.message);
        assert.deepEqual(got.probe.dns, { host: 'app.internal', code: c.want.dnsCode });
        // the raw lookup error, classified alone, says the same (when the probe did not time out first)
        if (c.want.kind === 'dns' && got.lookup) {
          const e = Object.assign(new Error(String(got.lookup.message)), got.lookup);
          assert.deepEqual(classifyProbeError(e, 'dns lookup'), { kind: 'dns', message: c.want.message, dns: { host: 'app.internal', code: c.want.dnsCode } });
        }
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad URLs resolve (never reject) with a clear message', async (t) => {
  const cases: { name: string; input: string; want: RegExp | undefined }[] = [
    { name: 'unsupported scheme', input: 'ftp://127.0.0.1/health', want: /^unsupported scheme "ftp:" in "ftp:\/\/127\.0\.0\.1\/health" \(only http:\/\/, https:\/\/ and tcp:\/\/ can be probed\)$/ },
    { name: 'no scheme', input: '127.0.0.1:8080/health', want: /unsupported scheme "127\.0\.0\.1:"|invalid URL/ },
    { name: 'not a URL', input: 'not a url', want: /^invalid URL "not a url"/ },
    { name: 'empty', input: '', want: /^invalid URL ""/ },
    { name: 'http is fine', input: 'http://127.0.0.1:8080/health', want: undefined },
    { name: 'https with IPv6 is fine', input: 'https://[::1]:8443/', want: undefined },
    { name: 'tcp with a port is fine', input: 'tcp://127.0.0.1:5432', want: undefined },
    { name: 'tcp without a port', input: 'tcp://127.0.0.1', want: /^no port in "tcp:\/\/127\.0\.0\.1"$/ },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const problem = probeUrlProblem(c.input);
      if (c.want === undefined) {
        assert.equal(problem, undefined);
        return;
      }
      assert.match(problem ?? '', c.want);
      const r = await probeBounded(spec(c.input));
      assert.equal(r.ok, false);
      assert.equal(r.message, problem);
      assert.ok(r.errorKind);
    });
  }
});

test('classifyProbeError by code', async (t) => {
  const err = (code: string | undefined, message: string): Error => Object.assign(new Error(message), code ? { code } : {});
  const cases: { name: string; input: Error; want: ProbeErrorKind }[] = [
    { name: 'ECONNREFUSED', input: err('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'), want: 'connection_refused' },
    { name: 'EHOSTUNREACH', input: err('EHOSTUNREACH', 'connect EHOSTUNREACH 10.0.0.1:80'), want: 'connection_refused' },
    { name: 'ENOTFOUND', input: err('ENOTFOUND', 'getaddrinfo ENOTFOUND x.invalid'), want: 'dns' },
    { name: 'EAI_AGAIN', input: err('EAI_AGAIN', 'getaddrinfo EAI_AGAIN x'), want: 'dns' },
    { name: 'EAI_NONAME', input: err('EAI_NONAME', 'getaddrinfo EAI_NONAME x'), want: 'dns' },
    { name: 'ECONNRESET', input: err('ECONNRESET', 'read ECONNRESET'), want: 'reset' },
    { name: 'EPIPE', input: err('EPIPE', 'write EPIPE'), want: 'reset' },
    { name: 'socket hang up without a code', input: err(undefined, 'socket hang up'), want: 'reset' },
    { name: 'premature close', input: err('ERR_STREAM_PREMATURE_CLOSE', 'Premature close'), want: 'reset' },
    { name: 'self-signed', input: err('DEPTH_ZERO_SELF_SIGNED_CERT', 'self signed certificate'), want: 'tls' },
    { name: 'self-signed in chain', input: err('SELF_SIGNED_CERT_IN_CHAIN', 'self signed certificate in certificate chain'), want: 'tls' },
    { name: 'leaf not verifiable', input: err('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'), want: 'tls' },
    { name: 'expired', input: err('CERT_HAS_EXPIRED', 'certificate has expired'), want: 'tls' },
    { name: 'altname', input: err('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"), want: 'tls' },
    { name: 'EPROTO ssl', input: err('EPROTO', 'write EPROTO 4067:error:0A00010B:SSL routines:ssl3_get_record:wrong version number'), want: 'tls' },
    { name: 'EPROTO not ssl', input: err('EPROTO', 'protocol error'), want: 'reset' },
    { name: 'ERR_SSL_*', input: err('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'), want: 'tls' },
    { name: 'kernel connect timeout', input: err('ETIMEDOUT', 'connect ETIMEDOUT 10.0.0.1:80'), want: 'timeout' },
    { name: 'HTTP parse error', input: err('HPE_INVALID_CONSTANT', 'Parse Error: Expected HTTP/'), want: 'reset' },
    { name: 'not even an Error', input: 'weird' as unknown as Error, want: 'reset' },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const got = classifyProbeError(c.input, 'connect');
      assert.equal(got.kind, c.want);
      assert.ok(got.message.length > 0 && !got.message.includes('\n'), got.message);
    });
  }
});

// getaddrinfo errors in the shape Node gives them (lib/internal/errors.js DNSException: `code`, libuv
// `errno`, `syscall`, `hostname`, message "getaddrinfo CODE host"): the first four exactly as glibc
// produced them in the private-network test above; EAI_FAIL, which glibc gives for other
// non-recoverable resolver failures, in the same shape.
test('classifyProbeError: what a failed lookup means', async (t) => {
  const gai = (code: string, errno: number, hostname?: string): Error =>
    Object.assign(new Error(`getaddrinfo ${code}${hostname ? ` ${hostname}` : ''}`), { code, errno, syscall: 'getaddrinfo', ...(hostname ? { hostname } : {}) });
  const cases: { name: string; input: { err: Error; host?: string }; want: { message: string; dns?: { host: string; code: string } } }[] = [
    { name: 'NXDOMAIN (EAI_NONAME)', input: { err: gai('ENOTFOUND', -3008, 'app.internal') }, want: { message: 'DNS: no such name app.internal', dns: { host: 'app.internal', code: 'ENOTFOUND' } } },
    { name: 'no address (EAI_NODATA)', input: { err: gai('ENOTFOUND', -3007, 'app.internal') }, want: { message: 'DNS: no address for app.internal (the name exists)', dns: { host: 'app.internal', code: 'ENOTFOUND' } } },
    { name: 'ENOTFOUND without an errno', input: { err: gai('ENOTFOUND', Number.NaN, 'app.internal') }, want: { message: 'DNS: no such name app.internal', dns: { host: 'app.internal', code: 'ENOTFOUND' } } },
    { name: 'EAI_AGAIN', input: { err: gai('EAI_AGAIN', -3001, 'app.internal') }, want: { message: 'DNS: the resolver did not answer for app.internal', dns: { host: 'app.internal', code: 'EAI_AGAIN' } } },
    { name: 'EAI_FAIL', input: { err: gai('EAI_FAIL', -3004, 'app.internal') }, want: { message: 'DNS: the lookup of app.internal failed (EAI_FAIL)', dns: { host: 'app.internal', code: 'EAI_FAIL' } } },
    { name: 'no hostname on the error: the caller\'s host', input: { err: gai('EAI_AGAIN', -3001), host: 'db.internal' }, want: { message: 'DNS: the resolver did not answer for db.internal', dns: { host: 'db.internal', code: 'EAI_AGAIN' } } },
    { name: 'no name at all: Node\'s words', input: { err: gai('ENOTFOUND', -3008) }, want: { message: 'DNS: getaddrinfo ENOTFOUND' } },
    { name: 'the error\'s hostname wins over the caller\'s', input: { err: gai('ENOTFOUND', -3008, 'a.internal'), host: 'b.internal' }, want: { message: 'DNS: no such name a.internal', dns: { host: 'a.internal', code: 'ENOTFOUND' } } },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.deepEqual(classifyProbeError(c.input.err, 'dns lookup', c.input.host), { kind: 'dns', ...c.want });
    });
  }
  await t.test('a real lookup of a .invalid name on this host', async () => {
    const e = await new Promise<Error | null>((resolve) => lookup('preflight-probe-test.invalid', (err) => resolve(err)));
    assert.ok(e, 'a .invalid name never resolves');
    const got = classifyProbeError(e, 'dns lookup');
    assert.equal(got.kind, 'dns');
    // ENOTFOUND where a resolver answers, EAI_AGAIN where none does (both real outcomes of this lookup)
    assert.match(got.message, /^DNS: (no such name|the resolver did not answer for) preflight-probe-test\.invalid$/);
  });
  await t.test('a real refused connection is not dns', async () => {
    const closed = await httpServer((_req, res) => res.end());
    await closed.close();
    const e = await new Promise<Error>((resolve) => net.connect(closed.port, '127.0.0.1').on('error', resolve));
    assert.deepEqual(classifyProbeError(e, 'connect', '127.0.0.1'), { kind: 'connection_refused', message: `connect ECONNREFUSED 127.0.0.1:${closed.port}` });
  });
});

test('PROBE_ERROR_CODES are small, distinct, non-zero and decode back', () => {
  const codes = Object.values(PROBE_ERROR_CODES);
  assert.equal(new Set(codes).size, codes.length);
  for (const [kind, code] of Object.entries(PROBE_ERROR_CODES)) {
    assert.ok(Number.isInteger(code) && code > 0 && code < 256, `${kind}=${code}`);
    assert.equal(probeErrorKindOf(code), kind);
    // a ring stores it in a Float64Array and reads it back
    assert.equal(probeErrorKindOf(new Float64Array([code])[0] ?? -1), kind);
    assert.equal(probeErrorCode({ ok: false, errorKind: kind as ProbeErrorKind }), code);
  }
  assert.equal(probeErrorCode({ ok: true }), 0);
  assert.equal(probeErrorKindOf(0), undefined);
  assert.equal(probeErrorKindOf(99), undefined);
});

type ResourceInfo = () => string[];
const activeResources = (process as unknown as { getActiveResourcesInfo?: ResourceInfo }).getActiveResourcesInfo;

function countResources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of activeResources?.() ?? []) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

test('1000 probes leave no sockets or timers behind', { skip: activeResources ? false : 'process.getActiveResourcesInfo needs Node 17.3+' }, async () => {
  let n = 0;
  const srv = await httpServer((_req, res) => {
    n++;
    if (n % 4 === 0) res.writeHead(503).end('busy');
    else if (n % 4 === 1) res.writeHead(200).end('x'.repeat(5000)); // truncated at maxBodyBytes 1000
    else if (n % 4 === 2) res.req.socket.destroy(); // reset
    else res.writeHead(200).end('ok');
  });
  const closed = await httpServer((_req, res) => res.end());
  const refusedUrl = closed.url();
  await closed.close();
  const settle = async (): Promise<void> => {
    // let close callbacks of the last sockets run, on both ends
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    while (srv.sockets.some((s) => !s.destroyed)) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20));
  };
  try {
    await settle();
    const before = countResources();
    const kinds = new Map<string, number>();
    const concurrency = 20;
    for (let i = 0; i < 1000; i += concurrency) {
      const batch = Array.from({ length: concurrency }, (_, j) =>
        probe(spec((i + j) % 10 === 9 ? refusedUrl : srv.url(), { maxBodyBytes: 1000, timeoutMs: 5000 })),
      );
      for (const r of await Promise.all(batch)) {
        const k = r.ok ? 'ok' : (r.errorKind ?? '?');
        kinds.set(k, (kinds.get(k) ?? 0) + 1);
      }
    }
    await settle();
    const after = countResources();
    // every outcome was exercised, so every cleanup path was too
    for (const k of ['ok', 'http_status', 'reset', 'connection_refused']) assert.ok((kinds.get(k) ?? 0) > 50, `${k}: ${JSON.stringify([...kinds])}`);
    for (const kind of new Set([...before.keys(), ...after.keys()])) {
      assert.ok((after.get(kind) ?? 0) <= (before.get(kind) ?? 0), `${kind}: ${before.get(kind) ?? 0} before, ${after.get(kind) ?? 0} after 1000 probes`);
    }
  } finally {
    await srv.close();
  }
});

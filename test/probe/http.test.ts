// The probe against real servers on 127.0.0.1 (ephemeral ports): each failure a health endpoint can show,
// made for real, and the classification the snapshot will carry for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
} from '../../src/probe/http';
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

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('https with normal certificate verification', { skip: haveOpenssl() ? false : 'openssl not found' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'preflight-tls-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
        '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      { stdio: 'ignore', timeout: 30_000 },
    );
    const reused: boolean[] = [];
    const srv = await track(
      https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
        reused.push((req.socket as TLSSocket).isSessionReused());
        res.end('ok');
      }),
    );
    try {
      await t.test('a self-signed certificate is a tls error naming the reason', async () => {
        const r = await probeBounded(spec(srv.url()));
        assert.equal(r.errorKind, 'tls', JSON.stringify(r));
        assert.match(r.message ?? '', /^TLS: self[- ]signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\)$/);
        assert.deepEqual(reused, [], 'no request got through');
      });

      await t.test('trusted (NODE_EXTRA_CA_CERTS): ok, and every probe does a full handshake', async () => {
        // The child inherits this process's loader flags (tsx) to run the TypeScript helper.
        const out = await new Promise<string>((resolve, reject) => {
          execFile(
            process.execPath,
            [...process.execArgv.filter((a) => !a.startsWith('--test')), join(__dirname, 'probe-child.ts'), srv.url(), '3'],
            { env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') }, timeout: NEVER_MS, encoding: 'utf8' },
            (err, stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(stdout)),
          );
        });
        const results = JSON.parse(out) as ProbeResult[];
        assert.deepEqual(results.map((r) => [r.ok, r.status, r.errorKind]), [[true, 200, undefined], [true, 200, undefined], [true, 200, undefined]]);
        // A resumed TLS session would skip the certificate check a probe exists to make.
        assert.deepEqual(reused, [false, false, false]);
      });
    } finally {
      await srv.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('https:// against a plain-HTTP server is a tls error', async () => {
  const srv = await httpServer((_req, res) => res.end('ok'));
  try {
    const r = await probeBounded(spec(`https://127.0.0.1:${srv.port}/health`));
    assert.equal(r.errorKind, 'tls', JSON.stringify(r));
    assert.match(r.message ?? '', /^TLS: .*wrong version number/i);
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
    assert.match(r.message ?? '', /ENOTFOUND preflight-probe-test\.invalid/);
  }
});

test('bad URLs resolve (never reject) with a clear message', async (t) => {
  const cases: { name: string; input: string; want: RegExp | undefined }[] = [
    { name: 'unsupported scheme', input: 'ftp://127.0.0.1/health', want: /^unsupported scheme "ftp:" in "ftp:\/\/127\.0\.0\.1\/health" \(only http:\/\/ and https:\/\/ can be probed\)$/ },
    { name: 'no scheme', input: '127.0.0.1:8080/health', want: /unsupported scheme "127\.0\.0\.1:"|invalid URL/ },
    { name: 'not a URL', input: 'not a url', want: /^invalid URL "not a url"/ },
    { name: 'empty', input: '', want: /^invalid URL ""/ },
    { name: 'http is fine', input: 'http://127.0.0.1:8080/health', want: undefined },
    { name: 'https with IPv6 is fine', input: 'https://[::1]:8443/', want: undefined },
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

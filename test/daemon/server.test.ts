// The HTTP API: routing and validation as tables over the pure functions, then the server itself on
// 127.0.0.1 (ephemeral port) over a real store in a temp folder, with raw sockets for the requests a
// well-behaved client would never send (traversal, oversized headers, slow headers, a body).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiServer, authorized, isLoopbackHost, listenProblem, route, type Route, type RouteContext } from '../../src/daemon/server';
import type { Snapshot } from '../../src/incident/snapshot';
import { SnapshotStore } from '../../src/incident/store';
import { daemonStatus, raw, request, snapshotFixture } from './_helpers';

const ID = '2026-11-25T03-04-05.123Z';
const ID2 = '2026-11-25T04-00-00.000Z';
const ctx: RouteContext = { services: new Set(['web', 'dead-drop', 'a.b']), retention: 50 };

describe('route', () => {
  type Want = Route | number;
  const cases: { name: string; input: [string | undefined, string | undefined]; want: Want }[] = [
    { name: 'healthz', input: ['GET', '/healthz'], want: { kind: 'healthz' } },
    { name: 'healthz, query ignored', input: ['GET', '/healthz?x=1'], want: { kind: 'healthz' } },
    { name: 'metrics by HEAD', input: ['HEAD', '/metrics'], want: { kind: 'metrics' } },
    { name: 'status', input: ['GET', '/status'], want: { kind: 'status' } },
    { name: 'last', input: ['GET', '/failure-context/web/last'], want: { kind: 'last', service: 'web' } },
    { name: 'a dotted service name', input: ['GET', '/failure-context/a.b/last'], want: { kind: 'last', service: 'a.b' } },
    { name: 'list, default 10', input: ['GET', '/failure-context/web/list'], want: { kind: 'list', service: 'web', limit: 10 } },
    { name: 'list, limit', input: ['GET', '/failure-context/web/list?limit=3'], want: { kind: 'list', service: 'web', limit: 3 } },
    { name: 'list, limit = retention', input: ['GET', '/failure-context/web/list?limit=50'], want: { kind: 'list', service: 'web', limit: 50 } },
    { name: 'list, other params ignored', input: ['GET', '/failure-context/web/list?x=../..&limit=2'], want: { kind: 'list', service: 'web', limit: 2 } },
    { name: 'snapshot by id', input: ['GET', `/failure-context/web/${ID}`], want: { kind: 'snapshot', service: 'web', id: ID } },
    { name: 'snapshot with a collision suffix', input: ['GET', `/failure-context/web/${ID}-2`], want: { kind: 'snapshot', service: 'web', id: `${ID}-2` } },
    // limits
    { name: 'limit over retention', input: ['GET', '/failure-context/web/list?limit=51'], want: 400 },
    { name: 'limit 0', input: ['GET', '/failure-context/web/list?limit=0'], want: 400 },
    { name: 'limit negative', input: ['GET', '/failure-context/web/list?limit=-1'], want: 400 },
    { name: 'limit empty', input: ['GET', '/failure-context/web/list?limit='], want: 400 },
    { name: 'limit bare', input: ['GET', '/failure-context/web/list?limit'], want: 400 },
    { name: 'limit exponent', input: ['GET', '/failure-context/web/list?limit=1e1'], want: 400 },
    { name: 'limit leading zero', input: ['GET', '/failure-context/web/list?limit=05'], want: 400 },
    { name: 'limit huge', input: ['GET', `/failure-context/web/list?limit=${'9'.repeat(30)}`], want: 400 },
    // methods
    ...['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT', 'get', undefined].map((m) => ({
      name: `method ${String(m)}`,
      input: [m, '/healthz'] as [string | undefined, string],
      want: 405,
    })),
    // traversal and encodings: refused before routing
    { name: 'dot-dot', input: ['GET', '/failure-context/web/../../etc/passwd'], want: 400 },
    { name: 'dot-dot as the service', input: ['GET', '/failure-context/../last'], want: 400 },
    { name: 'single dot', input: ['GET', '/failure-context/./web/last'], want: 400 },
    { name: 'encoded dots', input: ['GET', '/failure-context/web/%2e%2e/%2e%2e/etc/passwd'], want: 400 },
    { name: 'encoded slash in the service', input: ['GET', '/failure-context/web%2f..%2f..%2fetc/last'], want: 400 },
    { name: 'encoded slash, upper case', input: ['GET', '/failure-context/web%2F..%2Fx/last'], want: 400 },
    { name: 'double-encoded', input: ['GET', '/failure-context/web/%252e%252e/x'], want: 400 },
    { name: 'encoded NUL', input: ['GET', '/failure-context/web/%00'], want: 400 },
    { name: 'raw NUL', input: ['GET', '/failure-context/web/last\0'], want: 400 },
    { name: 'backslashes', input: ['GET', '/failure-context/web\\..\\..\\etc/last'], want: 400 },
    { name: 'non-ASCII', input: ['GET', '/failure-context/wéb/last'], want: 400 },
    { name: 'a space', input: ['GET', '/failure-context/web /last'], want: 400 },
    { name: 'absolute-form URL', input: ['GET', 'http://evil.example/failure-context/web/last'], want: 400 },
    { name: 'asterisk', input: ['GET', '*'], want: 400 },
    { name: 'empty', input: ['GET', ''], want: 400 },
    { name: 'no URL', input: ['GET', undefined], want: 400 },
    { name: 'over-long', input: ['GET', `/failure-context/web/${'a'.repeat(3000)}`], want: 414 },
    { name: 'over-long in the query', input: ['GET', `/healthz?${'a'.repeat(3000)}`], want: 414 },
    // not found: nothing outside the configured names and the id pattern
    { name: 'root', input: ['GET', '/'], want: 404 },
    { name: 'double slash', input: ['GET', '//failure-context/web/last'], want: 404 },
    { name: 'trailing slash', input: ['GET', '/failure-context/web/last/'], want: 404 },
    { name: 'no action', input: ['GET', '/failure-context/web'], want: 404 },
    { name: 'unknown service', input: ['GET', '/failure-context/nope/last'], want: 404 },
    { name: 'service names are exact', input: ['GET', '/failure-context/Web/last'], want: 404 },
    { name: 'a folder name that is not a service', input: ['GET', '/failure-context/.state.json/last'], want: 404 },
    { name: 'an id with .json', input: ['GET', `/failure-context/web/${ID}.json`], want: 404 },
    { name: 'an impossible date', input: ['GET', '/failure-context/web/2026-13-01T00-00-00.000Z'], want: 404 },
    { name: 'something after the id', input: ['GET', `/failure-context/web/${ID}/x`], want: 404 },
    { name: 'healthz below', input: ['GET', '/healthz/x'], want: 404 },
    { name: 'status below', input: ['GET', '/status/web'], want: 404 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = route(c.input[0], c.input[1], ctx);
      if (typeof c.want === 'number') {
        assert.equal(r.ok, false, JSON.stringify(r));
        if (!r.ok) assert.equal(r.status, c.want);
      } else {
        assert.deepEqual(r, { ok: true, route: c.want });
      }
    });
  }

  test('the default list limit is capped by a small retention', () => {
    assert.deepEqual(route('GET', '/failure-context/web/list', { ...ctx, retention: 3 }), { ok: true, route: { kind: 'list', service: 'web', limit: 3 } });
  });
});

describe('authorized', () => {
  const cases: { name: string; input: [string | undefined, string | undefined]; want: boolean }[] = [
    { name: 'no token configured', input: [undefined, undefined], want: true },
    { name: 'no token configured, any header', input: ['Bearer x', undefined], want: true },
    { name: 'missing', input: [undefined, 's3cret'], want: false },
    { name: 'right', input: ['Bearer s3cret', 's3cret'], want: true },
    { name: 'scheme in any case', input: ['bearer s3cret', 's3cret'], want: true },
    { name: 'extra spaces', input: ['Bearer   s3cret  ', 's3cret'], want: true },
    { name: 'wrong', input: ['Bearer s3cre', 's3cret'], want: false },
    { name: 'longer', input: ['Bearer s3cretX', 's3cret'], want: false },
    { name: 'no scheme', input: ['s3cret', 's3cret'], want: false },
    { name: 'Basic', input: ['Basic s3cret', 's3cret'], want: false },
    { name: 'scheme only', input: ['Bearer', 's3cret'], want: false },
    { name: 'two tokens', input: ['Bearer s3cret s3cret', 's3cret'], want: false },
    { name: 'empty', input: ['', 's3cret'], want: false },
  ];
  for (const c of cases) test(c.name, () => assert.equal(authorized(...c.input), c.want));
});

describe('loopback and the listen check', () => {
  test('isLoopbackHost', () => {
    const cases: { input: string; want: boolean }[] = [
      { input: '127.0.0.1', want: true },
      { input: '127.1.2.3', want: true },
      { input: 'localhost', want: true },
      { input: 'LOCALHOST', want: true },
      { input: '::1', want: true },
      { input: '[::1]', want: true },
      { input: '0:0:0:0:0:0:0:1', want: true },
      { input: '0.0.0.0', want: false },
      { input: '::', want: false },
      { input: '10.0.0.1', want: false },
      { input: '128.0.0.1', want: false },
      { input: '192.168.1.10', want: false },
      { input: 'box.example.org', want: false },
      { input: 'localhost.example.org', want: false },
      { input: '::ffff:127.0.0.1', want: false },
    ];
    for (const c of cases) assert.equal(isLoopbackHost(c.input), c.want, c.input);
  });

  test('listenProblem', () => {
    const cases: { name: string; input: Parameters<typeof listenProblem>[0]; want: string | null }[] = [
      { name: 'off', input: { listen: null }, want: null },
      { name: 'loopback', input: { listen: { host: '127.0.0.1', port: 9187 } }, want: null },
      { name: 'wildcard with a token', input: { listen: { host: '0.0.0.0', port: 9187 }, apiToken: 'x' }, want: null },
      { name: 'wildcard', input: { listen: { host: '0.0.0.0', port: 9187 } }, want: 'listen: 0.0.0.0:9187 is not a loopback address and api_token is not set' },
      { name: 'IPv6 wildcard', input: { listen: { host: '::', port: 1 } }, want: 'listen: [::]:1 is not a loopback address and api_token is not set' },
      { name: 'a LAN address', input: { listen: { host: '192.168.1.10', port: 9187 } }, want: 'listen: 192.168.1.10:9187 is not a loopback address and api_token is not set' },
    ];
    for (const c of cases) {
      const p = listenProblem(c.input);
      assert.equal(p?.reason ?? null, c.want, c.name);
      if (p) assert.match(p.hint, /api_token/);
    }
  });
});

const status = daemonStatus;

// --- the server ----------------------------------------------------------------------------------

function snap(service: string, id: string, notification?: Snapshot['notification']): Snapshot {
  return snapshotFixture({ service, id, ...(notification ? { notification } : {}) });
}

describe('ApiServer on 127.0.0.1', () => {
  let dir: string;
  let store: SnapshotStore;
  let server: ApiServer;
  let guarded: ApiServer;
  let base: string;
  let port: number;
  const TOKEN = 'api-token-0123456789';
  const logged: string[] = [];
  const log = { warn: (m: string) => logged.push(m), debug: () => undefined };
  const config = {
    services: [{ name: 'web' }, { name: 'quiet' }] as never,
    retention: 5,
    sampleSeconds: 10,
    listen: { host: '127.0.0.1', port: 0 },
  };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'preflight-api-'));
    store = new SnapshotStore({ dir: path.join(dir, 'snapshots'), retention: 5, fallbackDir: path.join(dir, 'fallback') });
    await store.save(snap('web', ID, { status: 'delivered', attempts: 1, at: '2026-11-25T03:04:06.000Z' }));
    await store.save(snap('web', ID2));
    // a file outside the snapshot dir, named like what a traversal would reach
    mkdirSync(path.join(dir, 'outside'));
    writeFileSync(path.join(dir, 'outside', 'last'), 'SECRET-OUTSIDE');
    writeFileSync(path.join(dir, 'snapshots', 'secret.json'), 'SECRET-IN-ROOT');
    server = new ApiServer({
      config,
      store,
      status: () => status(),
      log,
      limits: { headersTimeoutMs: 500, requestTimeoutMs: 1000, idleTimeoutMs: 1000, maxHeaderBytes: 2048 },
    });
    port = (await server.listen()).port;
    base = `http://127.0.0.1:${port}`;
    guarded = new ApiServer({ config: { ...config, apiToken: TOKEN }, store, status: () => status(), log });
    await guarded.listen();
  });
  after(async () => {
    await server.close();
    await guarded.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const fileText = async (id: string): Promise<string> => (await store.read('web', id))!.text;

  test('each route: status, content type, and the safety headers', async () => {
    const cases: { name: string; input: string; want: { status: number; type: RegExp; body: (b: string) => void } }[] = [
      { name: 'last is the newest, byte for byte', input: '/failure-context/web/last', want: { status: 200, type: /^application\/json/, body: async (b) => assert.equal(b, await fileText(ID2)) } },
      { name: 'by id, byte for byte', input: `/failure-context/web/${ID}`, want: { status: 200, type: /^application\/json/, body: async (b) => assert.equal(b, await fileText(ID)) } },
      {
        name: 'list, newest first, with the notification outcome',
        input: '/failure-context/web/list',
        want: {
          status: 200,
          type: /^application\/json/,
          body: (b) => {
            const l = JSON.parse(b) as { id: string; url: string; notification: { status: string } | null }[];
            assert.deepEqual(l.map((e) => e.id), [ID2, ID]);
            assert.deepEqual(l.map((e) => e.notification?.status ?? null), [null, 'delivered']);
            assert.equal(l[1]!.url, `/failure-context/web/${ID}`);
          },
        },
      },
      { name: 'list with a limit', input: '/failure-context/web/list?limit=1', want: { status: 200, type: /json/, body: (b) => assert.equal((JSON.parse(b) as unknown[]).length, 1) } },
      { name: 'list of a service without snapshots', input: '/failure-context/quiet/list', want: { status: 200, type: /json/, body: (b) => assert.deepEqual(JSON.parse(b), []) } },
      { name: 'last of a service without snapshots', input: '/failure-context/quiet/last', want: { status: 404, type: /json/, body: (b) => assert.match(b, /no snapshot of quiet/) } },
      { name: 'a well-formed id that does not exist', input: '/failure-context/web/2020-01-01T00-00-00.000Z', want: { status: 404, type: /json/, body: (b) => assert.match(b, /no such snapshot/) } },
      { name: 'healthz', input: '/healthz', want: { status: 200, type: /json/, body: (b) => assert.equal((JSON.parse(b) as { status: string }).status, 'ok') } },
      { name: 'metrics', input: '/metrics', want: { status: 200, type: /^text\/plain; version=0\.0\.4/, body: (b) => assert.match(b, /^preflight_service_up\{service="web"\} 1$/m) } },
      { name: 'limit over retention', input: '/failure-context/web/list?limit=6', want: { status: 400, type: /json/, body: (b) => assert.match(b, /1 to 5/) } },
    ];
    for (const c of cases) {
      const r = await request(`${base}${c.input}`);
      assert.equal(r.status, c.want.status, `${c.name}: ${r.body}`);
      assert.match(String(r.headers['content-type']), c.want.type, c.name);
      assert.equal(r.headers['cache-control'], 'no-store', c.name);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', c.name);
      assert.equal(r.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'", c.name);
      assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body), c.name);
      await c.want.body(r.body);
    }
  });

  test('HEAD: same status and length, no body', async () => {
    const g = await request(`${base}/failure-context/web/last`);
    const h = await request(`${base}/failure-context/web/last`, { method: 'HEAD' });
    assert.equal(h.status, 200);
    assert.equal(h.body, '');
    assert.equal(h.headers['content-length'], g.headers['content-length']);
  });

  test('other methods: 405 with Allow', async () => {
    for (const m of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
      const r = await request(`${base}/failure-context/web/last`, { method: m });
      assert.equal(r.status, 405, m);
      assert.equal(r.headers.allow, 'GET, HEAD', m);
      assert.equal(r.headers['cache-control'], 'no-store', m);
    }
  });

  test('traversal on the wire never reaches a file outside the store', async () => {
    const paths = [
      '/failure-context/web/../../outside/last',
      '/failure-context/../outside/last',
      '/failure-context/web/..%2f..%2foutside%2flast',
      '/failure-context/web%2f..%2f..%2foutside/last',
      '/failure-context/%2e%2e/last',
      '/failure-context/web/%00',
      '/failure-context/secret.json/last',
      '/failure-context/web/secret',
      '/failure-context/web\\..\\..\\outside/last',
      `/failure-context/web/${'x'.repeat(4000)}`,
    ];
    for (const p of paths) {
      const r = await raw(port, [`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`]);
      // 431: this server's header cap (2 KiB here) is below the URL cap
      assert.ok([400, 404, 414, 431].includes(r.status), `${p.slice(0, 60)}: ${r.text.slice(0, 80)}`);
      assert.ok(!r.text.includes('SECRET'), p.slice(0, 60));
    }
  });

  test('a raw NUL or a space in the request line is refused by the parser, with the safety headers', async () => {
    const r = await raw(port, ['GET /failure-context/web/last\0 HTTP/1.1\r\nHost: x\r\n\r\n']);
    assert.match(r.text, /^HTTP\/1\.1 400 /);
    assert.match(r.text, /cache-control: no-store/i);
    assert.match(r.text, /x-content-type-options: nosniff/i);
  });

  test('oversized headers: 431', async () => {
    const r = await raw(port, [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(4000)}\r\n\r\n`]);
    assert.match(r.text, /^HTTP\/1\.1 431 /);
  });

  test('a request with a body: 400 and the connection closed', async () => {
    const r = await raw(port, ['GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello']);
    assert.match(r.text, /^HTTP\/1\.1 400 /);
    assert.match(r.text, /connection: close/i);
  });

  test('a slow client sending headers a line at a time is cut off', async () => {
    // 40 header lines, one every 100 ms: 4 s to finish; the server allows 500 ms for headers
    const chunks = ['GET /healthz HTTP/1.1\r\n', ...Array.from({ length: 40 }, (_, i) => `X-${i}: y\r\n`)];
    const r = await raw(port, chunks, 100, 8000);
    assert.ok(r.sent < chunks.length, `all ${r.sent} chunks were accepted`);
    assert.ok(r.closedAfterMs < 3500, `closed after ${r.closedAfterMs} ms`);
    assert.match(r.text, /^HTTP\/1\.1 408 /);
  });

  test('an idle connection is closed', async () => {
    const r = await raw(port, [], 0, 8000);
    assert.ok(r.closedAfterMs < 4000, `closed after ${r.closedAfterMs} ms`);
  });

  test('with a token: 401 without it or with a wrong one, 200 with it, on every route', async () => {
    const g = `http://127.0.0.1:${(guarded as unknown as { bound: { port: number } }).bound.port}`;
    for (const p of ['/healthz', '/status', '/metrics', '/failure-context/web/last', '/failure-context/nope/last', '/failure-context/../x']) {
      const none = await request(`${g}${p}`);
      assert.equal(none.status, 401, p);
      assert.equal(none.headers['www-authenticate'], 'Bearer realm="preflight"');
      const wrong = await request(`${g}${p}`, { headers: { authorization: `Bearer ${TOKEN}x` } });
      assert.equal(wrong.status, 401, p);
    }
    const ok = await request(`${g}/failure-context/web/last`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body, await fileText(ID2));
    const post = await request(`${g}/healthz`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(post.status, 405);
  });

  test('a port in use is a clear error naming the address', async () => {
    const other = new ApiServer({ config: { ...config, listen: { host: '127.0.0.1', port } }, store, status: () => status(), log });
    await assert.rejects(other.listen(), new RegExp(`^Error: listen 127\\.0\\.0\\.1:${port}: the address is already in use \\(EADDRINUSE\\)`));
  });

  test('nothing was logged as an error along the way', () => {
    assert.deepEqual(logged, []);
  });
});

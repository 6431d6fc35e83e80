// The tcp:// probe against real listeners on 127.0.0.1: accepted is ok, a closed port is refused, a
// name that does not resolve is dns; the result has the HTTP probe's shape, and nothing is sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { probe } from '../../src/probe/http';
import { parseTcpUrl, probeTcp } from '../../src/probe/tcp';
import { probeErrorCode } from '../../src/probe/result';
import { withTimeout } from '../../src/util/exec';

const NEVER_MS = 10_000;
// Node 17.3+; @types/node 18.15 does not declare it
const activeResources = (process as unknown as { getActiveResourcesInfo?: () => string[] }).getActiveResourcesInfo;
const openHandles = (): number => (activeResources?.() ?? []).filter((r) => r === 'TCPSocketWrap' || r === 'Timeout').length;

function listen(onConnection: (s: net.Socket) => void = () => {}): Promise<{ port: number; server: net.Server; sockets: net.Socket[]; received: () => number }> {
  const sockets: net.Socket[] = [];
  let bytes = 0;
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('data', (d) => (bytes += d.length));
    s.on('error', () => {});
    onConnection(s);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as net.AddressInfo).port, server, sockets, received: () => bytes })));
}

const close = (server: net.Server, sockets: net.Socket[] = []): Promise<void> =>
  new Promise((done) => {
    for (const s of sockets) s.destroy();
    server.close(() => done());
  });

test('parseTcpUrl: host and port, nothing else', async (t) => {
  const cases: { name: string; input: string; want: { host: string; port: number } | string }[] = [
    { name: 'IPv4', input: 'tcp://127.0.0.1:5432', want: { host: '127.0.0.1', port: 5432 } },
    { name: 'a name', input: 'tcp://db.internal:6379', want: { host: 'db.internal', port: 6379 } },
    { name: 'IPv6, bare', input: 'tcp://[::1]:25', want: { host: '::1', port: 25 } },
    { name: 'a trailing slash is harmless', input: 'tcp://127.0.0.1:5432/', want: { host: '127.0.0.1', port: 5432 } },
    { name: 'no port', input: 'tcp://127.0.0.1', want: 'no port in "tcp://127.0.0.1"' },
    { name: 'port 0', input: 'tcp://127.0.0.1:0', want: 'port 0 in "tcp://127.0.0.1:0" is not 1-65535' },
    { name: 'port too large', input: 'tcp://127.0.0.1:70000', want: 'invalid tcp:// URL "tcp://127.0.0.1:70000"' },
    { name: 'no host', input: 'tcp://:5432', want: 'invalid tcp:// URL "tcp://:5432"' },
    { name: 'a path', input: 'tcp://127.0.0.1:5432/db', want: 'a path or query in "tcp://127.0.0.1:5432/db": a TCP check only connects' },
    { name: 'user info', input: 'tcp://u:p@127.0.0.1:5432', want: 'user info in "tcp://u:p@127.0.0.1:5432": a TCP check sends nothing, so it cannot log in' },
    { name: 'another scheme', input: 'http://127.0.0.1:5432', want: 'not a tcp:// URL: "http://127.0.0.1:5432"' },
  ];
  for (const c of cases) await t.test(c.name, () => assert.deepEqual(parseTcpUrl(c.input), c.want));
});

test('a listener that accepts: ok, no status, nothing written, the connection closed', async () => {
  const l = await listen();
  try {
    const r = await withTimeout(probe({ url: `tcp://127.0.0.1:${l.port}`, timeoutMs: 2000, expectStatus: [] }), NEVER_MS, 'tcp probe');
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual(Object.keys(r).sort(), ['at', 'latencyMs', 'ok']);
    assert.equal(probeErrorCode(r), 0);
    assert.ok(r.latencyMs >= 0 && r.latencyMs < 2000);
    // the server sees the connection and its end, and no byte
    await new Promise<void>((done) => {
      const wait = (): void => void (l.sockets[0]?.destroyed || l.sockets[0]?.readableEnded ? done() : setTimeout(wait, 5));
      wait();
    });
    assert.equal(l.sockets.length, 1);
    assert.equal(l.received(), 0);
  } finally {
    await close(l.server, l.sockets);
  }
});

test('a real listener, closed: connection_refused', async () => {
  const l = await listen();
  await close(l.server);
  const r = await withTimeout(probeTcp({ url: `tcp://127.0.0.1:${l.port}`, timeoutMs: 2000 }), NEVER_MS, 'tcp probe');
  assert.equal(r.ok, false);
  assert.equal(r.errorKind, 'connection_refused');
  assert.equal(r.message, `connect ECONNREFUSED 127.0.0.1:${l.port}`);
  assert.equal(r.status, undefined);
});

test('a name under .invalid: dns (or, where the resolver hangs, a bounded timeout in the lookup)', async () => {
  const r = await withTimeout(probeTcp({ url: 'tcp://preflight-test.invalid:5432', timeoutMs: 3000 }), NEVER_MS, 'tcp probe');
  assert.equal(r.ok, false);
  if (r.errorKind === 'timeout') {
    assert.equal(r.message, 'no connection within 3000 ms (stalled at dns lookup)');
    assert.deepEqual(r.dns, { host: 'preflight-test.invalid', code: 'ETIMEOUT' });
  } else {
    assert.equal(r.errorKind, 'dns', JSON.stringify(r));
    assert.equal(r.dns?.host, 'preflight-test.invalid');
  }
});

test('a bad tcp:// URL resolves with the URL\'s problem, never rejects', async () => {
  const r = await probe({ url: 'tcp://127.0.0.1', timeoutMs: 1000, expectStatus: [] });
  assert.deepEqual({ ok: r.ok, errorKind: r.errorKind, message: r.message }, { ok: false, errorKind: 'connection_refused', message: 'no port in "tcp://127.0.0.1"' });
});

test('200 probes, accepted and refused, leave no sockets or timers behind', { skip: activeResources ? false : 'needs process.getActiveResourcesInfo' }, async () => {
  const l = await listen((s) => s.destroy());
  const refused = await listen();
  await close(refused.server);
  const before = openHandles();
  try {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => probeTcp({ url: `tcp://127.0.0.1:${i % 2 ? l.port : refused.port}`, timeoutMs: 5000 })),
    );
    assert.deepEqual(
      [...new Set(results.map((r) => r.errorKind ?? 'ok'))].sort(),
      ['connection_refused', 'ok'],
    );
    // a destroyed socket's handle closes on a later turn of the loop
    await new Promise((done) => setTimeout(done, 200));
    const after = openHandles();
    assert.ok(after <= before, `active sockets and timers: ${before} before, ${after} after`);
  } finally {
    await close(l.server, l.sockets);
  }
});

// The API's connection limit: which connection a new one closes (a table over fake sockets and a fake
// clock), then the real server on 127.0.0.1 held by more idle, slowloris and keep-alive sockets than its
// limit, answering /healthz within a second all the same.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import * as net from 'node:net';
import { describe, test } from 'node:test';
import { BUSY_EVICT_MS, ConnectionGuard } from '../../src/daemon/connections';
import { ApiServer, SERVER_LIMITS } from '../../src/daemon/server';
import { daemonStatus, request } from './_helpers';

class FakeSocket extends EventEmitter {
  destroyed = false;
  constructor(readonly name: string) {
    super();
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

type Op = { at: number } & ({ connect: string } | { request: string } | { answered: string } | { close: string });

describe('ConnectionGuard: who makes room at the limit (limit 2)', () => {
  const cases: { name: string; ops: Op[]; want: { closed: string[]; open: number; evicted: number; refused: number } }[] = [
    { name: 'under the limit nothing is closed', ops: [{ at: 0, connect: 'a' }, { at: 1, connect: 'b' }], want: { closed: [], open: 2, evicted: 0, refused: 0 } },
    {
      name: 'the longest idle goes',
      ops: [{ at: 0, connect: 'a' }, { at: 1, connect: 'b' }, { at: 2, connect: 'c' }],
      want: { closed: ['a'], open: 2, evicted: 1, refused: 0 },
    },
    {
      name: 'idle is counted from the last answer, not from the connect',
      ops: [{ at: 0, connect: 'a' }, { at: 1, connect: 'b' }, { at: 2, request: 'a' }, { at: 3, answered: 'a' }, { at: 4, connect: 'c' }],
      want: { closed: ['b'], open: 2, evicted: 1, refused: 0 },
    },
    {
      name: 'a connection being answered is kept while an idle one can go',
      ops: [{ at: 0, connect: 'a' }, { at: 1, connect: 'b' }, { at: 2, request: 'a' }, { at: 5000, connect: 'c' }],
      want: { closed: ['b'], open: 2, evicted: 1, refused: 0 },
    },
    {
      name: 'all answering, freshly: the new one is refused',
      ops: [{ at: 0, connect: 'a' }, { at: 1, connect: 'b' }, { at: 2, request: 'a' }, { at: 3, request: 'b' }, { at: 4, connect: 'c' }],
      want: { closed: ['c'], open: 2, evicted: 0, refused: 1 },
    },
    {
      name: `all answering, one for ${BUSY_EVICT_MS} ms: that one goes`,
      ops: [{ at: 0, connect: 'a' }, { at: 1, connect: 'b' }, { at: 2, request: 'a' }, { at: 500, request: 'b' }, { at: 2 + BUSY_EVICT_MS, connect: 'c' }],
      want: { closed: ['a'], open: 2, evicted: 1, refused: 0 },
    },
    {
      name: 'a closed connection frees its place',
      ops: [{ at: 0, connect: 'a' }, { at: 1, connect: 'b' }, { at: 2, close: 'a' }, { at: 3, connect: 'c' }],
      want: { closed: ['a'], open: 2, evicted: 0, refused: 0 },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      let now = 0;
      const warned: string[] = [];
      const guard = new ConnectionGuard(2, (m) => warned.push(m), () => now);
      const server = new EventEmitter();
      guard.attach(server as unknown as Server);
      const sockets = new Map<string, FakeSocket>();
      const answers = new Map<string, EventEmitter>();
      for (const op of c.ops) {
        now = op.at;
        if ('connect' in op) {
          const s = new FakeSocket(op.connect);
          sockets.set(op.connect, s);
          server.emit('connection', s);
        } else if ('request' in op) {
          const res = new EventEmitter();
          answers.set(op.request, res);
          server.emit('request', { socket: sockets.get(op.request) }, res);
        } else if ('answered' in op) answers.get(op.answered)!.emit('close');
        else sockets.get(op.close)!.destroy();
      }
      const closed = [...sockets.values()].filter((s) => s.destroyed).map((s) => s.name);
      assert.deepEqual({ closed, ...guard.stats() }, c.want);
      assert.equal(warned.length, c.want.evicted > 0 ? 1 : 0, 'one warning when the limit first closes a connection');
    });
  }
});

/** `n` sockets to 127.0.0.1:port that connect and then do `kind` until the test closes them. */
function hold(port: number, n: number, kind: 'idle' | 'slowloris' | 'keepalive'): Promise<net.Socket[]> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Socket>((resolve) => {
          const s = net.connect(port, '127.0.0.1');
          s.on('error', () => undefined);
          s.on('data', () => undefined);
          s.on('connect', () => {
            if (kind === 'slowloris') {
              s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
              const t = setInterval(() => s.write('X-A: b\r\n'), 200);
              s.on('close', () => clearInterval(t));
            } else if (kind === 'keepalive') s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
            resolve(s);
          });
        }),
    ),
  );
}

describe('ApiServer held by idle sockets on 127.0.0.1', () => {
  const config = { services: [{ name: 'web' }] as never, retention: 5, sampleSeconds: 10, listen: { host: '127.0.0.1', port: 0 } };
  const log = { warn: () => undefined, debug: () => undefined };

  test(`/healthz answers within a second past ${SERVER_LIMITS.maxConnections} idle, slowloris and keep-alive sockets`, async (t) => {
    // the real limits (64 connections, 5 s timeouts): the sockets below outlive none of them
    const server = new ApiServer({ config, store: {} as never, status: () => daemonStatus(), log });
    const { port } = await server.listen();
    const held: net.Socket[] = [];
    try {
      held.push(...(await hold(port, 40, 'idle')), ...(await hold(port, 20, 'slowloris')), ...(await hold(port, 20, 'keepalive')));
      await new Promise((r) => setTimeout(r, 100));
      const latencies: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        const r = await request(`http://127.0.0.1:${port}/healthz`, { timeoutMs: 1000 });
        latencies.push(performance.now() - t0);
        assert.equal(r.status, 200, r.body);
        // the attacker takes its place back at once
        held.push(...(await hold(port, 1, 'idle')));
      }
      const max = Math.max(...latencies);
      t.diagnostic(`/healthz past ${held.length} held sockets: max ${max.toFixed(1)} ms, all ${latencies.map((l) => l.toFixed(1)).join(' ')}`);
      assert.ok(max < 1000, `took ${max} ms`);
      const s = server.connectionStats();
      assert.ok(s.open <= SERVER_LIMITS.maxConnections, `${s.open} open`);
      assert.ok(s.evicted >= held.length - SERVER_LIMITS.maxConnections, JSON.stringify(s));
    } finally {
      for (const s of held) s.destroy();
      await server.close();
    }
  });

  test('a request being answered is not closed to let idle sockets in', async () => {
    let release: (v: null) => void = () => undefined;
    const store = { last: () => new Promise<null>((r) => (release = r)) };
    const server = new ApiServer({ config, store: store as never, status: () => daemonStatus(), log });
    const { port } = await server.listen();
    const held: net.Socket[] = [];
    try {
      const slow = request(`http://127.0.0.1:${port}/failure-context/web/last`, { timeoutMs: 5000 });
      await new Promise((r) => setTimeout(r, 50));
      held.push(...(await hold(port, SERVER_LIMITS.maxConnections + 10, 'idle')));
      release(null);
      assert.equal((await slow).status, 404);
    } finally {
      for (const s of held) s.destroy();
      await server.close();
    }
  });
});

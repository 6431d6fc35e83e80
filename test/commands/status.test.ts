// `preflight status`'s client: what it makes of each kind of answer at the listen address (a status,
// an older daemon's 404 then /healthz, a refused token, another program, silence, nobody), and of the
// state file with listen: off.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Io } from '../../src/commands/command';
import { DaemonAnswerError, DaemonUnreachableError, askDaemon, readState, statusCommand } from '../../src/commands/status';
import { freePort } from '../daemon/_helpers';

type Mode = 'status' | 'old' | 'token' | 'html' | 'hang';

describe('askDaemon', () => {
  let server: http.Server;
  let port: number;
  let mode: Mode = 'status';
  const seen: string[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization ?? '-'}`);
      if (mode === 'hang') return;
      if (mode === 'token') return void res.writeHead(401).end('{"error":"missing or wrong bearer token"}');
      if (mode === 'html') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>');
      if (mode === 'old' && req.url === '/status') return void res.writeHead(404).end('{"error":"not found"}');
      // /healthz is 503 while stale: still a status to show
      const status = req.url === '/status' ? 200 : 503;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ status: status === 200 ? 'ok' : 'stale', services: [{ name: 'web', health: 'healthy' }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const cases: { name: string; mode: Mode; host?: string; want: { status?: string; asked: string[] } | { error: RegExp; type: typeof DaemonAnswerError | typeof DaemonUnreachableError } }[] = [
    { name: 'GET /status with the token', mode: 'status', want: { status: 'ok', asked: ['/status Bearer tok'] } },
    { name: 'a wildcard listen address is asked on loopback', mode: 'status', host: '0.0.0.0', want: { status: 'ok', asked: ['/status Bearer tok'] } },
    { name: 'a daemon without /status: /healthz, even at 503', mode: 'old', want: { status: 'stale', asked: ['/status Bearer tok', '/healthz Bearer tok'] } },
    { name: 'a refused token', mode: 'token', want: { error: /^http:\/\/127\.0\.0\.1:\d+: the daemon refused the token \(HTTP 401\): api_token in the config is not the running daemon's$/, type: DaemonAnswerError } },
    { name: 'another program on the port', mode: 'html', want: { error: /^http:\/\/127\.0\.0\.1:\d+: the answer is not JSON: is another program listening there\?$/, type: DaemonAnswerError } },
    { name: 'a daemon that does not answer', mode: 'hang', want: { error: /^no daemon answers at http:\/\/127\.0\.0\.1:\d+ \(no answer within 0\.3 s\)$/, type: DaemonUnreachableError } },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      mode = c.mode;
      seen.length = 0;
      const asked = askDaemon({ host: c.host ?? '127.0.0.1', port }, 'tok', 300);
      if ('error' in c.want) {
        const err = await asked.then(() => null, (e: unknown) => e);
        assert.ok(err instanceof c.want.type, String(err));
        assert.match((err as Error).message, c.want.error);
        return;
      }
      const view = await asked;
      assert.equal(view.daemon?.status, c.want.status);
      assert.deepEqual(view.services.map((s) => s.name), ['web']);
      assert.deepEqual(view.source, { kind: 'api', url: `http://127.0.0.1:${port}` });
      assert.deepEqual(seen, c.want.asked);
    });
  }

  test('nobody listening: connection refused, naming the address', async () => {
    const free = await freePort();
    await assert.rejects(askDaemon({ host: '127.0.0.1', port: free }, undefined, 300), (err: unknown) => {
      assert.ok(err instanceof DaemonUnreachableError);
      assert.equal(err.message, `no daemon answers at http://127.0.0.1:${free} (connection refused)`);
      assert.equal(err.url, `http://127.0.0.1:${free}`);
      return true;
    });
  });
});

describe('readState', () => {
  let dir: string;
  const now = Date.parse('2026-12-02T17:40:00.000Z');
  const services = [{ name: 'web' }, { name: 'db' }];
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'preflight-status-state-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('no state file: null (the command says no daemon has run with this snapshot_dir)', () => {
    assert.equal(readState({ snapshotDir: dir, services: services as never }, now), null);
  });

  test('the file, its age from its mtime, its open incidents', () => {
    const file = path.join(dir, '.state.json');
    writeFileSync(file, JSON.stringify({ version: 1, services: { db: { incidentId: 'X', firstFailureAt: now - 90_000, consecutiveFailures: 5 } } }));
    utimesSync(file, new Date(now - 30_000), new Date(now - 30_000));
    const v = readState({ snapshotDir: dir, services: services as never }, now)!;
    assert.deepEqual(v.source, { kind: 'state', file, ageS: 30 });
    assert.deepEqual(v.services.map((s) => [s.name, s.health, s.incident]), [
      ['web', null, null],
      ['db', 'unhealthy', { id: 'X', ageS: 90, state: null, occurrences: null }],
    ]);
  });

  test('a torn file: the services, nothing known about them', () => {
    writeFileSync(path.join(dir, '.state.json'), '{"version":1,"serv');
    const v = readState({ snapshotDir: dir, services: services as never }, now)!;
    assert.deepEqual(v.services.map((s) => [s.name, s.health, s.incident]), [['web', null, null], ['db', null, null]]);
  });
});

describe('statusCommand: colour only on a terminal and never with NO_COLOR, width from the terminal', () => {
  let server: http.Server;
  let dir: string;
  let config: string;
  before(async () => {
    server = http.createServer((_req, res) => void res.end(JSON.stringify({ status: 'ok', services: [{ name: 'web', health: 'healthy', last_check: { ok: false, latency_ms: 9, message: 'a long error message that a narrow terminal cuts' } }] })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    dir = mkdtempSync(path.join(tmpdir(), 'preflight-status-cmd-'));
    config = path.join(dir, 'preflight.yaml');
    writeFileSync(config, `snapshot_dir: ${dir}\nlisten: 127.0.0.1:${(server.address() as AddressInfo).port}\nservices:\n  - name: web\n    health_url: http://127.0.0.1:1/\n`);
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (io: { isTTY: boolean; columns?: number }, env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> => {
    let out = '';
    const sink: Io = { out: (t) => void (out += `${t}\n`), err: (t) => assert.fail(t), ...io };
    const code = await statusCommand.run({ io: sink, values: { config }, positionals: [], env, signal: new AbortController().signal });
    return { code, out };
  };
  const cases: { name: string; io: { isTTY: boolean; columns?: number }; env: NodeJS.ProcessEnv; want: string }[] = [
    { name: 'a pipe: no colour, no width', io: { isTTY: false }, env: {}, want: 'web      healthy  -        9 ms     a long error message that a narrow terminal cuts' },
    { name: 'a terminal: colour', io: { isTTY: true }, env: {}, want: 'web      \x1b[32mhealthy\x1b[0m  -        9 ms     \x1b[2ma long error message that a narrow terminal cuts\x1b[0m' },
    { name: 'a terminal with NO_COLOR', io: { isTTY: true }, env: { NO_COLOR: '1' }, want: 'web      healthy  -        9 ms     a long error message that a narrow terminal cuts' },
    { name: 'NO_COLOR empty is not set (no-color.org)', io: { isTTY: true }, env: { NO_COLOR: '' }, want: 'web      \x1b[32mhealthy\x1b[0m  -        9 ms     \x1b[2ma long error message that a narrow terminal cuts\x1b[0m' },
    { name: 'a narrow terminal', io: { isTTY: false, columns: 50 }, env: {}, want: 'web      healthy  -        9 ms     a long error …' },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const r = await run(c.io, c.env);
      assert.equal(r.code, 0);
      assert.equal(r.out.split('\n')[2], c.want);
    });
  }
});

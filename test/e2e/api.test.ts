// The HTTP API end to end: the built bundle as `preflight start` with real snapshots made by a real
// failing endpoint; each route, every traversal and method case on the wire, token enforcement, the
// refusal to listen beyond loopback without a token, and /metrics through promtool.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, raw, request } from '../daemon/_helpers';
import { REPO, runCli, type CliResult } from './bundle';
import { RunningDaemon, TOKEN, TestService, waitFor } from './daemon';

describe('API routes over real snapshots', () => {
  let health: TestService;
  let daemon: RunningDaemon;
  let ids: string[];

  before(async () => {
    health = await TestService.start();
    daemon = await RunningDaemon.start({
      yaml: () => `retention: 3\nservices:\n  - name: web\n    health_url: ${health.url}\n  - name: quiet\n    health_url: ${health.url.replace('/health', '/quiet')}\n`,
    });
    // two real incidents of web (quiet shares the endpoint, so it fails too: both get snapshots)
    for (let n = 1; n <= 2; n++) {
      await health.set('503');
      await waitFor(`snapshot ${n}`, 15_000, () => daemon.snapshots('web').length === n);
      await health.set('ok');
      await waitFor(`recovery ${n}`, 15_000, () => daemon.snapshots('web').at(-1)?.snapshot.recovery);
    }
    ids = daemon.snapshots('web').map((f) => f.snapshot.id);
    // a file beside the store that traversal would reach, and a foreign file inside it
    writeFileSync(path.join(daemon.dir, 'outside.json'), '"SECRET-OUTSIDE"');
    writeFileSync(path.join(daemon.snapshotDir, 'web', 'notes.json'), '"SECRET-INSIDE"');
  });
  after(async () => {
    await daemon.cleanup();
    await health.close();
  });

  test('last, by id, list (limit), healthz: JSON with the safety headers', async () => {
    const files = daemon.snapshots('web');
    const cases: { name: string; input: string; want: { status: number; body: (b: string) => void } }[] = [
      { name: 'last is the newest file, byte for byte', input: '/failure-context/web/last', want: { status: 200, body: (b) => assert.equal(b, files[1]!.text) } },
      { name: 'by id, byte for byte', input: `/failure-context/web/${ids[0]}`, want: { status: 200, body: (b) => assert.equal(b, files[0]!.text) } },
      {
        name: 'list: newest first, with links',
        input: '/failure-context/web/list',
        want: { status: 200, body: (b) => assert.deepEqual((JSON.parse(b) as Array<{ id: string; url: string }>).map((e) => e.url), [...ids].reverse().map((id) => `/failure-context/web/${id}`)) },
      },
      { name: 'list ?limit=1', input: '/failure-context/web/list?limit=1', want: { status: 200, body: (b) => assert.deepEqual((JSON.parse(b) as Array<{ id: string }>).map((e) => e.id), [ids[1]]) } },
      { name: 'list ?limit over retention', input: '/failure-context/web/list?limit=4', want: { status: 400, body: (b) => assert.match(b, /1 to 3/) } },
      { name: 'a missing id', input: '/failure-context/web/2001-01-01T00-00-00.000Z', want: { status: 404, body: (b) => assert.match(b, /no such snapshot/) } },
      { name: 'an unknown service', input: '/failure-context/nope/last', want: { status: 404, body: (b) => assert.match(b, /no such service/) } },
      {
        name: 'healthz: alive, with the last sample age',
        input: '/healthz',
        want: {
          status: 200,
          body: (b) => {
            const h = JSON.parse(b) as { status: string; last_sample_age_seconds: number; services: Array<{ name: string; health: string }> };
            assert.equal(h.status, 'ok');
            assert.ok(h.last_sample_age_seconds >= 0 && h.last_sample_age_seconds < 30, b);
            assert.deepEqual(h.services.map((s) => s.name), ['web', 'quiet']);
          },
        },
      },
    ];
    for (const c of cases) {
      const r = await request(`${daemon.api}${c.input}`);
      assert.equal(r.status, c.want.status, `${c.name}: ${r.body}`);
      assert.match(String(r.headers['content-type']), /^application\/json/, c.name);
      assert.equal(r.headers['cache-control'], 'no-store', c.name);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', c.name);
      c.want.body(r.body);
    }
  });

  test('traversal, encodings, NUL, over-long: 400/404/414/431 and nothing outside the store', async () => {
    const paths: { input: string; want: number }[] = [
      { input: '/failure-context/web/../../outside.json', want: 400 },
      { input: '/failure-context/../outside.json/last', want: 400 },
      { input: '/failure-context/web/..%2f..%2foutside.json', want: 400 },
      { input: '/failure-context/web%2f..%2f..%2f/last', want: 400 },
      { input: '/failure-context/%2e%2e/last', want: 400 },
      { input: '/failure-context/web/%252e%252e%252foutside', want: 400 },
      { input: '/failure-context/web/%00', want: 400 },
      { input: '/failure-context/web\\..\\..\\outside.json', want: 400 },
      { input: '/failure-context/web/notes', want: 404 },
      { input: '/failure-context/web/notes.json', want: 404 },
      { input: `/failure-context/web/${ids[0]}.json`, want: 404 },
      { input: '//failure-context/web/last', want: 404 },
      { input: '/failure-context/web/last/', want: 404 },
      { input: `/failure-context/web/${'a'.repeat(3000)}`, want: 414 },
      { input: `/failure-context/web/${'a'.repeat(20_000)}`, want: 431 },
    ];
    for (const p of paths) {
      const r = await raw(daemon.apiPort, `GET ${p.input} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.equal(r.status, p.want, `${p.input.slice(0, 60)}: ${r.text.slice(0, 100)}`);
      assert.ok(!r.text.includes('SECRET'), p.input.slice(0, 60));
      assert.match(r.text, /cache-control: no-store/i);
    }
    const nul = await raw(daemon.apiPort, 'GET /failure-context/web/last\0 HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(nul.status, 400);
  });

  test('methods: GET and HEAD only', async () => {
    const head = await request(`${daemon.api}/failure-context/web/last`, { method: 'HEAD' });
    assert.deepEqual([head.status, head.body], [200, '']);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const r = await request(`${daemon.api}/failure-context/web/last`, { method });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, 'GET, HEAD', method);
    }
  });

  test('/metrics passes promtool check metrics', async (t) => {
    const got = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      execFile('bash', [path.join(REPO, 'test/e2e/tools/ensure-promtool.sh')], { timeout: 600_000 }, (err, out, e) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: out.trim(), err: e.trim() }),
      );
    });
    if (got.code !== 0 || !got.out) {
      t.skip(`promtool unavailable: ${got.err.split('\n').at(-1) ?? 'ensure-promtool.sh failed'}`);
      return;
    }
    const m = await request(`${daemon.api}/metrics`);
    assert.equal(m.status, 200);
    assert.match(String(m.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const r = spawnSync(got.out, ['check', 'metrics'], { input: m.body, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}\n${m.body}`);
    assert.equal(`${r.stdout}${r.stderr}`.trim(), '');
    // and it says what happened
    assert.match(m.body, /^preflight_incidents_total\{service="web",trigger="health_check"\} 2$/m);
    assert.match(m.body, /^preflight_service_up\{service="web"\} 1$/m);
    assert.match(m.body, /^preflight_sample_duration_seconds \d/m);
    assert.match(m.body, /^preflight_capture_duration_seconds \d/m);
    assert.match(m.body, /^preflight_build_info\{version="\d+\.\d+\.\d+",node="v\d+/m);
    assert.match(m.body, /^preflight_notify_failures_total 0$/m);
  });
});

describe('access', () => {
  test('with api_token: 401 without it or with another, 200 with it, on every route', async () => {
    const health = await TestService.start();
    const daemon = await RunningDaemon.start({ yaml: () => `api_token: ${TOKEN}\nservices:\n  - name: web\n    health_url: ${health.url}\n` });
    try {
      for (const p of ['/healthz', '/metrics', '/failure-context/web/list', '/failure-context/web/last', '/failure-context/../x', '/nope']) {
        for (const headers of [{} as Record<string, string>, { authorization: `Bearer ${TOKEN}0` }, { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }]) {
          const r = await request(`${daemon.api}${p}`, { headers });
          assert.equal(r.status, 401, `${p} ${JSON.stringify(headers)}`);
          assert.ok(!r.body.includes(TOKEN));
        }
      }
      const ok = await request(`${daemon.api}/failure-context/web/list`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.deepEqual([ok.status, ok.body.trim()], [200, '[]']);
      assert.ok(!daemon.stdout.includes(TOKEN) && !daemon.stderr.includes(TOKEN));
    } finally {
      await daemon.cleanup();
      await health.close();
    }
  });

  test('start refuses a non-loopback listen without api_token: exit 2, one line naming the key, nothing bound', async () => {
    // The test holds 127.0.0.1:<port> meanwhile: a daemon that bound 0.0.0.0 or [::] on that port before
    // refusing would fail with EADDRINUSE (exit 1, another message), and 192.0.2.10 with EADDRNOTAVAIL.
    const port = await freePort();
    const held = net.createServer().listen(port, '127.0.0.1');
    await new Promise((r) => held.once('listening', r));
    const cases: { name: string; input: string; want: RegExp }[] = [
      {
        name: 'wildcard',
        input: `0.0.0.0:${port}`,
        want: new RegExp(`^preflight: \\S+preflight\\.yaml: listen: 0\\.0\\.0\\.0:${port} is not a loopback address and api_token is not set \\(add api_token: .*\\)$`),
      },
      { name: 'IPv6 wildcard', input: `"[::]:${port}"`, want: new RegExp(`listen: \\[::\\]:${port} is not a loopback address and api_token is not set`) },
      { name: 'a LAN address', input: `192.0.2.10:${port}`, want: new RegExp(`listen: 192\\.0\\.2\\.10:${port} is not a loopback address`) },
    ];
    try {
      for (const c of cases) {
        for (const args of [[], ['--check']]) {
          const r = await runStart(`listen: ${c.input}\nservices:\n  - name: web\n    health_url: http://127.0.0.1:1/health\n`, args);
          assert.equal(r.code, 2, `${c.name} ${args.join(' ')}: ${r.stderr}`);
          const lines = r.stderr.trim().split('\n');
          assert.equal(lines.length, 1, r.stderr);
          assert.match(lines[0]!, c.want, c.name);
          assert.equal(r.stdout, '');
        }
      }
    } finally {
      await new Promise((r) => held.close(r));
    }
  });

  test('listen: off serves nothing; a port in use is a clear error', async () => {
    const health = await TestService.start();
    const off = await RunningDaemon.start({ listen: () => 'off', yaml: () => `services:\n  - name: web\n    health_url: ${health.url}\n` });
    try {
      await waitFor('the daemon to start', 10_000, () => off.stdout.includes('watching 1 service'));
      assert.ok(!off.stdout.includes('API on'));
      await assert.rejects(request(`${off.api}/healthz`), /ECONNREFUSED/);
      // the port is now free: take it, and a second daemon cannot
      const busy = net.createServer().listen(off.apiPort, '127.0.0.1');
      await new Promise((r) => busy.once('listening', r));
      try {
        const r = await runStart(`listen: 127.0.0.1:${off.apiPort}\nservices:\n  - name: web\n    health_url: ${health.url}\n`, []);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`^preflight: listen 127\\.0\\.0\\.1:${off.apiPort}: the address is already in use \\(EADDRINUSE\\); change listen: in the config, or set listen: off$`, 'm'));
      } finally {
        busy.close();
      }
    } finally {
      await off.cleanup();
      await health.close();
    }
  });
});

/** `preflight start` with this config in a temp folder, to completion: each case must exit on its own. */
async function runStart(yaml: string, args: string[]): Promise<CliResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'preflight-e2e-start-'));
  try {
    const config = path.join(dir, 'preflight.yaml');
    writeFileSync(config, `snapshot_dir: ${path.join(dir, 'snapshots')}\n${yaml}`);
    return await runCli(['start', '--config', config, ...args], { timeoutMs: 10_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

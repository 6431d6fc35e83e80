// Two rows that need no failing service: malformed configs (each `start` exits 2 with one line naming
// file:line:col and what to do, and nothing is started), and a frozen daemon (SIGSTOP past the check
// bound): /healthz says stuck, service by service, at the first answer after SIGCONT, then ok again.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from '../../daemon/_helpers';
import { runCli } from '../bundle';
import { RunningDaemon, waitFor } from '../daemon';
import { Endpoints, fakeBin, peakRssMiB, record, QUIET } from './harness';
import type { Row } from './row';

const SVC = 'services:\n  - name: web\n    health_url: http://127.0.0.1:1/h\n';

/** Each config is `snapshot_dir: ...` then `body`; the error is on `line`:`col` (counting that first line). */
const configs: Array<{ name: string; body: string | Buffer; line: number; col: number; want: RegExp }> = [
  { name: 'unknown key, with a suggestion', body: `servics:\n  - name: web\n`, line: 2, col: 1, want: /unknown key 'servics' \(did you mean services\?\)/ },
  { name: 'unknown service key', body: `${SVC}    intervall_seconds: 2\n`, line: 5, col: 5, want: /unknown key 'intervall_seconds' in services\.web \(did you mean interval_seconds\?\)/ },
  { name: 'bad indentation', body: 'services:\n  - name: web\n   health_url: x\n', line: 4, col: 4, want: /unexpected indentation/ },
  { name: 'tab indentation', body: 'services:\n\t- name: web\n', line: 3, col: 1, want: /tab used for indentation/ },
  { name: 'unterminated quote', body: 'listen: "127.0.0.1:1\n', line: 2, col: 9, want: /unterminated double-quoted string/ },
  { name: 'duplicate key', body: `snapshot_dir: /tmp/y\n${SVC}`, line: 2, col: 1, want: /duplicate key 'snapshot_dir', already set on line 1/ },
  { name: 'not a number', body: `interval_seconds: fast\n${SVC}`, line: 2, col: 19, want: /interval_seconds: expected a number > 0, got "fast"/ },
  { name: 'negative number', body: `interval_seconds: -1\n${SVC}`, line: 2, col: 19, want: /interval_seconds: expected a number > 0, got -1/ },
  { name: 'not a URL', body: 'services:\n  - name: web\n    health_url: not a url\n', line: 4, col: 17, want: /health_url: expected an http:\/\/ or https:\/\/ URL/ },
  { name: 'duplicate service', body: `${SVC}  - name: web\n    health_url: http://127.0.0.1:2/h\n`, line: 5, col: 11, want: /duplicate service name 'web', first on line 3/ },
  { name: 'a socket unit', body: `${SVC}    unit: foo.socket\n`, line: 5, col: 11, want: /expected a \.service unit, got "foo\.socket"/ },
  { name: 'a scalar for a service', body: 'services: [a, b]\n', line: 2, col: 12, want: /services\[0\]: expected a map with name: and health_url:/ },
  { name: 'a flow map', body: 'services: {a: 1}\n', line: 2, col: 11, want: /flow maps \(\{\.\.\.\}\) are not supported/ },
  { name: 'a NUL byte', body: Buffer.from('ser\0vices:\n'), line: 2, col: 4, want: /control character U\+0000/ },
];

async function malformed(): Promise<void> {
  const t0 = Date.now();
  const dir = mkdtempSync(path.join(tmpdir(), 'preflight-faults-config-'));
  try {
    const results = await Promise.all(
      configs.map(async (c, i) => {
        const file = path.join(dir, `c${i}.yaml`);
        writeFileSync(file, Buffer.concat([Buffer.from(`snapshot_dir: ${path.join(dir, 'snapshots')}\n`), Buffer.from(c.body)]));
        return { c, file, r: await runCli(['start', '--config', file], { timeoutMs: 10_000 }) };
      }),
    );
    for (const { c, file, r } of results) {
      assert.equal(r.code, 2, `${c.name}: exit ${r.code} ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${c.name}: ${r.stderr}`);
      assert.ok(lines[0]!.startsWith(`preflight: ${file}:${c.line}:${c.col}: `), `${c.name}: ${lines[0]}`);
      assert.match(lines[0]!, c.want, c.name);
      assert.equal(r.stdout, '', c.name);
    }
    record('malformed configs (14)', null, null, t0, 'exit 2, one file:line:col line each');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function frozen(): Promise<void> {
  const t0 = Date.now();
  const ep = await Endpoints.start();
  const bin = fakeBin(QUIET);
  const svc = 'h0000';
  // interval 2 s, timeout 1 s: the check bound is max(3 intervals, interval + timeout + 30 s) = 33 s
  const d = await RunningDaemon.start({ env: { PATH: `${bin}:/usr/bin:/bin` }, yaml: () => ep.yaml([svc], '    interval_seconds: 2\n    timeout_seconds: 1\n') });
  try {
    await waitFor('two checks', 10_000, () => (ep.hits.get(svc) ?? 0) >= 2);
    // freeze just after a check was answered, so no probe is in flight (its timeout would fire, and
    // complete a check, the moment the daemon runs again)
    const seen = ep.hits.get(svc)!;
    await waitFor('the next check', 5000, () => ep.hits.get(svc)! > seen);
    await new Promise((r) => setTimeout(r, 150));
    const pid = d.child.pid!;
    process.kill(pid, 'SIGSTOP');
    let answer = '';
    let sock: net.Socket | undefined;
    try {
      await new Promise((r) => setTimeout(r, 35_000));
      // the check the daemon starts on waking is answered a second late; the request below waits in
      // the kernel's backlog and is read first thing after SIGCONT
      ep.delayMs = 1000;
      sock = net.connect(d.apiPort, '127.0.0.1');
      sock.setEncoding('utf8').on('data', (x: string) => (answer += x));
      await new Promise((r) => sock!.once('connect', r));
      sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor('the answer', 5000, () => answer.includes('\r\n\r\n') && answer.trim().endsWith('}'));
    sock?.destroy();
    assert.match(answer, /^HTTP\/1\.1 503 /);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { status: string; problems: string[] };
    assert.equal(body.status, 'stuck', answer);
    const checks = body.problems.filter((p) => p.startsWith(`${svc}:`));
    assert.equal(checks.length, 1, body.problems.join('\n'));
    assert.match(checks[0]!, /^h0000: the last check completed 3[5-9]\.\d s ago \(bound 33 s\)$/);
    // and it recovers by itself once checks complete again
    ep.delayMs = 0;
    await waitFor('/healthz ok again', 10_000, async () => (await request(`${d.api}/healthz`, { timeoutMs: 2000 }).catch(() => null))?.status === 200);
    const rss = peakRssMiB(pid);
    const stop = await d.stop();
    assert.equal(stop.code, 0, d.process.output.slice(-2000));
    record('/healthz stuck (SIGSTOP 35 s)', rss, 200, t0, checks[0]!);
  } finally {
    await d.cleanup();
    await ep.close();
  }
}

export const configHealthRows: Row[] = [
  { name: 'malformed configs: exit 2, one line with file:line:col', run: malformed },
  { name: '/healthz stuck: a daemon frozen past the check bound says stuck per service, then ok', run: frozen },
];

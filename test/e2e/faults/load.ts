// Rows of load: 1,000 services with 200 failing at once; webhooks that hang, fail with 500 or are down
// while 10 services fail together; hostile API clients (path traversal, idle and slowloris sockets)
// while a service fails. Every failure gets its snapshot, /healthz keeps answering, RSS stays bounded.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, raw, receiver, request, type Answer, type Receiver } from '../../daemon/_helpers';
import { RunningDaemon, waitFor } from '../daemon';
import { Endpoints, LOADED, assertNothingLost, fakeBin, names, peakRssMiB, record, QUIET } from './harness';
import type { Row } from './row';

/** /healthz answers 200 within `ms` (a fresh connection each time). */
async function healthzAnswers(d: RunningDaemon, ms: number): Promise<number> {
  const t = Date.now();
  const r = await request(`${d.api}/healthz`, { timeoutMs: ms });
  assert.equal(r.status, 200, r.body);
  return Date.now() - t;
}

async function thousand(): Promise<void> {
  const t0 = Date.now();
  const ep = await Endpoints.start();
  const bin = fakeBin(QUIET);
  const all = names('n', 1000);
  const failing = all.filter((_, i) => i % 5 === 0);
  const d = await RunningDaemon.start({
    env: { PATH: `${bin}:/usr/bin:/bin` },
    // 1,000 checks every 5 s is 200 a second on a shared 2-core box; confirmed by two quick rechecks
    intervals: ['interval_seconds: 5', 'timeout_seconds: 2', 'failure_threshold: 2', 'confirm_interval_seconds: 0.2', 'sample_seconds: 1', 'buffer_samples: 10', 'journal_lines: 10'].join('\n'),
    yaml: () => ep.yaml(all),
  });
  try {
    await waitFor('every service checked once', 20_000, () => all.every((s) => (ep.hits.get(s) ?? 0) >= 1));
    const t1 = Date.now();
    ep.set(failing, '503');
    const healthz: number[] = [];
    await waitFor(`200 snapshots (log: ${d.process.output.slice(-1500)})`, 60_000, async () => {
      healthz.push(await healthzAnswers(d, 5000));
      return failing.every((s) => d.snapshots(s).length >= 1);
    });
    const allIn = Date.now() - t1;
    await new Promise((r) => setTimeout(r, 1000));
    await assertNothingLost(d.snapshotDir, failing, { healthy: all.filter((s) => !failing.includes(s)) });
    const rss = peakRssMiB(d.child.pid);
    const stop = await d.stop();
    assert.equal(stop.code, 0, d.process.output.slice(-2000));
    assert.ok(stop.ms < 10_000, `stop took ${stop.ms} ms`);
    record('1,000 services, 200 failing', rss, 400, t0, `all 200 snapshots ${allIn} ms after the switch; /healthz at most ${Math.max(...healthz)} ms; stop ${stop.ms} ms`);
  } finally {
    await d.cleanup();
    await ep.close();
  }
}

async function webhook(kind: 'hung' | '500' | 'down'): Promise<void> {
  const t0 = Date.now();
  const ep = await Endpoints.start();
  const bin = fakeBin(QUIET);
  let hook: Receiver | null = null;
  let url: string;
  if (kind === 'down') url = `http://127.0.0.1:${await freePort()}`;
  else {
    hook = await receiver((): Answer => (kind === 'hung' ? null : { status: 500, body: 'boom' }));
    url = hook.url;
  }
  const all = names('w', 11);
  const failing = all.slice(0, 10);
  const d = await RunningDaemon.start({
    env: { PATH: `${bin}:/usr/bin:/bin` },
    intervals: LOADED,
    yaml: () => `notifications:\n  webhook: ${url}/hook\n  format: json\n  recovery: false\n${ep.yaml(all)}`,
  });
  try {
    await waitFor('every service checked twice', 10_000, () => all.every((s) => (ep.hits.get(s) ?? 0) >= 2));
    const t1 = Date.now();
    ep.set(failing, '503');
    await waitFor('10 snapshots', 20_000, () => failing.every((s) => d.snapshots(s).length >= 1));
    const allIn = Date.now() - t1;
    const h = await healthzAnswers(d, 2000);
    // one worker sends in order (src/daemon/notify.ts): hung, the first message waits for its answer and
    // the rest queue behind it; 500 and down, the first ends failed after 4 attempts (backoff ~1+2+4 s)
    if (kind === 'hung') await waitFor('the first attempt', 10_000, () => hook!.got.length >= 1);
    else await waitFor('the first message to end failed', 20_000, () => failing.some((s) => d.snapshots(s)[0]?.snapshot.notification?.status === 'failed'));
    const rss = peakRssMiB(d.child.pid);
    const stop = await d.stop();
    assert.equal(stop.code, 0, d.process.output.slice(-2000));
    assert.ok(stop.ms < 10_000, `stop took ${stop.ms} ms`);
    await assertNothingLost(d.snapshotDir, failing, { healthy: [all[10]!] });
    const outcomes = failing.map((s) => d.snapshots(s)[0]!.snapshot.notification!);
    const failed = outcomes.filter((o) => o.status === 'failed');
    const pending = outcomes.filter((o) => o.status === 'pending');
    assert.equal(failed.length + pending.length, 10, JSON.stringify(outcomes));
    if (kind === 'hung') assert.deepEqual([failed.length, hook!.got.length], [0, 1], 'nothing failed yet; one attempt, hanging');
    else assert.ok(failed.length >= 1 && failed.length < 10, `${failed.length} failed`);
    const reason = kind === '500' ? /^HTTP 500 Internal Server Error: boom$/ : /ECONNREFUSED/;
    for (const o of failed) {
      assert.equal(o.attempts, 4);
      assert.match(o.reason ?? '', reason);
    }
    if (kind === '500') assert.equal(hook!.got.length - 4 * failed.length <= 4, true, `${hook!.got.length} attempts for ${failed.length} failed`);
    // stopping abandons the queue, saying how many were not sent; those keep pending, the truth
    assert.match(d.stdout, new RegExp(`^<\\d>${pending.length} notification\\(s\\) not sent: preflight stopped`, 'm'));
    record(`webhook ${kind}, 10 failing`, rss, 200, t0, `10 snapshots ${allIn} ms after the switch; ${failed.length} failed, ${pending.length} pending at stop; /healthz ${h} ms; stop ${stop.ms} ms`);
  } finally {
    await d.cleanup();
    await ep.close();
    await hook?.close();
  }
}

async function hostileClients(): Promise<void> {
  const t0 = Date.now();
  const ep = await Endpoints.start();
  const bin = fakeBin(QUIET);
  const all = names('a', 2);
  const d = await RunningDaemon.start({ env: { PATH: `${bin}:/usr/bin:/bin` }, yaml: () => ep.yaml(all) });
  const held: net.Socket[] = [];
  const drips: NodeJS.Timeout[] = [];
  try {
    writeFileSync(path.join(d.dir, 'outside.json'), '"SECRET-OUTSIDE"');
    // 200 idle connections and 50 slowloris ones (a header byte every 500 ms): over the limit of 64
    for (let i = 0; i < 250; i++) {
      const s = net.connect(d.apiPort, '127.0.0.1');
      s.on('error', () => undefined);
      held.push(s);
      if (i >= 200) {
        s.on('connect', () => {
          s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
          drips.push(setInterval(() => s.writable && s.write('X'), 500));
        });
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    const healthz: number[] = [];
    for (let i = 0; i < 5; i++) healthz.push(await healthzAnswers(d, 2000));
    // a failure while they hold on is captured
    ep.set([all[0]!], '503');
    await waitFor('the snapshot', 15_000, () => d.snapshots(all[0]!).length >= 1);
    const id = d.snapshots(all[0]!)[0]!.snapshot.id;
    const paths = [
      '/failure-context/a0000/../../outside.json',
      '/failure-context/../outside.json/last',
      '/failure-context/a0000/..%2f..%2foutside.json',
      '/failure-context/%2e%2e/last',
      '/failure-context/a0000/%252e%252e%252foutside',
      '/failure-context/a0000\\..\\..\\outside.json',
      `/failure-context/a0000/${id}/../../../outside.json`,
      '/failure-context/a0000/%00',
    ];
    const got = await Promise.all(paths.map((p) => raw(d.apiPort, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)));
    assert.deepEqual(got.map((r) => r.status), paths.map(() => 400), got.map((r) => r.text.split('\r\n')[0]).join(' | '));
    assert.deepEqual(got.filter((r) => r.text.includes('SECRET')), []);
    const last = await request(`${d.api}/failure-context/a0000/last`, { timeoutMs: 2000 });
    assert.equal((JSON.parse(last.body) as { id: string }).id, id);
    healthz.push(await healthzAnswers(d, 2000));
    await assertNothingLost(d.snapshotDir, [all[0]!], { healthy: [all[1]!] });
    const rss = peakRssMiB(d.child.pid);
    record('API traversal + idle/slowloris', rss, 200, t0, `250 sockets held; /healthz at most ${Math.max(...healthz)} ms`);
  } finally {
    for (const t of drips) clearInterval(t);
    for (const s of held) s.destroy();
    await d.cleanup();
    await ep.close();
  }
}

export const loadRows: Row[] = [
  { name: '1,000 services, 200 failing at once: 200 snapshots, /healthz answers', run: thousand },
  ...(['hung', '500', 'down'] as const).map((k) => ({ name: `webhook ${k}, 10 failing at once: every snapshot written, stop bounded`, run: () => webhook(k) })),
  { name: 'API path traversal, 200 idle + 50 slowloris sockets: 400s, /healthz answers, the failure is captured', run: hostileClients },
];

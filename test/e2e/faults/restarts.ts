// Rows where the daemon dies at the worst moment: kill -9 again and again while 20 services fail (and
// their snapshots are being written), and SIGTERM while a capture is running. After the restart each
// failure has exactly one snapshot (no second incident for the same episode), an old temp file planted
// in the store is swept, and no temp file of a daemon that stopped cleanly is left.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { request } from '../../daemon/_helpers';
import { PreflightProcess, RunningDaemon, waitFor } from '../daemon';
import { Endpoints, assertNothingLost, fakeBin, names, peakRssMiB, record, tempFiles, QUIET } from './harness';
import type { Row } from './row';

async function restart(d: RunningDaemon, env: NodeJS.ProcessEnv): Promise<PreflightProcess> {
  const p = new PreflightProcess(d.config, { env: { RUNTIME_DIRECTORY: path.join(d.dir, 'run'), ...env } });
  await waitFor(`the restarted daemon's API (output: ${p.output})`, 15_000, async () => {
    if (p.child.exitCode !== null) throw new Error(`preflight exited with ${p.child.exitCode}: ${p.output}`);
    return (await request(`${d.api}/healthz`).catch(() => null))?.status === 200;
  });
  return p;
}

async function killStorm(): Promise<void> {
  const t0 = Date.now();
  const ep = await Endpoints.start();
  const bin = fakeBin(QUIET);
  const env = { PATH: `${bin}:/usr/bin:/bin` };
  const all = names('k', 20);
  const d = await RunningDaemon.start({ env, yaml: () => ep.yaml(all) });
  const killed: number[] = [];
  let p: PreflightProcess = d.process;
  try {
    await waitFor('every service checked twice', 10_000, () => all.every((s) => (ep.hits.get(s) ?? 0) >= 2));
    ep.set(all, '503');
    // kill -9 at three moments: as the first snapshot lands (others mid-write), a moment after a restart
    // (captures running), and once most have landed (state being written)
    const count = (): number => all.filter((s) => d.snapshots(s).length > 0).length;
    const moments: Array<() => Promise<unknown>> = [
      () => waitFor('a first snapshot', 15_000, () => count() >= 1),
      () => new Promise((r) => setTimeout(r, 400)),
      () => waitFor('most snapshots', 15_000, () => count() >= 15),
    ];
    for (const [i, moment] of moments.entries()) {
      if (i > 0) p = await restart(d, env);
      await moment();
      killed.push(p.child.pid!);
      const r = await p.stop('SIGKILL');
      assert.equal(r.signal, 'SIGKILL');
    }
    // temp files a crash two minutes ago left: in a service folder and in the store itself
    const old = Date.now() / 1000 - 120;
    mkdirSync(path.join(d.snapshotDir, all[0]!), { recursive: true });
    const planted = [path.join(d.snapshotDir, all[0]!, '.2026-01-01T00-00-00.000Z.json.tmp-999999-0badf00d'), path.join(d.snapshotDir, '.state.json.tmp-999998-deadbeef')];
    for (const f of planted) {
      writeFileSync(f, '{"half": ');
      utimesSync(f, old, old);
    }
    p = await restart(d, env);
    await waitFor('every service to have its snapshot', 20_000, () => count() === all.length);
    // a few more check rounds: a second incident for the same episode would be written by now
    await new Promise((r) => setTimeout(r, 2000));
    assert.deepEqual(Object.fromEntries(all.map((s) => [s, d.snapshots(s).length])), Object.fromEntries(all.map((s) => [s, 1])), 'one incident per service');
    assert.deepEqual(planted.filter((f) => existsSync(f)), [], 'old temp files swept at start');
    ep.set(all, 'ok');
    await waitFor('every recovery', 20_000, () => all.every((s) => d.snapshots(s).at(-1)?.snapshot.recovery));
    const rss = peakRssMiB(p.child.pid);
    const stop = await p.stop();
    assert.equal(stop.code, 0, p.output.slice(-2000));
    // the killed daemons' temp files (young or old) went at the restarts, and the clean stop leaves none
    assert.deepEqual(tempFiles(d.snapshotDir), [], 'no temp file survives a restart');
    await assertNothingLost(d.snapshotDir, all, { recovered: true });
    record('kill -9 storm (20 failing)', rss, 200, t0, `${killed.length} kills, no temp file left`);
  } finally {
    await p.stop();
    await d.cleanup();
    await ep.close();
  }
}

async function sigtermMidCapture(): Promise<void> {
  const t0 = Date.now();
  const ep = await Endpoints.start();
  const marks = fakeBin({});
  // a journalctl that takes 1.5 s (within the deadline): the capture is running while it sleeps
  const bin = fakeBin({ journalctl: `/usr/bin/touch "${marks}/started.$$"; /bin/sleep 1.5`, systemctl: null });
  const env = { PATH: `${bin}:/usr/bin:/bin` };
  const all = names('t', 2);
  const d = await RunningDaemon.start({ env, yaml: () => ep.yaml(all) });
  let p: PreflightProcess = d.process;
  try {
    await waitFor('every service checked twice', 10_000, () => all.every((s) => (ep.hits.get(s) ?? 0) >= 2));
    ep.set([all[0]!], '503');
    await waitFor('journalctl to start', 10_000, () => readdirSync(marks).some((n) => n.startsWith('started.')));
    const stop = await p.stop('SIGTERM');
    assert.equal(stop.code, 0, p.output.slice(-2000));
    assert.ok(stop.ms < 5000, `stop took ${stop.ms} ms with a capture running`);
    // still failing after the restart: one snapshot for the episode, whether written at stop or after
    p = await restart(d, env);
    await waitFor('the snapshot', 20_000, () => d.snapshots(all[0]!).length >= 1);
    await new Promise((r) => setTimeout(r, 2000));
    ep.set([all[0]!], 'ok');
    await waitFor('the recovery', 20_000, () => d.snapshots(all[0]!).at(-1)?.snapshot.recovery);
    const rss = peakRssMiB(p.child.pid);
    const stop2 = await p.stop();
    assert.equal(stop2.code, 0);
    await assertNothingLost(d.snapshotDir, [all[0]!], { healthy: [all[1]!], recovered: true });
    record('SIGTERM mid-capture', rss, 200, t0, `stop took ${stop.ms} ms`);
  } finally {
    await p.stop();
    await d.cleanup();
    await ep.close();
  }
}

export const restartRows: Row[] = [
  { name: 'kill -9 storm, 20 failing services: one snapshot each after restart, old temp files swept', run: killStorm },
  { name: 'SIGTERM mid-capture: bounded stop, one snapshot for the episode after restart', run: sigtermMidCapture },
];

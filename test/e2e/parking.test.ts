// A snapshot folder the daemon cannot write (chmod 0555, daemon not root), with the fallback folder
// refused too: the failure is still notified, its link is served by the API from memory, and once the
// folder is writable again the snapshot lands in it, once, with its recovery. The built bundle runs as
// `nobody` under setpriv (root ignores permissions, so the test could not fail as root). And a kill -9
// between a snapshot's save and the state's: the restart reconciles, no second incident.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { Snapshot } from '../../src/incident/snapshot';
import { freePort, receiver, request } from '../daemon/_helpers';
import { requireBundle } from './bundle';
import { PreflightProcess, RunningDaemon, TestService, snapshotFiles, waitFor } from './daemon';

const SERVICE = 'dead-drop';
const NOBODY = 65534;
const canDrop = process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).status === 0;

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('unwritable snapshot folder: notified, served from memory, lands once with its recovery', { skip: canDrop ? false : 'needs root and setpriv to run the daemon as nobody', timeout: 90_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'preflight-e2e-parking-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const snapshots = path.join(dir, 'snapshots');
  const run = path.join(dir, 'run'); // RUNTIME_DIRECTORY: where the fallback folder would go
  for (const d of [snapshots, run]) mkdirSync(d);
  for (const d of [dir, snapshots, run]) chownSync(d, NOBODY, NOBODY);
  chmodSync(snapshots, 0o555);
  chmodSync(run, 0o555);

  const health = await TestService.start();
  cleanups.push(() => health.close());
  const hook = await receiver(() => ({ status: 200 }));
  cleanups.push(() => hook.close());
  const apiPort = await freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  const config = path.join(dir, 'preflight.yaml');
  writeFileSync(
    config,
    [
      `snapshot_dir: ${snapshots}`,
      'interval_seconds: 0.25',
      'failure_threshold: 2',
      'confirm_interval_seconds: 0.1',
      'sample_seconds: 0.5',
      'buffer_samples: 10',
      'journal_lines: 10',
      // one failure per incident here: its recovered message is sent at once
      'flap_window_seconds: 0',
      `listen: "127.0.0.1:${apiPort}"`,
      'notifications:',
      `  webhook: ${hook.url}/hook`,
      '  format: json',
      'services:',
      `  - name: ${SERVICE}`,
      `    health_url: ${health.url}`,
      '',
    ].join('\n'),
  );
  chownSync(config, NOBODY, NOBODY);
  const child = spawn(
    'setpriv',
    ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--pdeathsig', 'KILL', '--', process.execPath, requireBundle(), 'start', '--config', config],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUNTIME_DIRECTORY: run, HOME: dir } },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  await waitFor(`the API (output: ${out})`, 15_000, async () => {
    if (child.exitCode !== null) throw new Error(`preflight exited with ${child.exitCode}: ${out}`);
    return (await request(`${api}/healthz`).catch(() => null))?.status === 200;
  });

  await health.set('503');
  await waitFor(`the down message (output: ${out})`, 15_000, () => hook.got.length >= 1);
  const down = JSON.parse(hook.got[0]!.body) as { event?: string; link?: string; snapshot_id?: string };
  assert.equal(down.event ?? 'down', 'down');
  assert.ok(down.link?.startsWith(`${api}/failure-context/${SERVICE}/`), `link: ${down.link}`);
  const served = await request(down.link!);
  assert.equal(served.status, 200, served.body);
  const snap = JSON.parse(served.body) as Snapshot;
  assert.equal(snap.service, SERVICE);
  assert.equal(down.link, `${api}/failure-context/${SERVICE}/${snap.id}`);
  assert.deepEqual(snapshotFiles(snapshots, SERVICE), [], 'nothing could be written');

  // the journal has the gist; the metrics count it; the state's failure is said once
  assert.match(out, new RegExp(`snapshot ${SERVICE}/${snap.id.replace(/\./g, '\\.')} not written \\(.*EACCES.*\\) and the fallback failed too .*parked in memory.*; summary: .*; first finding: `));
  const metrics = await request(`${api}/metrics`);
  assert.match(metrics.body, /^preflight_snapshots_parked\{where="memory"\} 1$/m);
  assert.match(metrics.body, /^preflight_snapshot_write_failures_total [1-9]\d*$/m);

  // recovery while the folder still refuses: recorded in the parked copy
  await health.set('ok');
  await waitFor(`the recovery (output: ${out})`, 15_000, () => out.includes(`${SERVICE}: recovered after`));
  await waitFor('the recovered message', 15_000, () => hook.got.length >= 2);
  const parked = JSON.parse((await request(down.link!)).body) as Snapshot;
  assert.notEqual(parked.recovery, null, 'the API serves the recovery from memory');
  assert.deepEqual(snapshotFiles(snapshots, SERVICE), []);

  chmodSync(snapshots, 0o755);
  await waitFor(`the snapshot to land (output: ${out})`, 15_000, () => snapshotFiles(snapshots, SERVICE).length === 1);
  // the landed file is the served one, with its recovery; only one file, and nothing parked any more
  await waitFor('the parked gauge to drop to 0', 10_000, async () => /^preflight_snapshots_parked\{where="memory"\} 0$/m.test((await request(`${api}/metrics`)).body));
  const files = snapshotFiles(snapshots, SERVICE);
  assert.equal(files.length, 1);
  assert.equal(files[0]!.snapshot.id, snap.id);
  assert.equal(files[0]!.snapshot.recovery?.at, parked.recovery?.at);
  await waitFor('the state to be saved again', 10_000, () => out.includes('state saved again'));
  assert.equal(out.split('state not saved').length - 1, 1, `"state not saved" said once per outage:\n${out}`);

  child.kill('SIGTERM');
  await exited;
  assert.equal(snapshotFiles(snapshots, SERVICE).length, 1, 'still one after stop');
});

test('kill -9 after the snapshot was saved but before the state: the restart adopts it, no second incident', { timeout: 90_000 }, async () => {
  const health = await TestService.start();
  cleanups.push(() => health.close());
  const d = await RunningDaemon.start({ yaml: () => `services:\n  - name: ${SERVICE}\n    health_url: ${health.url}\n` });
  cleanups.push(() => d.cleanup());
  await health.set('503');
  await waitFor(`the snapshot (output: ${d.process.output})`, 15_000, () => d.snapshots(SERVICE).length === 1 && d.process.output.includes('DOWN'));
  await d.process.stop('SIGKILL');
  // what a kill between the save and the state write leaves: the snapshot, no state saying it is open
  rmSync(path.join(d.snapshotDir, '.state.json'), { force: true });
  // and a temp file a writer killed mid-write left, a minute old
  const temp = path.join(d.snapshotDir, SERVICE, `.${d.snapshots(SERVICE)[0]!.snapshot.id}.json.tmp-1-0badf00d`);
  writeFileSync(temp, '{"half');
  const old = (Date.now() - 120_000) / 1000;
  utimesSync(temp, old, old);

  const again = new PreflightProcess(d.config, { env: { RUNTIME_DIRECTORY: path.join(d.dir, 'run') } });
  cleanups.push(async () => void (await again.stop()));
  await waitFor(`the restart to adopt the incident (output: ${again.output})`, 15_000, () => again.output.includes('it is the open incident'));
  const checksBefore = health.served.failed;
  await waitFor('several more failed checks', 15_000, () => health.served.failed >= checksBefore + 6);
  assert.equal(d.snapshots(SERVICE).length, 1, `one incident, not two:\n${again.output}`);
  assert.ok(!again.output.includes('DOWN'), again.output);
  assert.ok(!existsSync(temp), 'the stale temp file was swept');
  assert.match(again.output, /removed 1 stale temp file\(s\) a killed writer left: /);
  await health.set('ok');
  await waitFor('the recovery', 15_000, () => d.snapshots(SERVICE)[0]?.snapshot.recovery !== null && again.output.includes('recovered after'));
  assert.equal(d.snapshots(SERVICE).length, 1);
});

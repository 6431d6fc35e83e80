// Episodes end to end: the built bundle as `preflight start`, a real health endpoint on 127.0.0.1 that
// flaps, and a real webhook receiver counting messages. Short settings (checks every 0.25 s, a 3 s flap
// window) so ten flaps take seconds: one episode file, three messages (down, flapping, resolved), ten
// occurrences in the file, in `list` and in the API. A restart of preflight during an open episode
// keeps it open, and the next flap is appended to it.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import type { Snapshot } from '../../src/incident/snapshot';
import { receiver, request, type Receiver } from '../daemon/_helpers';
import { FAST, PreflightProcess, RunningDaemon, TestService, snapshotFiles, waitFor } from './daemon';

const SERVICE = 'flappy';
// the shared fast checks, with a 3 s flap window instead of none
const INTERVALS = `${FAST.replace('flap_window_seconds: 0', 'flap_window_seconds: 3')}\nreminder_seconds: 3600`;

const open: Array<{ close(): Promise<void> } | RunningDaemon> = [];
after(async () => {
  for (const o of open.reverse()) await (o instanceof RunningDaemon ? o.cleanup() : o.close());
});

async function setup(): Promise<{ health: TestService; hook: Receiver; daemon: RunningDaemon }> {
  const health = await TestService.start();
  open.push(health);
  const hook = await receiver(() => ({ status: 200 }));
  open.push(hook);
  const daemon = await RunningDaemon.start({
    intervals: INTERVALS,
    yaml: ({ apiPort }) =>
      `notifications:\n  webhook: ${hook.url}/hook\n  format: json\n  public_url: http://127.0.0.1:${apiPort}\nservices:\n  - name: ${SERVICE}\n    health_url: ${health.url}\n`,
  });
  open.push(daemon);
  return { health, hook, daemon };
}

const only = (dir: string): Snapshot | undefined => {
  const files = snapshotFiles(dir, SERVICE);
  assert.ok(files.length <= 1, `one episode file, got ${files.map((f) => f.file).join(', ')}`);
  return files[0]?.snapshot;
};

/** One flap: down until the file counts occurrence `n` open, then up until it says recovered. */
async function flap(health: TestService, dir: string, n: number, whileDown?: () => Promise<void>): Promise<void> {
  await health.set('503');
  await waitFor(`occurrence ${n}`, 10_000, () => only(dir)?.episode?.occurrences === n && only(dir)?.recovery === null);
  await whileDown?.();
  await health.set('ok');
  await waitFor(`recovery ${n}`, 10_000, () => only(dir)?.recovery !== null && only(dir)?.occurrences?.[n - 1]?.duration_seconds !== null);
}

const events = (hook: Receiver): string[] => hook.got.map((r) => String((JSON.parse(r.body) as { event: string }).event));

test('a service flapping 10 times: one episode, 3 messages, 10 occurrences listed', async () => {
  const t0 = Date.now();
  const { health, hook, daemon } = await setup();
  // `preflight status` during the last failure: the open episode with its state and occurrences
  const status = async (): Promise<void> => {
    const r = await daemon.cli(['status', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { services: { name: string; open_incident: { id: string; state: string; occurrences: number } | null }[] };
    const open = j.services[0]!.open_incident!;
    assert.deepEqual([j.services[0]!.name, open.id, open.state, open.occurrences], [SERVICE, only(daemon.snapshotDir)!.id, 'flapping', 10]);
    const text = await daemon.cli(['status']);
    assert.match(text.stdout.split('\n')[2] ?? '', new RegExp(`^${SERVICE} +unhealthy +\\S+ ago +\\d+ ms +flapping \\d+s, 10 occurrences +HTTP 503`), text.stdout);
  };
  for (let i = 1; i <= 10; i++) await flap(health, daemon.snapshotDir, i, i === 10 ? status : undefined);
  // while it flaps: the down and one flapping, nothing per transition
  assert.deepEqual(events(hook), ['down', 'flapping']);
  await waitFor('the episode resolved', 15_000, () => only(daemon.snapshotDir)?.episode?.state === 'resolved');
  await waitFor('the recovered message', 10_000, () => hook.got.length >= 3);
  const s = only(daemon.snapshotDir)!;
  assert.equal(snapshotFiles(daemon.snapshotDir, SERVICE).length, 1);
  assert.equal(s.schema, 'preflight.snapshot/3');
  assert.equal(s.episode!.occurrences, 10);
  assert.equal(s.occurrences!.length, 10);
  assert.equal(s.occurrences!.filter((o) => o.error?.kind === 'http_status' && o.error.status === 503).length, 10);
  assert.equal(s.occurrences!.filter((o) => typeof o.duration_seconds === 'number' && o.duration_seconds > 0).length, 10);
  // the same cause every time: no second full capture
  assert.equal(s.captures!.length, 0);
  const total = Math.round(s.occurrences!.reduce((a, o) => a + o.duration_seconds!, 0) * 10) / 10;
  assert.equal(s.episode!.downtime_seconds, total);

  const [down, flapping, recovered] = hook.got.map((r) => JSON.parse(r.body) as Record<string, unknown>);
  assert.equal(down!.event, 'down');
  assert.equal(flapping!.event, 'flapping');
  assert.match(String(flapping!.text), new RegExp(`^${SERVICE} flapping on \\S+: flapping: 2 failures in \\d+s, HTTP 503, no cause found · http://`));
  assert.equal(recovered!.event, 'resolved');
  assert.equal(recovered!.occurrences, 10);
  // the recovery time: the same number in the JSON, the text and the log
  assert.equal(recovered!.downtime_seconds, s.episode!.downtime_seconds);
  const secs = Math.round(s.episode!.downtime_seconds);
  const shown = secs < 60 ? `${secs}s` : `${Math.floor(secs / 60)}m${String(secs % 60).padStart(2, '0')}s`;
  assert.match(String(recovered!.text), new RegExp(`^${SERVICE} resolved on \\S+ after ${shown} \\(10 occurrences\\) · http://`));
  assert.match(daemon.stdout, new RegExp(`${SERVICE}: episode ${s.id} resolved after ${shown} down \\(10 occurrences\\)`));

  // list and the API: one episode with its counts
  const listed = await daemon.cli(['list', SERVICE, '--json']);
  assert.equal(listed.code, 0, listed.stderr);
  const entries = JSON.parse(listed.stdout) as Array<{ id: string; episode: unknown }>;
  assert.deepEqual(
    entries.map((e) => [e.id, e.episode]),
    [[s.id, { state: 'resolved', occurrences: 10, restarts: 0, downtime_seconds: s.episode!.downtime_seconds }]],
  );
  const text = await daemon.cli(['list', SERVICE]);
  assert.match(text.stdout, new RegExp(`^\\S+ \\S+  ${SERVICE}  health_check  ${s.id}  resolved  10 failures  ${shown} down  notified  HTTP 503, no cause found$`, 'm'));
  const api = JSON.parse((await request(`${daemon.api}/failure-context/${SERVICE}/list`)).body) as Array<{ episode: { occurrences: number } }>;
  assert.deepEqual(
    api.map((e) => e.episode.occurrences),
    [10],
  );
  // nothing more is sent
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(hook.got.length, 3);
  if (process.env.EPISODE_EXAMPLE) {
    writeFileSync(process.env.EPISODE_EXAMPLE, [text.stdout, ...hook.got.map((r) => String((JSON.parse(r.body) as { text: string }).text)), daemon.stdout].join('\n---\n'));
  }
  assert.ok(Date.now() - t0 < 60_000, `took ${Date.now() - t0} ms`);
});

test('a restart of preflight during an open episode keeps it open, and the next flap is appended', async () => {
  const { health, hook, daemon } = await setup();
  await health.set('503');
  await waitFor('the down message', 10_000, () => hook.got.length === 1 && only(daemon.snapshotDir)?.episode?.occurrences === 1);
  const id = only(daemon.snapshotDir)!.id;
  await daemon.stop();
  // the same config, the same folder: a new process
  const again = new PreflightProcess(path.join(daemon.dir, 'preflight.yaml'), { env: { RUNTIME_DIRECTORY: path.join(daemon.dir, 'run') } });
  open.push({ close: async () => void (await again.stop()) });
  await waitFor('the restored open incident', 10_000, () => again.output.includes(`incident ${id} still open from before the restart`));
  await health.set('ok');
  await waitFor('the recovery', 10_000, () => only(daemon.snapshotDir)?.recovery != null);
  await health.set('503');
  await waitFor('occurrence 2 in the same file', 10_000, () => only(daemon.snapshotDir)?.episode?.occurrences === 2);
  await waitFor('the flapping message', 10_000, () => hook.got.length === 2);
  assert.equal(snapshotFiles(daemon.snapshotDir, SERVICE).length, 1);
  assert.equal(only(daemon.snapshotDir)!.id, id);
  assert.equal(only(daemon.snapshotDir)!.episode!.state, 'flapping');
  assert.deepEqual(events(hook), ['down', 'flapping']);
});

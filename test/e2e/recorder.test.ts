// The recorder end to end: the BUILT bundle watching real HTTP services on 127.0.0.1.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from './bundle';
import { PreflightProcess, TestService, snapshotFiles, waitFor, type Mode } from './daemon';

const FAST = {
  interval_seconds: 0.5,
  timeout_seconds: 0.4,
  confirm_interval_seconds: 0.25,
  failure_threshold: 2,
  sample_seconds: 0.25,
  buffer_samples: 40,
  // one failure, one file here: episodes (joined flaps) are test/e2e/episodes.test.ts
  flap_window_seconds: 0,
};

function writeConfig(dir: string, services: { name: string; url: string }[], extra: Record<string, number> = {}): string {
  const file = path.join(dir, 'preflight.yaml');
  const lines = [
    `snapshot_dir: ${JSON.stringify(path.join(dir, 'snapshots'))}`,
    ...Object.entries({ ...FAST, ...extra }).map(([k, v]) => `${k}: ${v}`),
    'listen: off',
    'services:',
    ...services.flatMap((s) => [`  - name: ${s.name}`, `    health_url: ${s.url}`, '    expect_body: ok']),
  ];
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('recorder: one daemon, one service per failure kind', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'preflight-e2e-rec-'));
  const snapshots = path.join(dir, 'snapshots');
  const kinds: { name: string; mode: Mode; want: string }[] = [
    { name: 'http503', mode: '503', want: 'http_status' },
    { name: 'hang', mode: 'hang', want: 'timeout' },
    { name: 'refused', mode: 'refused', want: 'connection_refused' },
    { name: 'body', mode: 'wrong-body', want: 'body_mismatch' },
  ];
  const services = new Map<string, TestService>();
  let pf: PreflightProcess;

  before(async () => {
    for (const k of [...kinds.map((k) => k.name), 'blip']) services.set(k, await new TestService().start());
    const file = writeConfig(
      dir,
      [...services].map(([name, s]) => ({ name, url: s.url })),
    );
    pf = new PreflightProcess(file);
    // every service seen healthy at least twice before anything breaks
    await waitFor('first checks', 10_000, () => ([...services.values()].every((s) => s.hits >= 2) ? true : undefined));
  });
  after(async () => {
    await pf?.stop();
    for (const s of services.values()) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a one-check blip writes nothing', async () => {
    const s = services.get('blip')!;
    const before = s.hits;
    await s.set('503');
    await waitFor('the failed check', 5000, () => (s.hits > before ? true : undefined));
    await s.set('ok');
    const seen = s.hits;
    await waitFor('two more passing checks', 5000, () => (s.hits >= seen + 2 ? true : undefined));
    assert.equal(snapshotFiles(snapshots, 'blip').length, 0);
    assert.match(pf.output, /blip: recovered before confirmation; nothing written/);
  });

  for (const k of kinds) {
    test(`${k.mode} gives exactly one snapshot with error.kind ${k.want}, and its recovery`, async () => {
      const s = services.get(k.name)!;
      await s.set(k.mode);
      const { file, snapshot: snap } = await waitFor(`a snapshot for ${k.name}`, 10_000, () => snapshotFiles(snapshots, k.name)[0]);
      const error = snap.error!;
      assert.equal(error.kind, k.want);
      assert.equal(error.status, k.mode === '503' ? 503 : k.mode === 'wrong-body' ? 200 : null);
      assert.equal(snap.schema, 'preflight.snapshot/3');
      assert.equal(snap.trigger, 'health_check');
      assert.equal(snap.recovery, null);
      const transition = snap.transition;
      assert.equal(transition.consecutive_failures, 2);
      assert.ok(Date.parse(transition.confirmed_at!) > Date.parse(transition.first_failure_at));
      const samples = snap.samples;
      assert.ok(samples.host.length >= 3, `host samples: ${samples.host.length}`);
      for (const key of ['at', 'cpu_percent', 'mem_used_percent', 'disk_used_percent', 'load1', 'load5', 'load15']) {
        assert.ok(key in samples.host[0]!, `host sample lacks ${key}`);
      }
      assert.ok(samples.probe.some((p) => p.ok), 'probe history holds the passing checks before the failure');
      assert.equal(samples.probe.at(-1)!.error_kind, k.want);
      assert.match(snap.summary, /^RAM \d+% .*\| load \d+\.\d\d \| cpu (\d+|\?)%$/);
      // still failing: no second snapshot for the same incident
      const hits = s.hits;
      if (k.mode !== 'refused') await waitFor('more failed checks', 5000, () => (s.hits >= hits + 2 ? true : undefined));
      else await new Promise((r) => setTimeout(r, 1200));
      assert.equal(snapshotFiles(snapshots, k.name).length, 1);
      await s.set('ok');
      const recovered = await waitFor('recovery', 10_000, () => {
        return snapshotFiles(snapshots, k.name).find((f) => f.file === file)?.snapshot.recovery;
      });
      assert.ok(recovered.downtime_seconds > 0);
      assert.ok(recovered.samples.length > 0);
      assert.equal(snapshotFiles(snapshots, k.name).length, 1, 'recovery rewrites the snapshot, it does not add one');
    });
  }

  test('last --json prints the stored file byte for byte; list and show find it', async () => {
    const cfg = path.join(dir, 'preflight.yaml');
    const name = readdirSync(path.join(snapshots, 'http503')).find((n) => n.endsWith('.json'))!;
    const stored = readFileSync(path.join(snapshots, 'http503', name), 'utf8');
    const last = await runCli(['last', 'http503', '--json', '--config', cfg]);
    assert.equal(last.code, 0, last.stderr);
    assert.equal(last.stdout, stored);
    const text = await runCli(['last', 'http503', '--config', cfg]);
    assert.match(text.stdout, /^http503 failed at .* \(health check failed\); recovered at .* after \d+s$/m);
    assert.match(text.stdout, /what failed: unexpected HTTP status: HTTP 503/);
    const list = await runCli(['list', '--json', '--config', cfg]);
    const entries = JSON.parse(list.stdout) as Array<{ service: string; id: string; path: string }>;
    assert.deepEqual(entries.map((e) => e.service).sort(), kinds.map((k) => k.name).sort());
    const id = name.replace(/\.json$/, '');
    const byId = await runCli(['show', id, '--json', '--config', cfg]);
    assert.equal(byId.stdout, stored);
    const byPath = await runCli(['show', path.join(snapshots, 'http503', name), '--json']);
    assert.equal(byPath.stdout, stored);
    const none = await runCli(['last', 'blip', '--config', cfg]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^preflight: no snapshot for 'blip' in /);
  });
});

describe('recorder: restarts, retention, kill -9', () => {
  test('restarting preflight during an open incident writes no duplicate, and the recovery lands in the first snapshot', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'preflight-e2e-restart-'));
    const s = await new TestService().start();
    try {
      const file = writeConfig(dir, [{ name: 'svc', url: s.url }]);
      const snapshots = path.join(dir, 'snapshots');
      let pf = new PreflightProcess(file);
      await waitFor('first check', 5000, () => (s.hits > 0 ? true : undefined));
      await s.set('503');
      await waitFor('the snapshot', 10_000, () => (snapshotFiles(snapshots, 'svc').length === 1 ? true : undefined));
      const stopped = await pf.stop('SIGTERM');
      assert.equal(stopped.code, 0, pf.output);
      pf = new PreflightProcess(file);
      const hits = s.hits;
      await waitFor('checks by the new daemon', 10_000, () => (s.hits >= hits + 4 ? true : undefined));
      assert.equal(snapshotFiles(snapshots, 'svc').length, 1, pf.output);
      assert.match(pf.output, /svc: incident \S+ still open from before the restart/);
      await s.set('ok');
      const { snapshot: snap } = await waitFor('recovery', 10_000, () => snapshotFiles(snapshots, 'svc').find((f) => f.snapshot.recovery !== null));
      assert.ok(snap.recovery!.downtime_seconds > 1);
      await pf.stop();
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('retention keeps the newest N snapshots of a service', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'preflight-e2e-retention-'));
    const s = await new TestService().start();
    const snapshots = path.join(dir, 'snapshots');
    const file = writeConfig(dir, [{ name: 'svc', url: s.url }], { retention: 2 });
    const pf = new PreflightProcess(file);
    try {
      const seen: string[] = [];
      for (let i = 0; i < 3; i++) {
        await s.set('503');
        const name = await waitFor(`incident ${i + 1}`, 10_000, () => snapshotFiles(snapshots, 'svc').map((f) => f.file).find((n) => !seen.includes(n)));
        seen.push(name);
        await s.set('ok');
        await waitFor(`recovery ${i + 1}`, 10_000, () => snapshotFiles(snapshots, 'svc').find((f) => f.file === name)?.snapshot.recovery);
      }
      assert.deepEqual(
        snapshotFiles(snapshots, 'svc').map((f) => f.file),
        seen.slice(1),
      );
    } finally {
      await pf.stop();
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('kill -9 during captures never leaves a partial or unparsable snapshot', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'preflight-e2e-kill-'));
    const all: TestService[] = [];
    const rounds: string[] = [];
    let pf: PreflightProcess | undefined;
    const count = (snapshots: string): number => all.reduce((n, _s, i) => n + snapshotFiles(snapshots, `s${i}`).length, 0);
    try {
      for (let i = 0; i < 12; i++) all.push(await new TestService().start());
      for (let round = 0; round < 6; round++) {
        // a fresh store per round: every round's failures are new incidents with snapshots to write
        const roundDir = path.join(dir, `round${round}`);
        mkdirSync(roundDir);
        const file = writeConfig(
          roundDir,
          all.map((s, i) => ({ name: `s${i}`, url: s.url })),
          { journal_lines: 5000, buffer_samples: 400 },
        );
        rounds.push(file);
        const snapshots = path.join(roundDir, 'snapshots');
        for (const s of all) await s.set('ok');
        const hits = all.map((s) => s.hits);
        pf = new PreflightProcess(file);
        await waitFor('first checks', 10_000, () => (all.every((s, i) => s.hits > hits[i]!) ? true : undefined));
        for (const s of all) await s.set('503');
        // kill somewhere in the commit storm: snapshot files are being written right now
        await waitFor('a first commit', 10_000, () => (count(snapshots) > 0 ? true : undefined));
        await new Promise((r) => setTimeout(r, Math.random() * 150));
        await pf.stop('SIGKILL');
        // snapshotFiles parses every file and throws on a partial one
        for (let i = 0; i < all.length; i++) {
          for (const { snapshot } of snapshotFiles(snapshots, `s${i}`)) assert.equal(snapshot.schema, 'preflight.snapshot/3');
        }
      }
      for (const file of rounds) {
        const list = await runCli(['list', '--json', '--config', file]);
        assert.equal(list.code, 0, list.stderr);
        assert.doesNotMatch(list.stderr, /warning/, 'no file in the store is corrupt');
        assert.ok((JSON.parse(list.stdout) as unknown[]).length >= 1);
      }
    } finally {
      await pf?.stop('SIGKILL');
      for (const s of all) await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// `preflight status` end to end: the built bundle asks a running daemon (its API behind a token) with
// one healthy and one failing service; with the daemon stopped it says no daemon answers, naming the
// address, and exits 3; with listen: off it reads the state file and says so.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from './bundle';
import { RunningDaemon, TOKEN, TestService, waitFor } from './daemon';

describe('preflight status against a running daemon', () => {
  let ok: TestService;
  let down: TestService;
  let daemon: RunningDaemon;

  before(async () => {
    ok = await TestService.start();
    down = await TestService.start();
    daemon = await RunningDaemon.start({
      yaml: () => `api_token: ${TOKEN}\nservices:\n  - name: web\n    health_url: ${ok.url}\n  - name: dead-drop\n    health_url: ${down.url}\n`,
    });
    await down.set('503');
    await waitFor('the failure of dead-drop committed', 15_000, () => daemon.snapshots('dead-drop').length === 1);
  });
  after(async () => {
    await daemon.cleanup();
    await ok.close();
    await down.close();
  });

  test('one line per service: health, last check age and latency, the open incident and its age', async () => {
    const r = await daemon.cli(['status']);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 4, r.stdout);
    assert.match(lines[0]!, new RegExp(`^preflight \\S+ at http://127\\.0\\.0\\.1:${daemon.apiPort}: ok, up \\d+s$`));
    assert.match(lines[1]!, /^SERVICE {4}HEALTH {5}CHECKED {3}LATENCY {2}INCIDENT +LAST ERROR$/);
    assert.match(lines[2]!, /^web {8}healthy {4}\d\.\ds ago {2}\d+ ms +-$/);
    assert.match(lines[3]!, /^dead-drop {2}unhealthy {2}\d\.\ds ago {2}\d+ ms +open \d+s, 1 occurrence +HTTP 503 Service Unavailable$/);
  });

  test('--json: the same, with the incident id', async () => {
    const r = await daemon.cli(['status', '--json']);
    assert.equal(r.code, 0);
    const j = JSON.parse(r.stdout) as {
      source: unknown;
      daemon: { status: string; problems: unknown[] };
      services: { name: string; health: string; last_check: { ok: boolean; latency_ms: number; error: string | null }; open_incident: { id: string; age_seconds: number; state: string | null; occurrences: number | null } | null; unit: unknown; muted: unknown }[];
    };
    assert.deepEqual(j.source, { kind: 'api', url: daemon.api });
    assert.equal(j.daemon.status, 'ok');
    assert.deepEqual(j.daemon.problems, []);
    assert.deepEqual(
      j.services.map((s) => [s.name, s.health, s.last_check.ok, s.last_check.error, s.open_incident?.id ?? null, s.unit, s.muted]),
      [
        ['web', 'healthy', true, null, null, null, null],
        ['dead-drop', 'unhealthy', false, 'HTTP 503 Service Unavailable', daemon.snapshots('dead-drop')[0]!.snapshot.id, null, null],
      ],
    );
    assert.ok(j.services.every((s) => s.last_check.latency_ms >= 0 && s.last_check.latency_ms < 2000));
    assert.ok(j.services[1]!.open_incident!.age_seconds >= 0 && j.services[1]!.open_incident!.age_seconds < 60);
    assert.deepEqual([j.services[1]!.open_incident!.state, j.services[1]!.open_incident!.occurrences], ['open', 1]);
  });

  test('a wrong token: the daemon refused it, exit 1', async () => {
    const other = path.join(daemon.dir, 'other.yaml');
    writeFileSync(other, readFileSync(daemon.config, 'utf8').replace(TOKEN, `${TOKEN}x`));
    const r = await runCli(['status', '--config', other]);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `preflight: ${daemon.api}: the daemon refused the token (HTTP 401): api_token in the config is not the running daemon's (listen: in ${other}, from --config)\n`);
    assert.equal(r.code, 1);
  });

  test('no daemon: exit 3 and the address tried', async () => {
    await daemon.stop();
    const r = await daemon.cli(['status']);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `preflight: no daemon answers at ${daemon.api} (connection refused): is preflight start running? (listen: in ${daemon.config}, from --config)\n`);
    assert.equal(r.code, 3);
  });
});

describe('preflight status with listen: off', () => {
  let down: TestService;
  let daemon: RunningDaemon;

  before(async () => {
    down = await TestService.start();
    daemon = await RunningDaemon.start({ listen: () => 'off', yaml: () => `services:\n  - name: dead-drop\n    health_url: ${down.url}\n` });
    await down.set('503');
    await waitFor('the failure committed', 15_000, () => daemon.snapshots('dead-drop').length === 1);
  });
  after(async () => {
    await daemon.cleanup();
    await down.close();
  });

  test('what the daemon last wrote to the state file, with its age', async () => {
    await waitFor('the state file', 5000, async () => (await daemon.cli(['status'])).code === 0);
    const r = await daemon.cli(['status']);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, new RegExp(`^listen: off, so no daemon to ask: this is what the daemon last wrote to ${daemon.snapshotDir}/\\.state\\.json, \\d+s ago$`));
    assert.equal(lines[1], '(it is written on each incident and recovery; whether a daemon runs now cannot be told from it)');
    assert.equal(lines[2], 'SERVICE    HEALTH     CHECKED  LATENCY  INCIDENT');
    assert.match(lines[3]!, /^dead-drop  unhealthy  - {8}- {8}open \d+s$/);
    assert.equal(lines.length, 4);
  });
});

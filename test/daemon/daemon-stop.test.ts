// Daemon.stop() is bounded whatever a child does: here every journalctl and systemctl started after
// start() never exits, not even on SIGKILL (a journal on a stalled disk), while a capture is running
// and another service's capture waits for its turn. Before run() settled at its deadline this stop
// never returned.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/config';
import { Daemon } from '../../src/daemon/daemon';
import { Logger } from '../../src/daemon/log';
import { commands } from '../../src/util/commands';
import { SETTLE_GRACE_MS } from '../../src/util/exec';
import { hangSome } from '../util/_never-child';
import { receiver } from './_helpers';
import { waitFor } from './_daemon';

test('Daemon.stop() returns within the command deadline while every child ignores SIGKILL', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'preflight-stop-'));
  const service = await receiver(() => ({ status: 503, body: 'down' }));
  const names = ['a', 'b', 'c', 'd', 'e'];
  const config = parseConfig(
    [
      `snapshot_dir: ${JSON.stringify(path.join(dir, 'snapshots'))}`,
      'interval_seconds: 0.2',
      'timeout_seconds: 0.1',
      'failure_threshold: 1000',
      'sample_seconds: 0.2',
      'listen: off',
      'services:',
      ...names.flatMap((n) => [`  - name: ${n}`, `    health_url: ${service.url}/health`, `    unit: ${n}.service`]),
    ].join('\n'),
    path.join(dir, 'preflight.yaml'),
  );
  const logged: string[] = [];
  const io = { out: (s: string) => logged.push(s), err: (s: string) => logged.push(s), isTTY: false };
  let hang = false;
  const hung = hangSome(commands, (file) => hang && (file === 'journalctl' || file === 'systemctl'));
  // 5 services, 4 capture slots: one capture waits for its turn when stop() comes
  const daemon = new Daemon(config, new Logger(io), {}, { followJournal: false });
  try {
    await daemon.start();
    hang = true;
    await waitFor('captures running on hung children', 10_000, () => (daemon.status().commands?.capturesWaiting ?? 0) >= 1 && hung.children.length >= 8);
    const t0 = performance.now();
    await daemon.stop();
    const took = performance.now() - t0;
    const c = daemon.status().commands;
    t.diagnostic(`stop took ${Math.round(took)} ms; ${hung.children.length} hung children, abandoned ${c?.abandonedTotal}, unreaped ${c?.unreaped}`);
    // a command's deadline here is 2000 ms (commandTimeoutMs), then the settle grace
    assert.ok(took < 2000 + SETTLE_GRACE_MS + 1000, `stop took ${took} ms`);
    assert.deepEqual({ captures: c?.capturesRunning, waiting: c?.capturesWaiting, running: c?.running }, { captures: 0, waiting: 0, running: 0 });
    assert.ok((c?.unreaped ?? 0) >= 8, `unreaped ${c?.unreaped}`);
  } finally {
    hung.restore();
    for (const child of hung.children) child.exit();
    // a failed assertion above must not leave the daemon's timers holding the test process
    await daemon.stop();
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

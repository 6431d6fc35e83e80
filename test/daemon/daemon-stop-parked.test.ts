// stop() is the last chance for a snapshot parked in memory (the snapshot dir and the fallback both
// refused it): one more try to move it into the dir, bounded; if the dir still refuses, an err line
// says how many are lost with the process. Root is not stopped by permissions, so a refusing folder is
// a file in its place (ENOTDIR); the sample timer (which retries parked snapshots) is set too slow to
// fire, so only stop() can move it.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/config';
import { Daemon } from '../../src/daemon/daemon';
import { Logger } from '../../src/daemon/log';
import { receiver } from './_helpers';
import { waitFor } from './_daemon';

async function parkInMemoryThenStop(unblockBeforeStop: boolean): Promise<{ logged: string[]; files: string[] }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'preflight-stop-parked-'));
  const snapshots = path.join(dir, 'snapshots');
  const runtime = path.join(dir, 'run');
  writeFileSync(snapshots, 'not a folder');
  writeFileSync(runtime, 'not a folder either'); // the fallback goes under RUNTIME_DIRECTORY
  const service = await receiver(() => ({ status: 503, body: 'down' }));
  const config = parseConfig(
    [
      `snapshot_dir: ${JSON.stringify(snapshots)}`,
      'interval_seconds: 0.2',
      'timeout_seconds: 0.1',
      'confirm_interval_seconds: 0.2',
      'failure_threshold: 1',
      'sample_seconds: 60',
      'listen: off',
      'services:',
      '  - name: web',
      `    health_url: ${service.url}/health`,
    ].join('\n'),
    path.join(dir, 'preflight.yaml'),
  );
  const logged: string[] = [];
  const io = { out: (s: string) => logged.push(s), err: (s: string) => logged.push(s), isTTY: false };
  const saved = process.env.RUNTIME_DIRECTORY;
  process.env.RUNTIME_DIRECTORY = runtime;
  const daemon = new Daemon(config, new Logger(io), {}, { followJournal: false });
  if (saved === undefined) delete process.env.RUNTIME_DIRECTORY;
  else process.env.RUNTIME_DIRECTORY = saved;
  try {
    await daemon.start();
    await waitFor('a snapshot parked in memory', 10_000, () => daemon.status().store?.parkedMemory === 1);
    if (unblockBeforeStop) {
      rmSync(snapshots);
      mkdirSync(snapshots);
    }
    await daemon.stop();
    const folder = path.join(snapshots, 'web');
    return { logged, files: existsSync(folder) ? readdirSync(folder) : [] };
  } finally {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const LOST = /stopping with 1 snapshot\(s\) parked only in memory: they are lost with the process/;

test('stop() moves a snapshot parked in memory into the dir once it takes writes', async () => {
  const { logged, files } = await parkInMemoryThenStop(true);
  assert.equal(files.filter((f) => f.endsWith('.json')).length, 1, `files: ${files.join(', ')}`);
  assert.equal(logged.filter((l) => LOST.test(l)).length, 0);
});

test('stop() with the dir still refusing says at err how many snapshots are lost', async () => {
  const { logged } = await parkInMemoryThenStop(false);
  assert.equal(logged.filter((l) => LOST.test(l)).length, 1, logged.join('\n'));
});

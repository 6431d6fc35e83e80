// A real Daemon in this process, for the tests of what it does over time: one service `web` checked every
// 200 ms at a receiver on 127.0.0.1 (its answer set by the test; null hangs), the API on an ephemeral port,
// a temp snapshot folder, and both clocks offset by what the test sets: `skew.wall` steps the wall clock
// (an NTP step, a VM resumed), `skew.mono` moves the monotonic one on (time passing, without the wait).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/config';
import { Daemon } from '../../src/daemon/daemon';
import { Logger } from '../../src/daemon/log';
import { ApiServer } from '../../src/daemon/server';
import { receiver, request, type Answer, type Receiver } from './_helpers';

export { sleep } from '../../src/util/time';
export { waitFor } from '../e2e/wait';

export interface Harness {
  daemon: Daemon;
  api: string;
  service: Receiver;
  /** what the test sets the health endpoint to answer; null hangs */
  answer: Answer;
  skew: { wall: number; mono: number };
  logged: string[];
  healthz(): Promise<{ status: number; body: HealthzBody }>;
  close(): Promise<void>;
}

export interface HealthzBody {
  status: string;
  problems: string[];
  last_sample_age_seconds: number | null;
  services: {
    name: string;
    consecutive_failures: number;
    last_check_age_seconds: number | null;
    max_check_age_seconds: number;
    oldest_job_age_seconds: number | null;
    max_job_age_seconds: number;
  }[];
}

export async function startDaemon(extra: string[] = []): Promise<Harness> {
  const dir = mkdtempSync(path.join(tmpdir(), 'preflight-daemon-'));
  const h = { answer: { status: 200, body: 'ok' } as Answer, skew: { wall: 0, mono: 0 } };
  const service = await receiver(() => h.answer);
  const config = parseConfig(
    [
      `snapshot_dir: ${JSON.stringify(path.join(dir, 'snapshots'))}`,
      'interval_seconds: 0.2',
      'timeout_seconds: 0.1',
      'confirm_interval_seconds: 0.2',
      // no incident is committed here: what is tested is the timing, not the capture
      'failure_threshold: 1000',
      'sample_seconds: 0.2',
      'listen: off',
      ...extra,
      'services:',
      '  - name: web',
      `    health_url: ${service.url}/health`,
    ].join('\n'),
    path.join(dir, 'preflight.yaml'),
  );
  const logged: string[] = [];
  const io = { out: (t: string) => logged.push(t), err: (t: string) => logged.push(t), isTTY: false };
  const daemon = new Daemon(config, new Logger(io), {}, { followJournal: false, now: () => Date.now() + h.skew.wall, mono: () => performance.now() + h.skew.mono });
  const server = new ApiServer({ config, store: daemon.store, status: () => daemon.status(), log: { warn: (m) => logged.push(m), debug: () => undefined } });
  await daemon.start();
  const bound = await server.listen({ host: '127.0.0.1', port: 0 });
  const api = `http://127.0.0.1:${bound.port}`;
  return Object.assign(h, {
    daemon,
    api,
    service,
    logged,
    async healthz() {
      const r = await request(`${api}/healthz`, { timeoutMs: 2000 });
      return { status: r.status, body: JSON.parse(r.body) as HealthzBody };
    },
    async close() {
      await server.close();
      await daemon.stop();
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

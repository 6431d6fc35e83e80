// Shared by the end-to-end tests of the running daemon: the built bundle started as `preflight start`
// with a temp config, a health endpoint on 127.0.0.1 the test switches between ok and failing, and a
// poll helper. The daemon runs under `setpriv --pdeathsig KILL` where setpriv exists, so a test process
// killed without running its handlers takes the daemon with it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Snapshot } from '../../src/incident/snapshot';
import { freePort, request } from '../daemon/_helpers';
import { requireBundle, runCli, type CliResult } from './bundle';

const HAS_SETPRIV = spawnSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).status === 0;

type Nothing = undefined | null | false;

/** Poll `probe` every 50 ms until it returns something other than undefined, null or false; fail after `ms`. */
export async function waitFor<T>(what: string, ms: number, probe: () => T | Nothing | Promise<T | Nothing>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A health endpoint: 200 "ok" unless told to fail (503), for good or for the next N checks. */
export class HealthEndpoint {
  failing = false;
  private failNextN = 0;
  served = { ok: 0, failed: 0 };
  private constructor(
    private readonly server: http.Server,
    private readonly sockets: Set<Socket>,
    readonly url: string,
  ) {}

  static async start(): Promise<HealthEndpoint> {
    const sockets = new Set<Socket>();
    let self: HealthEndpoint | undefined;
    const server = http.createServer((_req, res) => {
      const h = self!;
      const fail = h.failing || h.failNextN > 0;
      if (h.failNextN > 0) h.failNextN--;
      if (fail) h.served.failed++;
      else h.served.ok++;
      res.writeHead(fail ? 503 : 200, { 'content-type': 'text/plain' });
      res.end(fail ? 'down' : 'ok');
    });
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    self = new HealthEndpoint(server, sockets, `http://127.0.0.1:${port}/health`);
    return self;
  }

  failNext(n: number): void {
    this.failNextN = n;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

export interface DaemonSpec {
  /** the YAML after the common top (snapshot_dir, fast intervals, listen); e.g. notifications: and services: */
  yaml: (ctx: { dir: string; apiPort: number }) => string;
  /** `listen:` value; default 127.0.0.1:<a free port> */
  listen?: (apiPort: number) => string;
  args?: string[];
}

/** Intervals short enough for a test: a failure is confirmed in well under a second. */
export const FAST = ['interval_seconds: 0.25', 'failure_threshold: 2', 'confirm_interval_seconds: 0.1', 'sample_seconds: 0.5', 'buffer_samples: 10', 'journal_lines: 10'].join('\n');

export class RunningDaemon {
  stdout = '';
  stderr = '';
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private constructor(
    readonly child: ChildProcess,
    readonly dir: string,
    readonly config: string,
    readonly apiPort: number,
  ) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  }

  get api(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  get snapshotDir(): string {
    return path.join(this.dir, 'snapshots');
  }

  /** Write the config, start `preflight start` from the bundle, wait for /healthz to say ok (unless listen is off). */
  static async start(spec: DaemonSpec): Promise<RunningDaemon> {
    const dir = mkdtempSync(path.join(tmpdir(), 'preflight-e2e-'));
    const apiPort = await freePort();
    const listen = spec.listen ? spec.listen(apiPort) : `127.0.0.1:${apiPort}`;
    const config = path.join(dir, 'preflight.yaml');
    writeFileSync(config, `snapshot_dir: ${path.join(dir, 'snapshots')}\n${FAST}\nlisten: "${listen}"\n${spec.yaml({ dir, apiPort })}\n`);
    const argv = [requireBundle(), 'start', '--config', config, ...(spec.args ?? [])];
    const [file, args] = HAS_SETPRIV ? ['setpriv', ['--pdeathsig', 'KILL', '--', process.execPath, ...argv]] : [process.execPath, argv];
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUNTIME_DIRECTORY: path.join(dir, 'run') } });
    const d = new RunningDaemon(child, dir, config, apiPort);
    live.add(d);
    if (listen !== 'off') {
      await waitFor(`preflight's API on ${d.api} (stdout: ${d.stdout}, stderr: ${d.stderr})`, 15_000, async () => {
        if (child.exitCode !== null) throw new Error(`preflight exited with ${child.exitCode}: ${d.stderr}${d.stdout}`);
        const r = await request(`${d.api}/healthz`, spec.yaml({ dir, apiPort }).includes('api_token') ? { headers: { authorization: `Bearer ${TOKEN}` } } : {}).catch(() => null);
        return r?.status === 200;
      });
    }
    return d;
  }

  /** SIGTERM, and the exit code and how long the daemon took to stop. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    const t0 = Date.now();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    const r = await this.exited;
    clearTimeout(killer);
    live.delete(this);
    return { ...r, ms: Date.now() - t0 };
  }

  /** Stop if running and remove the temp folder. */
  async cleanup(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The snapshot files of `service`, oldest first, parsed. */
  snapshots(service: string): Array<{ file: string; text: string; snapshot: Snapshot }> {
    const folder = path.join(this.snapshotDir, service);
    let names: string[];
    try {
      names = readdirSync(folder).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
    } catch {
      return [];
    }
    return names.sort().map((n) => {
      const file = path.join(folder, n);
      const text = readFileSync(file, 'utf8');
      return { file, text, snapshot: JSON.parse(text) as Snapshot };
    });
  }

  /** `preflight <args> --config <this config>` */
  cli(args: string[]): Promise<CliResult> {
    return runCli([...args, '--config', this.config]);
  }
}

/** The token the e2e configs use when they set api_token. */
export const TOKEN = 'e2e-api-token-5d41402abc4b2a76b9719d911017c592';

const live = new Set<RunningDaemon>();
// a failed assertion must not leave a daemon behind
process.on('exit', () => {
  for (const d of live) d.child.kill('SIGKILL');
});

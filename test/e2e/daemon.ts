// Shared by the end-to-end tests of the running daemon: the built bundle started as `preflight start`
// with a temp config, health endpoints on 127.0.0.1 that a test switches between answers, and the poll
// helper (from wait.ts). The daemon runs under `setpriv --pdeathsig KILL` where setpriv exists, so a test
// process killed without running its handlers takes the daemon with it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Snapshot } from '../../src/incident/snapshot';
import { freePort, request } from '../daemon/_helpers';
import { requireBundle, runCli, type CliResult } from './bundle';
import { waitFor } from './wait';

export { waitFor };

const HAS_SETPRIV = spawnSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).status === 0;

export type Mode = 'ok' | '503' | 'hang' | 'wrong-body' | 'refused';

/**
 * A health endpoint whose answer the test switches: ok, 503, hang, wrong body, or refused (the port is
 * closed, and reopened when the mode leaves 'refused'); `failNext(n)` fails only the next n checks.
 */
export class TestService {
  mode: Mode = 'ok';
  hits = 0;
  served = { ok: 0, failed: 0 };
  port = 0;
  private failNextN = 0;
  private server: http.Server | null = null;
  private readonly sockets = new Set<Socket>();

  static start(): Promise<TestService> {
    return new TestService().start();
  }

  async start(port = 0): Promise<this> {
    const server = http.createServer((_req, res) => {
      this.hits++;
      const mode = this.failNextN > 0 ? '503' : this.mode;
      if (this.failNextN > 0) this.failNextN--;
      if (mode === 'ok') this.served.ok++;
      else this.served.failed++;
      switch (mode) {
        case 'hang':
          return; // never answer: the probe must time out
        case '503':
          res.writeHead(503, { 'content-type': 'text/plain' });
          return res.end('down');
        case 'wrong-body':
          return res.end('maintenance\n');
        default:
          res.writeHead(200, { 'content-type': 'text/plain' });
          return res.end('ok');
      }
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Switch the answer; 'refused' closes the listening socket, and leaving it reopens the same port. */
  async set(mode: Mode): Promise<void> {
    if (mode === 'refused' && this.server) await this.close();
    else if (mode !== 'refused' && !this.server) await this.start(this.port);
    this.mode = mode;
  }

  failNext(n: number): void {
    this.failNextN = n;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const sock of this.sockets) sock.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/health`;
  }
}

const running = new Set<ChildProcess>();
// a failed assertion must not leave a daemon behind (it would also keep the test runner waiting on its pipes)
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/**
 * `node dist/preflight.js start --config F` as a child; its output is kept for assertions. `node` runs it under
 * another interpreter (a Node 18 from test/e2e/node18/); it must exec node itself, so that the pid, signals
 * and exit status the test sees are node's.
 */
export class PreflightProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(configFile: string, opts: { env?: NodeJS.ProcessEnv; args?: string[]; node?: string } = {}) {
    const node = opts.node ?? process.execPath;
    const argv = [requireBundle(), 'start', '--config', configFile, ...(opts.args ?? [])];
    const [file, args] = HAS_SETPRIV ? ['setpriv', ['--pdeathsig', 'KILL', '--', node, ...argv]] : [node, argv];
    this.child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    running.add(this.child);
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code, signal) => {
        running.delete(this.child);
        resolve({ code, signal });
      }),
    );
  }

  get output(): string {
    return this.stdout + this.stderr;
  }

  /** Signal the daemon (SIGTERM by default; SIGKILL after 20 s) and wait for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    const t0 = Date.now();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    const r = await this.exited;
    clearTimeout(killer);
    return { ...r, ms: Date.now() - t0 };
  }
}

/** Snapshot files of one service, oldest first, parsed (throws on a file that is not valid JSON). */
export function snapshotFiles(dir: string, service: string): Array<{ file: string; text: string; snapshot: Snapshot }> {
  const folder = path.join(dir, service);
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

export interface DaemonSpec {
  /** the YAML after the common top (snapshot_dir, fast intervals, listen); e.g. notifications: and services: */
  yaml: (ctx: { dir: string; apiPort: number }) => string;
  /** `listen:` value; default 127.0.0.1:<a free port> */
  listen?: (apiPort: number) => string;
  args?: string[];
  /** The interpreter for `start` and for `cli()`; default the test runner's own Node. */
  node?: string;
  /** Added to the daemon's and `cli()`'s environment (a key set to undefined is removed). */
  env?: NodeJS.ProcessEnv;
  /** Replaces FAST (the intervals and buffer sizes) in the config's top. */
  intervals?: string;
}

/** Intervals short enough for a test: a failure is confirmed in well under a second. */
// flap_window_seconds 0: these tests are about one failure each (episodes.test.ts has its own)
export const FAST = ['interval_seconds: 0.25', 'failure_threshold: 2', 'confirm_interval_seconds: 0.1', 'sample_seconds: 0.5', 'buffer_samples: 10', 'journal_lines: 10', 'flap_window_seconds: 0'].join('\n');

/** A daemon in its own temp folder with its API on a free port. */
export class RunningDaemon {
  private constructor(
    readonly process: PreflightProcess,
    readonly dir: string,
    readonly config: string,
    readonly apiPort: number,
    private readonly spec: DaemonSpec,
  ) {}

  get child(): ChildProcess {
    return this.process.child;
  }
  get stdout(): string {
    return this.process.stdout;
  }
  get stderr(): string {
    return this.process.stderr;
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
    const yaml = spec.yaml({ dir, apiPort });
    writeFileSync(config, `snapshot_dir: ${path.join(dir, 'snapshots')}\n${spec.intervals ?? FAST}\nlisten: "${listen}"\n${yaml}\n`);
    const p = new PreflightProcess(config, {
      env: { RUNTIME_DIRECTORY: path.join(dir, 'run'), ...spec.env },
      ...(spec.args ? { args: spec.args } : {}),
      ...(spec.node ? { node: spec.node } : {}),
    });
    const d = new RunningDaemon(p, dir, config, apiPort, spec);
    if (listen !== 'off') {
      await waitFor(`preflight's API on ${d.api} (output: ${p.output})`, 15_000, async () => {
        if (p.child.exitCode !== null) throw new Error(`preflight exited with ${p.child.exitCode}: ${p.output}`);
        const auth = yaml.includes('api_token') ? { headers: { authorization: `Bearer ${TOKEN}` } } : {};
        const r = await request(`${d.api}/healthz`, auth).catch(() => null);
        return r?.status === 200;
      });
    }
    return d;
  }

  stop(): ReturnType<PreflightProcess['stop']> {
    return this.process.stop();
  }

  /** Stop if running and remove the temp folder. */
  async cleanup(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The snapshot files of `service`, oldest first, parsed. */
  snapshots(service: string): ReturnType<typeof snapshotFiles> {
    return snapshotFiles(this.snapshotDir, service);
  }

  /** `preflight <args> --config <this config>`, under the daemon's interpreter */
  cli(args: string[]): Promise<CliResult> {
    const { node, env } = this.spec;
    return runCli([...args, '--config', this.config], { ...(node ? { node } : {}), ...(env ? { env: { ...process.env, ...env } } : {}) });
  }
}

/** The token the e2e configs use when they set api_token. */
export const TOKEN = 'e2e-api-token-5d41402abc4b2a76b9719d911017c592';

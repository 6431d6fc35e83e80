// E2E helpers: a switchable health endpoint on 127.0.0.1, and the built bundle run as a daemon.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { requireBundle } from './bundle';

export type Mode = 'ok' | '503' | 'hang' | 'wrong-body' | 'refused';

/** A health endpoint whose answer the test switches: ok, 503, hang, wrong body, or refused (closed port). */
export class TestService {
  mode: Mode = 'ok';
  hits = 0;
  private server: http.Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async start(port = 0): Promise<this> {
    const server = http.createServer((req, res) => {
      this.hits++;
      switch (this.mode) {
        case 'hang':
          return; // never answer: the probe must time out
        case '503':
          res.statusCode = 503;
          return res.end('unavailable\n');
        case 'wrong-body':
          return res.end('maintenance\n');
        default:
          return res.end('ok\n');
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
// a failing test must not leave a daemon behind (it would also keep the test runner waiting on its pipes)
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/** `node dist/preflight.js start --config F` as a child; its output is kept for assertions. */
export class PreflightProcess {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(configFile: string, opts: { bundle?: string; env?: NodeJS.ProcessEnv; args?: string[] } = {}) {
    this.child = spawn(process.execPath, [opts.bundle ?? requireBundle(), 'start', '--config', configFile, ...(opts.args ?? [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
    });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    running.add(this.child);
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        running.delete(this.child);
        resolve({ code, signal });
      }),
    );
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** Snapshot files (name -> parsed JSON) of one service; throws if any is not valid JSON. */
export function snapshotFiles(dir: string, service: string): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  let names: string[];
  try {
    names = readdirSync(path.join(dir, service));
  } catch {
    return out;
  }
  for (const name of names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort()) {
    const text = readFileSync(path.join(dir, service, name), 'utf8');
    out.set(name, JSON.parse(text) as Record<string, unknown>);
  }
  return out;
}

export async function waitUntil<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

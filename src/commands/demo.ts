// `preflight demo`: a real failure, caught. Starts a small service on 127.0.0.1, watches it with fast
// intervals from a temp folder, makes it fail for real (it eats memory and CPU, then answers 503),
// waits for the snapshot, lets it recover, prints the snapshot as `preflight last demo` would, and
// removes everything it made. No root, no config, nothing left behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../config/config';
import { Daemon } from '../daemon/daemon';
import { Logger } from '../daemon/log';
import { probe } from '../probe/http';
import { sleep } from '../util/time';
import { renderSnapshot } from '../incident/render';
import type { Snapshot } from '../incident/snapshot';
import { EXIT_OK, type Command, type Io } from './command';

/** The demo service, run as `node demo-service.js`: /health answers "ok" until /break, then it hogs and fails. */
const DEMO_SERVICE = `
const http = require('http');
const hog = [];
let broken = false;
const server = http.createServer((req, res) => {
  if (req.url === '/break') {
    broken = true;
    console.error('demo: a runaway loop: allocating memory and spinning the CPU, answering 503');
    // a runaway: grows to ~512 MiB and keeps one CPU busy until healed, answering checks in between
    const tick = () => {
      if (!broken) return;
      if (hog.length < 128) for (let i = 0; i < 8; i++) hog.push(Buffer.alloc(4 << 20, 1));
      const end = Date.now() + 95;
      while (Date.now() < end) {}
      setTimeout(tick, 2);
    };
    tick();
    return res.end('breaking\\n');
  }
  if (req.url === '/heal') { broken = false; hog.length = 0; return res.end('healed\\n'); }
  if (broken) { res.statusCode = 503; return res.end('out of memory, sorry\\n'); }
  res.end('ok\\n');
});
server.listen(0, '127.0.0.1', () => console.log(String(server.address().port)));
`;

/** Tell the demo service to break or heal (its control endpoints answer 200). */
async function control(port: number, what: '/break' | '/heal'): Promise<void> {
  const r = await probe({ url: `http://127.0.0.1:${port}${what}`, timeoutMs: 5000, expectStatus: [] });
  if (!r.ok) throw new Error(`demo: GET ${what}: ${r.message ?? r.errorKind}`);
}

function startService(io: Io, dir: string): Promise<{ child: ChildProcess; port: number }> {
  // a file of its own, so the process list and the finding name it as a person would see it
  const script = path.join(dir, 'demo-service.js');
  writeFileSync(script, DEMO_SERVICE);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => reject(new Error('the demo service did not start within 10 s')), 10_000);
    child.on('error', reject);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => io.out(`   (service) ${d.trim()}`));
    child.stdout!.setEncoding('utf8').once('data', (d: string) => {
      clearTimeout(timer);
      resolve({ child, port: Number(d.trim()) });
    });
  });
}

/** Resolves with what `register`'s callback is given; rejects (timer cleared) on timeout or Ctrl-C. */
function waitFor<T>(what: string, ms: number, signal: AbortSignal, register: (done: (v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const stop = (err: Error): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', aborted);
      reject(err);
    };
    const aborted = (): void => stop(new Error('demo: interrupted'));
    const timer = setTimeout(() => stop(new Error(`demo: no ${what} within ${ms / 1000} s`)), ms);
    if (signal.aborted) return aborted();
    signal.addEventListener('abort', aborted, { once: true });
    register((v) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', aborted);
      resolve(v);
    });
  });
}

function say(io: Io, text: string): void {
  io.out(`\n== ${text}`);
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'watch a local demo service fail for real and show the snapshot',
  usage: 'demo',
  options: {},
  positionals: [0, 0],
  async run({ io, signal }) {
    const dir = mkdtempSync(path.join(tmpdir(), 'preflight-demo-'));
    let service: { child: ChildProcess; port: number } | undefined;
    let daemon: Daemon | undefined;
    try {
      service = await startService(io, dir);
      const file = path.join(dir, 'preflight.yaml');
      const config = parseConfig(
        [
          `snapshot_dir: ${JSON.stringify(path.join(dir, 'snapshots'))}`,
          'interval_seconds: 1',
          'timeout_seconds: 1',
          'confirm_interval_seconds: 0.5',
          'failure_threshold: 2',
          'sample_seconds: 0.5',
          'buffer_samples: 20',
          'listen: off',
          'services:',
          '  - name: demo',
          `    health_url: http://127.0.0.1:${service.port}/health`,
          '    expect_body: ok',
        ].join('\n'),
        file,
      );
      say(io, `demo service on 127.0.0.1:${service.port}; preflight checks it every second (config: ${file})`);
      let onIncident: ((s: Snapshot) => void) | undefined;
      let onRecovery: ((s: Snapshot) => void) | undefined;
      daemon = new Daemon(config, new Logger(io, { human: true }), {
        onIncident: (s) => onIncident?.(s),
        onRecovery: (s) => onRecovery?.(s),
      });
      const incident = waitFor<Snapshot>('snapshot', 30_000, signal, (done) => (onIncident = done));
      // awaited below; until then an interruption must not count as an unhandled rejection
      incident.catch(() => undefined);
      await daemon.start();
      await sleep(3000, signal);
      if (signal.aborted) throw new Error('demo: interrupted');
      say(io, 'breaking the service: it eats memory and CPU, then answers 503');
      await control(service.port, '/break');
      const snapshot = await incident;
      say(io, `snapshot written; healing the service`);
      // the recovery can only come after the heal, so it is waited for from here on
      const recovery = waitFor<Snapshot>('recovery', 30_000, signal, (done) => (onRecovery = done));
      await control(service.port, '/heal');
      await recovery;
      await daemon.stop();
      const found = await daemon.store.last('demo');
      say(io, 'preflight last demo');
      io.out(renderSnapshot(JSON.parse(found?.text ?? JSON.stringify(snapshot)) as Snapshot, { timelineRows: 8, logLines: 10 }));
      io.out(`\n(\`preflight last demo --json\` prints the file itself: ${found?.text.length ?? 0} bytes of JSON)`);
      io.out(`\n(the demo's files were in ${dir} and are removed now)`);
      return EXIT_OK;
    } finally {
      await daemon?.stop();
      service?.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

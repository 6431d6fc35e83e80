// The fault suite's harness, on top of the e2e one (daemon.ts, bundle.ts, wait.ts): health endpoints for
// many services on one server, fake binaries on PATH, the daemon's peak RSS, and the check every row
// ends with: nothing was lost (every failure has exactly one snapshot that parses, no temp file is left).
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isTempName } from '../../../src/util/atomic';
import { snapshotFiles, type Mode } from '../daemon';

/** One HTTP server answering `/health/<name>` for many services; each name's answer is switched on its own. */
export class Endpoints {
  private readonly modes = new Map<string, Mode>();
  readonly hits = new Map<string, number>();
  /** answer this many ms late (any mode) */
  delayMs = 0;
  private server: http.Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  static async start(): Promise<Endpoints> {
    const e = new Endpoints();
    e.server = http.createServer((req, res) => {
      const name = decodeURIComponent((req.url ?? '').replace(/^\/health\//, ''));
      e.hits.set(name, (e.hits.get(name) ?? 0) + 1);
      const mode = e.modes.get(name) ?? 'ok';
      if (mode === 'hang') return;
      if (e.delayMs > 0) {
        setTimeout(() => answer(res, mode), e.delayMs);
        return;
      }
      answer(res, mode);
    });
    const answer = (res: http.ServerResponse, mode: Mode): void => {
      if (mode === 'ok') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
        return;
      }
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('down');
    };
    e.server.on('connection', (s) => {
      e.sockets.add(s);
      s.on('close', () => e.sockets.delete(s));
    });
    await new Promise<void>((resolve) => e.server!.listen(0, '127.0.0.1', () => resolve()));
    e.port = (e.server.address() as AddressInfo).port;
    return e;
  }

  url(name: string): string {
    return `http://127.0.0.1:${this.port}/health/${name}`;
  }

  /** Only '503', 'hang' and 'ok' on a shared server (refused would close every service's port). */
  set(names: string[], mode: Exclude<Mode, 'refused' | 'wrong-body'>): void {
    for (const n of names) this.modes.set(n, mode);
  }

  /** `services:` lines for these names. */
  yaml(names: string[], extra = ''): string {
    return `services:\n${names.map((n) => `  - name: ${n}\n    health_url: ${this.url(n)}\n${extra}`).join('')}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}

export const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);

/**
 * A folder to put first on PATH (or to be all of PATH): each tool a shell script, or null for "not
 * installed". setpriv, unshare and nsenter are linked in, as the harness starts the daemon through them.
 */
const binDirs: string[] = [];
process.on('exit', () => {
  for (const d of binDirs) rmSync(d, { recursive: true, force: true });
});

export function fakeBin(tools: Record<string, string | null>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'preflight-faults-bin-'));
  binDirs.push(dir); // removed when the test process exits
  chmodSync(dir, 0o755); // the unwritable-folder row runs the daemon as nobody
  for (const t of ['setpriv', 'unshare', 'nsenter']) symlinkSync(`/usr/bin/${t}`, path.join(dir, t));
  for (const [name, script] of Object.entries(tools)) {
    if (script === null) continue;
    writeFileSync(path.join(dir, name), `#!/bin/sh\n${script}\n`);
    chmodSync(path.join(dir, name), 0o755);
  }
  return dir;
}

/** A journalctl that says nothing and succeeds: the quiet default, so no row reads the host's journal. */
export const QUIET = { journalctl: 'exit 0', systemctl: null };

/** The daemon's peak resident set (VmHWM), in MiB, while it runs. */
export function peakRssMiB(pid: number | undefined): number {
  assert.ok(pid !== undefined, 'no pid');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1]);
  assert.ok(kb > 0, `no VmHWM in /proc/${pid}/status`);
  return Math.round(kb / 102.4) / 10;
}

/** Every temp file (`isTempName`) under `dir`, recursively. */
export function tempFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (isTempName(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * Intervals for rows whose healthy witness (or whose failing services' one-failure-one-file count)
 * must not depend on the test process's own scheduling: 15 rows run at once on 2 cores, and the
 * endpoints answer from this process, so FAST's 250 ms timeout saw a healthy endpoint "time out" in CI
 * (a snapshot of w0010, "no response within 250 ms"). A 1 s check with a 1 s timeout keeps the rows quick.
 */
export const LOADED = ['interval_seconds: 1', 'timeout_seconds: 1', 'failure_threshold: 2', 'confirm_interval_seconds: 0.1', 'sample_seconds: 0.5', 'buffer_samples: 10', 'journal_lines: 10', 'flap_window_seconds: 0'].join('\n');

/**
 * Nothing lost: each service in `failed` has exactly `per` snapshots in `dir`, each parses, is of that
 * service and carries its error; services in `healthy` have none; no temp file anywhere under `dir`
 * (a running daemon may be mid-write: a temp file still there 2 s later is one a write left).
 */
export async function assertNothingLost(dir: string, failed: string[], opts: { per?: number; healthy?: string[]; recovered?: boolean } = {}): Promise<void> {
  const per = opts.per ?? 1;
  const counts = Object.fromEntries(failed.map((s) => [s, snapshotFiles(dir, s).length]));
  assert.deepEqual(counts, Object.fromEntries(failed.map((s) => [s, per])), 'snapshots per failed service');
  for (const s of failed) {
    for (const f of snapshotFiles(dir, s)) {
      assert.equal(f.snapshot.service, s, f.file);
      assert.equal(f.snapshot.schema, 'preflight.snapshot/3', f.file);
      assert.ok(f.snapshot.error, `${f.file}: no error`);
      if (opts.recovered) assert.ok(f.snapshot.recovery, `${f.file}: no recovery`);
    }
  }
  for (const s of opts.healthy ?? []) assert.equal(snapshotFiles(dir, s).length, 0, `${s} never failed`);
  const seen = tempFiles(dir);
  if (seen.length > 0) await new Promise((r) => setTimeout(r, 2000));
  assert.deepEqual(tempFiles(dir).filter((f) => seen.includes(f)), [], 'temp files left');
}

/** What each row measured, printed at the end of the suite (and copied into bench/faults.md by hand). */
export const figures: Array<{ row: string; peakRssMiB: number | null; boundMiB: number | null; seconds: number; note?: string }> = [];

/** Record a row's figures and check its peak RSS (null: the row runs no daemon) against its bound. */
export function record(row: string, rss: number | null, boundMiB: number | null, t0: number, note?: string): void {
  figures.push({ row, peakRssMiB: rss, boundMiB, seconds: Math.round((Date.now() - t0) / 100) / 10, ...(note ? { note } : {}) });
  if (rss !== null && boundMiB !== null) assert.ok(rss < boundMiB, `${row}: peak RSS ${rss} MiB over the bound ${boundMiB} MiB`);
}

export function writeFigures(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
}

// Rows where the snapshot folder stops taking writes: full (a small tmpfs), read-only (a bind mount
// remounted ro), unwritable (the daemon as nobody, the folder 0555). Each in its own mount namespace or
// as another user, never the host's mounts. Each failure must be notified with a link the API serves,
// and once the folder takes writes again every snapshot lands in it exactly once, with its recovery.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, mkdirSync, openSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { receiver, request, type Receiver } from '../../daemon/_helpers';
import { RunningDaemon, waitFor } from '../daemon';
import { Endpoints, LOADED, assertNothingLost, fakeBin, names, peakRssMiB, record, QUIET } from './harness';
import type { Row } from './row';

const NOBODY = 65534;

/**
 * A `node` for RunningDaemon that first runs `$FAULT_SETUP` in a new mount namespace (private
 * propagation: nothing reaches the host), then execs node with the same pid. $SNAP is the snapshot dir.
 */
function nsNode(bin: string, setup: string): string {
  const file = path.join(bin, 'ns-node');
  const script = [
    '#!/bin/sh',
    'SNAP="$(dirname "$RUNTIME_DIRECTORY")/snapshots"',
    `exec unshare -m --propagation private /bin/sh -c 'set -e; SNAP="$1"; shift; mkdir -p "$SNAP"; ${setup}; exec "${process.execPath}" "$@"' sh "$SNAP" "$@"`,
  ].join('\n');
  spawnSync('sh', ['-c', `cat > '${file}' && chmod 755 '${file}'`], { input: `${script}\n` });
  return file;
}

/** A `node` that drops to nobody:nogroup (no supplementary groups) and keeps the parent-death signal. */
function nobodyNode(bin: string): string {
  const file = path.join(bin, 'nobody-node');
  spawnSync('sh', ['-c', `cat > '${file}' && chmod 755 '${file}'`], {
    input: `#!/bin/sh\nexec setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups --pdeathsig KILL -- "${process.execPath}" "$@"\n`,
  });
  return file;
}

interface Fault {
  row: string;
  /** the `node` to start the daemon with (a namespace or another user), given the fake bin folder */
  node?: (bin: string) => string;
  /** called from the config callback: the temp folder exists, the daemon does not yet */
  prepare?: (dir: string) => void;
  /** make the snapshot folder refuse writes (after the daemon started) */
  breakIt: (d: RunningDaemon) => void;
  fixIt: (d: RunningDaemon) => void;
  /** where the test reads the daemon's snapshot folder (its mount namespace's view) */
  view: (d: RunningDaemon) => string;
}

async function parkRow(f: Fault): Promise<void> {
  const t0 = Date.now();
  const ep = await Endpoints.start();
  const hook: Receiver = await receiver(() => ({ status: 200 }));
  const bin = fakeBin(QUIET);
  const all = names('st', 4);
  const failing = all.slice(0, 3);
  let d: RunningDaemon | undefined;
  try {
    d = await RunningDaemon.start({
      ...(f.node ? { node: f.node(bin) } : {}),
      env: { PATH: `${bin}:/usr/bin:/bin` },
      intervals: LOADED,
      yaml: ({ dir, apiPort }) => {
        f.prepare?.(dir);
        return `notifications:\n  webhook: ${hook.url}/hook\n  format: json\n  recovery: false\n  public_url: http://127.0.0.1:${apiPort}\n${ep.yaml(all)}`;
      },
    });
    const daemon = d;
    await waitFor('every service checked twice', 10_000, () => all.every((s) => (ep.hits.get(s) ?? 0) >= 2));
    f.breakIt(daemon);
    ep.set(failing, '503');
    await waitFor(`3 notifications (log: ${daemon.stdout.slice(-2000)})`, 20_000, () => hook.got.length >= 3);
    // each message's link serves its snapshot while it is parked, and nothing reached the folder
    const got = hook.got.map((r) => JSON.parse(r.body) as { service: string; link: string });
    assert.deepEqual(got.map((g) => g.service).sort(), failing);
    for (const g of got) {
      const r = await request(g.link);
      assert.equal(r.status, 200, `${g.link}: ${r.body.slice(0, 200)}`);
      const s = JSON.parse(r.body) as { service: string; id: string };
      assert.equal(s.service, g.service);
      assert.ok(g.link.endsWith(`/failure-context/${g.service}/${s.id}`), g.link);
    }
    assert.deepEqual(
      failing.map((s) => readdirSafe(path.join(f.view(daemon), s)).filter((n) => n.endsWith('.json'))),
      failing.map(() => []),
      'parked, not in the folder',
    );
    f.fixIt(daemon);
    ep.set(failing, 'ok');
    await waitFor('every snapshot back in the folder with its recovery', 20_000, () =>
      failing.every((s) => {
        try {
          const files = readdirSafe(path.join(f.view(daemon), s)).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
          return files.length === 1 && assertRecovered(path.join(f.view(daemon), s, files[0]!));
        } catch {
          return false;
        }
      }),
    ).catch((err: Error) => {
      // what is where now, and the log since the fault: the message of a timeout says only "timed out"
      const where = [f.view(daemon), path.join(daemon.dir, 'run')].map((d) => spawnSync('find', [d], { encoding: 'utf8' }).stdout).join('');
      throw new Error(`${err.message}\n--- files\n${where}--- log\n${daemon.process.output.slice(-4000)}`);
    });
    await assertNothingLost(f.view(daemon), failing, { healthy: all.slice(3), recovered: true });
    assert.equal(hook.got.length, 3, 'one message per failure, none for the move back');
    const rss = peakRssMiB(daemon.child.pid);
    // parked copies are gone once moved back
    assert.deepEqual(jsonUnder(path.join(daemon.dir, 'run')), [], 'parked copies left');
    const stop = await daemon.stop();
    assert.equal(stop.code, 0, daemon.process.output.slice(-2000));
    record(f.row, rss, 200, t0);
  } finally {
    await d?.cleanup();
    await ep.close();
    await hook.close();
    spawnSync('rm', ['-rf', bin]);
  }
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function jsonUnder(dir: string): string[] {
  const r = spawnSync('find', [dir, '-name', '*.json', '-type', 'f'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}

function assertRecovered(file: string): boolean {
  const s = JSON.parse(spawnSync('cat', [file], { encoding: 'utf8' }).stdout) as { recovery?: unknown };
  return Boolean(s.recovery);
}

const ns = (d: RunningDaemon): string => `/proc/${d.child.pid}/root${d.snapshotDir}`;
const inNs = (d: RunningDaemon, ...cmd: string[]): void => {
  const r = spawnSync('nsenter', ['-t', String(d.child.pid), '-m', '--', ...cmd], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd.join(' ')}: ${r.stderr}`);
};

export const storageRows: Row[] = [
  {
    name: 'disk full (4 MiB tmpfs): parked, notified, served, moved back once',
    run: () => {
      let filler = '';
      return parkRow({
        row: 'disk full',
        node: (bin) => nsNode(bin, 'mount -t tmpfs -o size=4m,mode=0755 preflight-faults "$SNAP"'),
        breakIt: (d) => {
          filler = path.join(ns(d), '.filler');
          const fd = openSync(filler, 'w');
          const chunk = Buffer.alloc(64 * 1024, 120);
          try {
            for (;;) writeSync(fd, chunk);
          } catch (err) {
            assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
          } finally {
            closeSync(fd);
          }
        },
        fixIt: () => unlinkSync(filler),
        view: ns,
      });
    },
  },
  {
    name: 'read-only mount: parked, notified, served, moved back once',
    run: () =>
      parkRow({
        row: 'read-only mount',
        node: (bin) => nsNode(bin, 'mount --bind "$SNAP" "$SNAP"'),
        breakIt: (d) => inNs(d, 'mount', '-o', 'remount,bind,ro', d.snapshotDir),
        fixIt: (d) => inNs(d, 'mount', '-o', 'remount,bind,rw', d.snapshotDir),
        view: (d) => d.snapshotDir,
      }),
  },
  {
    name: 'unwritable folder (nobody, 0555): parked, notified, served, moved back once',
    run: () =>
      parkRow({
        row: 'unwritable dir (non-root)',
        node: (bin) => nobodyNode(bin),
        prepare: (dir) => {
          chmodSync(dir, 0o755);
          for (const sub of ['snapshots', 'run']) {
            mkdirSync(path.join(dir, sub));
            chownSync(path.join(dir, sub), NOBODY, NOBODY);
          }
          chmodSync(path.join(dir, 'snapshots'), 0o555);
        },
        breakIt: () => undefined,
        fixIt: (d) => chmodSync(d.snapshotDir, 0o755),
        view: (d) => d.snapshotDir,
      }),
  },
];

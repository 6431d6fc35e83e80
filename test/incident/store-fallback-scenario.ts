// Child process for the disk-full test; run as root inside `unshare -m`, so its mounts vanish with it.
// Mounts a 64 KiB tmpfs as the snapshot dir and fills it (ENOSPC), and a read-only tmpfs (EROFS),
// drives the store through park -> list -> flush, and prints what it saw as one JSON line.
// Usage: store-fallback-scenario.ts <fullDir> <roDir> <fallbackDir>
import { execFileSync } from 'node:child_process';
import { chownSync, closeSync, existsSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { SnapshotStore, type StoredSnapshot } from '../../src/incident/store';

function mount(args: string[]): void {
  execFileSync('mount', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

function fill(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (let i = 0; i < 1_000_000; i++) writeSync(fd, chunk);
    throw new Error(`${dir} never filled up`);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return filler;
}

const snap = (id: string, n: number): StoredSnapshot & { pad: string } => ({
  schema: 'preflight.snapshot/1',
  id,
  service: 'web',
  trigger: 'health_check',
  summary: `disk / 100% (#${n})`,
  transition: { first_failure_at: '2026-11-25T03:04:05.123Z' },
  pad: 'e'.repeat(8192),
});

const names = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);

async function main(): Promise<void> {
  const [full, ro, fallback] = process.argv.slice(2) as [string, string, string];
  const out: Record<string, unknown> = {};

  // --- ENOSPC: a full tmpfs ---
  mount(['-t', 'tmpfs', '-o', 'size=64k,mode=0750', 'tmpfs', full]);
  const filler = fill(full);
  const warnings: string[] = [];
  const errors: string[] = [];
  const store = new SnapshotStore({ dir: full, retention: 5, fallbackDir: fallback, warn: (m) => warnings.push(m), error: (m) => errors.push(m) });
  const at = new Date('2026-11-25T03:04:05.123Z');
  const a = snap(store.newId('web', at), 1);
  const b = snap(store.newId('web', at), 2);
  out.savedA = await store.save(a);
  out.savedB = await store.save(b);
  out.parkWarnings = warnings.filter((w) => w.includes('ENOSPC')).length;
  out.parkErrors = errors.filter((e) => e.includes('ENOSPC')).map((e) => /summary: (.*?); first finding/.exec(e)?.[1]);
  out.listedWhileFull = (await store.list('web')).map((e) => ({ id: e.id, parked: e.parked === true, path: e.path }));
  out.lastWhileFull = (await store.last('web'))?.entry.id ?? null;
  out.namesInFullWebDir = names(path.join(full, 'web'));
  out.rewriteWhileFull = await store.rewrite({ ...a, recovery: { at: '2026-11-25T03:09:00.000Z' } });
  out.flushWhileFull = await store.flushFallback();
  unlinkSync(filler);
  out.flushAfterFree = await store.flushFallback();
  out.listedAfter = (await store.list('web')).map((e) => ({ id: e.id, parked: e.parked === true, path: e.path }));
  out.fallbackAfter = names(path.join(fallback, 'web'));
  out.aHasRecovery = 'recovery' in (JSON.parse(readFileSync(path.join(full, 'web', `${a.id}.json`), 'utf8')) as object);
  out.ids = [a.id, b.id];

  // --- EROFS: a read-only mount (the service folder cannot even be created) ---
  mount(['-t', 'tmpfs', '-o', 'size=1m,mode=0750', 'tmpfs', ro]);
  mount(['-o', 'remount,ro', ro]);
  const roWarnings: string[] = [];
  const roFallback = `${fallback}-ro`;
  const roStore = new SnapshotStore({ dir: ro, retention: 5, fallbackDir: roFallback, warn: (m) => roWarnings.push(m), error: () => undefined });
  const c = snap(roStore.newId('web', at), 3);
  out.roSaved = await roStore.save(c);
  out.roWarnings = roWarnings.filter((w) => w.includes('EROFS')).length;
  mount(['-o', 'remount,rw', ro]);
  out.roFlushed = await roStore.flushFallback();
  out.roInDir = names(path.join(ro, 'web'));
  out.roFallbackAfter = names(path.join(roFallback, 'web'));
  out.roId = c.id;

  // --- the default fallback: a per-user folder on /dev/shm (a private tmpfs here), refused if not ours ---
  mount(['-t', 'tmpfs', '-o', 'size=1m,mode=1777', 'tmpfs', '/dev/shm']);
  mount(['-o', 'remount,ro', ro]);
  const uid = process.getuid?.() ?? 0;
  const shmRoot = `/dev/shm/preflight-${uid}`;
  const defStore = new SnapshotStore({ dir: ro, retention: 5 });
  out.defaultSaved = await defStore.save(snap(defStore.newId('web', at), 4));
  out.defaultFallbackDir = defStore.fallbackDir;
  out.defaultRootMode = statSync(shmRoot).mode & 0o7777;
  out.defaultListedParked = (await defStore.list('web')).filter((e) => e.parked === true).length;
  chownSync(shmRoot, 65534, 65534); // now someone else's folder: must not be trusted
  const hijackedErrors: string[] = [];
  const hijacked = new SnapshotStore({ dir: ro, retention: 5, error: (m) => hijackedErrors.push(m) });
  const h = snap(hijacked.newId('web', at), 5);
  await hijacked.save(h);
  out.hijackedError = hijackedErrors.join('\n');
  out.hijackedParkedIn = hijacked.parkedIn('web', h.id);

  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});

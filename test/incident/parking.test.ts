// Parking: a snapshot the dir refuses (any reason) waits in the fallback folder, else in memory
// (bounded), is served by read/last/list/find, keeps its rewrites, and lands once the dir takes writes.
// Tests run as root, which permissions do not stop: a refusing folder is made by a file in its place
// (ENOTDIR), which refuses root too.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { MemoryPark } from '../../src/incident/parking';
import { SnapshotStore, snapshotGist, snapshotIdFor, type StoredSnapshot } from '../../src/incident/store';
import { tempNameFor } from '../../src/util/atomic';

const root = mkdtempSync(path.join(os.tmpdir(), 'preflight-parking-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A store whose dir and fallback are both files (both refuse), until `fix()` makes the dir a folder. */
function broken(extra: { memoryPark?: { maxSnapshots?: number; maxBytes?: number }; fallbackWorks?: boolean } = {}) {
  const base = path.join(root, String(n++));
  mkdirSync(base);
  const dir = path.join(base, 'snapshots');
  const fallbackDir = path.join(base, 'fallback');
  writeFileSync(dir, 'not a folder');
  if (!extra.fallbackWorks) writeFileSync(fallbackDir, 'not a folder');
  const warnings: string[] = [];
  const errors: string[] = [];
  const store = new SnapshotStore({
    dir,
    retention: 5,
    fallbackDir,
    warn: (m) => warnings.push(m),
    error: (m) => errors.push(m),
    ...(extra.memoryPark ? { memoryPark: extra.memoryPark } : {}),
  });
  const fix = (): void => {
    unlinkSync(dir);
    mkdirSync(dir);
  };
  return { base, dir, fallbackDir, store, warnings, errors, fix };
}

const T0 = new Date('2026-11-25T03:04:05.123Z');
const at = (ms: number): string => snapshotIdFor(new Date(T0.getTime() + ms));

function snap(service: string, id: string, extra: Record<string, unknown> = {}): StoredSnapshot {
  return {
    schema: 'preflight.snapshot/2',
    id,
    service,
    trigger: 'health_check',
    summary: `RAM 94% | ${id}`,
    probable_cause: 'killed by the OOM killer',
    findings: [{ cause: 'killed by the OOM killer', evidence: [] }],
    transition: { first_failure_at: T0.toISOString() },
    ...extra,
  } as StoredSnapshot;
}

describe('parking in memory when the dir and the fallback both refuse', () => {
  test('saved, served by read/last/list/find, counted, and said at err with its gist', async () => {
    const { store, errors, warnings, dir } = broken();
    const s = snap('web', at(0));
    const saved = await store.save(s);
    assert.equal(saved, path.join(dir, 'web', `${s.id}.json`), 'the path it will land at');
    assert.equal(store.parkedIn('web', s.id), 'memory');
    assert.deepEqual(store.stats(), { parkedFallback: 0, parkedMemory: 1, writeFailuresTotal: 1 });
    assert.equal(store.parking, true);
    const want = `${JSON.stringify(s, null, 2)}\n`;
    assert.equal((await store.read('web', s.id))?.text, want, 'read');
    assert.equal((await store.last('web'))?.text, want, 'last');
    assert.deepEqual((await store.find(s.id)).map((f) => f.text), [want], 'find');
    const listed = await store.list();
    assert.deepEqual(listed.map((e) => [e.service, e.id, e.parked, e.parkedIn]), [['web', s.id, true, 'memory']], 'list');
    assert.equal(errors.length, 1);
    assert.match(errors[0] ?? '', /^snapshot web\/\S+ not written \(.*ENOTDIR.*\) and the fallback failed too \(.*\): parked in memory/);
    assert.ok(errors[0]?.endsWith(snapshotGist(s)), errors[0]);
    assert.equal(snapshotGist(s), `summary: RAM 94% | ${s.id}; first finding: killed by the OOM killer`);
    assert.equal(warnings.filter((w) => w.includes('cannot take snapshots')).length, 1, 'the outage warned once');
  });

  test('a rewrite (the recovery) is kept in memory, said once, and lands with the snapshot once the dir works', async () => {
    const { store, errors, dir, fix } = broken();
    const s = snap('web', at(0));
    await store.save(s);
    await store.rewrite({ ...s, recovery: { at: '2026-11-25T03:09:00.000Z' } } as StoredSnapshot);
    assert.equal(errors.length, 1, 'the rewrite of a parked snapshot is not a new err line');
    assert.equal(await store.flushFallback(), 0, 'still refused: nothing lands');
    assert.equal(store.parkedIn('web', s.id), 'memory');
    fix();
    assert.equal(await store.flushFallback(), 1);
    const file = path.join(dir, 'web', `${s.id}.json`);
    assert.deepEqual((JSON.parse(readFileSync(file, 'utf8')) as { recovery?: unknown }).recovery, { at: '2026-11-25T03:09:00.000Z' });
    assert.deepEqual(readdirSync(path.join(dir, 'web')), [`${s.id}.json`], 'once, and no temp file');
    assert.deepEqual(store.stats(), { parkedFallback: 0, parkedMemory: 0, writeFailuresTotal: 2 });
    assert.equal(store.parking, false);
    assert.equal(await store.flushFallback(), 0, 'a second flush moves nothing');
  });

  test('when only the dir refuses, the fallback takes it; a flush moves it back', async () => {
    const { store, fallbackDir, dir, fix } = broken({ fallbackWorks: true });
    const s = snap('api', at(0));
    assert.equal(await store.save(s), path.join(fallbackDir, 'api', `${s.id}.json`));
    assert.equal(store.parkedIn('api', s.id), 'fallback');
    assert.deepEqual(store.stats(), { parkedFallback: 1, parkedMemory: 0, writeFailuresTotal: 1 });
    fix();
    assert.equal(await store.flushFallback(), 1);
    assert.ok(existsSync(path.join(dir, 'api', `${s.id}.json`)));
    assert.equal(store.parkedIn('api', s.id), null);
    assert.deepEqual(store.stats(), { parkedFallback: 0, parkedMemory: 0, writeFailuresTotal: 1 });
  });

  test('the memory bound drops the oldest, each with an err line', async () => {
    const { store, errors } = broken({ memoryPark: { maxSnapshots: 2 } });
    const ids = [at(0), at(1), at(2)];
    for (const id of ids) await store.save(snap('web', id));
    assert.deepEqual((await store.list('web')).map((e) => e.id), [ids[2], ids[1]]);
    const dropped = errors.filter((e) => e.includes('dropped from memory parking'));
    assert.equal(dropped.length, 1);
    assert.ok(dropped[0]?.startsWith(`snapshot web/${ids[0]} dropped`), dropped[0]);
    assert.ok(dropped[0]?.includes(`summary: RAM 94% | ${ids[0]}; first finding: killed by the OOM killer`), dropped[0]);
  });

  test('a snapshot that cannot be JSON is a SnapshotSerializeError naming it', async () => {
    const { store } = broken();
    const s = snap('web', at(0), { big: 1n });
    await assert.rejects(store.save(s), (err: unknown) => {
      assert.equal((err as Error).name, 'SnapshotSerializeError');
      assert.equal((err as { service?: string }).service, 'web');
      assert.equal((err as { id?: string }).id, s.id);
      return true;
    });
  });
});

describe('MemoryPark bounds', () => {
  test('table', () => {
    const cases: { name: string; input: { max: number; bytes: number; put: Array<[string, number]> }; want: { held: string[]; dropped: string[] } }[] = [
      { name: 'under both bounds', input: { max: 3, bytes: 100, put: [['a', 10], ['b', 10]] }, want: { held: ['a', 'b'], dropped: [] } },
      { name: 'count bound drops the oldest', input: { max: 2, bytes: 100, put: [['a', 10], ['b', 10], ['c', 10]] }, want: { held: ['b', 'c'], dropped: ['a'] } },
      { name: 'byte bound drops as many as needed', input: { max: 9, bytes: 100, put: [['a', 40], ['b', 40], ['c', 90]] }, want: { held: ['c'], dropped: ['a', 'b'] } },
      { name: 'one larger than the whole bound is not held', input: { max: 9, bytes: 100, put: [['a', 40], ['b', 101]] }, want: { held: ['a'], dropped: ['b'] } },
      { name: 'a put of a held key replaces it and makes it newest', input: { max: 2, bytes: 100, put: [['a', 10], ['b', 10], ['a', 20], ['c', 10]] }, want: { held: ['a', 'c'], dropped: ['b'] } },
    ];
    for (const c of cases) {
      const m = new MemoryPark(c.input.max, c.input.bytes);
      const dropped: string[] = [];
      for (const [key, size] of c.input.put) for (const d of m.put('web', key, 'x'.repeat(size))) dropped.push(d.id);
      assert.deepEqual(m.all().map((p) => p.id), c.want.held, c.name);
      assert.deepEqual(dropped, c.want.dropped, c.name);
      assert.equal(m.bytes, m.all().reduce((t, p) => t + p.bytes, 0), `${c.name}: bytes`);
    }
  });
});

describe('sweepTemp', () => {
  test('removes temp files older than a minute, or whose writer is gone, from the dir, service folders and the fallback; nothing else', async () => {
    // a pid that was alive a moment ago and is not now: a child that exited and was reaped
    const deadPid = spawnSync('true').pid;
    const base = path.join(root, String(n++));
    const dir = path.join(base, 'snapshots');
    const fallbackDir = path.join(base, 'fallback');
    for (const d of [path.join(dir, 'web'), path.join(fallbackDir, 'api')]) mkdirSync(d, { recursive: true });
    const now = Date.now();
    const plant = (folder: string, name: string, ageMs: number): string => {
      const p = path.join(folder, name);
      writeFileSync(p, '{"half');
      utimesSync(p, (now - ageMs) / 1000, (now - ageMs) / 1000);
      return p;
    };
    const cases = [
      { name: 'old, in a service folder', file: plant(path.join(dir, 'web'), path.basename(tempNameFor('/x/a.json')), 120_000), want: false },
      { name: 'old, in the dir (state)', file: plant(dir, path.basename(tempNameFor('/x/.state.json')), 61_000), want: false },
      { name: 'old, in the fallback', file: plant(path.join(fallbackDir, 'api'), path.basename(tempNameFor('/x/b.json')), 3_600_000), want: false },
      { name: 'young: a live writer (this process)', file: plant(path.join(dir, 'web'), path.basename(tempNameFor('/x/c.json')), 5_000), want: true },
      { name: 'young, its writer alive (pid 1)', file: plant(path.join(dir, 'web'), '.d.json.tmp-1-0badf00d', 5_000), want: true },
      { name: 'young, its writer gone (a kill -9 seconds ago)', file: plant(path.join(dir, 'web'), `.e.json.tmp-${deadPid}-0badf00d`, 2_000), want: false },
      { name: 'old, but not a temp name', file: plant(path.join(dir, 'web'), '.notes', 3_600_000), want: true },
    ];
    const store = new SnapshotStore({ dir, retention: 5, fallbackDir });
    const removed = await store.sweepTemp(60_000, now);
    for (const c of cases) assert.equal(existsSync(c.file), c.want, c.name);
    assert.deepEqual(removed.sort(), cases.filter((c) => !c.want).map((c) => c.file).sort());
  });
});

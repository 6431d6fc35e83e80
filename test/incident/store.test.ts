import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  SNAPSHOT_ID_RE,
  SnapshotStore,
  checkSnapshotText,
  compareSnapshotIds,
  snapshotIdFor,
  snapshotIdTime,
  type StoredSnapshot,
} from '../../src/incident/store';
import { FileError, isTempName } from '../../src/util/atomic';
import { ParseError } from '../../src/util/errors';

const REPO = path.resolve(__dirname, '..', '..');
const root = mkdtempSync(path.join(os.tmpdir(), 'preflight-store-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
/** A fresh folder for one test, plus a store on `<it>/snapshots` with its fallback in `<it>/fallback`. */
function fresh(retention = 50, extra: { maxSnapshotBytes?: number } = {}) {
  const base = path.join(root, String(n++));
  mkdirSync(base);
  const warnings: string[] = [];
  const dir = path.join(base, 'snapshots');
  const fallbackDir = path.join(base, 'fallback');
  const store = new SnapshotStore({ dir, retention, fallbackDir, warn: (m) => warnings.push(m), ...extra });
  return { base, dir, fallbackDir, store, warnings };
}

const T0 = new Date('2026-11-25T03:04:05.123Z');
const plus = (ms: number): Date => new Date(T0.getTime() + ms);

function snap(service: string, id: string, extra: Record<string, unknown> = {}): StoredSnapshot {
  return {
    schema: 'preflight.snapshot/1',
    id,
    service,
    trigger: 'health_check',
    summary: `RAM 94% | ${service} ${id}`,
    transition: { first_failure_at: (snapshotIdTime(id) ?? T0).toISOString() },
    ...extra,
  };
}

/** Every file below `dir`, relative, sorted (to prove a call touched nothing). */
function tree(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = path.join(prefix, e.name);
    out.push(rel);
    if (e.isDirectory()) out.push(...tree(path.join(dir, e.name), rel));
  }
  return out.sort();
}

describe('snapshot ids', () => {
  test('SNAPSHOT_ID_RE accepts only snapshot ids', () => {
    const cases = [
      { name: 'plain', input: '2026-11-25T03-04-05.123Z', want: true },
      { name: 'collision suffix', input: '2026-11-25T03-04-05.123Z-1', want: true },
      { name: 'largest suffix', input: '2026-11-25T03-04-05.123Z-9999', want: true },
      { name: 'suffix too long', input: '2026-11-25T03-04-05.123Z-10000', want: false },
      { name: 'suffix -0', input: '2026-11-25T03-04-05.123Z-0', want: false },
      { name: 'suffix -01', input: '2026-11-25T03-04-05.123Z-01', want: false },
      { name: 'colons (not filesystem-safe)', input: '2026-11-25T03:04:05.123Z', want: false },
      { name: 'no milliseconds', input: '2026-11-25T03-04-05Z', want: false },
      { name: 'lowercase z', input: '2026-11-25T03-04-05.123z', want: false },
      { name: 'month 13', input: '2026-13-25T03-04-05.123Z', want: false },
      { name: 'hour 24', input: '2026-11-25T24-04-05.123Z', want: false },
      { name: 'with .json', input: '2026-11-25T03-04-05.123Z.json', want: false },
      { name: 'dot dot', input: '..', want: false },
      { name: 'slash', input: '2026-11-25T03-04-05.123Z/x', want: false },
      { name: 'traversal', input: '../2026-11-25T03-04-05.123Z', want: false },
      { name: 'encoded slash', input: '2026-11-25T03-04-05.123Z%2f..', want: false },
      { name: '%2f alone', input: '%2f', want: false },
      { name: 'NUL', input: '2026-11-25T03-04-05.123Z\0', want: false },
      { name: 'trailing newline', input: '2026-11-25T03-04-05.123Z\n', want: false },
      { name: 'leading space', input: ' 2026-11-25T03-04-05.123Z', want: false },
      { name: 'over-long', input: `2026-11-25T03-04-05.123Z-1${'1'.repeat(5000)}`, want: false },
      { name: 'empty', input: '', want: false },
    ];
    for (const c of cases) assert.equal(SNAPSHOT_ID_RE.test(c.input), c.want, c.name);
  });

  test('snapshotIdFor is the UTC time made filesystem-safe, and round-trips through snapshotIdTime', () => {
    const cases = [
      { name: 'example', input: new Date('2026-11-25T03:04:05.123Z'), want: '2026-11-25T03-04-05.123Z' },
      { name: 'epoch', input: new Date(0), want: '1970-01-01T00-00-00.000Z' },
      { name: 'offset input is UTC', input: new Date('2026-11-25T05:04:05.120+02:00'), want: '2026-11-25T03-04-05.120Z' },
      { name: 'year 9999', input: new Date('9999-12-31T23:59:59.999Z'), want: '9999-12-31T23-59-59.999Z' },
    ];
    for (const c of cases) {
      const id = snapshotIdFor(c.input);
      assert.equal(id, c.want, c.name);
      assert.equal(snapshotIdTime(id)?.getTime(), c.input.getTime(), c.name);
      assert.equal(snapshotIdTime(`${id}-3`)?.getTime(), c.input.getTime(), `${c.name} with suffix`);
    }
    assert.equal(snapshotIdTime('../x'), null);
  });

  test('snapshotIdFor refuses dates it cannot name', () => {
    const cases = [
      { name: 'invalid', input: new Date(Number.NaN) },
      { name: 'year 10000', input: new Date('+010000-01-01T00:00:00.000Z') },
      { name: 'negative year', input: new Date('-000001-01-01T00:00:00.000Z') },
    ];
    for (const c of cases) assert.throws(() => snapshotIdFor(c.input), RangeError, c.name);
  });

  test('compareSnapshotIds orders by time, then suffix numerically', () => {
    const want = [
      '2026-11-25T03-04-05.122Z',
      '2026-11-25T03-04-05.123Z',
      '2026-11-25T03-04-05.123Z-1',
      '2026-11-25T03-04-05.123Z-2',
      '2026-11-25T03-04-05.123Z-10',
      '2026-11-25T03-04-06.000Z',
      '2027-01-01T00-00-00.000Z',
    ];
    const shuffled = [want[4], want[0], want[6], want[2], want[5], want[1], want[3]] as string[];
    assert.deepEqual(shuffled.sort(compareSnapshotIds), want);
  });
});

describe('SnapshotStore save/read/list/last/rewrite', () => {
  test('round trip: the file is the snapshot, text is its bytes, entries carry the index fields', async () => {
    const { dir, store, warnings } = fresh();
    const s = snap('web', store.newId('web', T0), { error: { kind: 'timeout' }, note: 'ünïcödé' });
    const p = await store.save(s);
    assert.equal(p, path.join(dir, 'web', '2026-11-25T03-04-05.123Z.json'));
    assert.deepEqual(JSON.parse(readFileSync(p, 'utf8')), s);

    const got = await store.read('web', s.id);
    assert.ok(got);
    assert.equal(got.text, readFileSync(p, 'utf8'));
    assert.deepEqual(got.entry, { service: 'web', id: s.id, at: '2026-11-25T03:04:05.123Z', trigger: 'health_check', summary: s.summary, probableCause: '', path: p, episode: { state: 'open', occurrences: 1, restarts: 0, downtime_seconds: 0 } });

    assert.deepEqual(await store.list(), [got.entry]);
    assert.deepEqual(await store.last('web'), got);
    assert.equal(await store.last('api'), null);
    assert.equal(await store.read('web', '2026-11-25T03-04-05.124Z'), null);

    const withRecovery = { ...s, recovery: { at: '2026-11-25T03:09:00.000Z', downtime_seconds: 295 } };
    assert.equal(await store.rewrite(withRecovery), p);
    assert.deepEqual(JSON.parse((await store.read('web', s.id))?.text ?? 'null'), withRecovery);
    assert.equal((await store.list('web')).length, 1);
    assert.deepEqual(readdirSync(path.join(dir, 'web')), [`${s.id}.json`]);
    assert.deepEqual(warnings, []);
  });

  test('rewrite of a snapshot that does not exist is an ENOENT error, and writes nothing', async () => {
    const { dir, store } = fresh();
    await assert.rejects(store.rewrite(snap('web', snapshotIdFor(T0))), (err: unknown) => {
      assert.ok(err instanceof FileError);
      assert.equal(err.code, 'ENOENT');
      return true;
    });
    assert.deepEqual(tree(dir), []);
  });

  test('list is newest first across services; list(service) filters', async () => {
    const { store } = fresh();
    const plan = [
      { service: 'web', ms: 0 },
      { service: 'api', ms: 5000 },
      { service: 'web', ms: 2000 },
      { service: 'db', ms: 1000 },
      { service: 'api', ms: -3000 },
    ];
    for (const p of plan) await store.save(snap(p.service, store.newId(p.service, plus(p.ms))));
    const all = await store.list();
    assert.deepEqual(
      all.map((e) => `${e.service}@${e.id}`),
      [...plan].sort((a, b) => b.ms - a.ms).map((p) => `${p.service}@${snapshotIdFor(plus(p.ms))}`),
    );
    assert.deepEqual((await store.list('web')).map((e) => e.id), [snapshotIdFor(plus(2000)), snapshotIdFor(T0)]);
    assert.deepEqual(await store.list('nobody'), []);
    assert.equal((await store.last('api'))?.entry.id, snapshotIdFor(plus(5000)));
  });

  test('ids colliding in one millisecond get -1, -2 ... and sort numerically', async () => {
    const { dir, fallbackDir, store } = fresh();
    const base = snapshotIdFor(T0);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(store.newId('web', T0)); // handed out, not yet saved
    assert.deepEqual(ids, [base, ...Array.from({ length: 11 }, (_, i) => `${base}-${i + 1}`)]);
    for (const id of ids) await store.save(snap('web', id));
    assert.deepEqual((await store.list('web')).map((e) => e.id), [...ids].reverse());
    assert.equal(store.newId('api', T0), base, 'other services do not collide');

    // Another store (a restarted daemon) sees the files, in the dir and parked ones.
    const other = new SnapshotStore({ dir, retention: 50, fallbackDir });
    assert.equal(other.newId('web', T0), `${base}-12`);
    mkdirSync(path.join(fallbackDir, 'web'), { recursive: true });
    writeFileSync(path.join(fallbackDir, 'web', `${base}-13.json`), JSON.stringify(snap('web', `${base}-13`)));
    assert.equal(other.newId('web', T0), `${base}-14`);
  });

  test('save never overwrites: same bytes is a no-op, a different snapshot gets a fresh id', async () => {
    const { dir, store } = fresh();
    const id = snapshotIdFor(T0);
    const a = snap('web', id);
    const pa = await store.save(a);
    assert.equal(await store.save(a), pa);
    const b = snap('web', id, { summary: 'another incident' });
    const pb = await store.save(b);
    assert.equal(b.id, `${id}-1`, 'the caller sees the new id');
    assert.equal(pb, path.join(dir, 'web', `${id}-1.json`));
    assert.deepEqual(JSON.parse(readFileSync(pa, 'utf8')), a);
    assert.equal(JSON.parse(readFileSync(pb, 'utf8')).id, b.id);
  });

  test('save rejects what cannot be a snapshot file and creates nothing', async () => {
    const { base, store } = fresh();
    const id = snapshotIdFor(T0);
    const cases = [
      { name: 'traversal service', input: snap('../outside', id) },
      { name: 'slash in service', input: snap('a/b', id) },
      { name: 'dot service', input: snap('.', id) },
      { name: 'bad id', input: { ...snap('web', id), id: '../../x' } },
      { name: 'other schema', input: { ...snap('web', id), schema: 'other/1' } as unknown as StoredSnapshot },
    ];
    for (const c of cases) await assert.rejects(store.save(c.input), RangeError, c.name);
    assert.deepEqual(tree(base), []);
  });

  test('a snapshot dir that cannot be created parks the snapshot, and the error names it', async () => {
    const { base } = fresh();
    writeFileSync(path.join(base, 'file'), '');
    const dir = path.join(base, 'file', 'snapshots');
    const errors: string[] = [];
    const store = new SnapshotStore({ dir, retention: 5, fallbackDir: path.join(base, 'fb'), error: (m) => errors.push(m) });
    const id = snapshotIdFor(T0);
    assert.equal(await store.save(snap('web', id)), path.join(base, 'fb', 'web', `${id}.json`));
    assert.equal(errors.length, 1);
    assert.ok(errors[0]?.includes(dir) && /cannot be created.*ENOTDIR/.test(errors[0]), errors[0]);
    assert.deepEqual(store.stats(), { parkedFallback: 1, parkedMemory: 0, writeFailuresTotal: 1 });
    await assert.rejects(store.saveState({}), (err: unknown) => {
      assert.ok(err instanceof FileError);
      assert.equal(err.code, 'ENOTDIR');
      assert.match(err.message, /cannot be created/);
      return true;
    });
  });

  test('retention must be a whole number >= 1', () => {
    for (const r of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new SnapshotStore({ dir: root, retention: r }), RangeError, String(r));
    }
  });
});

describe('SnapshotStore retention', () => {
  test('keeps exactly the newest N per service and never touches anything else', async () => {
    const { dir, store, warnings } = fresh(3);
    const web = path.join(dir, 'web');
    mkdirSync(web, { recursive: true });
    const foreign = [
      'notes.txt',
      '2020-01-01T00-00-00.000Z.json.bak',
      '.2020-01-01T00-00-00.000Z.json.tmp-1-deadbeef',
      '2020-01-01T00-00-00.000Z.JSON',
      'backup.json',
    ];
    for (const f of foreign) writeFileSync(path.join(web, f), 'keep me');
    mkdirSync(path.join(web, '2019-01-01T00-00-00.000Z.json')); // a folder with a snapshot's name
    const saved: string[] = [];
    for (let i = 0; i < 7; i++) {
      const s = snap('web', store.newId('web', plus(i * 1000)));
      await store.save(s);
      saved.push(s.id);
    }
    for (let i = 0; i < 2; i++) await store.save(snap('api', store.newId('api', plus(i))));

    const want = saved.slice(-3);
    assert.deepEqual((await store.list('web')).map((e) => e.id), [...want].reverse());
    assert.deepEqual(
      readdirSync(web).sort(),
      [...foreign, '2019-01-01T00-00-00.000Z.json', ...want.map((id) => `${id}.json`)].sort(),
    );
    for (const f of foreign) assert.equal(readFileSync(path.join(web, f), 'utf8'), 'keep me', f);
    assert.equal((await store.list('api')).length, 2, 'other services keep theirs');
    assert.ok(warnings.length >= 1, 'foreign files are warned about when listed');
  });
});

describe('SnapshotStore listing survives foreign and broken files', () => {
  test('each bad file is skipped with one warning; temp files silently; listing never fails', async () => {
    const { dir, store, warnings } = fresh(50, { maxSnapshotBytes: 64 * 1024 });
    const good = snap('web', snapshotIdFor(T0));
    await store.save(good);
    const web = path.join(dir, 'web');
    const full = `${JSON.stringify(snap('web', snapshotIdFor(plus(1))), null, 2)}\n`;
    const outside = path.join(path.dirname(dir), 'outside.json');
    writeFileSync(outside, JSON.stringify(snap('web', snapshotIdFor(plus(9)))));
    const cases = [
      { name: 'corrupt JSON', file: `${snapshotIdFor(plus(1))}.json`, body: '{"schema": "preflight.snapshot/1", oops' },
      { name: 'empty file', file: `${snapshotIdFor(plus(2))}.json`, body: '' },
      { name: 'truncated (partial) snapshot', file: `${snapshotIdFor(plus(3))}.json`, body: full.slice(0, full.length / 2) },
      { name: 'foreign notes.txt', file: 'notes.txt', body: 'called the vendor' },
      { name: 'another schema', file: `${snapshotIdFor(plus(4))}.json`, body: JSON.stringify({ schema: 'other/2', id: snapshotIdFor(plus(4)) }) },
      { name: 'missing summary', file: `${snapshotIdFor(plus(5))}.json`, body: JSON.stringify({ ...snap('web', snapshotIdFor(plus(5))), summary: undefined }) },
      { name: 'id does not match name', file: `${snapshotIdFor(plus(6))}.json`, body: JSON.stringify(snap('web', snapshotIdFor(plus(60)))) },
      { name: 'JSON array', file: `${snapshotIdFor(plus(7))}.json`, body: '[1,2]' },
      { name: 'over the size cap', file: `${snapshotIdFor(plus(8))}.json`, body: JSON.stringify(snap('web', snapshotIdFor(plus(8)), { pad: 'x'.repeat(70_000) })) },
    ];
    for (const c of cases) writeFileSync(path.join(web, c.file), c.body);
    symlinkSync(outside, path.join(web, `${snapshotIdFor(plus(9))}.json`)); // not followed
    execFileSync('mkfifo', [path.join(web, `${snapshotIdFor(plus(10))}.json`)]); // must not hang
    writeFileSync(path.join(web, `.${good.id}.json.tmp-999-0badc0de`), full.slice(0, 10)); // a killed writer's temp file
    writeFileSync(path.join(dir, '.state.json'), '{}');
    const wantWarnings = cases.length + 2;

    const listed = await store.list();
    assert.deepEqual(listed.map((e) => e.id), [good.id]);
    assert.equal(warnings.length, wantWarnings, warnings.join('\n'));
    for (const c of cases) {
      assert.equal(warnings.filter((w) => w.includes(path.join(web, c.file))).length, 1, `${c.name}: ${warnings.join('\n')}`);
    }
    assert.ok(!warnings.some((w) => w.includes('.tmp-')), 'temp files are not warned about');

    // Asking again costs no new warnings; `last` skips the broken newer files to the good one.
    assert.deepEqual((await store.list('web')).map((e) => e.id), [good.id]);
    assert.equal((await store.last('web'))?.entry.id, good.id);
    assert.equal(await store.read('web', snapshotIdFor(plus(1))), null, 'a corrupt file reads as nothing');
    assert.equal(await store.read('web', snapshotIdFor(plus(9))), null, 'a symlink is not followed');
    assert.equal(warnings.length, wantWarnings, warnings.join('\n'));
  });

  test('a file changed after listing is read again', async () => {
    const { dir, store, warnings } = fresh();
    const id = snapshotIdFor(T0);
    mkdirSync(path.join(dir, 'web'), { recursive: true });
    const file = path.join(dir, 'web', `${id}.json`);
    writeFileSync(file, '{');
    assert.deepEqual(await store.list(), []);
    assert.equal(warnings.length, 1);
    writeFileSync(file, JSON.stringify(snap('web', id, { summary: 'fixed by hand' })));
    assert.deepEqual((await store.list()).map((e) => e.summary), ['fixed by hand']);
  });
});

describe('SnapshotStore modes and paths', () => {
  test('files are 0640 and folders 0750 whatever the umask', async () => {
    const saved = process.umask();
    try {
      for (const umask of [0o000, 0o077]) {
        process.umask(umask);
        const { dir, store } = fresh();
        const p = await store.save(snap('web', snapshotIdFor(T0)));
        await store.saveState({ umask });
        const cases = [
          { name: 'snapshot', input: p, want: 0o640 },
          { name: 'state', input: path.join(dir, '.state.json'), want: 0o640 },
          { name: 'service folder', input: path.join(dir, 'web'), want: 0o750 },
          { name: 'snapshot dir', input: dir, want: 0o750 },
        ];
        for (const c of cases) assert.equal(statSync(c.input).mode & 0o777, c.want, `${c.name}, umask ${umask.toString(8)}`);
      }
    } finally {
      process.umask(saved);
    }
  });

  test('read with a traversal service or id returns null and touches nothing outside', async () => {
    const { base, dir, store } = fresh();
    const id = snapshotIdFor(T0);
    await store.save(snap('web', id));
    // A perfectly valid snapshot outside the store, where a traversal would land.
    const outside = path.join(base, 'outside');
    mkdirSync(outside);
    writeFileSync(path.join(outside, `${id}.json`), JSON.stringify(snap('outside', id)));
    symlinkSync(outside, path.join(dir, 'linked')); // a service folder that is a symlink: not followed
    const before = tree(base);
    const cases = [
      { name: '..', service: '..', id },
      { name: '../outside', service: '../outside', id },
      { name: 'web/../../outside', service: 'web/../../outside', id },
      { name: 'absolute', service: outside, id },
      { name: 'encoded', service: '..%2foutside', id },
      { name: 'NUL', service: 'web\0', id },
      { name: 'empty', service: '', id },
      { name: 'id traversal', service: 'web', id: `../../outside/${id}` },
      { name: 'id with .json', service: 'web', id: `${id}.json` },
      { name: 'symlinked service folder', service: 'linked', id },
    ];
    for (const c of cases) {
      assert.equal(await store.read(c.service, c.id), null, c.name);
      if (c.service === 'web') continue; // an id case: the service itself is fine
      assert.deepEqual(await store.list(c.service), [], c.name);
      assert.equal(await store.last(c.service), null, c.name);
    }
    assert.equal((await store.read('web', id))?.entry.service, 'web', 'the real one still reads');
    assert.deepEqual((await store.list()).map((e) => e.service), ['web']);
    assert.deepEqual(tree(base), before);
  });

  test('readPath reads any snapshot file and says what is wrong with others', async () => {
    const { base, store } = fresh();
    const id = snapshotIdFor(T0);
    const p = await store.save(snap('web', id));
    const copy = path.join(base, 'copy.json');
    writeFileSync(copy, readFileSync(p));
    const got = await store.readPath(copy);
    assert.deepEqual(got.entry, { service: 'web', id, at: T0.toISOString(), trigger: 'health_check', summary: snap('web', id).summary, probableCause: '', path: copy, episode: { state: 'open', occurrences: 1, restarts: 0, downtime_seconds: 0 } });
    assert.equal(got.text, readFileSync(p, 'utf8'));

    const cases = [
      { name: 'corrupt', body: '{\n  "schema": "preflight.snapshot/1",\n  oops\n}', want: { cls: ParseError, line: 3 } },
      { name: 'other schema', body: '{"schema":"x/1"}', want: { cls: ParseError, field: 'schema' } },
      { name: 'empty', body: '', want: { cls: ParseError } },
      { name: 'missing file', body: null, want: { cls: FileError, code: 'ENOENT' } },
    ];
    for (const c of cases) {
      const f = path.join(base, `${c.name}.json`);
      if (c.body !== null) writeFileSync(f, c.body);
      await assert.rejects(store.readPath(f), (err: unknown) => {
        assert.ok(err instanceof c.want.cls, `${c.name}: ${String(err)}`);
        assert.ok((err as Error).message.includes(f), c.name);
        if ('line' in c.want) assert.equal((err as ParseError).line, c.want.line, c.name);
        if ('field' in c.want) assert.equal((err as ParseError).field, c.want.field, c.name);
        if ('code' in c.want) assert.equal((err as FileError).code, c.want.code, c.name);
        return true;
      });
    }
  });

  test('checkSnapshotText table', () => {
    const ok = snap('web', snapshotIdFor(T0));
    const cases = [
      { name: 'valid', input: JSON.stringify(ok), want: true },
      { name: 'empty', input: '', want: false },
      { name: 'whitespace', input: ' \n', want: false },
      { name: 'truncated', input: JSON.stringify(ok).slice(0, 40), want: false },
      { name: 'null', input: 'null', want: false },
      { name: 'no transition', input: JSON.stringify({ ...ok, transition: undefined }), want: false },
      { name: 'bad service', input: JSON.stringify({ ...ok, service: '../x' }), want: false },
      { name: 'numeric trigger', input: JSON.stringify({ ...ok, trigger: 1 }), want: false },
    ];
    for (const c of cases) assert.equal(checkSnapshotText(c.input).ok, c.want, c.name);
  });
});

describe('SnapshotStore state', () => {
  test('round trip, missing, corrupt', async () => {
    const { dir, store, warnings } = fresh();
    assert.equal(await store.loadState(), null);
    assert.equal(warnings.length, 0, 'missing state is not worth a warning');
    const state = { services: { web: { state: 'unhealthy', since: T0.toISOString(), restarts: 3 } } };
    await store.saveState(state);
    assert.deepEqual(await store.loadState(), state);
    assert.deepEqual(await store.list(), [], 'state is not a service');

    const cases = [
      { name: 'corrupt', body: '{"services": {' },
      { name: 'empty', body: '' },
    ];
    for (const c of cases) {
      writeFileSync(path.join(dir, '.state.json'), c.body);
      const before: number = warnings.length;
      assert.equal(await store.loadState(), null, c.name);
      assert.equal(warnings.length, before + 1, c.name);
      assert.ok(warnings.at(-1)?.includes('.state.json'), c.name);
    }
  });
});

describe('SnapshotStore fallback folder', () => {
  test('parked snapshots are listed, win over a stale copy, and flushFallback moves them back byte for byte', async () => {
    const { dir, fallbackDir, store, warnings } = fresh(2);
    const idOld = store.newId('web', T0);
    const inDir = snap('web', idOld);
    await store.save(inDir);
    // Park by hand what a full disk would have parked: a newer version of idOld (a rewrite) and two new ones.
    const parkedDir = path.join(fallbackDir, 'web');
    mkdirSync(parkedDir, { recursive: true });
    const parked = [
      snap('web', idOld, { recovery: { at: plus(60_000).toISOString() } }),
      snap('web', snapshotIdFor(plus(1000))),
      snap('web', snapshotIdFor(plus(2000))),
    ];
    const texts = parked.map((s) => `${JSON.stringify(s)}\n`); // not the store's own formatting: bytes must survive
    parked.forEach((s, i) => writeFileSync(path.join(parkedDir, `${s.id}.json`), texts[i] as string));
    writeFileSync(path.join(parkedDir, 'notes.txt'), 'not ours');

    const listed = await store.list('web');
    assert.deepEqual(listed.map((e) => [e.id, e.parked === true]), [
      [snapshotIdFor(plus(2000)), true],
      [snapshotIdFor(plus(1000)), true],
      [idOld, true],
    ]);
    assert.equal((await store.read('web', idOld))?.text, texts[0], 'the parked (newer) copy wins');
    assert.equal((await store.last('web'))?.text, texts[2]);

    assert.equal(await store.flushFallback(), 3);
    assert.deepEqual(readdirSync(parkedDir), ['notes.txt'], 'foreign files stay');
    // retention 2 applies after the flush: the oldest (idOld) goes.
    assert.deepEqual(readdirSync(path.join(dir, 'web')).sort(), [`${snapshotIdFor(plus(1000))}.json`, `${snapshotIdFor(plus(2000))}.json`]);
    for (const i of [1, 2]) {
      const s = parked[i] as StoredSnapshot;
      assert.equal(readFileSync(path.join(dir, 'web', `${s.id}.json`), 'utf8'), texts[i]);
      assert.equal(statSync(path.join(dir, 'web', `${s.id}.json`)).mode & 0o777, 0o640);
    }
    assert.ok((await store.list('web')).every((e) => e.parked === undefined));
    assert.equal(await store.flushFallback(), 0);
    assert.deepEqual(warnings, []);
  });

  test('a rewrite racing a flush of the same parked snapshot: the rewrite (the newer bytes) is what the dir keeps', async () => {
    for (let round = 0; round < 20; round++) {
      const { dir, fallbackDir, store } = fresh();
      const id = snapshotIdFor(plus(round));
      mkdirSync(path.join(fallbackDir, 'web'), { recursive: true });
      writeFileSync(path.join(fallbackDir, 'web', `${id}.json`), `${JSON.stringify(snap('web', id))}\n`);
      const newer = snap('web', id, { recovery: { at: plus(60_000).toISOString() } });
      // the flush reads the parked bytes first; without a per-snapshot lock it wrote them over the rewrite
      await Promise.all([store.flushFallback(), store.rewrite(newer)]);
      assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'web', `${id}.json`), 'utf8')).recovery, (newer as StoredSnapshot & { recovery: unknown }).recovery, `round ${round}`);
      const left = existsSync(path.join(fallbackDir, 'web')) ? readdirSync(path.join(fallbackDir, 'web')) : [];
      assert.deepEqual(left, [], `round ${round}: nothing left parked`);
    }
  });

  test('flushFallback moves parked files as bytes, even ones a listing would skip', async () => {
    const { dir, fallbackDir, store, warnings } = fresh();
    mkdirSync(path.join(fallbackDir, 'web'), { recursive: true });
    const bad = path.join(fallbackDir, 'web', `${snapshotIdFor(T0)}.json`);
    writeFileSync(bad, '{');
    assert.equal(await store.flushFallback(), 1, 'moved as bytes: the store does not judge parked evidence');
    assert.equal(readFileSync(path.join(dir, 'web', `${snapshotIdFor(T0)}.json`), 'utf8'), '{');
    assert.deepEqual(warnings, []);
  });

  test('the default fallback folder is per user and per snapshot dir', () => {
    const a = new SnapshotStore({ dir: path.join(root, 'a'), retention: 1 });
    const b = new SnapshotStore({ dir: path.join(root, 'b'), retention: 1 });
    assert.notEqual(a.fallbackDir, b.fallbackDir);
    const uid = process.getuid?.() ?? 0;
    assert.ok(process.env.RUNTIME_DIRECTORY || a.fallbackDir.includes(`preflight-${uid}`), a.fallbackDir);
  });
});

describe('SnapshotStore atomicity', () => {
  test('a writer SIGKILLed at random moments never leaves a partial <id>.json', { timeout: 300_000 }, async (t) => {
    const { dir, store, warnings } = fresh(3);
    const pad = 4 << 20;
    const runs = 20;
    let runsLeavingTemp = 0;
    for (let run = 0; run < runs; run++) {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'store-writer.ts'), dir, String(pad)], {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        child.on('exit', (code) => reject(new Error(`writer exited (${code}) before ready: ${stderr}`)));
      });
      await new Promise((r) => setTimeout(r, Math.random() * 400));
      child.kill('SIGKILL');
      await exited;
      assert.equal(stderr, '', `run ${run}: the writer failed on its own`);

      const names = readdirSync(path.join(dir, 'web'));
      if (names.some(isTempName)) runsLeavingTemp++;
      for (const name of names) {
        if (isTempName(name)) continue;
        const text = readFileSync(path.join(dir, 'web', name), 'utf8');
        const c = checkSnapshotText(text);
        assert.ok(c.ok, `run ${run}: ${name} is not a complete snapshot (${text.length} bytes)`);
        assert.equal((JSON.parse(text) as { pad: string }).pad.length, pad, `run ${run}: ${name}`);
      }
      assert.ok((await store.list('web')).length >= 1);
      assert.deepEqual(warnings, [], `run ${run}`);
    }
    t.diagnostic(`${runsLeavingTemp} of ${runs} kills left a temp file (ignored by list)`);
  });
});

describe('SnapshotStore on a full or read-only disk (real tmpfs in a private mount namespace)', () => {
  const isRoot = process.getuid?.() === 0;
  const canUnshare = isRoot && spawnSync('unshare', ['-m', 'true'], { timeout: 10_000 }).status === 0;
  const why = !isRoot
    ? 'needs root (unshare -m and a tmpfs mount); skipped'
    : !canUnshare
      ? '`unshare -m` is not permitted here; skipped'
      : false;

  test('snapshots go to the fallback, are listed, and come back when space returns', { skip: why, timeout: 120_000 }, () => {
    const { base } = fresh();
    const full = path.join(base, 'full');
    const ro = path.join(base, 'ro');
    const fallback = path.join(base, 'fallback');
    mkdirSync(full);
    mkdirSync(ro);
    const r = spawnSync(
      'unshare',
      ['-m', '--propagation', 'private', process.execPath, '--import', 'tsx', path.join(__dirname, 'store-fallback-scenario.ts'), full, ro, fallback],
      { cwd: REPO, encoding: 'utf8', timeout: 90_000, env: { ...process.env, RUNTIME_DIRECTORY: '' } },
    );
    assert.equal(r.status, 0, `scenario failed: ${r.stderr}`);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    const [a, b] = out.ids as [string, string];
    const cases = [
      { name: 'first save parked', got: out.savedA, want: path.join(fallback, 'web', `${a}.json`) },
      { name: 'second save parked', got: out.savedB, want: path.join(fallback, 'web', `${b}.json`) },
      { name: 'warned once', got: out.parkWarnings, want: 1 },
      { name: 'one err line per parked snapshot, with its gist', got: out.parkErrors, want: ['disk / 100% (#1)', 'disk / 100% (#2)'] },
      {
        name: 'listed while full',
        got: out.listedWhileFull,
        want: [b, a].map((id) => ({ id, parked: true, path: path.join(fallback, 'web', `${id}.json`) })),
      },
      { name: 'last while full', got: out.lastWhileFull, want: b },
      { name: 'no temp file left on the full disk', got: out.namesInFullWebDir, want: [] },
      { name: 'rewrite while full parks too', got: out.rewriteWhileFull, want: path.join(fallback, 'web', `${a}.json`) },
      { name: 'flush while still full moves nothing', got: out.flushWhileFull, want: 0 },
      { name: 'flush after freeing space', got: out.flushAfterFree, want: 2 },
      {
        name: 'listed after flush',
        got: out.listedAfter,
        want: [b, a].map((id) => ({ id, parked: false, path: path.join(full, 'web', `${id}.json`) })),
      },
      { name: 'fallback emptied', got: out.fallbackAfter, want: [] },
      { name: 'the rewrite (recovery) survived', got: out.aHasRecovery, want: true },
      { name: 'EROFS: parked', got: out.roSaved, want: path.join(`${fallback}-ro`, 'web', `${out.roId}.json`) },
      { name: 'EROFS: warned once', got: out.roWarnings, want: 1 },
      { name: 'EROFS: flushed', got: out.roFlushed, want: 1 },
      { name: 'EROFS: now in the dir', got: out.roInDir, want: [`${out.roId}.json`] },
      { name: 'EROFS: fallback emptied', got: out.roFallbackAfter, want: [] },
      { name: 'default fallback: parked under it', got: String(out.defaultSaved).startsWith(`${String(out.defaultFallbackDir)}/web/`), want: true },
      { name: 'default fallback: in /dev/shm per user', got: String(out.defaultFallbackDir).startsWith(`/dev/shm/preflight-${process.getuid?.()}/fallback-`), want: true },
      { name: 'default fallback: root folder 0700', got: out.defaultRootMode, want: 0o700 },
      { name: 'default fallback: listed as parked', got: out.defaultListedParked, want: 1 },
      { name: 'default fallback: a folder owned by someone else is refused', got: /EROFS.*the fallback failed too.*unsafe fallback folder/.test(String(out.hijackedError)), want: true },
      { name: 'default fallback refused: parked in memory', got: out.hijackedParkedIn, want: 'memory' },
    ];
    for (const c of cases) assert.deepEqual(c.got, c.want, c.name);
    assert.deepEqual(readdirSync(full), [], 'the tmpfs went away with the namespace');
  });
});

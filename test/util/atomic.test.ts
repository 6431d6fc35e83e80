import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, promises as fsp, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, mock, test } from 'node:test';
import { FileError, isTempName, tempNameFor, writeFileAtomic } from '../../src/util/atomic';

const root = mkdtempSync(path.join(os.tmpdir(), 'preflight-atomic-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => {
  const d = path.join(root, String(n++));
  mkdirSync(d);
  return d;
};

describe('writeFileAtomic', () => {
  test('writes the exact bytes, string or binary, and leaves no temp file', async () => {
    const cases = [
      { name: 'empty string', input: '', want: Buffer.alloc(0) },
      { name: 'utf8 text', input: 'disk / 98% — ENOSPC\n', want: Buffer.from('disk / 98% — ENOSPC\n', 'utf8') },
      { name: 'binary', input: new Uint8Array([0, 255, 10, 13]), want: Buffer.from([0, 255, 10, 13]) },
      { name: '3 MiB', input: 'x'.repeat(3 << 20), want: Buffer.from('x'.repeat(3 << 20)) },
    ];
    for (const c of cases) {
      const dir = freshDir();
      const file = path.join(dir, 'out.json');
      await writeFileAtomic(file, c.input);
      assert.deepEqual(readFileSync(file), c.want, c.name);
      assert.deepEqual(readdirSync(dir), ['out.json'], c.name);
    }
  });

  test('replaces an existing file with a new inode', async () => {
    const file = path.join(freshDir(), 'a.json');
    writeFileSync(file, 'old contents that are longer than the new ones');
    const before = statSync(file).ino;
    await writeFileAtomic(file, 'new');
    assert.equal(readFileSync(file, 'utf8'), 'new');
    assert.notEqual(statSync(file).ino, before);
  });

  test('mode is exact whatever the umask', async () => {
    const cases = [
      { name: 'default, umask 0', umask: 0o000, mode: undefined, want: 0o640 },
      { name: 'default, umask 077', umask: 0o077, mode: undefined, want: 0o640 },
      { name: '0600, umask 0', umask: 0o000, mode: 0o600, want: 0o600 },
      { name: '0644, umask 022', umask: 0o022, mode: 0o644, want: 0o644 },
    ];
    const saved = process.umask();
    try {
      for (const c of cases) {
        process.umask(c.umask);
        const file = path.join(freshDir(), 'm.json');
        await writeFileAtomic(file, '{}', c.mode === undefined ? {} : { mode: c.mode });
        assert.equal(statSync(file).mode & 0o777, c.want, c.name);
      }
    } finally {
      process.umask(saved);
    }
  });

  test('a failure names the target, keeps the errno code and removes the temp file', async () => {
    const cases = [
      { name: 'missing folder', target: (d: string) => path.join(d, 'nope', 'x.json'), wantCode: 'ENOENT' },
      {
        name: 'target is a folder (rename fails)',
        target: (d: string) => {
          mkdirSync(path.join(d, 'x.json'));
          return path.join(d, 'x.json');
        },
        wantCode: 'EISDIR',
      },
      {
        name: 'parent is a file',
        target: (d: string) => {
          writeFileSync(path.join(d, 'f'), '');
          return path.join(d, 'f', 'x.json');
        },
        wantCode: 'ENOTDIR',
      },
    ];
    for (const c of cases) {
      const dir = freshDir();
      const target = c.target(dir);
      const before = readdirSync(dir).sort();
      await assert.rejects(writeFileAtomic(target, 'data'), (err: unknown) => {
        assert.ok(err instanceof FileError, c.name);
        assert.equal(err.code, c.wantCode, c.name);
        assert.equal(err.path, target, c.name);
        assert.ok(err.message.includes(target), `${c.name}: ${err.message}`);
        return true;
      });
      assert.deepEqual(readdirSync(dir).sort(), before, `${c.name}: no temp file left`);
    }
  });

  test('a folder fsync that fails after the rename is returned, not thrown: the file is there', async () => {
    const cases = [
      { name: 'EIO on fsync', code: 'EIO', wantError: true },
      { name: 'EINVAL (a filesystem that cannot fsync folders) is accepted', code: 'EINVAL', wantError: false },
    ];
    for (const c of cases) {
      const dir = freshDir();
      const file = path.join(dir, 'x.json');
      const realOpen = fsp.open.bind(fsp);
      // the folder is the only thing opened with 'r': its handle's sync fails like a dying disk's would
      const m = mock.method(fsp, 'open', async (p: string, flags?: string | number, mode?: number) => {
        const fh = await realOpen(p, flags, mode);
        if (p === dir && flags === 'r') {
          mock.method(fh, 'sync', () => Promise.reject(Object.assign(new Error(`${c.code}: sync failed`), { code: c.code })));
        }
        return fh;
      });
      try {
        const r = await writeFileAtomic(file, 'data');
        assert.equal(r.folderSyncError !== undefined, c.wantError, c.name);
        if (c.wantError) {
          assert.equal(r.folderSyncError?.code, c.code, c.name);
          assert.equal(r.folderSyncError?.path, dir, c.name);
        }
      } finally {
        m.mock.restore();
      }
      assert.equal(readFileSync(file, 'utf8'), 'data', c.name);
      assert.deepEqual(readdirSync(dir), ['x.json'], `${c.name}: no temp file left`);
    }
  });
});

describe('temp names', () => {
  test('tempNameFor makes names isTempName recognises, different every time, short enough', () => {
    const cases = [
      { name: 'snapshot', input: '/s/web/2026-11-25T03-04-05.123Z.json' },
      { name: 'state', input: '/s/.state.json' },
      { name: 'very long name', input: `/s/${'a'.repeat(250)}` },
    ];
    for (const c of cases) {
      const a = tempNameFor(c.input);
      const b = tempNameFor(c.input);
      assert.ok(isTempName(a), `${c.name}: ${a}`);
      assert.notEqual(a, b, c.name);
      assert.ok(a.startsWith('.'), c.name);
      assert.ok(Buffer.byteLength(a) <= 255, c.name);
    }
  });

  test('isTempName rejects other names', () => {
    const cases = [
      { name: 'snapshot', input: '2026-11-25T03-04-05.123Z.json', want: false },
      { name: 'no dot', input: 'x.json.tmp-1-deadbeef', want: false },
      { name: 'bad random', input: '.x.json.tmp-1-xyz', want: false },
      { name: 'temp', input: '.x.json.tmp-42-deadbeef', want: true },
      { name: 'empty', input: '', want: false },
    ];
    for (const c of cases) assert.equal(isTempName(c.input), c.want, c.name);
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ProcFile } from '../../src/proc/file';

const dir = mkdtempSync(path.join(tmpdir(), 'preflight-procfile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('ProcFile', () => {
  test('re-reads the current text from offset 0 through one descriptor', () => {
    const f = path.join(dir, 'stat');
    writeFileSync(f, 'cpu 1 2 3\n');
    const pf = new ProcFile(f);
    assert.equal(pf.read(), 'cpu 1 2 3\n');
    writeFileSync(f, 'cpu 4 5\n'); // truncates and rewrites the same inode, as procfs regenerates
    assert.equal(pf.read(), 'cpu 4 5\n');
    pf.close();
  });

  test('grows its buffer for a file larger than the first guess', () => {
    const f = path.join(dir, 'big');
    const text = 'x'.repeat(100_000);
    writeFileSync(f, text);
    const pf = new ProcFile(f, 16);
    assert.equal(pf.read(), text);
    assert.equal(pf.read(), text);
    pf.close();
  });

  test('the real /proc/stat reads the same as readFileSync would', () => {
    // the counters move between reads, so compare the shape: the same lines, each led by the same word
    const shape = (text: string): string[] => text.split('\n').map((line) => line.split(' ')[0] ?? '');
    const want = shape(readFileSync('/proc/stat', 'latin1'));
    assert.ok(want.length > 3 && want[0] === 'cpu', want.join(' '));
    for (const initialBytes of [16 * 1024, 64]) {
      const pf = new ProcFile('/proc/stat', initialBytes);
      assert.deepEqual(shape(pf.read()), want, `buffer of ${initialBytes} bytes`);
      assert.deepEqual(shape(pf.read()), want, `buffer of ${initialBytes} bytes: a second read from offset 0 regenerates the whole file`);
      pf.close();
    }
  });

  test('a vanished file throws with its path, readOr maps absent codes to null (and remembers), read() reopens later', () => {
    const f = path.join(dir, 'psi');
    writeFileSync(f, 'some avg10=0.00\n');
    const pf = new ProcFile(f);
    assert.equal(pf.read(), 'some avg10=0.00\n');
    unlinkSync(f);
    // the open descriptor still reads the unlinked inode; a fresh ProcFile sees the file is gone
    const gone = new ProcFile(f);
    assert.throws(() => gone.read(), (err: NodeJS.ErrnoException) => err.code === 'ENOENT' && err.message.includes(f));
    assert.throws(() => gone.readOr(new Set(['EACCES'])), /ENOENT/);
    assert.equal(gone.readOr(new Set(['ENOENT'])), null);
    writeFileSync(f, 'some avg10=1.00\n');
    assert.equal(gone.readOr(new Set(['ENOENT'])), null, 'absent stays absent: no system call per tick on a kernel without PSI');
    assert.equal(gone.read(), 'some avg10=1.00\n', 'read() itself always tries again');
    pf.close();
    gone.close();
  });
});

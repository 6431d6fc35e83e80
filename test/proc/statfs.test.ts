import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskReader, diskUsageFromStatfs } from '../../src/proc/statfs';

describe('diskUsageFromStatfs', () => {
  const cases = [
    {
      // The real statfs("/") of this machine (Node's fs.statfs); df -P -k showed 22963684 used, 83427228 available, 22%.
      name: 'real ext4 root: used% like df, from used and available, not total',
      path: '/',
      input: { bsize: 4096, blocks: 66053021, bfree: 60312100, bavail: 20856807, files: 16777216, ffree: 16369776 },
      want: {
        path: '/',
        totalBytes: 66053021 * 4096,
        freeBytes: 60312100 * 4096,
        availBytes: 20856807 * 4096,
        usedBytes: (66053021 - 60312100) * 4096,
        usedPercent: ((66053021 - 60312100) / (66053021 - 60312100 + 20856807)) * 100,
        inodesTotal: 16777216,
        inodesFree: 16369776,
        inodesUsedPercent: ((16777216 - 16369776) / 16777216) * 100,
      },
    },
    {
      name: 'proc: no blocks, no inodes',
      path: '/proc',
      input: { bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0 },
      want: { path: '/proc', totalBytes: 0, freeBytes: 0, availBytes: 0, usedBytes: 0, usedPercent: 0 },
    },
    {
      name: 'full for users while root still has its reserve: 100%',
      path: '/var',
      input: { bsize: 1024, blocks: 1000, bfree: 50, bavail: 0, files: 10, ffree: 10 },
      want: { path: '/var', totalBytes: 1024000, freeBytes: 51200, availBytes: 0, usedBytes: 972800, usedPercent: 100, inodesTotal: 10, inodesFree: 10, inodesUsedPercent: 0 },
    },
  ];
  for (const { name, path, input, want } of cases) it(name, () => assert.deepEqual(diskUsageFromStatfs(path, input), want));
});

describe('DiskReader on real paths', () => {
  it('statfs and the df fallback agree on /', async () => {
    const viaStatfs = await new DiskReader({ timeoutMs: 2000 }).read('/');
    const viaDf = await new DiskReader({ timeoutMs: 5000, method: 'df' }).read('/');
    const sync = statfsSync('/');
    assert.equal(viaStatfs.totalBytes, sync.blocks * sync.bsize);
    assert.equal(viaDf.totalBytes, viaStatfs.totalBytes);
    assert.equal(viaDf.path, '/');
    // Both are live: a few MB of writes elsewhere may land between the two reads.
    assert.ok(Math.abs(viaDf.usedPercent - viaStatfs.usedPercent) < 0.5);
  });

  const missing = [
    { name: 'statfs', method: 'statfs' as const, want: /ENOENT/ },
    { name: 'df', method: 'df' as const, want: /No such file or directory/ },
  ];
  for (const { name, method, want } of missing) {
    it(`a missing path rejects (${name})`, async () => {
      const reader = new DiskReader({ timeoutMs: 5000, method });
      await assert.rejects(reader.read('/nonexistent-preflight-path'), want);
      assert.deepEqual(reader.pendingPaths, []);
    });
  }
});

test('a hung mount: bounded wait, one stuck thread per path, the rest of fs still answers', (t) => {
  if (process.getuid?.() !== 0 || !existsSync('/dev/fuse')) return t.skip('needs root and /dev/fuse to mount an unserved FUSE filesystem');
  const dir = mkdtempSync(join(tmpdir(), 'pf-hung-'));
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  try {
    // The mount exists only in the child's private mount namespace and dies with it.
    const script =
      'exec 3<>/dev/fuse && mount -t fuse -o fd=3,rootmode=40000,user_id=0,group_id=0 preflight-hung "$1" && ' +
      'UV_THREADPOOL_SIZE=2 exec "$2" --import tsx "$3" "$1"';
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', mnt, process.execPath, join(__dirname, 'statfs-hung-child.ts')], {
      encoding: 'utf8',
      timeout: 30_000,
      killSignal: 'SIGKILL',
    });
    if (r.status !== 0 && /mount|unshare/.test(r.stderr) && !r.stdout) return t.skip(`cannot mount FUSE here: ${r.stderr.trim()}`);
    assert.equal(r.status, 0, `child failed: ${r.stderr}`);
    const out = JSON.parse(r.stdout) as {
      first: { ok: boolean; name: string; ms: number };
      repeats: { ok: boolean; error: string; ms: number }[];
      pendingAfter: string[];
      root: { ok: boolean; ms: number };
      starved: { ok: boolean; name: string };
    };
    assert.equal(out.first.ok, false);
    assert.equal(out.first.name, 'TimeoutError');
    assert.ok(out.first.ms >= 290 && out.first.ms < 2000, `first call waited ${out.first.ms} ms`);
    for (const rep of out.repeats) {
      assert.equal(rep.ok, false);
      assert.match(rep.error, /previous call still pending/);
      assert.ok(rep.ms < 100, `a repeat waited ${rep.ms} ms instead of being refused at once`);
    }
    assert.deepEqual(out.pendingAfter, [mnt]);
    assert.equal(out.root.ok, true, 'statfs / must still answer with one pool thread stuck');
    // The control shows what the guard prevents: two stuck threads and the pool answers nothing.
    assert.equal(out.starved.ok, false);
    assert.equal(out.starved.name, 'TimeoutError');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('DiskReader on a local filesystem', () => {
  test('after one asynchronous statfs finds a local filesystem, reads answer without the thread pool', { skip: existsSync('/dev/shm') ? false : 'no /dev/shm (tmpfs) here' }, async () => {
    const reader = new DiskReader({ timeoutMs: 2000 });
    let first = false;
    const p = reader.read('/dev/shm').then(() => (first = true));
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(first, false, 'the first read goes to the thread pool (the filesystem type is not known yet)');
    await p;
    let second = false;
    void reader.read('/dev/shm').then(() => (second = true));
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(second, true, 'tmpfs is local: statfsSync answered at once');
    assert.ok((await reader.read('/dev/shm')).totalBytes > 0);
  });
});

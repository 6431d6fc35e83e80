import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDfP, readDf } from '../../src/proc/df';
import { CommandError } from '../../src/util/errors';
import { assertParseError, readFixture } from './_helpers';

const KB = 1024;
const pct = (used: number, avail: number) => (used / (used + avail)) * 100;

describe('parseDfP', () => {
  const cases = [
    {
      name: 'real df -P -k (GNU 9.1); used% is used/(used+avail), proc has "-" capacity',
      input: readFixture('cmd', 'df-P.txt'),
      want: [
        { path: '/', mountPoint: '/', totalBytes: 264212084 * KB, usedBytes: 22963668 * KB, availBytes: 83427244 * KB, freeBytes: (264212084 - 22963668) * KB, usedPercent: pct(22963668, 83427244) },
        { path: '/dev', mountPoint: '/dev', totalBytes: 12334460 * KB, usedBytes: 0, availBytes: 12334460 * KB, freeBytes: 12334460 * KB, usedPercent: 0 },
        { path: '/dev/shm', mountPoint: '/dev/shm', totalBytes: 24684084 * KB, usedBytes: 0, availBytes: 24684084 * KB, freeBytes: 24684084 * KB, usedPercent: 0 },
        { path: '/sys/fs/cgroup', mountPoint: '/sys/fs/cgroup', totalBytes: 12342040 * KB, usedBytes: 0, availBytes: 12342040 * KB, freeBytes: 12342040 * KB, usedPercent: 0 },
        { path: '/proc', mountPoint: '/proc', totalBytes: 0, usedBytes: 0, availBytes: 0, freeBytes: 0, usedPercent: 0 },
      ],
    },
    {
      name: 'real output with spaces in the filesystem name and the mount point',
      input: readFixture('cmd', 'df-P-spaces.txt'),
      want: [
        { path: '/tmp/cap/mnt/my mount (1)', mountPoint: '/tmp/cap/mnt/my mount (1)', totalBytes: 10240 * KB, usedBytes: 2500 * KB, availBytes: 7740 * KB, freeBytes: 7740 * KB, usedPercent: pct(2500, 7740) },
        { path: '/', mountPoint: '/', totalBytes: 264212084 * KB, usedBytes: 22963684 * KB, availBytes: 83427228 * KB, freeBytes: (264212084 - 22963684) * KB, usedPercent: pct(22963684, 83427228) },
        { path: '/tmp/cap/mnt/my mount (1)', mountPoint: '/tmp/cap/mnt/my mount (1)', totalBytes: 10240 * KB, usedBytes: 2500 * KB, availBytes: 7740 * KB, freeBytes: 7740 * KB, usedPercent: pct(2500, 7740) },
      ],
    },
    {
      name: 'negative Available (root reserve overdrawn) counts as 0 available',
      input: 'Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 100 100 -5 100% /\n',
      want: [{ path: '/', mountPoint: '/', totalBytes: 100 * KB, usedBytes: 100 * KB, availBytes: 0, freeBytes: 0, usedPercent: 100 }],
    },
  ];
  for (const { name, input, want } of cases) it(name, () => assert.deepEqual(parseDfP(input), want));

  const bad = [
    { name: 'empty output', input: '', want: { line: 1, field: 'header' } },
    { name: 'localized header', input: 'Dateisystem 1024-Blöcke Benutzt Verfügbar Kapazität Eingehängt auf\n', want: { line: 1, field: 'header' } },
    { name: '512-byte blocks (no -k)', input: 'Filesystem 512-blocks Used Available Capacity Mounted on\n', want: { line: 1, field: 'header' } },
    { name: 'row missing the mount point', input: 'Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda 1 1 0 100%\n', want: { line: 2, field: 'row' } },
    { name: 'truncated row', input: 'Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda 264212084 2296\n', want: { line: 2, field: 'row', input: '/dev/vda 264212084 2296' } },
  ];
  for (const { name, input, want } of bad) it(name, () => assertParseError(() => parseDfP(input), { ...want, file: 'df -P -k' }));
});

describe('readDf (runs the real df)', () => {
  it('maps rows back to the paths asked for, in order, duplicates included', async () => {
    const rows = await readDf(['/proc/self', '/', '/'], { timeoutMs: 5000 });
    assert.deepEqual(rows.map((r) => [r.path, r.mountPoint]), [['/proc/self', '/proc'], ['/', '/'], ['/', '/']]);
    assert.ok((rows[1]?.totalBytes ?? 0) > 0);
  });

  it('a missing path rejects with CommandError (exit 1, stderr quoted)', async () => {
    await assert.rejects(readDf(['/', '/nonexistent-preflight-path'], { timeoutMs: 5000 }), (err: unknown) => {
      assert.ok(err instanceof CommandError);
      assert.equal(err.exitCode, 1);
      assert.match(err.stderr, /nonexistent-preflight-path/);
      return true;
    });
  });

  it('no paths, no process', async () => assert.deepEqual(await readDf([], { timeoutMs: 1 }), []));
});

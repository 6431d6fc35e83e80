// Mutes (src/daemon/mute-file.ts, mute.ts): durations, the mute file read and written, what holds a
// service (a mute of it, of all, a maintenance window; the latest end wins), and the daemon's poll:
// a new file is seen at the next tick, a hold that ends releases the service.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { MaintenanceWindow } from '../../src/config/maintenance';
import { Mutes, holdOf } from '../../src/daemon/mute';
import { ALL, MUTE_FILE, MuteInputError, formatMuteDuration, parseDuration, parseMuteFile, readMuteFile, writeMuteFile, type MuteEntry } from '../../src/daemon/mute-file';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'preflight-mute-'));
  dirs.push(d);
  return d;
};

describe('parseDuration', () => {
  const good: Array<[string, number]> = [
    ['20s', 20_000],
    ['10m', 600_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1d2h3m4s', 93_784_000],
    [' 5m ', 300_000],
    ['30d', 30 * 86_400_000],
  ];
  for (const [input, ms] of good) it(`${JSON.stringify(input)} is ${ms} ms`, () => assert.equal(parseDuration(input), ms));

  const bad: Array<[string, RegExp, RegExp]> = [
    ['', /^the duration is empty$/, /20s, 10m, 2h, 1d/],
    ['   ', /^the duration is empty$/, /20s, 10m/],
    ['10', /^duration "10" has no unit$/, /^write 10m for minutes or 10s for seconds$/],
    ['10x', /unknown unit "x"$/, /s, m, h and d/],
    ['10M', /unknown unit "M"$/, /lowercase/],
    ['1.5h', /is not a whole number$/, /90m/],
    ['-5m', /is negative$/, /20s/],
    ['0s', /is zero$/, /unmute/],
    ['0h0m', /is zero$/, /unmute/],
    ['31d', /longer than 30 days$/, /maintenance:/],
    ['5m10h', /is not one preflight reads$/, /largest unit first/],
    ['h', /is not one preflight reads$/, /20s/],
    ['10 m', /is not one preflight reads$/, /20s/],
    ['1h30', /is not one preflight reads$/, /20s/],
  ];
  for (const [input, reason, hint] of bad) {
    it(`${JSON.stringify(input)} is refused`, () => {
      assert.throws(
        () => parseDuration(input),
        (err: unknown) => {
          assert.ok(err instanceof MuteInputError);
          assert.equal(err.input, input);
          assert.match(err.message.slice(0, -(err.hint.length + 3)), reason);
          assert.match(err.hint, hint);
          return true;
        },
      );
    });
  }

  it('formatMuteDuration says it back', () => {
    assert.deepEqual([5_400_000, 20_000, 86_400_000 + 1000, 0].map(formatMuteDuration), ['1h30m', '20s', '1d1s', '0s']);
  });
});

describe('the mute file', () => {
  const entry: MuteEntry = { service: 'web', until: '2026-12-02T18:00:00.000Z', reason: 'deploy', at: '2026-12-02T17:00:00.000Z', by: 'op' };

  it('reads what it wrote, atomically, mode 0644; no entries removes the file', async () => {
    const dir = tempDir();
    assert.deepEqual(await readMuteFile(dir), [], 'no file: no mutes');
    await writeMuteFile(dir, [entry, { ...entry, service: ALL, reason: null }]);
    const file = path.join(dir, MUTE_FILE);
    assert.equal(statSync(file).mode & 0o777, 0o644);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { schema: 'preflight.mutes/1', mutes: [entry, { ...entry, service: '*', reason: null }] });
    assert.deepEqual(await readMuteFile(dir), [entry, { ...entry, service: ALL, reason: null }]);
    await writeMuteFile(dir, []);
    assert.throws(() => statSync(file), /ENOENT/);
    await writeMuteFile(dir, []); // twice: nothing to remove is fine
  });

  const cases: Array<[string, string, RegExp | MuteEntry[]]> = [
    ['empty', '', []],
    ['blank', '  \n', []],
    ['truncated', '{"schema":"preflight.mutes/1","mutes":[{"service":"web"', /^not JSON/],
    ['not JSON', 'web until 18:00', /^not JSON/],
    ['another schema', '{"schema":"preflight.snapshot/2","mutes":[]}', /^not a preflight\.mutes\/1 file/],
    ['mutes not a list', '{"schema":"preflight.mutes/1","mutes":{}}', /^not a preflight\.mutes\/1 file/],
    ['null', 'null', /^not a preflight\.mutes\/1 file/],
    ['no until', '{"schema":"preflight.mutes/1","mutes":[{"service":"web"}]}', /^mutes\[0\] has no service or no valid until/],
    ['bad until', '{"schema":"preflight.mutes/1","mutes":[{"service":"web","until":"soon"}]}', /^mutes\[0\] has no service or no valid until/],
    [
      'normalised: until in UTC, missing fields null',
      '{"schema":"preflight.mutes/1","mutes":[{"service":"web","until":"2026-12-02T19:00:00+01:00"}]}',
      [{ service: 'web', until: '2026-12-02T18:00:00.000Z', reason: null, at: '2026-12-02T18:00:00.000Z', by: null }],
    ],
  ];
  for (const [name, text, want] of cases) {
    it(name, () => {
      if (Array.isArray(want)) assert.deepEqual(parseMuteFile(text), want);
      else assert.throws(() => parseMuteFile(text), (err: unknown) => err instanceof MuteInputError && want.test(err.message));
    });
  }

  it('a damaged file on disk is an error from the reader (the daemon says so and counts no mute)', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, MUTE_FILE), '{"schema":');
    await assert.rejects(readMuteFile(dir), MuteInputError);
  });
});

describe('holdOf: what holds a service now', () => {
  const now = Date.parse('2026-12-06T03:00:00Z'); // a Sunday
  const m = (service: string, until: string, reason: string | null = null): MuteEntry => ({ service, until, reason, at: '2026-12-06T00:00:00.000Z', by: null });
  const sunday: MaintenanceWindow = { kind: 'weekly', days: [0], start: 120, end: 240, timezone: 'UTC', services: ['api'], reason: null, line: 3 };
  const cases: Array<[string, MuteEntry[], MaintenanceWindow[], string, { until: string; reason: string | null } | null]> = [
    ['nothing', [], [], 'web', null],
    ['its own mute', [m('web', '2026-12-06T04:00:00Z', 'deploy')], [], 'web', { until: '2026-12-06T04:00:00.000Z', reason: 'deploy' }],
    ['another service muted', [m('api', '2026-12-06T04:00:00Z')], [], 'web', null],
    ['a mute of all', [m(ALL, '2026-12-06T05:00:00Z', 'all down')], [], 'web', { until: '2026-12-06T05:00:00.000Z', reason: 'all down' }],
    ['expired (until is now)', [m('web', '2026-12-06T03:00:00Z')], [], 'web', null],
    ['the later of own and all', [m('web', '2026-12-06T06:00:00Z', 'own'), m(ALL, '2026-12-06T05:00:00Z', 'all')], [], 'web', { until: '2026-12-06T06:00:00.000Z', reason: 'own' }],
    ['a window for it, reason described', [], [sunday], 'api', { until: '2026-12-06T04:00:00.000Z', reason: 'maintenance window sun 02:00-04:00 UTC' }],
    ['a window for another', [], [sunday], 'web', null],
    ['window ending later than the mute wins', [m('api', '2026-12-06T03:30:00Z', 'short')], [{ ...sunday, reason: 'backup' }], 'api', { until: '2026-12-06T04:00:00.000Z', reason: 'backup' }],
  ];
  for (const [name, mutes, windows, service, want] of cases) it(name, () => assert.deepEqual(holdOf(mutes, windows, service, now), want));
});

describe('Mutes: the poll', () => {
  const waitFor = async (what: string, ms: number, ok: () => boolean): Promise<void> => {
    const end = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  it('sees a mute at the next tick, releases at start and when it is removed or expires', async () => {
    const dir = tempDir();
    let now = Date.parse('2026-12-06T03:00:00Z');
    const released: string[] = [];
    const lines: string[] = [];
    const mutes = new Mutes({
      snapshotDir: dir,
      services: ['web', 'api'],
      windows: [],
      log: { info: (l) => lines.push(l), warn: (l) => lines.push(`warn ${l}`) },
      now: () => now,
      onRelease: (s) => released.push(s),
      pollMs: 10,
    });
    await mutes.start();
    assert.deepEqual(released, ['web', 'api'], 'every free service is released once at start (a held message may survive a restart)');
    released.length = 0;
    await writeMuteFile(dir, [{ service: 'web', until: '2026-12-06T03:10:00.000Z', reason: 'deploy', at: '2026-12-06T03:00:00.000Z', by: null }]);
    await waitFor('the mute to be read', 2000, () => mutes.heldFor('web') !== null);
    assert.deepEqual(mutes.heldFor('web'), { until: '2026-12-06T03:10:00.000Z', reason: 'deploy' });
    assert.equal(mutes.current('api'), null);
    await waitFor('the log line', 2000, () => lines.some((l) => l.startsWith('web: notifications held until 2026-12-06T03:10:00.000Z (deploy)')));
    now += 10 * 60_000; // the mute's end
    await waitFor('the release', 2000, () => released.length === 1);
    assert.deepEqual(released, ['web']);
    assert.ok(lines.includes('web: notifications no longer held'));

    // a damaged file counts as no mute, said once
    writeFileSync(path.join(dir, MUTE_FILE), '{"schema":');
    await waitFor('the warning', 2000, () => lines.some((l) => l.startsWith('warn mute file')));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(lines.filter((l) => l.startsWith('warn mute file')).length, 1);
    await mutes.stop();
  });
});

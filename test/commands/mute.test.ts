// `preflight mute` / `unmute` (src/commands/mute.ts): what they write into the snapshot folder, what
// they say, and the errors: an unknown service (with the nearest name), a bad duration, a reason on
// several lines, a snapshot folder that does not exist.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { CommandContext } from '../../src/commands/command';
import { muteCommand, unmuteCommand } from '../../src/commands/mute';
import { MUTE_FILE } from '../../src/daemon/mute-file';
import { UsageError } from '../../src/util/errors';

const dir = mkdtempSync(path.join(tmpdir(), 'preflight-mute-cmd-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const store = path.join(dir, 'snapshots');
mkdirSync(store);
const config = path.join(dir, 'preflight.yaml');
writeFileSync(
  config,
  `snapshot_dir: ${JSON.stringify(store)}\nlisten: off\nservices:\n  - name: web\n    health_url: http://127.0.0.1:1/health\n  - name: api\n    health_url: http://127.0.0.1:2/health\n` +
    'maintenance:\n  - services: [api]\n    days: daily\n    time: 00:00-24:00\n    timezone: UTC\n',
);

async function run(command: typeof muteCommand, positionals: string[], values: Record<string, string> = {}, cfg = config): Promise<{ code: number; out: string }> {
  let out = '';
  const ctx: CommandContext = {
    io: { out: (t) => (out += `${t}\n`), err: () => undefined, isTTY: false },
    values: { config: cfg, ...values },
    positionals,
    env: {},
    signal: new AbortController().signal,
  };
  return { code: await command.run(ctx), out };
}
const file = (): { mutes: Array<{ service: string; until: string; reason: string | null }> } => JSON.parse(readFileSync(path.join(store, MUTE_FILE), 'utf8'));

describe('mute and unmute', () => {
  test('mute writes the file, a second mute of the same service replaces the first; unmute removes it', async () => {
    const t0 = Date.now();
    const a = await run(muteCommand, ['web', '10m'], { reason: 'deploy' });
    assert.equal(a.code, 0);
    assert.match(a.out, /^muted web for 10m, until \S+Z \(deploy\): failures are captured, not notified; one still open when it ends is notified then\nwritten to \S+snapshots\/\.mutes\.json \(snapshot_dir of \S+preflight\.yaml, from --config\)\n$/);
    const [m] = file().mutes;
    assert.equal(m?.service, 'web');
    assert.equal(m?.reason, 'deploy');
    const until = Date.parse(m!.until) - t0;
    assert.ok(until >= 600_000 && until < 602_000, String(until));
    await run(muteCommand, ['web', '20s']);
    assert.deepEqual(file().mutes.map((x) => [x.service, x.reason]), [['web', null]]);
    await run(muteCommand, ['all', '1h']);
    assert.deepEqual(file().mutes.map((x) => x.service), ['web', '*']);

    const u = await run(unmuteCommand, ['web']);
    assert.equal(u.code, 0);
    assert.match(u.out, /^unmuted web\nweb is still muted by 'mute all' until \S+: preflight unmute all ends that\n$/);
    const again = await run(unmuteCommand, ['web']);
    assert.equal(again.code, 1, 'nothing of its own left to unmute');
    assert.match(again.out, /^web was not muted\n/);
    const all = await run(unmuteCommand, ['all']);
    assert.equal(all.code, 0);
    assert.match(all.out, /^unmuted all services\napi is in the maintenance window daily 00:00-24:00 UTC \(line \d+ of \S+preflight\.yaml\) until \S+: unmute does not end it\n$/);
    assert.throws(() => readFileSync(path.join(store, MUTE_FILE)), /ENOENT/, 'no mutes left: no file');
  });

  const bad: Array<[string, string[], Record<string, string>, RegExp]> = [
    ['an unknown service, with the nearest', ['wbe', '10m'], {}, /^no service "wbe" in .*; did you mean web\? \(services: web, api, or all\)$/],
    ['no unit', ['web', '10'], {}, /^mute: duration "10" has no unit \(write 10m for minutes or 10s for seconds\)$/],
    ['empty duration', ['web', ''], {}, /^mute: the duration is empty/],
    ['a reason on two lines', ['web', '10m'], { reason: 'a\nb' }, /--reason holds a control character/],
  ];
  for (const [name, args, values, message] of bad) {
    test(name, async () => {
      await assert.rejects(run(muteCommand, args, values), (err: unknown) => err instanceof UsageError && message.test(err.message));
    });
  }

  test('a snapshot folder that does not exist: says preflight makes it when it starts', async () => {
    const other = path.join(dir, 'other.yaml');
    writeFileSync(other, `snapshot_dir: ${JSON.stringify(path.join(dir, 'nowhere'))}\nlisten: off\nservices:\n  - name: web\n    health_url: http://127.0.0.1:1/health\n`);
    await assert.rejects(run(muteCommand, ['web', '1m'], {}, other), /the snapshot folder \S+nowhere does not exist: is preflight running with this config\? \(it makes the folder when it starts\)/);
  });
});

// `preflight start` on the example config: one warning line saying so and what to do, through the
// logger at warning level (journald priority 4) when running, on stderr with --check.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { CommandContext } from '../../src/commands/command';
import { startCommand } from '../../src/commands/start';

const REPO = path.join(__dirname, '..', '..');
const dir = mkdtempSync(path.join(tmpdir(), 'preflight-start-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string): string => {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
};
// a closed port on loopback: the daemon runs, and nothing leaves the machine
const OWN = write('own.yaml', `snapshot_dir: ${JSON.stringify(path.join(dir, 'snap'))}\nlisten: off\nservices:\n  - name: web\n    health_url: http://127.0.0.1:1/health\n`);
// the example's placeholder token, on a config that probes nothing outside loopback
const PLACEHOLDER = write('placeholder.yaml', `snapshot_dir: ${JSON.stringify(path.join(dir, 'snap2'))}\nlisten: 127.0.0.1:0\napi_token: paste-a-long-random-token-here\nservices:\n  - name: web\n    health_url: http://127.0.0.1:1/health\n`);

async function start(values: CommandContext['values']): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const controller = new AbortController();
  // stopped as soon as it runs: the warning is written before the daemon starts
  controller.abort();
  const ctx: CommandContext = {
    io: { out: (t) => void out.push(...t.replace(/\n$/, '').split('\n')), err: (t) => void err.push(...t.replace(/\n$/, '').split('\n')), isTTY: false },
    values,
    positionals: [],
    env: { HOME: dir },
    signal: controller.signal,
  };
  return { code: await startCommand.run(ctx), out, err };
}

const WARNING = /still the example config \(.*\): list your own services under services:, and replace or remove the placeholders$/;

describe('start warns when the config is the example one', () => {
  const cases: Array<{ name: string; input: CommandContext['values']; want: { stream: 'out' | 'err'; warning: RegExp | null } }> = [
    { name: '--check on the repository example: on stderr, stdout stays the config', input: { check: true, config: path.join(REPO, 'preflight.yaml') }, want: { stream: 'err', warning: /^preflight: warning: \S+preflight\.yaml is still the example config \(service dead-drop checks example\.org/ } },
    { name: '--check on a config of its own: nothing', input: { check: true, config: OWN }, want: { stream: 'err', warning: null } },
    { name: 'running with the example token: one line at warning level', input: { config: PLACEHOLDER }, want: { stream: 'out', warning: /^<4>\S+placeholder\.yaml is still the example config \(api_token is the example's placeholder\)/ } },
    { name: 'running on a config of its own: no warning', input: { config: OWN }, want: { stream: 'out', warning: null } },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const r = await start(c.input);
      assert.equal(r.code, 0, r.err.join('\n'));
      const all = [...r.out, ...r.err];
      const warnings = all.filter((l) => WARNING.test(l));
      if (c.want.warning === null) return assert.deepEqual(warnings, []);
      assert.equal(warnings.length, 1, all.join('\n'));
      assert.match(warnings[0]!, c.want.warning);
      assert.ok(r[c.want.stream].includes(warnings[0]!), `not on ${c.want.stream}`);
      if (c.input.check === true) assert.match(r.out[0] ?? '', /^# \S+: valid$/);
    });
  }

  test('the running daemon says which config it read', async () => {
    const r = await start({ config: OWN });
    assert.ok(r.out.some((l) => l.endsWith(`; config ${OWN}, from --config`)), r.out.join('\n'));
  });
});

// `preflight show`: by path, by id, by service/id; an id two services share is not guessed. last, list
// and show say which config named the folder when they find nothing there.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { lastCommand, listCommand, showCommand } from '../../src/commands/snapshots';
import type { Command, CommandContext } from '../../src/commands/command';

const GOLDEN = path.join(__dirname, '..', '..', 'fixtures', 'golden', 'flaky-crash.snapshot.json');
const dir = mkdtempSync(path.join(tmpdir(), 'preflight-show-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const store = path.join(dir, 'snapshots');
const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as { id: string; service: string };
// the same incident time for two services: the id is a time, unique within a service only
for (const service of ['api', 'web']) {
  mkdirSync(path.join(store, service), { recursive: true });
  writeFileSync(path.join(store, service, `${golden.id}.json`), JSON.stringify({ ...golden, service }));
}
const config = path.join(dir, 'preflight.yaml');
writeFileSync(config, `snapshot_dir: ${JSON.stringify(store)}\nlisten: off\nservices:\n  - name: web\n    health_url: http://127.0.0.1:1/health\n`);

async function show(arg: string, command: Command = showCommand): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const ctx: CommandContext = {
    io: { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`), isTTY: false },
    values: { config },
    positionals: [arg],
    env: {},
    signal: new AbortController().signal,
  };
  return { code: await command.run(ctx), out, err };
}

describe('show', () => {
  const cases: { name: string; input: string; want: { code: number; first?: RegExp; err?: RegExp } }[] = [
    { name: 'service/id', input: `web/${golden.id}`, want: { code: 0, first: /^web failed at / } },
    { name: 'a path', input: path.join(store, 'api', `${golden.id}.json`), want: { code: 0, first: /^api failed at / } },
    { name: 'an id two services share: which one is asked, not guessed', input: golden.id, want: { code: 2, err: /belongs to 2 services \(api, web\); say which: preflight show api\// } },
    { name: 'service/id that does not exist', input: `db/${golden.id}`, want: { code: 1, err: /no snapshot \S+ of 'db'/ } },
    { name: 'an id nobody has', input: '2001-01-01T00-00-00.000Z', want: { code: 1, err: /no snapshot with id/ } },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const r = await show(c.input);
      assert.equal(r.code, c.want.code, r.err);
      if (c.want.first) assert.match(r.out.split('\n')[0] ?? '', c.want.first);
      if (c.want.err) assert.match(r.err, c.want.err);
    });
  }
});

describe('nothing found: the folder and the config that named it', () => {
  const where = `in ${store} (snapshot_dir of ${config}, from --config)`;
  const cases: { name: string; input: { command: Command; arg: string }; want: string }[] = [
    { name: 'last', input: { command: lastCommand, arg: 'db' }, want: `preflight: no snapshot for 'db' ${where}\n` },
    { name: 'list', input: { command: listCommand, arg: 'db' }, want: `preflight: no snapshots for 'db' ${where}\n` },
    { name: 'show service/id', input: { command: showCommand, arg: `db/${golden.id}` }, want: `preflight: no snapshot ${golden.id} of 'db' ${where}\n` },
    { name: 'show id', input: { command: showCommand, arg: '2001-01-01T00-00-00.000Z' }, want: `preflight: no snapshot with id 2001-01-01T00-00-00.000Z ${where}\n` },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const r = await show(c.input.arg, c.input.command);
      assert.equal(r.code, 1);
      assert.equal(r.err, c.want);
    });
  }
});

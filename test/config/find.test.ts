// Which config file is read: --config, $PREFLIGHT_CONFIG, /etc/preflight.yaml, then ./preflight.yaml only
// where there is no system config. Each case builds its own temp tree; "/etc/preflight.yaml" is a file
// in it (LookupPlaces.systemFile), so the host's /etc never matters.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { describeConfigSource, findConfigFile, loadConfig, locateConfig, type ConfigSource } from '../../src/config/find';
import { ConfigError } from '../../src/util/errors';

const SVC = (name: string): string => `services:\n  - name: ${name}\n    health_url: http://127.0.0.1:8080/health\n`;
const root = mkdtempSync(join(tmpdir(), 'preflight-find-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A file's content, or 'dir' for a folder at that path. */
type Tree = Record<string, string>;

let n = 0;
/** A fresh tree under root; paths are relative to it. The system config is etc/preflight.yaml, cwd is work/. */
function build(tree: Tree): { dir: string; cwd: string; systemFile: string } {
  const dir = join(root, String(n++));
  mkdirSync(join(dir, 'work'), { recursive: true });
  mkdirSync(join(dir, 'etc'), { recursive: true });
  for (const [rel, content] of Object.entries(tree)) {
    const p = join(dir, rel);
    if (content === 'dir') mkdirSync(p, { recursive: true });
    else {
      mkdirSync(join(p, '..'), { recursive: true });
      writeFileSync(p, content);
    }
  }
  return { dir, cwd: join(dir, 'work'), systemFile: join(dir, 'etc', 'preflight.yaml') };
}

interface Case {
  name: string;
  input: { files: Tree; flag?: string; env?: NodeJS.ProcessEnv };
  /** the file found, relative to the tree, and why; or the error, its file relative to the tree (or as is when it starts with -) */
  want: { file: string; source: ConfigSource } | { error: RegExp; hint: RegExp; file: string };
}

const SYSTEM = 'etc/preflight.yaml';
const LOCAL = 'work/preflight.yaml';
const cases: Case[] = [
  { name: 'the system config alone', input: { files: { [SYSTEM]: SVC('sys') } }, want: { file: SYSTEM, source: 'system' } },
  { name: './preflight.yaml alone', input: { files: { [LOCAL]: SVC('local') } }, want: { file: LOCAL, source: 'cwd' } },
  // the bug this order fixes: a checkout's example shadowed the box's config
  { name: 'both: the system config wins over ./preflight.yaml', input: { files: { [SYSTEM]: SVC('sys'), [LOCAL]: SVC('local') } }, want: { file: SYSTEM, source: 'system' } },
  { name: '$PREFLIGHT_CONFIG over both', input: { files: { [SYSTEM]: SVC('sys'), [LOCAL]: SVC('local'), 'env.yaml': SVC('env') }, env: { PREFLIGHT_CONFIG: '../env.yaml' } }, want: { file: 'env.yaml', source: '$PREFLIGHT_CONFIG' } },
  { name: 'empty $PREFLIGHT_CONFIG counts as unset', input: { files: { [SYSTEM]: SVC('sys') }, env: { PREFLIGHT_CONFIG: '' } }, want: { file: SYSTEM, source: 'system' } },
  { name: '--config over $PREFLIGHT_CONFIG', input: { files: { [SYSTEM]: SVC('sys'), 'env.yaml': SVC('env'), 'flag.yaml': SVC('flag') }, flag: '../flag.yaml', env: { PREFLIGHT_CONFIG: '../env.yaml' } }, want: { file: 'flag.yaml', source: '--config' } },
  {
    name: 'a system config that is a folder is an error, not a reason to read ./preflight.yaml',
    input: { files: { [SYSTEM]: 'dir', [LOCAL]: SVC('local') } },
    want: { error: /config file is a directory/, hint: /--config FILE/, file: SYSTEM },
  },
  { name: 'none found says where it looked, system first', input: { files: {} }, want: { error: /no config file found; looked for \S+etc\/preflight\.yaml and \S+work\/preflight\.yaml \(/, hint: /write \S+etc\/preflight\.yaml, pass --config FILE or set \$PREFLIGHT_CONFIG/, file: 'preflight.yaml' } },
  { name: 'missing --config file', input: { files: { [SYSTEM]: SVC('sys') }, flag: 'nope.yaml' }, want: { error: /config file from --config does not exist/, hint: /check the path, or unset --config to use \S+etc\/preflight\.yaml \(or \.\/preflight\.yaml where there is none\)/, file: 'work/nope.yaml' } },
  { name: 'missing $PREFLIGHT_CONFIG file: no fallback', input: { files: { [SYSTEM]: SVC('sys') }, env: { PREFLIGHT_CONFIG: '/nonexistent/p.yaml' } }, want: { error: /from \$PREFLIGHT_CONFIG does not exist/, hint: /unset \$PREFLIGHT_CONFIG/, file: '/nonexistent/p.yaml' } },
  { name: 'empty --config', input: { files: { [SYSTEM]: SVC('sys') }, flag: '' }, want: { error: /the file name is empty/, hint: /--config FILE/, file: '--config' } },
  { name: '--config is a folder', input: { files: { 'conf.d': 'dir' }, flag: '../conf.d' }, want: { error: /from --config is a directory/, hint: /check the path/, file: 'conf.d' } },
];

describe('locateConfig: --config, $PREFLIGHT_CONFIG, /etc/preflight.yaml, then ./preflight.yaml', () => {
  for (const c of cases) {
    it(c.name, () => {
      const { dir, cwd, systemFile } = build(c.input.files);
      const abs = (rel: string): string => (rel.startsWith('/') || rel.startsWith('-') || rel === 'preflight.yaml' ? rel : join(dir, rel));
      const run = (): unknown => locateConfig(c.input.flag, c.input.env ?? {}, { cwd, systemFile });
      if ('error' in c.want) {
        const want = c.want;
        assert.throws(run, (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err));
          assert.equal(err.file, abs(want.file));
          assert.match(err.message, want.error);
          assert.match(err.hint ?? '', want.hint);
          return true;
        });
      } else {
        assert.deepEqual(run(), { file: abs(c.want.file), source: c.want.source });
        assert.equal(findConfigFile(c.input.flag, c.input.env ?? {}, { cwd, systemFile }), abs(c.want.file));
      }
    });
  }
});

describe('describeConfigSource: the file and, where it matters, why that one', () => {
  const cases: Array<{ name: string; input: { file: string; source: ConfigSource }; want: string }> = [
    { name: 'the system config', input: { file: '/etc/preflight.yaml', source: 'system' }, want: '/etc/preflight.yaml' },
    { name: 'the current folder', input: { file: '/src/preflight/preflight.yaml', source: 'cwd' }, want: '/src/preflight/preflight.yaml, found in the current folder as there is no /etc/preflight.yaml' },
    { name: '--config', input: { file: '/x/p.yaml', source: '--config' }, want: '/x/p.yaml, from --config' },
    { name: '$PREFLIGHT_CONFIG', input: { file: '/x/p.yaml', source: '$PREFLIGHT_CONFIG' }, want: '/x/p.yaml, from $PREFLIGHT_CONFIG' },
  ];
  for (const c of cases) it(c.name, () => assert.equal(describeConfigSource(c.input), c.want));
});

describe('loadConfig', () => {
  it('reads the file locateConfig finds', () => {
    const { cwd, systemFile } = build({ [SYSTEM]: SVC('from-system'), [LOCAL]: SVC('from-cwd') });
    const c = loadConfig(undefined, { HOME: '/h' }, { cwd, systemFile });
    assert.equal(c.file, systemFile);
    assert.deepEqual(c.services.map((s) => s.name), ['from-system']);
  });

  const errors: Array<{ name: string; input: string | Buffer; want: { line: number | undefined; column: number | undefined; reason: RegExp; hint: RegExp } }> = [
    { name: 'its errors carry the file found', input: `${SVC('web')}intervall_seconds: 3\n`, want: { line: 4, column: 1, reason: /unknown key 'intervall_seconds'/, hint: /did you mean interval_seconds\?/ } },
    {
      name: 'names the line that is not UTF-8',
      input: Buffer.concat([Buffer.from(`${SVC('web')}    expect_body: `), Buffer.from([0xe9]), Buffer.from('\n')]),
      want: { line: 4, column: undefined, reason: /not valid UTF-8/, hint: /UTF-8/ },
    },
  ];
  for (const c of errors) {
    it(c.name, () => {
      const { cwd, systemFile } = build({ [SYSTEM]: '' });
      writeFileSync(systemFile, c.input);
      assert.throws(
        () => loadConfig(undefined, { HOME: '/h' }, { cwd, systemFile }),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err));
          assert.equal(err.file, systemFile);
          assert.deepEqual({ line: err.line, column: err.column }, { line: c.want.line, column: c.want.column });
          assert.match(err.message, c.want.reason);
          assert.match(err.hint ?? '', c.want.hint);
          return true;
        },
      );
    });
  }
});

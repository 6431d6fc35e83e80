// The bundle promises Node 18.15+, and this machine runs Node 20: run the BUILT bundle under Debian 12's own
// Node 18 (test/e2e/node18/provision.sh extracts it beside the host's Node, once, into .cache/node18/).
// A machine that cannot provision it (not root, no apt, no route to the mirror) skips every test here with
// the script's one-line reason; a provisioning bug fails them.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run, type RunResult } from '../../src/util/exec';
import { REPO, requireBundle, runCli, type CliResult } from './bundle';

const PROVISION = path.join(__dirname, 'node18', 'provision.sh');
/** Cold, it downloads ~12 MB from the apt mirror (apt-get itself gives up after 300 s without progress). */
const PROVISION_TIMEOUT_MS = 8 * 60_000;
/** provision.sh's exit status for "this machine cannot", with one line on stderr saying why. */
const EXIT_CANNOT = 3;

function provision(env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  return run('bash', [PROVISION], { timeoutMs: PROVISION_TIMEOUT_MS, maxBytes: 64 * 1024, env });
}

/** The interpreter under test sees no hint of the test runner (NODE_OPTIONS could hold --import tsx). */
function node18Env(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_TEST_CONTEXT;
  return env;
}

let wrapper = '';
let skipReason: string | null = null;
/** Whether the host had /usr/share/nodejs before any test ran: the wrapper must never create or hide it. */
const hostHadNodejsShare = existsSync('/usr/share/nodejs');

before(async () => {
  requireBundle();
  const r = await provision();
  if (r.exitCode === 0) {
    wrapper = r.stdout.trim();
    assert.ok(path.isAbsolute(wrapper) && existsSync(wrapper), `provision.sh printed ${JSON.stringify(r.stdout)}`);
  } else if (r.exitCode === EXIT_CANNOT) {
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `provision.sh exit 3 must say why in one line, said:\n${r.stderr}`);
    skipReason = lines[0]!;
  } else {
    const how = r.timedOut ? `timed out after ${PROVISION_TIMEOUT_MS} ms` : `exited ${r.exitCode ?? r.signal}`;
    throw new Error(`test/e2e/node18/provision.sh ${how}:\n${r.stderr}`);
  }
});

/** A test that needs the provisioned Node 18: skipped, with the reason, where there is none. */
function n18test(name: string, fn: () => Promise<void>): void {
  test(name, async (t) => {
    if (skipReason !== null) {
      t.skip(skipReason);
      return;
    }
    await fn();
  });
}

// ---------------------------------------------------------------------------------------------------------
// The bundle under Node 18. Add a command here as it lands (start, last, list, ...): the table is the spec.

interface Want {
  code: number;
  /** Whole stdout must match; default: anything. */
  stdout?: RegExp;
  /** Whole stderr must match; default: empty (Node 18 must not add warnings a user would see in journald). */
  stderr?: RegExp;
  /** Anything a pattern cannot say. */
  check?: (r: CliResult) => void;
}

interface CliCase {
  name: string;
  args: string[];
  /** Added to the environment (e.g. PREFLIGHT_CONFIG for the daemon's commands). */
  env?: Record<string, string>;
  /** Default 30 s. */
  timeoutMs?: number;
  want: Want;
}

const { version } = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };

/** The fields test/e2e/bundle.test.ts asserts of `sample --json` under the host's Node. */
function assertHostSample(stdout: string): void {
  const s = JSON.parse(stdout) as Record<string, unknown>;
  for (const key of ['cpu_percent', 'mem_used_percent', 'load1'] as const) {
    assert.equal(typeof s[key], 'number', `${key} = ${String(s[key])}`);
  }
  const disk = s.disk_used_percent as Record<string, number>;
  assert.ok(disk['/']! > 0 && disk['/']! <= 100, `disk / = ${disk['/']}`);
  assert.ok((s.cpu_percent as number) >= 0 && (s.cpu_percent as number) <= 100);
  assert.ok(Math.abs(Date.parse(s.at as string) - Date.now()) < 60_000, `at = ${String(s.at)}`);
}

const CLI_CASES: CliCase[] = [
  { name: 'prints the package version', args: ['--version'], want: { code: 0, stdout: new RegExp(`^${version.replace(/\./g, '\\.')}\\n$`) } },
  { name: 'lists the commands', args: ['--help'], want: { code: 0, stdout: /^[^]*usage: preflight <command>[^]*\bsample\b[^]*$/ } },
  { name: 'prints one host sample', args: ['sample', '--json'], want: { code: 0, check: (r) => assertHostSample(r.stdout) } },
  {
    name: 'prints a human summary line',
    args: ['sample'],
    want: { code: 0, stdout: /^\S+Z {2}RAM \d+%( \| swap \d+%)? \| disk \/ \d+% \| load \d+\.\d\d \| cpu \d+%\n$/ },
  },
  { name: 'an unknown command exits 2', args: ['frobnicate'], want: { code: 2, stdout: /^$/, stderr: /^preflight: unknown command 'frobnicate'\n[^]*usage: preflight/ } },
  // parseArgs' own wording is rewritten by cli.ts: Node 18's must still come out the same
  { name: 'an unknown option exits 2', args: ['sample', '--frob'], want: { code: 2, stdout: /^$/, stderr: /^preflight: sample: unknown option '--frob'\n[^]*usage: preflight/ } },
  { name: 'an extra argument exits 2', args: ['sample', 'extra'], want: { code: 2, stdout: /^$/, stderr: /^preflight: sample: unexpected argument 'extra'\n[^]*usage: preflight/ } },
];

// each case is its own process, so they run side by side
describe('dist/preflight.js under Debian 12 Node 18', { concurrency: true }, () => {
  n18test('the wrapper runs Node 18', async () => {
    const r = await run(wrapper, ['-p', 'process.version'], { timeoutMs: 30_000, maxBytes: 4096, env: node18Env() });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^v18\.\d+\.\d+\n$/);
  });

  for (const c of CLI_CASES) {
    n18test(`preflight ${c.args.join(' ')}: ${c.name}`, async () => {
      const r = await runCli(c.args, { node: wrapper, env: { ...node18Env(), ...c.env }, timeoutMs: c.timeoutMs });
      const shown = `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
      assert.equal(r.signal, null, shown);
      assert.equal(r.code, c.want.code, shown);
      if (c.want.stdout) assert.match(r.stdout, c.want.stdout);
      if (c.want.stderr) assert.match(r.stderr, c.want.stderr);
      else assert.equal(r.stderr, '');
      c.want.check?.(r);
    });
  }
});

// ---------------------------------------------------------------------------------------------------------
// The wrapper's contract: it must be as transparent as `node` itself, or the tests above prove nothing.

interface Spawned {
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Run the wrapper with stdin; `signal` is sent once stdout says "ready". It runs in its own process group,
 * killed whole after 10 s: a wrapper that swallowed the signal would leave node behind holding the pipes.
 */
function spawnWrapper(args: string[], opts: { input?: string; signal?: NodeJS.Signals } = {}): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn(wrapper, args, { env: node18Env(), stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (opts.signal && !signalled && stdout.includes('ready\n')) {
        signalled = true;
        child.kill(opts.signal);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is already gone
      }
    }, 10_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ pid: child.pid, code, signal, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

interface WrapperCase {
  name: string;
  args: string[];
  input?: string;
  signal?: NodeJS.Signals;
  want: { code: number | null; signal?: NodeJS.Signals; stdout: string };
}

const LOOP = 'setInterval(() => {}, 1000); process.stdout.write("ready\\n")';

const WRAPPER_CASES: WrapperCase[] = [
  { name: 'argv passes through verbatim', args: ['-p', 'JSON.stringify(process.argv.slice(1))', 'a b', '', '$HOME', "'q'"], want: { code: 0, stdout: `["a b","","$HOME","'q'"]\n` } },
  { name: 'stdin reaches node', args: ['-e', 'process.stdin.pipe(process.stdout)'], input: 'line one\nline two\n', want: { code: 0, stdout: 'line one\nline two\n' } },
  { name: 'the exit status is node’s', args: ['-e', 'process.exitCode = 42'], want: { code: 42, stdout: '' } },
  { name: 'SIGTERM reaches node’s handler', args: ['-e', `process.on("SIGTERM", () => { console.log("got SIGTERM"); process.exit(7) }); ${LOOP}`], signal: 'SIGTERM', want: { code: 7, stdout: 'ready\ngot SIGTERM\n' } },
  { name: 'an unhandled SIGTERM kills node itself', args: ['-e', LOOP], signal: 'SIGTERM', want: { code: null, signal: 'SIGTERM', stdout: 'ready\n' } },
  // the pid the caller holds is node's own (every step exec'd), so kill(pid) and waitpid reach node
  { name: 'the caller’s pid is node’s', args: ['-p', 'process.pid'], want: { code: 0, stdout: '<pid>\n' } },
];

describe('the Node 18 wrapper passes everything through', { concurrency: true }, () => {
  for (const c of WRAPPER_CASES) {
    n18test(c.name, async () => {
      const r = await spawnWrapper(c.args, { input: c.input, signal: c.signal });
      assert.equal(r.code, c.want.code, r.stderr);
      assert.equal(r.signal, c.want.signal ?? null, r.stderr);
      assert.equal(r.stdout, c.want.stdout.replace('<pid>', String(r.pid)));
      assert.equal(r.stderr, '');
    });
  }

  n18test('only /usr/share/nodejs is Debian’s: the host’s /usr/share stays visible', async () => {
    const script = 'const fs = require("fs"); console.log(JSON.stringify({ share: fs.readdirSync("/usr/share").sort(), undici: fs.existsSync("/usr/share/nodejs/undici/undici-fetch.js") }))';
    const r = await spawnWrapper(['-e', script]);
    assert.equal(r.code, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as { share: string[]; undici: boolean };
    const host = readdirSync('/usr/share').sort();
    assert.ok(host.length > 1);
    assert.deepEqual(seen.share.filter((n) => n !== 'nodejs'), host.filter((n) => n !== 'nodejs'));
    assert.ok(seen.share.includes('nodejs'));
    assert.equal(seen.undici, true);
    // and the namespace's mounts stayed inside it
    assert.equal(existsSync('/usr/share/nodejs'), hostHadNodejsShare);
  });
});

// ---------------------------------------------------------------------------------------------------------
// provision.sh: instant once done, and whole or absent when it cannot.

describe('provision.sh', () => {
  n18test('a second run reuses the cache without touching it', async () => {
    const cache = path.dirname(wrapper);
    const before = statSync(path.join(cache, 'VERSION'));
    const dirBefore = statSync(cache);
    const r = await provision();
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, `${wrapper}\n`);
    assert.equal(r.stderr, '');
    const afterStat = statSync(path.join(cache, 'VERSION'));
    assert.equal(afterStat.ino, before.ino);
    assert.equal(statSync(cache).mtimeMs, dirBefore.mtimeMs);
    assert.match(readFileSync(path.join(cache, 'VERSION'), 'utf8'), /^18\./);
  });

  let scratch: string;
  let closedPort = 0;
  before(async () => {
    scratch = mkdtempSync(path.join(tmpdir(), 'preflight-node18-'));
    // a port nobody listens on, so apt's proxy connection is refused at once: "no network to the mirror"
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closedPort = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  const CANNOT: { name: string; input: () => { file: string; args: string[]; env: NodeJS.ProcessEnv }; want: RegExp }[] = [
    {
      name: 'not root',
      input: () => ({ file: 'setpriv', args: ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', PROVISION], env: { ...process.env, PREFLIGHT_NODE18_CACHE: path.join(scratch, 'nonroot', 'node18') } }),
      want: /^node18: needs root: /,
    },
    {
      name: 'no route to the apt mirror',
      input: () => ({ file: 'bash', args: [PROVISION], env: { ...process.env, http_proxy: `http://127.0.0.1:${closedPort}`, PREFLIGHT_NODE18_CACHE: path.join(scratch, 'offline', 'node18') } }),
      want: /^node18: cannot download Debian's nodejs 18\.\S+ from the apt mirror: .+/,
    },
  ];
  for (const c of CANNOT) {
    n18test(`cannot: ${c.name} exits 3 with one line and leaves no cache`, async () => {
      const { file, args, env } = c.input();
      const cache = env.PREFLIGHT_NODE18_CACHE!;
      const r = await run(file, args, { timeoutMs: 120_000, maxBytes: 64 * 1024, env });
      assert.equal(r.exitCode, EXIT_CANNOT, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^[^\n]+\n$/, 'exactly one line');
      assert.match(r.stderr, c.want);
      assert.equal(existsSync(cache), false, `${cache} was left behind`);
      const parent = path.dirname(cache);
      const leftovers = existsSync(parent) ? readdirSync(parent).filter((n) => n.includes('.tmp.')) : [];
      assert.deepEqual(leftovers, []);
    });
  }
});

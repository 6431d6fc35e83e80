// The project's real-systemd test harness: boots the real systemd as PID 1 of private pid+mount+uts+ipc
// namespaces (the host network stays shared), runs commands in there, and tears everything down again.
// Pattern from /work/shared/reference/systemd-sandbox/ (verified on Debian 12, systemd 252, cgroup v1 hybrid).
//
// Safety rules this file keeps:
// - The only cgroups it creates, kills or removes are named `preflight-e2e-<name>` (CGROUP_PREFIX).
// - init.sh refuses to run unless it is PID 1 of a new pid namespace (so its mounts are never the host's).
// - State (units, journal, logs) lives in a temp folder under os.tmpdir(), never in the source tree.
// - Teardown runs on down(), on process exit and on SIGINT/SIGTERM/SIGHUP, so a failing test leaves nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run, type RunResult } from '../../src/util/exec';
import { request } from '../daemon/_helpers';
import { waitFor } from './wait';

const ASSETS = path.join(__dirname, 'sandbox');
const INIT_SCRIPT = path.join(ASSETS, 'init.sh');
const MINIMAL_UNITS = path.join(ASSETS, 'units');
/** The test service (see its header): /health, /fail, /hang, /crash, /hog. */
export const FLAKY_JS = path.join(ASSETS, 'flaky.js');
const SYSTEMD = '/lib/systemd/systemd';
const CGROUP_MOUNT = '/sys/fs/cgroup';
/** Every cgroup this harness creates or removes carries this prefix. */
export const CGROUP_PREFIX = 'preflight-e2e-';
const PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const TOOLS = ['unshare', 'nsenter', 'setpriv', 'mountpoint'] as const;

export interface SandboxOptions {
  /** Extra unit files, filename -> text. `@NODE@` and `@FLAKY@` are replaced by node's and flaky.js's paths. */
  units?: Record<string, string>;
  /** Give up booting after this long (default 20 s). */
  bootTimeoutMs?: number;
}

export interface ExecOptions {
  /** Run as this user (via setpriv); gid defaults to uid, supplementary groups to none. */
  uid?: number;
  gid?: number;
  groups?: number[];
  /** Default 15 s; the command (not only nsenter) is killed when it passes. */
  timeoutMs?: number;
  /** Cap on stdout, default 8 MiB. */
  maxBytes?: number;
  /** Added to a minimal environment (PATH, LANG=C.UTF-8, HOME). */
  env?: Record<string, string>;
  /** Working directory inside the sandbox (the sandbox sees the host's file tree). */
  cwd?: string;
}

/** cgroup hierarchies mounted below /sys/fs/cgroup/ (v1 controllers, name=systemd, the v2 `unified`). */
function cgroupHierarchies(): string[] {
  const out: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    // "36 25 0:31 / /sys/fs/cgroup/memory rw,... shared:14 - cgroup cgroup rw,memory": optional fields vary,
    // so the filesystem type is the first word after the " - " separator
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const mountPoint = line.slice(0, sep).split(' ')[4];
    const fsType = line.slice(sep + 3).split(' ')[0];
    if (mountPoint?.startsWith(`${CGROUP_MOUNT}/`) && (fsType === 'cgroup' || fsType === 'cgroup2')) {
      out.push(mountPoint);
    }
  }
  return [...new Set(out)];
}

function onPath(tool: string): boolean {
  return PATH_ENV.split(':').some((dir) => {
    try {
      fs.accessSync(path.join(dir, tool), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Why this machine cannot boot the sandbox, or null when it can. Tests skip with this reason:
 * `test('x', { skip: sandboxUnavailable() ?? false }, ...)`.
 */
export function sandboxUnavailable(): string | null {
  const reason = whySandboxUnavailable();
  // CI (.ci/run) must run these tests, not pass by skipping them: there a reason is a failure
  if (reason !== null && process.env.PREFLIGHT_E2E_REQUIRE_SANDBOX === '1') {
    throw new Error(`PREFLIGHT_E2E_REQUIRE_SANDBOX=1 but the systemd sandbox cannot boot: ${reason}`);
  }
  return reason;
}

function whySandboxUnavailable(): string | null {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root: it boots systemd as PID 1 of private namespaces';
  for (const tool of TOOLS) {
    if (!onPath(tool)) return `${tool} not found on PATH (install util-linux)`;
  }
  try {
    fs.accessSync(SYSTEMD, fs.constants.X_OK);
  } catch {
    return `${SYSTEMD} not found (apt-get install systemd)`;
  }
  const hierarchies = cgroupHierarchies();
  if (hierarchies.length === 0) {
    return `no cgroup hierarchies mounted below ${CGROUP_MOUNT}/: this harness needs the cgroup v1 hybrid layout (a pure cgroup v2 host mounts ${CGROUP_MOUNT} itself)`;
  }
  for (const h of hierarchies) {
    try {
      fs.accessSync(h, fs.constants.W_OK);
    } catch {
      return `cgroup hierarchy ${h} is not writable (read-only cgroupfs, e.g. inside an unprivileged container)`;
    }
  }
  return null;
}

/** Alive and not a zombie: /proc/<pid>/stat's state, read after the last ')' (the name may hold one). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(done: () => boolean, timeoutMs: number, stepMs = 10): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await sleep(stepMs);
  }
  return true;
}

function waitUntilSync(done: () => boolean, timeoutMs: number): boolean {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    sleepSync(10);
  }
  return true;
}

function assertOurs(cgroup: string): void {
  // the one guard between a bug and rmdir/kill on a host cgroup
  if (!cgroup.startsWith(CGROUP_PREFIX) || cgroup.includes('/') || cgroup.includes('..')) {
    throw new Error(`sandbox: refusing to touch cgroup ${JSON.stringify(cgroup)}`);
  }
}

/** Every directory of our subtree in every hierarchy, deepest first. */
function subtreeDirs(cgroup: string): string[] {
  assertOurs(cgroup);
  const dirs: string[] = [];
  const walk = (dir: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name));
    dirs.push(dir);
  };
  for (const h of cgroupHierarchies()) {
    const root = path.join(h, cgroup);
    if (fs.existsSync(root)) walk(root);
  }
  return dirs;
}

function procsIn(dir: string): number[] {
  try {
    return fs
      .readFileSync(path.join(dir, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter((l) => /^\d+$/.test(l))
      .map(Number);
  } catch {
    return [];
  }
}

function subtreeEmpty(cgroup: string): boolean {
  return subtreeDirs(cgroup).every((d) => procsIn(d).length === 0);
}

/** Kill every process still in our subtree: cgroup.kill (v2, kernel >= 5.14) where there is one, else one by one. */
function killSubtree(cgroup: string): void {
  assertOurs(cgroup);
  const killFile = path.join(CGROUP_MOUNT, 'unified', cgroup, 'cgroup.kill');
  if (fs.existsSync(killFile)) {
    try {
      fs.writeFileSync(killFile, '1');
    } catch {
      // fall through to per-process kills
    }
  }
  for (const dir of subtreeDirs(cgroup)) {
    for (const pid of procsIn(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** rmdir our subtree, deepest first; returns what could not be removed. */
function removeSubtree(cgroup: string): string[] {
  for (const dir of subtreeDirs(cgroup)) {
    try {
      fs.rmdirSync(dir);
    } catch {
      // reported below
    }
  }
  return subtreeDirs(cgroup);
}

const live = new Map<string, Sandbox>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const sb of live.values()) sb.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const sb of live.values()) sb.destroySync();
      process.kill(process.pid, sig);
    });
  }
}

/** Text of a unit running flaky.js on 127.0.0.1:port; extra lines go into [Service]. */
export function flakyUnit(o: { port: number; description?: string; restartSec?: number; service?: string[] }): string {
  return [
    '[Unit]',
    `Description=${o.description ?? `flaky test service on 127.0.0.1:${o.port}`}`,
    'StartLimitIntervalSec=0',
    '[Service]',
    `Environment=PORT=${o.port}`,
    'ExecStart="@NODE@" "@FLAKY@"',
    'Restart=on-failure',
    `RestartSec=${o.restartSec ?? 1}`,
    ...(o.service ?? []),
    '',
  ].join('\n');
}

export class Sandbox {
  readonly name: string;
  /** The cgroup (in every hierarchy) that systemd uses as its root: `preflight-e2e-<name>`. */
  readonly cgroup: string;
  readonly stateDir: string;
  /** Host path of the sandbox's /var/log/journal. */
  readonly journalDir: string;
  /** Host PID of the sandboxed systemd (PID 1 inside). */
  pid = 0;
  bootMs = 0;
  teardownMs = 0;
  private readonly unshare: ChildProcess;
  private readonly children = new Set<ChildProcess>();
  private downing: Promise<void> | undefined;
  private destroyed = false;

  private constructor(name: string, cgroup: string, stateDir: string, unshare: ChildProcess) {
    this.name = name;
    this.cgroup = cgroup;
    this.stateDir = stateDir;
    this.journalDir = path.join(stateDir, 'journal');
    this.unshare = unshare;
  }

  /** Boot a sandbox; `name` must be unique per test file (it names the cgroup). */
  static async up(name: string, opts: SandboxOptions = {}): Promise<Sandbox> {
    const why = sandboxUnavailable();
    if (why !== null) throw new Error(`sandbox unavailable: ${why}`);
    if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(name)) {
      throw new Error(`sandbox name ${JSON.stringify(name)}: use 1-40 of [a-z0-9-]`);
    }
    if (live.has(name)) throw new Error(`sandbox ${name} is already up in this process`);
    const cgroup = CGROUP_PREFIX + name;
    assertOurs(cgroup);
    // a run killed with SIGKILL could not clean up; the name is ours (unique per test file), so reclaim it
    if (subtreeDirs(cgroup).length > 0) {
      killSubtree(cgroup);
      waitUntilSync(() => subtreeEmpty(cgroup), 5000);
      const left = removeSubtree(cgroup);
      if (left.length > 0) throw new Error(`sandbox ${name}: stale cgroups from an earlier run remain: ${left.join(' ')}`);
      // and its state folders (mkdtemp names: the prefix and six characters)
      const stale = new RegExp(`^${cgroup}-[A-Za-z0-9]{6}$`);
      for (const f of fs.readdirSync(os.tmpdir())) {
        if (stale.test(f)) fs.rmSync(path.join(os.tmpdir(), f), { recursive: true, force: true });
      }
    }

    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `${cgroup}-`));
    const unitDir = path.join(stateDir, 'units');
    fs.mkdirSync(unitDir);
    const substitute = (text: string): string => text.replaceAll('@NODE@', process.execPath).replaceAll('@FLAKY@', FLAKY_JS);
    for (const f of fs.readdirSync(MINIMAL_UNITS)) fs.copyFileSync(path.join(MINIMAL_UNITS, f), path.join(unitDir, f));
    for (const [file, text] of Object.entries(opts.units ?? {})) {
      if (file.includes('/') || file.startsWith('.')) throw new Error(`sandbox unit name ${JSON.stringify(file)}`);
      fs.writeFileSync(path.join(unitDir, file), substitute(text));
    }
    const journal = path.join(stateDir, 'journal');
    fs.mkdirSync(journal);
    // like Debian's /var/log/journal: group systemd-journal, setgid, so the group can read the journal
    const journalGid = groupId('systemd-journal');
    if (journalGid !== undefined) fs.chownSync(journal, 0, journalGid);
    fs.chmodSync(journal, 0o2755);
    fs.writeFileSync(path.join(stateDir, 'console'), '');
    // a cgroup v1 host defaults CPU accounting to off; a Debian 12 host (cgroup v2) has these on
    fs.writeFileSync(
      path.join(stateDir, 'system.conf'),
      '[Manager]\nDefaultCPUAccounting=yes\nDefaultMemoryAccounting=yes\nDefaultTasksAccounting=yes\nDefaultIOAccounting=yes\n',
    );

    // systemd uses a v1 controller only if <hierarchy>/<its cgroup>/cgroup.procs exists; cpuset is left out
    // (systemd does not use it on v1, and joining an unconfigured cpuset fails with ENOSPC)
    const hierarchies = cgroupHierarchies().filter((h) => path.basename(h) !== 'cpuset');
    for (const h of hierarchies) fs.mkdirSync(path.join(h, cgroup));

    const started = performance.now();
    const log = fs.openSync(path.join(stateDir, 'unshare.log'), 'w');
    // pdeathsig: if this process dies without running any handler (SIGKILL, OOM), unshare gets SIGKILL,
    // and with --kill-child so does PID 1 and the whole namespace; only empty cgroups remain, and the
    // next up() of this name removes them
    const unshare = spawn(
      'setpriv',
      ['--pdeathsig', 'KILL', '--', 'unshare', '--pid', '--fork', '--kill-child=SIGKILL', '--mount', '--mount-proc', '--uts', '--ipc',
        '--propagation', 'private', '/bin/bash', INIT_SCRIPT, stateDir, cgroup, unitDir],
      { detached: true, stdio: ['ignore', log, log], env: { PATH: PATH_ENV, HIER: hierarchies.join(' ') } },
    );
    fs.closeSync(log);
    unshare.unref();
    const sb = new Sandbox(name, cgroup, stateDir, unshare);
    live.set(name, sb);
    installExitHooks();
    try {
      await sb.waitForBoot(opts.bootTimeoutMs ?? 20_000);
    } catch (err) {
      const logText = readTail(path.join(stateDir, 'unshare.log'));
      await sb.down().catch(() => undefined);
      throw new Error(`sandbox ${name}: ${err instanceof Error ? err.message : String(err)}${logText ? `\n--- unshare.log\n${logText}` : ''}`);
    }
    sb.bootMs = performance.now() - started;
    return sb;
  }

  private unshareAlive(): boolean {
    return this.unshare.exitCode === null && this.unshare.signalCode === null;
  }

  private async waitForBoot(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const upPid = this.unshare.pid;
    if (upPid === undefined) throw new Error('unshare did not start');
    // unshare --fork has exactly one child: PID 1 of the new namespace (init.sh, then systemd)
    const found = await waitUntil(() => {
      if (!this.unshareAlive()) return true;
      const children = readOr(`/proc/${upPid}/task/${upPid}/children`, '').trim();
      const pid = Number(children.split(' ')[0]);
      if (!(pid > 0)) return false;
      this.pid = pid;
      try {
        // systemd is ready for systemctl once its private socket exists (seen through its own mount namespace)
        return fs.statSync(`/proc/${pid}/root/run/systemd/private`).isSocket();
      } catch {
        return false;
      }
    }, timeoutMs);
    if (!this.unshareAlive()) throw new Error(`PID 1 exited during boot (unshare ${this.unshare.exitCode ?? this.unshare.signalCode})`);
    if (!found) throw new Error(`systemd did not open /run/systemd/private within ${timeoutMs} ms`);
    const r = await this.exec(['systemctl', 'is-system-running', '--wait'], {
      timeoutMs: Math.max(1000, deadline - performance.now()),
    });
    const state = r.stdout.trim();
    if (state !== 'running' && state !== 'degraded') {
      throw new Error(`systemctl is-system-running: ${JSON.stringify(state)} ${r.stderr.trim()}`);
    }
  }

  private nsenterArgs(argv: readonly string[], opts: ExecOptions): string[] {
    if (this.pid <= 0 || this.destroyed) throw new Error(`sandbox ${this.name} is not up`);
    const args = ['-t', String(this.pid), '-m', '-p', '-u', '-i'];
    if (opts.cwd !== undefined) args.push(`--wd=${opts.cwd}`);
    // pdeathsig: killing nsenter (timeout, spawn().kill()) takes the command inside down with it
    args.push('--', 'setpriv', '--pdeathsig', 'KILL');
    if (opts.uid !== undefined) {
      args.push(`--reuid=${opts.uid}`, `--regid=${opts.gid ?? opts.uid}`);
      args.push(opts.groups && opts.groups.length > 0 ? `--groups=${opts.groups.join(',')}` : '--clear-groups');
    }
    args.push('--', ...argv);
    return args;
  }

  private env(opts: ExecOptions): NodeJS.ProcessEnv {
    return { PATH: PATH_ENV, LANG: 'C.UTF-8', HOME: opts.uid ? '/' : '/root', ...opts.env };
  }

  /** Run a command inside the sandbox's namespaces (as root, or as uid/gid/groups via setpriv). */
  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
    return run('nsenter', this.nsenterArgs(argv, opts), {
      timeoutMs: opts.timeoutMs ?? 15_000,
      maxBytes: opts.maxBytes ?? 8 << 20,
      env: this.env(opts),
    });
  }

  /** Start a long-running command inside the sandbox; kill() on the result kills the command. */
  spawn(argv: readonly string[], opts: ExecOptions = {}): ChildProcess {
    const child = spawn('nsenter', this.nsenterArgs(argv, opts), { stdio: ['ignore', 'pipe', 'pipe'], env: this.env(opts) });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** What would be left behind right now: cgroup dirs, live processes, the state folder. Empty after down(). */
  leftovers(): string[] {
    const out = subtreeDirs(this.cgroup);
    if (this.pid > 0 && alive(this.pid)) out.push(`systemd pid ${this.pid}`);
    if (this.unshareAlive()) out.push(`unshare pid ${this.unshare.pid}`);
    if (fs.existsSync(this.stateDir)) out.push(this.stateDir);
    return out;
  }

  /** Stop systemd cleanly (journal closed), then make sure nothing is left: idempotent. */
  down(): Promise<void> {
    this.downing ??= this.teardown();
    return this.downing;
  }

  private async teardown(): Promise<void> {
    const started = performance.now();
    if (this.pid > 0 && alive(this.pid) && !this.destroyed) {
      await this.exec(['systemctl', 'exit', '--no-block'], { timeoutMs: 10_000 }).catch(() => undefined);
      await waitUntil(() => !alive(this.pid), 10_000);
    }
    // unshare runs with --kill-child: killing it SIGKILLs PID 1, and with it the whole pid namespace
    for (const child of this.children) child.kill('SIGKILL');
    if (this.unshareAlive()) this.unshare.kill('SIGKILL');
    await waitUntil(() => !this.unshareAlive() && !(this.pid > 0 && alive(this.pid)), 5000);
    killSubtree(this.cgroup);
    await waitUntil(() => subtreeEmpty(this.cgroup), 5000);
    const left = removeSubtree(this.cgroup);
    this.destroyed = true;
    live.delete(this.name);
    if (process.env.PREFLIGHT_E2E_KEEP !== '1') fs.rmSync(this.stateDir, { recursive: true, force: true });
    this.teardownMs = performance.now() - started;
    if (left.length > 0) throw new Error(`sandbox ${this.name}: could not remove ${left.join(' ')}`);
  }

  /** Last-resort teardown for process exit and signals: synchronous, no graceful stop. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const child of this.children) child.kill('SIGKILL');
    if (this.unshareAlive()) this.unshare.kill('SIGKILL');
    killSubtree(this.cgroup);
    waitUntilSync(() => subtreeEmpty(this.cgroup), 3000);
    const left = removeSubtree(this.cgroup);
    if (left.length > 0) process.stderr.write(`sandbox ${this.name}: could not remove ${left.join(' ')}\n`);
    if (process.env.PREFLIGHT_E2E_KEEP !== '1') fs.rmSync(this.stateDir, { recursive: true, force: true });
    live.delete(this.name);
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

function readTail(file: string, max = 2000): string {
  const text = readOr(file, '').trim();
  return text.length > max ? `…${text.slice(-max)}` : text;
}

/** gid of a group from /etc/group (the sandbox shares the host's /etc). */
export function groupId(name: string): number | undefined {
  for (const line of readOr('/etc/group', '').split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  return undefined;
}

/**
 * GET http://127.0.0.1:port/path (the sandbox shares the host network): the status code, or the error
 * code ('ECONNREFUSED', 'ETIMEDOUT', ...) when there is no answer.
 */
export async function httpGet(port: number, urlPath: string, timeoutMs = 2000): Promise<number | string> {
  try {
    return (await request(`http://127.0.0.1:${port}${urlPath}`, { timeoutMs })).status;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

/** Resolves once 127.0.0.1:port/health answers 200; throws after `ms`. */
export async function untilHealthy(port: number, ms: number, requestTimeoutMs = 2000): Promise<void> {
  await waitFor(`127.0.0.1:${port}/health to answer 200`, ms, async () => (await httpGet(port, '/health', requestTimeoutMs)) === 200);
}

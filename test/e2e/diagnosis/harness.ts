// The corpus's machinery: toolchains, the programs compiled into a temp folder, the TLS certificates,
// the preflight config for every scenario, reading snapshots, and the checks (did it happen, was it
// recorded, what does findings[0] say). diagnosis.test.ts puts these together in one sandbox.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import { TestCa } from '../../probe/_certs';
import * as path from 'node:path';
import { run } from '../../../src/util/exec';
import { httpGet, type Sandbox } from '../sandbox';
import { waitFor } from '../wait';
import { AROUND } from './ports';
import { PROGRAMS, type Ctx, type Pattern, type Scenario, type ServiceEntry, type Snap, type Tool } from './scenario';

const ENSURE = path.join(__dirname, 'ensure-toolchains.sh');
const ALL_TOOLS: Tool[] = ['java', 'rustc', 'gcc', 'go', 'python3', 'openssl', 'systemd-notify'];

/**
 * Find (or install, see ensure-toolchains.sh) every tool the scenarios need. Synchronous: the test
 * decides at load time which scenarios can run. Returns paths, and why each missing tool is missing.
 */
export function toolchains(): { paths: Partial<Record<Tool, string>>; missing: Partial<Record<Tool, string>> } {
  let stdout = '';
  let stderr = '';
  try {
    stdout = execFileSync('bash', [ENSURE, ...ALL_TOOLS], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    stdout = e.stdout ?? '';
    stderr = e.stderr ?? e.message;
  }
  const paths: Partial<Record<Tool, string>> = {};
  for (const line of stdout.split('\n')) {
    const [tool, p] = line.split(' ');
    if (tool && p) paths[tool as Tool] = p;
  }
  const missing: Partial<Record<Tool, string>> = {};
  for (const t of ALL_TOOLS) {
    if (!paths[t]) missing[t] = stderr.split('\n').find((l) => l.startsWith(`${t} `) || l.startsWith(`${t}:`)) ?? `${t} not found (ensure-toolchains.sh: ${stderr.trim() || 'no reason given'})`;
  }
  return { paths, missing };
}

/** The interpreter itself, not a version manager's shim (pyenv's needs a HOME the units do not have). */
function realPython(python: string): string {
  return execFileSync(python, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
}

export interface Prepared {
  scratch: string;
  bin: string;
  python: string;
  java: string;
  /** per build step, ms */
  timings: Record<string, number>;
}

/** The run's temp folder: compiled programs (concurrently, timed), certificates, files the scenarios read. */
export async function prepare(paths: Partial<Record<Tool, string>>): Promise<Prepared> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'diag-corpus-'));
  fs.chmodSync(scratch, 0o755); // the eacces scenario's User=nobody must get as far as the file itself
  const bin = path.join(scratch, 'bin');
  fs.mkdirSync(bin);
  fs.mkdirSync(path.join(scratch, 'tls'));
  const timings: Record<string, number> = {};
  const step = async (name: string, tool: Tool | null, file: string, args: string[]): Promise<void> => {
    if (tool !== null && !paths[tool]) return; // its scenarios are skipped, with the reason
    const r = await run(file, args, { cwd: PROGRAMS, timeoutMs: 180_000, maxBytes: 1 << 20, env: process.env });
    timings[name] = Math.round(r.durationMs);
    if (r.exitCode !== 0) throw new Error(`${name}: ${r.command}: exit ${r.exitCode}\n${r.stdout}${r.stderr}`);
  };
  const gcc = (name: string): Promise<void> =>
    step(name, 'gcc', paths.gcc ?? 'gcc', ['-O0', '-fstack-protector-all', '-Wall', '-Werror', '-o', path.join(bin, name), `c/${name}.c`]);
  const started = performance.now();
  await Promise.all([
    gcc('double-free'),
    gcc('segv'),
    gcc('stack-smash'),
    // run from programs/: the panic message names rust/panic.rs as given here
    step('rust-panic', 'rustc', paths.rustc ?? 'rustc', ['--edition', '2021', '-C', 'opt-level=1', '-o', path.join(bin, 'rust-panic'), 'rust/panic.rs']),
    step('go-panic', 'go', paths.go ?? 'go', ['build', '-o', path.join(bin, 'go-panic'), 'go/panic.go', 'go/tinyhttp.go']),
    step('go-fatal', 'go', paths.go ?? 'go', ['build', '-o', path.join(bin, 'go-fatal'), 'go/stack-overflow.go', 'go/tinyhttp.go']),
    certificates(paths.openssl ? path.join(scratch, 'tls') : null, timings),
  ]);
  timings.total = Math.round(performance.now() - started);
  // the unrelated segfault's program under a name of its own, so its kernel line is told from segv's
  if (fs.existsSync(path.join(bin, 'segv'))) {
    fs.copyFileSync(path.join(bin, 'segv'), path.join(bin, 'stray-segv'));
    fs.chmodSync(path.join(bin, 'stray-segv'), 0o755);
  }
  // eacces: a root-owned 0600 file in a folder anyone may enter
  fs.mkdirSync(path.join(scratch, 'eacces'), { mode: 0o755 });
  fs.writeFileSync(path.join(scratch, 'eacces', 'api.token'), 'secret\n', { mode: 0o600 });
  return { scratch, bin, python: paths.python3 ? realPython(paths.python3) : 'python3', java: paths.java ?? 'java', timings };
}

/** openssl's date form for `openssl ca -startdate/-enddate`: YYYYMMDDHHMMSSZ. */
const certDate = (ms: number): string => new Date(ms).toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');

/**
 * The TLS scenarios' keys and certificates, by the probe tests' own CA helper (test/probe/_certs.ts), in
 * `dir`: ca.pem (given to preflight as NODE_EXTRA_CA_CERTS, so a good certificate passes the probe);
 * good (CN=diag-tls, IP:127.0.0.1, valid from yesterday for 30 days); expired (the same name, valid
 * 2020-01-01T00:00:00Z .. 2020-02-01T00:00:00Z); wronghost (CN and DNS example.invalid, valid now).
 */
async function certificates(dir: string | null, timings: Record<string, number>): Promise<void> {
  if (dir === null) return; // no openssl: its scenarios are skipped, with the reason
  const t = performance.now();
  const ca = new TestCa(path.join(dir, 'ca'));
  const now = Date.now();
  const root = ca.selfSigned('diag-corpus-ca', certDate(now - 86_400_000), certDate(now + 3650 * 86_400_000), { ca: true });
  fs.writeFileSync(path.join(dir, 'ca.pem'), root.cert, { mode: 0o644 });
  const leaves = {
    good: { cn: 'diag-tls', san: 'IP:127.0.0.1', from: certDate(now - 86_400_000), to: certDate(now + 30 * 86_400_000) },
    expired: { cn: 'diag-tls', san: 'IP:127.0.0.1', from: '20200101000000Z', to: '20200201000000Z' },
    wronghost: { cn: 'example.invalid', san: 'DNS:example.invalid', from: certDate(now - 86_400_000), to: certDate(now + 30 * 86_400_000) },
  };
  for (const [name, leaf] of Object.entries(leaves)) {
    const issued = ca.sign(root, leaf);
    fs.writeFileSync(path.join(dir, `${name}.pem`), issued.cert, { mode: 0o644 });
    fs.writeFileSync(path.join(dir, `${name}.key`), issued.key, { mode: 0o644 });
  }
  timings.certificates = Math.round(performance.now() - t);
}

/** Unit text with the run's paths filled in (the sandbox fills @NODE@ and @FLAKY@ itself). */
export function substitute(text: string, p: Prepared): string {
  return text
    .replaceAll('@SCRATCH@', p.scratch)
    .replaceAll('@BIN@', p.bin)
    .replaceAll('@PROGRAMS@', PROGRAMS)
    .replaceAll('@PYTHON@', p.python)
    .replaceAll('@JAVA@', p.java);
}

/** ONE config for every scenario: fast checks, so a failure is confirmed within about a second. */
export function configText(snapshotDir: string, services: ServiceEntry[]): string {
  const lines = [
    `snapshot_dir: ${snapshotDir}`,
    'interval_seconds: 1',
    'timeout_seconds: 1',
    'failure_threshold: 2',
    'confirm_interval_seconds: 0.5',
    'sample_seconds: 1',
    'journal_lines: 200',
    // each scenario judges one capture per failure (stop-after-crash judges the second): no joining
    'flap_window_seconds: 0',
    `listen: 127.0.0.1:${AROUND.preflight}`,
    'services:',
  ];
  for (const s of services) {
    lines.push(`  - name: ${s.name}`, `    health_url: ${s.health_url}`, `    unit: ${s.unit}`);
    if (s.interval_seconds !== undefined) lines.push(`    interval_seconds: ${s.interval_seconds}`);
    if (s.timeout_seconds !== undefined) lines.push(`    timeout_seconds: ${s.timeout_seconds}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A service's snapshots, oldest first (the file names are UTC timestamps). */
export function readSnapshots(hostSnapshotDir: string, service: string): Array<{ file: string; snap: Snap }> {
  const dir = path.join(hostSnapshotDir, service);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
    .sort()
    .map((f) => ({ file: path.join(dir, f), snap: JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Snap }));
}

/** GET https://127.0.0.1:port/path trusting the corpus's CA: the status, or the error code. */
export function httpsGet(port: number, urlPath: string, ca: Buffer, o: { verify?: boolean; timeoutMs?: number } = {}): Promise<number | string> {
  return new Promise((resolve) => {
    const req = https.get({ host: '127.0.0.1', port, path: urlPath, ca, timeout: o.timeoutMs ?? 2000, agent: false, rejectUnauthorized: o.verify === true }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)));
  });
}

export const resolvePattern = (p: Pattern, ctx: Ctx): RegExp => (typeof p === 'function' ? p(ctx) : p);

export interface Shared {
  sb: Sandbox;
  prepared: Prepared;
  hostSnapshotDir: string;
  ca: Buffer | null;
  /** how long a scenario waits for its snapshot */
  snapshotTimeoutMs: number;
}

/** Property values from `systemctl show -p a,b unit`. */
export async function show(sb: Sandbox, unit: string, props: string[]): Promise<Record<string, string>> {
  const r = await sb.exec(['systemctl', 'show', '-p', props.join(','), '--no-pager', '--', unit]);
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

export function makeCtx(shared: Shared): Ctx {
  const { sb } = shared;
  const startedAt = Date.now();
  const ctx: Ctx = {
    sb,
    cgroup: sb.cgroup,
    scratch: shared.prepared.scratch,
    startedAt,
    notes: {},
    get: (port, urlPath, opts) => (opts?.https && shared.ca ? httpsGet(port, urlPath, shared.ca, { verify: opts.verify === true }) : httpGet(port, urlPath)),
    systemctl: (...args) => sb.exec(['systemctl', ...args], { timeoutMs: 30_000 }),
    dropIn: async (unit, text) => {
      const dir = path.join(sb.stateDir, 'units', `${unit}.d`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'deploy.conf'), text);
      const r = await sb.exec(['systemctl', 'daemon-reload'], { timeoutMs: 30_000 });
      if (r.exitCode !== 0) throw new Error(`daemon-reload: ${r.stderr}`);
    },
    snapshot: (service, index, until) =>
      waitFor(`snapshot #${index + 1} of ${service}${until ? ' (with its condition)' : ''}`, shared.snapshotTimeoutMs, () => {
        const s = readSnapshots(shared.hostSnapshotDir, service)[index]?.snap;
        return s && (!until || until(s)) ? s : undefined;
      }),
    kernelLine: (re) =>
      waitFor(`a kernel line ${re}`, 20_000, async () => {
        // since act() began: journald stamps kernel lines older than its own start with its start time
        const r = await sb.exec(['journalctl', '-k', '-o', 'cat', '--no-pager', `--since=@${Math.floor(startedAt / 1000) - 1}`]);
        return r.stdout.split('\n').find((l) => re.test(l));
      }),
    mainPid: async (unit) => Number((await show(sb, unit, ['MainPID'])).MainPID),
    healthy: async (port) => {
      await waitFor(`127.0.0.1:${port}/health to answer 200`, 20_000, async () => (await httpGet(port, '/health')) === 200);
    },
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
  return ctx;
}

/** What is missing of a scenario's ground truth right now (its journal, kernel log, unit state); empty when all is there. */
async function missingTruth(sc: Scenario, ctx: Ctx): Promise<string[]> {
  const problems: string[] = [];
  const since = `--since=@${Math.floor(ctx.startedAt / 1000) - 1}`;
  const read = async (argv: string[]): Promise<string> => (await ctx.sb.exec(['journalctl', '-o', 'cat', '--no-pager', ...argv], { timeoutMs: 30_000, maxBytes: 32 << 20 })).stdout;
  const journals = new Map<string, Promise<string>>();
  for (const [unit, p] of sc.happened.journal ?? []) {
    if (!journals.has(unit)) journals.set(unit, read(['-u', unit]));
    const re = resolvePattern(p, ctx);
    const text = await journals.get(unit)!;
    if (!re.test(text)) problems.push(`journal of ${unit} has no line matching ${re}; its last lines:\n${text.split('\n').slice(-25).join('\n')}`);
  }
  const lines = async (argv: string[], patterns: Pattern[] | undefined, what: string): Promise<void> => {
    if (!patterns?.length) return;
    const text = (await read([since, ...argv])).split('\n');
    for (const p of patterns) {
      const re = resolvePattern(p, ctx);
      if (!text.some((l) => re.test(l))) problems.push(`no ${what} line matching ${re} since the scenario began`);
    }
  };
  await lines([], sc.happened.anyJournal, 'journal');
  await lines(['-k'], sc.happened.kernel, 'kernel');
  for (const [unit, want] of sc.happened.show ?? []) {
    const got = await show(ctx.sb, unit, Object.keys(want));
    for (const [k, v] of Object.entries(want)) {
      const ok = typeof v === 'string' ? got[k] === v : resolvePattern(v, ctx).test(got[k] ?? '');
      if (!ok) problems.push(`${unit} ${k}=${JSON.stringify(got[k])}, want ${typeof v === 'string' ? v : resolvePattern(v, ctx)}`);
    }
  }
  return problems;
}

/**
 * Did the failure really happen? Polls the sandbox's own record (some of it lands later than the
 * snapshot: a crash loop's last start) for up to `ms`; throws what is still missing.
 */
export async function checkHappened(sc: Scenario, ctx: Ctx, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const problems = await missingTruth(sc, ctx);
    if (problems.length === 0) return;
    if (Date.now() > deadline) throw new Error(`the failure did not happen as designed:\n- ${problems.join('\n- ')}`);
    await ctx.sleep(500);
  }
}

/** Did preflight capture the evidence? Checks the judged snapshot's journal, kernel lines and unit properties. */
export function checkRecorded(sc: Scenario, ctx: Ctx, snap: Snap): void {
  const problems: string[] = [];
  const r = sc.recorded ?? {};
  const tlsCode = (snap.error as { tls?: { code?: string } } | null)?.tls?.code;
  if (r.error && (snap.error?.kind !== r.error.kind || (r.error.message && !r.error.message.test(snap.error.message)) || (r.error.code !== undefined && tlsCode !== r.error.code))) {
    const also = `${r.error.message ? ` and a message matching ${r.error.message}` : ''}${r.error.code ? ` and error.tls.code ${r.error.code}` : ''}`;
    problems.push(`error ${JSON.stringify(snap.error)}, want kind ${r.error.kind}${also}`);
  }
  for (const p of r.journal ?? []) {
    const re = resolvePattern(p, ctx);
    if (!snap.journal.some((l) => re.test(l.message))) problems.push(`journal: no line matching ${re} among its ${snap.journal.length}`);
  }
  for (const p of r.kernel ?? []) {
    const re = resolvePattern(p, ctx);
    if (!snap.kernel.some((l) => re.test(l.message))) problems.push(`kernel: no line matching ${re} among its ${snap.kernel.length}`);
  }
  for (const [k, v] of Object.entries(r.unit ?? {})) {
    const got = snap.unit?.[k];
    if (typeof v === 'string' ? got !== v : !v.test(got ?? '')) problems.push(`unit.${k}=${JSON.stringify(got)}, want ${v}`);
  }
  if (problems.length > 0) throw new Error(`the snapshot lacks the evidence:\n- ${problems.join('\n- ')}`);
}

/** The verdict on findings[0] (and, for neighbour cases, on every finding); the problems, empty when right. */
export function judgeFindings(sc: Scenario, ctx: Ctx, snap: Snap): string[] {
  const problems: string[] = [];
  const first = snap.findings[0];
  if (sc.want) {
    const cause = resolvePattern(sc.want.cause, ctx);
    if (!first) problems.push('no findings at all');
    else {
      if (!cause.test(first.cause)) problems.push(`findings[0].cause ${JSON.stringify(first.cause)} does not match ${cause}`);
      if (first.scope !== sc.want.scope) problems.push(`findings[0].scope ${JSON.stringify(first.scope)}, want ${sc.want.scope}`);
      if (first.confidence !== sc.want.confidence) problems.push(`findings[0].confidence ${JSON.stringify(first.confidence)}, want ${sc.want.confidence}`);
      if (sc.want.quote) {
        const quote = resolvePattern(sc.want.quote, ctx);
        if (!quote.test(first.quote ?? '')) problems.push(`findings[0].quote ${JSON.stringify(first.quote)} does not match ${quote}`);
      }
    }
  }
  for (const p of sc.mustNotName ?? []) {
    const re = resolvePattern(p, ctx);
    snap.findings.forEach((f, i) => {
      for (const text of [f.cause, f.quote ?? '']) if (re.test(text)) problems.push(`findings[${i}] names what it must not (${re}): ${JSON.stringify(text)}`);
    });
  }
  return problems;
}

// What one scenario of the diagnosis corpus is (the table is scenarios.ts), what it may use while it
// runs (Ctx, made by harness.ts), and the unit-file builders the table's entries share.
import * as path from 'node:path';
import type { RunResult } from '../../../src/util/exec';
import type { Sandbox } from '../sandbox';
import { PORT } from './ports';

export const PROGRAMS = path.join(__dirname, 'programs');
export const NODE_PROGRAMS = path.join(PROGRAMS, 'node');

/** Compilers and runtimes a scenario needs beyond Node (ensure-toolchains.sh finds or installs them). */
export type Tool = 'java' | 'rustc' | 'gcc' | 'go' | 'python3' | 'openssl' | 'systemd-notify';

export type Scope = 'invocation' | 'unit' | 'dependency' | 'host' | 'other';
export type Confidence = 'certain' | 'likely' | 'possible';

/** A pattern, or one made from the run's facts (its cgroup, a pid noted while acting). */
export type Pattern = RegExp | ((ctx: Ctx) => RegExp);

/** What findings[0] of the judged snapshot must say. */
export interface Want {
  /** anchored (^) and precise enough that a wrong cause cannot match */
  cause: Pattern;
  scope: Scope;
  confidence: Confidence;
  quote?: Pattern;
}

/** Ground truth read from the sandbox itself: did the failure really happen? */
export interface Happened {
  /** [unit, pattern]: a line of `journalctl -u unit -o cat` (the service's and systemd's lines) */
  journal?: Array<[string, Pattern]>;
  /** a line of the whole journal (`journalctl -o cat`) since the scenario began acting */
  anyJournal?: Pattern[];
  /** a kernel line logged since the scenario began acting */
  kernel?: Pattern[];
  /** [unit, properties]: `systemctl show` values now, exact or matching */
  show?: Array<[string, Record<string, string | Pattern>]>;
}

/** Evidence the judged snapshot must hold (else preflight did not capture what happened). */
export interface Recorded {
  /** the failed check that opened the incident: its kind (tls, timeout, ...) and message */
  /** `code`: the TLS failure's code, kept with the certificate in error.tls */
  error?: { kind: string; message?: RegExp; code?: string };
  journal?: Pattern[];
  kernel?: Pattern[];
  unit?: Record<string, string | RegExp>;
}

/** An entry of preflight.yaml's services: list. */
export interface ServiceEntry {
  name: string;
  health_url: string;
  unit: string;
  interval_seconds?: number;
  timeout_seconds?: number;
}

export interface Scenario {
  /** also the name of the preflight service judged (services[0]) */
  name: string;
  /** what fails, in one line */
  about: string;
  needs?: Tool[];
  /** unit files (placeholders: see harness.ts substitute()) */
  units: Record<string, string>;
  /** alias -> unit file: symlinks in the unit folder */
  links?: Record<string, string>;
  /** units to start at boot (default: every file in `units`) */
  start?: string[];
  services: ServiceEntry[];
  act: (sb: Sandbox, ctx: Ctx) => Promise<void>;
  /**
   * Read the judged snapshot only once the failure has fully happened and then this long more: an
   * incident that turns out to be something else later (a crash loop systemd gives up on) is judged
   * on what preflight made of the whole episode, which it writes into the same file.
   */
  settleMs?: number;
  /** which snapshot of services[0] is judged: 0 (default) is the first */
  judge?: number;
  happened: Happened;
  recorded?: Recorded;
  want?: Want;
  /** neighbour cases: no finding's cause or quote may match any of these */
  mustNotName?: Pattern[];
  /** no snapshot may appear for services[0] (a planned restart) */
  noIncident?: true;
  /** more checks on the judged snapshot */
  also?: (snap: Snap) => void;
}

/** A finding as schema 1 writes it and as schema 2 (scope, confidence, quote, kind) will. */
export interface FindingView {
  cause: string;
  kind?: string;
  scope?: string;
  confidence?: string;
  quote?: string | null;
  evidence?: string[];
}

/** The parts of a snapshot file the corpus reads, for schema 1 and 2 alike. */
export interface Snap {
  schema: string;
  id: string;
  service: string;
  trigger: string;
  unit: Record<string, string> | null;
  error: { kind: string; status: number | null; message: string } | null;
  findings: FindingView[];
  probable_cause?: string;
  exit: { code: string; status: number | string } | null;
  journal: Array<{ at: string; message: string }>;
  kernel: Array<{ at: string; message: string }>;
  recovery: { at: string } | null;
  transition: { first_failure_at: string };
}

/** What a scenario's act() may use; one per scenario (notes are its own). */
export interface Ctx {
  sb: Sandbox;
  /** the sandbox's cgroup name (kernel OOM lines carry it) */
  cgroup: string;
  /** the run's temp folder (the sandbox sees the host's files) */
  scratch: string;
  /** when act() began, epoch ms */
  startedAt: number;
  /** facts act() learns for the checks (a pid, a time) */
  notes: Record<string, string | number>;
  /**
   * GET http(s)://127.0.0.1:port/path from the host: the status, or the error code. HTTPS trusts the
   * corpus's CA; `verify` also checks the certificate as the probe does (else any certificate passes).
   */
  get(port: number, urlPath: string, opts?: { https?: boolean; verify?: boolean }): Promise<number | string>;
  /** systemctl inside the sandbox */
  systemctl(...args: string[]): Promise<RunResult>;
  /** write <unit>.d/deploy.conf into the unit folder and daemon-reload (a deploy) */
  dropIn(unit: string, text: string): Promise<void>;
  /** the index-th snapshot of a service (0 = first), once it exists (and `until` holds) */
  snapshot(service: string, index: number, until?: (s: Snap) => boolean): Promise<Snap>;
  /** a kernel line matching `re` logged since act() began */
  kernelLine(re: RegExp): Promise<string>;
  /** MainPID of a unit inside the sandbox */
  mainPid(unit: string): Promise<number>;
  /** 200 from 127.0.0.1:port/health again */
  healthy(port: number): Promise<void>;
  sleep(ms: number): Promise<void>;
}

export const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** A unit file: [Unit] lines, then [Service] with ExecStart and the environment. */
export function unitFile(o: {
  about: string;
  exec: string;
  env?: Record<string, string | number>;
  /** Restart= (default on-failure) */
  restart?: string;
  restartSec?: string;
  unit?: string[];
  service?: string[];
}): string {
  const env = Object.entries(o.env ?? {}).map(([k, v]) => `Environment="${k}=${v}"`);
  return [
    '[Unit]',
    `Description=${o.about}`,
    // no start limit unless the scenario is about one: a crash looping on purpose must not end early
    ...(o.unit?.some((l) => l.startsWith('StartLimit')) ? [] : ['StartLimitIntervalSec=0']),
    ...(o.unit ?? []),
    '[Service]',
    ...env,
    `ExecStart=${o.exec}`,
    `Restart=${o.restart ?? 'on-failure'}`,
    `RestartSec=${o.restartSec ?? '1'}`,
    ...(o.service ?? []),
    '',
  ].join('\n');
}

/** ExecStart of one of programs/node/*.js. */
export const nodeExec = (program: string, nodeArgs: string[] = []): string =>
  ['"@NODE@"', ...nodeArgs, `"${path.join(NODE_PROGRAMS, program)}"`].join(' ');

/** The test service flaky.js (test/e2e/sandbox/flaky.js): /crash exits 3, /hog, /freeze. */
export const flakyExec = '"@NODE@" "@FLAKY@"';

/** The usual preflight entry for a scenario's service. */
export function watch(name: string, port: number, extra: Partial<ServiceEntry> = {}): ServiceEntry {
  return { name, health_url: `http://127.0.0.1:${port}/health`, unit: `${name}.service`, ...extra };
}

/** GET /break (or another trigger); the service must have been up to take it. */
export async function trigger(ctx: Ctx, port: number, urlPath = '/break', opts: { https?: boolean } = {}): Promise<void> {
  const r = await ctx.get(port, urlPath, opts);
  if (r === 'ECONNREFUSED') throw new Error(`${urlPath} on 127.0.0.1:${port}: refused (the service was not up)`);
}

export const exited = (unit: string, status: string): [string, RegExp] => [unit, new RegExp(`Main process exited, code=exited, status=${esc(status)}`)];
export const killed = (unit: string, status: string): [string, RegExp] => [unit, new RegExp(`Main process exited, code=(killed|dumped), status=${esc(status)}`)];

/** A node program as the scenario's unit, on the scenario's port. */
export function nodeUnit(name: keyof typeof PORT, program: string, o: { env?: Record<string, string | number>; nodeArgs?: string[]; service?: string[] } = {}): Record<string, string> {
  return {
    [`${name}.service`]: unitFile({
      about: `diagnosis corpus: ${name}`,
      exec: nodeExec(program, o.nodeArgs),
      env: { PORT: PORT[name], ...o.env },
      ...(o.service ? { service: o.service } : {}),
    }),
  };
}

/** A compiled program (@BIN@/<binary>) as the scenario's unit. */
export function binaryUnit(name: keyof typeof PORT, binary: string): Record<string, string> {
  return { [`${name}.service`]: unitFile({ about: `diagnosis corpus: ${name}`, exec: `"@BIN@/${binary}"`, env: { PORT: PORT[name] } }) };
}

/** The usual shape: one unit, one watched service, act = GET /break. */
export function simple(
  name: keyof typeof PORT,
  units: Record<string, string>,
  rest: Omit<Scenario, 'name' | 'units' | 'services' | 'act'> & Partial<Pick<Scenario, 'act' | 'services'>>,
): Scenario {
  return { name, units, services: [watch(name, PORT[name])], act: (_sb, ctx) => trigger(ctx, PORT[name]), ...rest };
}

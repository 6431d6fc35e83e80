// `preflight doctor`: each check turns what a reader saw into one plain verdict with the exact fix.
// The verdicts (configCheck, journalCheck, unitChecks, psiCheck, probeCheck) are pure functions of a
// reader's answer, so every wording is table-tested; the gatherers around them do the one bounded
// call each (spawn with a timeout, a probe with its deadline, a probe file created and removed).
//
// Decisions:
// - A check runs as whoever runs doctor. Run as root it proves little about the service's user, so
//   the details that depend on the user say which user they were taken as.
// - No PSI is a warning (ok stays true): preflight works, findings only lose the stall rule.
// - A unit that does not exist gets no journal check: "no lines" would read like a pass.
// - Nothing is left behind: the snapshot folder probe is a dot-named temp file (listings skip those)
//   removed in `finally`, and a folder that does not exist yet is only probed in its nearest parent.
import { randomBytes } from 'node:crypto';
import { constants as fsc, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Config, ServiceConfig } from '../config/config';
import { loadConfig } from '../config/find';
import { formatBytes } from '../util/units';
import { probe, type ProbeResult } from '../probe/http';
import { probeSpecOf } from '../probe/options';
import { readAllPressure } from '../proc/pressure';
import { DiskReader } from '../proc/statfs';
import { readUnitJournal, type JournalRead } from '../systemd/journal';
import { unavailableFrom, type Unavailable } from '../systemd/unavailable';
import { firstLine } from '../util/text';
import { showUnits, type UnitState, type UnitsRead } from '../systemd/unit';
import { ConfigError, errnoCode, errorMessage } from '../util/errors';
import { describeCommand, mapLimit, runChecked } from '../util/exec';

/** One line of `preflight doctor` (and one element of `--json`'s `checks`). */
export interface Check {
  /** Stable, e.g. "config valid", "journal readable for web.service". */
  name: string;
  /** false: preflight will not do its job fully until this is fixed. */
  ok: boolean;
  /** What was seen, in plain words. */
  detail: string;
  /** The exact thing to do, when there is one. */
  fix?: string;
  /** ok, but with a caveat worth reading (no PSI). */
  warning?: true;
}

export interface DoctorReport {
  /** Every check passed (warnings allowed). */
  ok: boolean;
  checks: Check[];
}

export interface DoctorOptions {
  /** --config */
  configFlag: string | undefined;
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Per spawned command (journalctl, systemctl); default 5000. */
  commandTimeoutMs?: number;
  /** Cap on any one health probe's deadline; default 10000 (a service's own timeout is used when shorter). */
  probeTimeoutMs?: number;
  journalctl?: string;
  systemctl?: string;
  procRoot?: string;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 5000;
const DEFAULT_PROBE_TIMEOUT_MS = 10_000;
/** Probes in flight at once; journal reads (each a process) at once. */
const PROBE_CONCURRENCY = 16;
const JOURNAL_CONCURRENCY = 4;

const LIST_UNITS = 'systemctl list-units --type=service --all';

/** The user doctor runs as: uid and, where the passwd database has one, the name. */
export interface RunAs {
  uid: number | undefined;
  name?: string;
}

export function currentUser(): RunAs {
  const uid = process.getuid?.();
  try {
    const name = os.userInfo().username;
    return name ? { uid, name } : { uid };
  } catch {
    // a uid without a passwd entry (a DynamicUser= without nss-systemd)
    return { uid };
  }
}

/** "root", "nobody (uid 65534)", or "uid 61184" for a user without a name. */
export function describeUser(u: RunAs = currentUser()): string {
  if (u.uid === 0) return 'root';
  if (u.uid === undefined) return u.name ?? 'this user';
  return u.name ? `${u.name} (uid ${u.uid})` : `uid ${u.uid}`;
}

// --- config ------------------------------------------------------------------------------------

/** The config in use, or a failed check carrying the ConfigError's file:line:column and hint. */
export function configCheck(flag: string | undefined, env: NodeJS.ProcessEnv, cwd?: string): { check: Check; config: Config | null } {
  const name = 'config valid';
  try {
    const config = loadConfig(flag, env, cwd === undefined ? {} : { cwd });
    const n = config.services.length;
    return { check: { name, ok: true, detail: `${config.file}, ${n} service${n === 1 ? '' : 's'}` }, config };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const pos = err.line === undefined ? '' : err.column === undefined ? `:${err.line}` : `:${err.line}:${err.column}`;
    // the message is "file:line:col: reason (hint)"; the hint goes on the fix line instead
    let reason = err.message.slice(`${err.file}${pos}: `.length);
    const tail = err.hint === undefined ? '' : ` (${err.hint})`;
    if (tail && reason.endsWith(tail)) reason = reason.slice(0, -tail.length);
    const check: Check = { name, ok: false, detail: `${err.file}${pos}: ${reason}` };
    check.fix = err.hint ?? 'fix the file, then run `preflight doctor` again';
    return { check, config: null };
  }
}

// --- snapshot folder -------------------------------------------------------------------------

/** The nearest existing ancestor of `dir` (itself when it exists), and whether that is a folder. */
async function nearestExisting(dir: string): Promise<{ at: string; isDir: boolean } | { at: string; error: unknown }> {
  let at = dir;
  for (;;) {
    try {
      const st = await fsp.stat(at);
      return { at, isDir: st.isDirectory() };
    } catch (err) {
      const code = errnoCode(err);
      // ENOTDIR: a file somewhere above; walking up finds it and says so
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return { at, error: err };
      const up = path.dirname(at);
      if (up === at) return { at, error: err };
      at = up;
    }
  }
}

function writeFix(code: string | undefined, folder: string, who: string): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return `let ${who} write there (chown it to the user preflight runs as, or chmod u+w ${folder}), or set snapshot_dir to a folder it owns; under systemd use StateDirectory=preflight with snapshot_dir: /var/lib/preflight (preflight unit prints it)`;
    case 'EROFS':
      return `${folder} is on a read-only file system: set snapshot_dir to a writable folder (under ProtectSystem=strict only StateDirectory= is writable: snapshot_dir: /var/lib/preflight)`;
    case 'ENOSPC':
    case 'EDQUOT':
      return `the disk holding ${folder} is full: free space there, or set snapshot_dir to another disk`;
    default:
      return `check that ${folder} is a writable local folder, or set snapshot_dir to one`;
  }
}

/**
 * Can snapshots be written to `dir`? Creates and removes one dot-named probe file (a temp name every
 * listing skips); when `dir` does not exist yet, creates and removes one probe folder in its nearest
 * existing parent instead, the way the store will create it. Leaves nothing behind.
 */
export async function checkSnapshotDir(dir: string, opts: { statfsTimeoutMs?: number } = {}): Promise<Check> {
  const name = 'snapshot folder writable';
  const who = describeUser();
  const found = await nearestExisting(dir);
  if ('error' in found) {
    const code = errnoCode(found.error);
    return { name, ok: false, detail: `${dir}: cannot look at ${found.at} as ${who} (${code ?? errorMessage(found.error)})`, fix: writeFix(code, found.at, who) };
  }
  if (!found.isDir) {
    const what = found.at === dir ? `${dir} is not a folder` : `${dir} cannot be created: ${found.at} is a file, not a folder`;
    return { name, ok: false, detail: what, fix: `set snapshot_dir to a folder, or move ${found.at} away` };
  }
  const exists = found.at === dir;
  const probeName = `.preflight-doctor.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const probePath = path.join(found.at, probeName);
  try {
    if (exists) {
      const fh = await fsp.open(probePath, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
      try {
        await fh.writeFile('preflight doctor write probe\n');
        await fh.sync();
      } finally {
        await fh.close();
        await fsp.unlink(probePath);
      }
    } else {
      await fsp.mkdir(probePath, { mode: 0o700 });
      await fsp.rmdir(probePath);
    }
  } catch (err) {
    const code = errnoCode(err);
    const what = exists ? `cannot create a file in ${dir}` : `${dir} does not exist and cannot be created in ${found.at}`;
    return { name, ok: false, detail: `${what} as ${who} (${code ?? errorMessage(err)})`, fix: writeFix(code, found.at, who) };
  }
  let free = '';
  try {
    const usage = await new DiskReader({ timeoutMs: opts.statfsTimeoutMs ?? 2000 }).read(found.at);
    free = `, ${formatBytes(usage.availBytes)} free`;
  } catch {
    // free space is a nicety; the write probe above is the check
  }
  const where = exists ? dir : `${dir} will be created in ${found.at}`;
  return { name, ok: true, detail: `${where}, as ${who}${free}` };
}

// --- journal -----------------------------------------------------------------------------------

/** `journalctl --version` answered: the first line ("systemd 252 (252.38-1~deb12u1)"), else why not. */
export function journalctlCheck(answer: { ok: true; version: string } | Unavailable): Check {
  const name = 'journalctl present';
  if (answer.ok) return { name, ok: true, detail: answer.version };
  const fix =
    answer.kind === 'not-installed'
      ? 'install systemd\'s journalctl (Debian/Ubuntu: it comes with the systemd package); without it snapshots have no log lines'
      : 'run `journalctl --version` by hand to see why it fails';
  return { name, ok: false, detail: answer.reason, fix };
}

// journal.ts appends this fix to a permission reason; doctor prints its own, user-specific fix line
const PERMISSION_FIX_TAIL = /: add the user preflight runs as to the systemd-journal group.*$/;

/** One unit's journal read (one line asked for) as a verdict. */
export function journalCheck(unit: string, read: JournalRead, who: RunAs = currentUser()): Check {
  const name = `journal readable for ${unit}`;
  if (read.ok) {
    const n = read.entries.length;
    return { name, ok: true, detail: n > 0 ? `as ${describeUser(who)}` : `as ${describeUser(who)}; no lines from ${unit} in the last 24 h` };
  }
  switch (read.kind) {
    case 'permission': {
      const user = who.name ?? 'USER';
      return {
        name,
        ok: false,
        detail: `${read.reason.replace(PERMISSION_FIX_TAIL, '').replace(/\.$/, '')}: ${describeUser(who)} is not seeing messages from other users (system services)`,
        fix: `add ${user} to the systemd-journal group: usermod -aG systemd-journal ${user} (then log in again); for the preflight service: SupplementaryGroups=systemd-journal in its unit (preflight unit prints it)`,
      };
    }
    case 'no-journal':
      return {
        name,
        ok: false,
        detail: read.reason,
        fix: 'journald keeps nothing here: set Storage=persistent (or auto, with /var/log/journal present) in /etc/systemd/journald.conf and restart systemd-journald',
      };
    case 'not-installed':
      return { name, ok: false, detail: read.reason, fix: 'install journalctl (the systemd package)' };
    case 'timeout':
      return { name, ok: false, detail: read.reason, fix: `journalctl is slow here: try \`journalctl -u ${unit} -n 1\` by hand; a very large journal may need SystemMaxUse= in journald.conf` };
    default:
      return { name, ok: false, detail: read.reason, fix: `run \`journalctl -u ${unit} -n 1\` as the same user to see why` };
  }
}

async function journalctlVersion(opts: { journalctl: string; timeoutMs: number }): Promise<{ ok: true; version: string } | Unavailable> {
  const args = ['--version'];
  try {
    const r = await runChecked(opts.journalctl, args, { timeoutMs: opts.timeoutMs, maxBytes: 4096, env: { ...process.env, LC_ALL: 'C' } });
    return { ok: true, version: firstLine(r.stdout) || 'journalctl answered' };
  } catch (err) {
    return unavailableFrom(err, describeCommand(opts.journalctl, args), 'journalctl');
  }
}

// --- systemctl and units ---------------------------------------------------------------------

/** `systemctl show -p Version --value` (the manager's own property) as a verdict. */
export function systemctlCheck(answer: { ok: true; version: string } | Unavailable): Check {
  const name = 'systemctl reachable';
  if (answer.ok) return { name, ok: true, detail: answer.version ? `systemd ${answer.version}` : 'the service manager answered' };
  const fix: Record<string, string> = {
    'not-installed': 'preflight follows units through systemctl: run it on a systemd host, or remove unit: from the services',
    'no-systemd': 'systemd is not running here (a container?): run preflight on the host, or remove unit: from the services',
    timeout: 'systemctl did not answer in time: is the system bus (dbus) running? try `systemctl status` by hand',
  };
  return { name, ok: false, detail: answer.reason, fix: fix[answer.kind] ?? 'run `systemctl show -p Version` by hand to see why it fails' };
}

async function systemctlVersion(opts: { systemctl: string; timeoutMs: number }): Promise<{ ok: true; version: string } | Unavailable> {
  const args = ['show', '-p', 'Version', '--value', '--no-pager'];
  try {
    const r = await runChecked(opts.systemctl, args, { timeoutMs: opts.timeoutMs, maxBytes: 4096, env: { ...process.env, LC_ALL: 'C' } });
    return { ok: true, version: firstLine(r.stdout) };
  } catch (err) {
    return unavailableFrom(err, describeCommand(opts.systemctl, args), 'systemctl');
  }
}

/** One check per unit from one `systemctl show` answer (units in the order asked). */
export function unitChecks(units: readonly string[], read: UnitsRead): Check[] {
  return units.map((unit, i) => {
    const name = `unit ${unit} exists`;
    if (!read.ok) return { name, ok: false, detail: `cannot tell: ${read.reason}`, fix: 'make systemctl reachable first (see above)' };
    const u: UnitState | undefined = read.units[i];
    if (u === undefined) return { name, ok: false, detail: `systemctl said nothing about ${unit}`, fix: `run \`systemctl status ${unit}\` by hand` };
    const state = [u.activeState, u.subState].filter(Boolean).join('/');
    switch (u.loadState) {
      case 'loaded':
        return { name, ok: true, detail: state ? `${u.id}, ${state}` : u.id };
      case 'not-found':
        return {
          name,
          ok: false,
          detail: `systemd has no unit named ${unit}`,
          fix: `check the name with \`${LIST_UNITS}\` (or \`systemctl list-unit-files '*.service'\`) and correct unit: in the config`,
        };
      case 'masked':
        return { name, ok: false, detail: `${unit} is masked (it can never start)`, fix: `systemctl unmask ${unit}, or watch the unit that really runs the service` };
      default:
        return {
          name,
          ok: false,
          detail: `${unit} could not be loaded (LoadState=${u.loadState ?? 'unknown'})`,
          fix: `see \`systemctl status ${unit}\` and \`systemd-analyze verify ${u.properties.FragmentPath || unit}\``,
        };
    }
  });
}

// --- PSI ---------------------------------------------------------------------------------------

/** PSI present, absent (null) or unreadable (an error) as a verdict; absent is a warning, not a failure. */
export function psiCheck(read: ReturnType<typeof readAllPressure> | Error, procRoot = '/proc'): Check {
  const name = 'PSI available';
  if (read instanceof Error) {
    return { name, ok: true, warning: true, detail: `${procRoot}/pressure cannot be read: ${read.message}`, fix: 'preflight still works; findings lose the stall (pressure) rule' };
  }
  if (read === null) {
    return {
      name,
      ok: true,
      warning: true,
      detail: `no ${procRoot}/pressure: this kernel has no Pressure Stall Information (needs Linux 4.20+ with CONFIG_PSI, not booted with psi=0)`,
      fix: 'optional: preflight still works, findings only lose the stall rule; where the kernel has CONFIG_PSI but it is off, boot with psi=1',
    };
  }
  const have = (['cpu', 'memory', 'io'] as const).filter((r) => read[r] !== null);
  return { name, ok: true, detail: `${procRoot}/pressure: ${have.join(', ')}` };
}

// --- health URLs -----------------------------------------------------------------------------

function probeFix(svc: ServiceConfig, r: ProbeResult): string {
  const unit = svc.unit ? ` (systemctl status ${svc.unit})` : '';
  switch (r.errorKind) {
    case 'connection_refused':
      return `nothing accepts connections there: is ${svc.name} running${unit}, and is health_url's host:port what it listens on?`;
    case 'timeout':
      return `${svc.name} did not answer within ${Math.round(svc.timeoutSeconds * 1000)} ms: is it hung or overloaded${unit}? raise timeout_seconds only if it is just slow`;
    case 'dns':
      return 'the host name does not resolve: use an IP address (127.0.0.1) or fix the name in health_url';
    case 'tls':
      return 'the TLS handshake failed: check the certificate, or probe the plain-HTTP port on 127.0.0.1';
    case 'http_status':
      return `the endpoint answered but with ${r.status}: fix the service${unit}, or set expect_status if this status means healthy`;
    case 'body_mismatch':
      return 'the body does not contain expect_body: fix the service, or correct expect_body';
    default:
      return `the connection broke: check ${svc.name}${unit} and health_url`;
  }
}

/** One probe's result as a verdict. */
export function probeCheck(svc: ServiceConfig, r: ProbeResult): Check {
  const name = `health URL for ${svc.name} answers`;
  const answer = r.status === undefined ? 'connected' : `HTTP ${r.status}`; // tcp:// has no status
  if (r.ok) return { name, ok: true, detail: `${svc.healthUrl}: ${answer} in ${Math.round(r.latencyMs)} ms` };
  return { name, ok: false, detail: `${svc.healthUrl}: ${r.message ?? r.errorKind ?? 'failed'}`, fix: probeFix(svc, r) };
}

// --- all of it ---------------------------------------------------------------------------------

/** Run every check for the config in use. Never throws for what it checks; each problem is a failed check. */
export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const timeoutMs = opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const journalctl = opts.journalctl ?? 'journalctl';
  const systemctl = opts.systemctl ?? 'systemctl';
  const procRoot = opts.procRoot ?? '/proc';
  const who = currentUser();

  const { check: configResult, config } = configCheck(opts.configFlag, opts.env, opts.cwd);
  const services = config?.services ?? [];
  const units = [...new Set(services.flatMap((s) => (s.unit ? [s.unit] : [])))];

  const snapshot = config ? checkSnapshotDir(config.snapshotDir) : Promise.resolve(null);
  const journalVersion = journalctlVersion({ journalctl, timeoutMs });
  const manager = systemctlVersion({ systemctl, timeoutMs });
  const unitRead = units.length > 0 ? showUnits(units, { timeoutMs, systemctl }) : Promise.resolve(null);
  // a unit-only service has no health URL to ask: its unit is checked with the others above
  const checked = services.filter((svc) => svc.healthUrl !== null);
  const probes = mapLimit(checked, PROBE_CONCURRENCY, async (svc) =>
    probeCheck(
      svc,
      await probe(probeSpecOf(svc, Math.min(svc.timeoutSeconds * 1000, opts.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS))),
    ),
  );

  let psi: Check;
  try {
    psi = psiCheck(readAllPressure(procRoot), procRoot);
  } catch (err) {
    psi = psiCheck(err instanceof Error ? err : new Error(String(err)), procRoot);
  }

  const jv = await journalVersion;
  const ur = await unitRead;
  // a unit systemd does not know gets no journal check ("no lines" would read like a pass)
  const missing = new Set(ur?.ok ? units.filter((_, i) => ur.units[i]?.loadState === 'not-found') : []);
  const since = new Date(Date.now() - 24 * 3600 * 1000);
  const journals = jv.ok
    ? await mapLimit(
        units.filter((u) => !missing.has(u)),
        JOURNAL_CONCURRENCY,
        async (unit) => journalCheck(unit, await readUnitJournal(unit, { since, lines: 1, timeoutMs, maxBytes: 64 * 1024, journalctl }), who),
      )
    : [];

  const mgr = await manager;
  if (!mgr.ok && mgr.kind === 'no-systemd') {
    // no journald without systemd: the Storage= advice would send the reader the wrong way
    for (const j of journals) if (!j.ok) j.fix = 'systemd is not running here, so there is no journal: run preflight on a systemd host';
  }
  const checks: Check[] = [configResult];
  const snap = await snapshot;
  if (snap) checks.push(snap);
  checks.push(journalctlCheck(jv), ...journals);
  checks.push(systemctlCheck(mgr));
  // with the manager unreachable every unit would fail for that one reason: the check above says it
  if (ur && (ur.ok || mgr.ok)) checks.push(...unitChecks(units, ur));
  checks.push(psi, ...(await probes));
  return { ok: checks.every((c) => c.ok), checks };
}

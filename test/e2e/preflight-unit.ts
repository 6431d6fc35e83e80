// Install the BUILT preflight into a running sandbox the way docs/install.md tells an operator to, and
// run it as a real systemd service from the unit `preflight unit` prints: DynamicUser, StateDirectory,
// ProtectSystem=strict and all. Later end-to-end scenarios build on this.
//
// Where things go, and why (the sandbox shares the host's file tree, so nothing may land in it):
// - /srv and /var/lib inside the sandbox are bind mounts of folders in the sandbox's state folder
//   (its mount namespace is private, so the host never sees them; down() removes the folders).
//   /var/lib because StateDirectory= with DynamicUser= creates /var/lib/private/preflight and the
//   /var/lib/preflight symlink; /srv because the bundle and config cannot sit in /tmp (PrivateTmp=yes
//   hides it from the service) nor in /work's checkout (not where an operator installs).
// - The install folder is "/srv/pre flight": a space in every path the unit names, so the ExecStart
//   quoting is proven by systemd itself, not only by our own parser.
// - The unit file goes into the sandbox's unit folder (its SYSTEMD_UNIT_PATH, <stateDir>/units).
// - The service's system user (`useradd --system preflight` in docs/install.md) is added to copies of
//   /etc/passwd and /etc/group bind-mounted over the originals inside the sandbox only: the host's
//   files are never written. dbus-daemon reads /etc/passwd per connection, so it resolves the user.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunResult } from '../../src/util/exec';
import { UNIT_PROPERTIES, parseSystemctlShow, type UnitState } from '../../src/systemd/unit';
import { requireBundle } from './bundle';
import type { Sandbox } from './sandbox';
import { waitFor } from './wait';

/** Inside the sandbox. */
export const INSTALL_DIR = '/srv/pre flight';
export const INSTALLED_BUNDLE = `${INSTALL_DIR}/preflight.js`;
export const INSTALLED_CONFIG = `${INSTALL_DIR}/preflight.yaml`;
export const UNIT = 'preflight.service';
/** StateDirectory=preflight, as the service and `sudo preflight last` see it. */
export const STATE_DIR = '/var/lib/preflight';

export interface InstallOptions {
  /** The config the service runs with; use `snapshot_dir: /var/lib/preflight` (docs/install.md does). */
  configText: string;
  /** Print the unit with --dynamic-user instead of creating the `preflight` system user (default false). */
  dynamicUser?: boolean;
  /** Start the service and wait until it logged that it is watching (default true). */
  start?: boolean;
  /** How long to wait for that (default 15 s). */
  startTimeoutMs?: number;
}

/** The service's system user, as `useradd --system` made it inside the sandbox; null with dynamicUser. */
export interface ServiceUser {
  name: string;
  uid: number;
  gid: number;
}

export interface InstalledPreflight {
  user: ServiceUser | null;
  /** What `preflight unit` printed, as installed. */
  unitText: string;
  /** Its stderr: the warnings (empty for a clean install). */
  unitStderr: string;
  /** `systemd-analyze verify` of the installed unit, run inside the sandbox. */
  verify: RunResult;
  /** Paths inside the sandbox. */
  configFile: string;
  snapshotDir: string;
  /** The same snapshot folder from the host (through the bind mount and the private/ symlink). */
  hostSnapshotDir: string;
  /** `journalctl -u preflight.service -o cat`: the daemon's own lines, and systemd's about it. */
  journal(): Promise<string>;
  /** `systemctl show` of the unit. */
  show(): Promise<UnitState>;
  /** The running main process: its uid, gids and argv, from /proc inside the sandbox. */
  mainProcess(): Promise<{ pid: number; uid: number; gids: number[]; argv: string[]; vmHwmKiB: number }>;
  /** Run the installed bundle as root inside the sandbox (`sudo preflight ...`). */
  cli(args: string[]): Promise<RunResult>;
}

const installed = new WeakSet<Sandbox>();

/** Like `useradd --system --user-group`: the highest id below 1000 free as both uid and gid on this host. */
function addSystemUser(sb: Sandbox, name: string): { user: ServiceUser; passwd: string; group: string } {
  const passwd = fs.readFileSync('/etc/passwd', 'utf8');
  const group = fs.readFileSync('/etc/group', 'utf8');
  const ids = (text: string): Set<number> => new Set(text.split('\n').map((l) => Number(l.split(':')[2])).filter(Number.isInteger));
  const taken = new Set([...ids(passwd), ...ids(group)]);
  let id = 999;
  while (taken.has(id) && id > 100) id--;
  if (passwd.split('\n').some((l) => l.startsWith(`${name}:`))) throw new Error(`user ${name} already exists on the host`);
  const nl = (t: string): string => (t.endsWith('\n') ? t : `${t}\n`);
  const etc = path.join(sb.stateDir, 'etc');
  mkdir(etc);
  fs.writeFileSync(path.join(etc, 'passwd'), `${nl(passwd)}${name}:x:${id}:${id}:preflight:${STATE_DIR}:/usr/sbin/nologin\n`, { mode: 0o644 });
  fs.writeFileSync(path.join(etc, 'group'), `${nl(group)}${name}:x:${id}:\n`, { mode: 0o644 });
  return { user: { name, uid: id, gid: id }, passwd: path.join(etc, 'passwd'), group: path.join(etc, 'group') };
}

function mkdir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755);
}

async function must(sb: Sandbox, argv: string[]): Promise<RunResult> {
  const r = await sb.exec(argv);
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')}: exit ${r.exitCode}: ${r.stderr.trim()}`);
  return r;
}

/** Install (and by default start) preflight as a service in `sb`. Once per sandbox. */
export async function installPreflightUnit(sb: Sandbox, opts: InstallOptions): Promise<InstalledPreflight> {
  if (installed.has(sb)) throw new Error(`sandbox ${sb.name}: preflight is already installed`);
  installed.add(sb);
  const bundle = requireBundle();
  const hostSrv = path.join(sb.stateDir, 'srv');
  const hostVarLib = path.join(sb.stateDir, 'varlib');
  const hostInstall = path.join(hostSrv, path.basename(INSTALL_DIR));
  mkdir(hostInstall);
  mkdir(hostVarLib);
  // what docs/install.md says: one file copied, a config written, both readable by the service's user
  fs.copyFileSync(bundle, path.join(hostInstall, 'preflight.js'));
  fs.chmodSync(path.join(hostInstall, 'preflight.js'), 0o644);
  fs.writeFileSync(path.join(hostInstall, 'preflight.yaml'), opts.configText, { mode: 0o644 });
  await must(sb, ['mount', '--bind', hostSrv, '/srv']);
  await must(sb, ['mount', '--bind', hostVarLib, '/var/lib']);
  let user: ServiceUser | null = null;
  if (opts.dynamicUser !== true) {
    const added = addSystemUser(sb, 'preflight');
    await must(sb, ['mount', '--bind', added.passwd, '/etc/passwd']);
    await must(sb, ['mount', '--bind', added.group, '/etc/group']);
    user = added.user;
  }

  const printed = await sb.exec([process.execPath, INSTALLED_BUNDLE, 'unit', '--config', INSTALLED_CONFIG, ...(opts.dynamicUser === true ? ['--dynamic-user'] : [])]);
  if (printed.exitCode !== 0) throw new Error(`preflight unit: exit ${printed.exitCode}: ${printed.stderr}`);
  fs.writeFileSync(path.join(sb.stateDir, 'units', UNIT), printed.stdout);
  await must(sb, ['systemctl', 'daemon-reload']);
  const verify = await sb.exec(['systemd-analyze', 'verify', '--man=no', path.join(sb.stateDir, 'units', UNIT)]);

  const show = async (): Promise<UnitState> => {
    const props = [...UNIT_PROPERTIES, 'User', 'DynamicUser', 'ExecMainStartTimestamp'].join(',');
    const r = await sb.exec(['systemctl', 'show', '-p', props, '--no-pager', '--', UNIT], { env: { TZ: 'UTC', LC_ALL: 'C' } });
    const u = parseSystemctlShow(r.stdout)[0];
    if (!u) throw new Error(`systemctl show ${UNIT}: ${r.stderr}`);
    return u;
  };
  const journal = async (): Promise<string> => (await sb.exec(['journalctl', '-u', UNIT, '-o', 'cat', '--no-pager'])).stdout;
  const mainProcess = async (): Promise<{ pid: number; uid: number; gids: number[]; argv: string[]; vmHwmKiB: number }> => {
    const pid = (await show()).mainPid;
    if (pid === undefined) throw new Error(`${UNIT} has no main process`);
    const status = (await must(sb, ['cat', `/proc/${pid}/status`])).stdout;
    const cmdline = (await must(sb, ['cat', `/proc/${pid}/cmdline`])).stdout;
    const field = (k: string): string => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '';
    return {
      pid,
      uid: Number(field('Uid').split(/\s+/)[0]),
      gids: field('Groups').split(/\s+/).filter(Boolean).map(Number),
      argv: cmdline.split('\0').slice(0, -1),
      vmHwmKiB: Number(field('VmHWM').split(/\s+/)[0]),
    };
  };
  const result: InstalledPreflight = {
    user,
    unitText: printed.stdout,
    unitStderr: printed.stderr,
    verify,
    configFile: INSTALLED_CONFIG,
    snapshotDir: STATE_DIR,
    // a real folder for a system user; with DynamicUser a symlink into private/ (either way this path works)
    hostSnapshotDir: path.join(hostVarLib, 'preflight'),
    journal,
    show,
    mainProcess,
    cli: (args) => sb.exec([process.execPath, INSTALLED_BUNDLE, ...args], { timeoutMs: 30_000 }),
  };
  if (opts.start !== false) {
    await must(sb, ['systemctl', 'start', UNIT]);
    await waitFor(`${UNIT} watching`, opts.startTimeoutMs ?? 15_000, async () => {
      const u = await show();
      if (u.activeState === 'failed') throw new Error(`${UNIT} failed: ${u.result}\n${await journal()}`);
      return u.activeState === 'active' && / watching \d+ service/.test(await journal());
    });
  }
  return result;
}

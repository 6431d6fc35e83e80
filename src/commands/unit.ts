// preflight unit: print a hardened systemd unit that runs this very preflight.js with this very node,
// and warn (stderr) about the traps that would make it fail on a real host.
//
// Decisions:
// - A system user of its own (User=preflight, created with useradd) by default, not DynamicUser=yes:
//   PID 1 starts dbus-daemon with SYSTEMD_NSS_DYNAMIC_BYPASS=1, so the bus cannot resolve a dynamic
//   uid and drops its connection: `systemctl show` from a DynamicUser service fails with "Transport
//   endpoint is not connected" (systemd issue #22737, seen here on Debian 12: systemd 252, dbus
//   1.14), and snapshots would lose unit state and restart detection. --dynamic-user still prints
//   DynamicUser=yes, with that caveat in the unit, for hosts whose bus accepts dynamic users.
// - Snapshots: StateDirectory=preflight, /var/lib/preflight ($STATE_DIRECTORY). With `snapshot_dir:
//   /var/lib/preflight` in the config, `sudo preflight last web` reads the folder the service writes
//   (with DynamicUser the data is in /var/lib/private/preflight behind a /var/lib/preflight symlink,
//   which root follows). Without that key the service would use $STATE_DIRECTORY but a shell would
//   not (~/.local/share/failure-context): the command warns until the key is there.
// - The config is passed with --config <absolute path> when one is found or given; the service's
//   user must be able to read it (mode 0640 root:preflight keeps api_token from other users).
// - ExecStart's words are quoted per systemd.syntax(7): double quotes with \" and \\, and % and $
//   doubled (specifiers are expanded in ExecStart, and so are $VARIABLES).
import { statSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../config/config';
import { exampleConfigWarning } from '../config/example';
import { findConfigFile, loadConfig } from '../config/find';
import { ConfigError, UsageError, errnoCode } from '../util/errors';
import { VERSION } from '../version';
import { EXIT_OK, type Command } from './command';

/** Where systemd puts StateDirectory=preflight (a symlink into /var/lib/private/ with DynamicUser=). */
export const STATE_DIR = '/var/lib/preflight';
/** Where the install guide puts the bundle. */
export const INSTALL_PATH = '/usr/local/lib/preflight/preflight.js';
/** The project's documentation URL; until there is one, the unit points at the script itself. */
export const DOCUMENTATION_URL: string | undefined = undefined;
/**
 * The daemon's peak RSS is 50-55 MiB with 10 to 100 services (make bench-rss, README "Measured"):
 * 256 MiB leaves 4x headroom for a capture with a long journal, and the
 * journalctl/systemctl children that are charged to the same cgroup. The page cache of journal files
 * and snapshots is charged too but is reclaimed before the limit kills anything.
 */
export const MEMORY_MAX = '256M';

/**
 * Node flags for the daemon. A smaller young generation: each health check leaves ~50 KB of garbage,
 * and at high check rates V8 grows the young generation to 16 MiB for it (bench/rss.ts at 100 services
 * and 100 checks/s: +25 MiB over an idle node without this flag). Only settable at startup.
 */
export const NODE_FLAGS = ['--max-semi-space-size=1'];
const JOURNAL_GROUP = 'systemd-journal';

/** The system user `preflight unit` runs the service as unless told otherwise. */
export const DEFAULT_USER = 'preflight';

/** The command that creates the service's user (its home is the state folder, created by systemd). */
export function useraddCommand(user: string): string {
  return `useradd --system --user-group --home-dir ${STATE_DIR} --no-create-home --shell /usr/sbin/nologin ${user}`;
}

/** What the unit is built from. Paths must be absolute. */
export interface UnitSpec {
  node: string;
  script: string;
  config?: string;
  /** The (existing) system user to run as; undefined: DynamicUser=yes. */
  user?: string;
  /** Extra writable paths (a snapshot_dir outside the state folder, with --user). */
  readWritePaths?: string[];
}

/**
 * One word of a command line as systemd reads it back (systemd.syntax(7), systemd.service(5)
 * "Command lines"): plain when it is only safe characters, else double-quoted with \ and " escaped.
 * % (specifiers) and $ (environment variables) are expanded inside quotes too, so they are doubled.
 */
export function systemdQuote(word: string): string {
  if (/[\x00-\x1f\x7f]/.test(word)) throw new UsageError(`cannot put ${JSON.stringify(word)} in a unit file: it holds a control character`);
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (/^[A-Za-z0-9_@+=:,./-]+$/.test(escaped) && escaped !== '') return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A path for a space-separated path list (ReadWritePaths=): quoted when needed, % doubled. */
function quotePathList(p: string): string {
  if (/[\x00-\x1f\x7f"\\]/.test(p)) throw new UsageError(`cannot put ${JSON.stringify(p)} in ReadWritePaths=: it holds a quote, backslash or control character`);
  const escaped = p.replace(/%/g, '%%');
  return /\s/.test(escaped) ? `"${escaped}"` : escaped;
}

/** The user name systemd accepts in User= (the portable subset: systemd's valid_user_group_name, strict). */
export const USER_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,30}$/;

/** The unit file text. Pure: the same spec always gives the same text. */
export function buildUnitFile(spec: UnitSpec): string {
  for (const [what, p] of [['node', spec.node], ['script', spec.script], ['config', spec.config]] as const) {
    if (p !== undefined && !path.isAbsolute(p)) throw new UsageError(`${what} path ${JSON.stringify(p)} is not absolute`);
  }
  if (spec.user !== undefined && !USER_NAME.test(spec.user)) throw new UsageError(`--user ${JSON.stringify(spec.user)}: not a valid user name`);
  const exec = [spec.node, ...NODE_FLAGS, spec.script, 'start', ...(spec.config === undefined ? [] : ['--config', spec.config])]
    .map(systemdQuote)
    .join(' ');
  // URIs are specifier-expanded too: %20 from encodeURI must be written %%20
  const docs = (DOCUMENTATION_URL ?? `file:${encodeURI(spec.script)}`).replace(/%/g, '%%');
  const who =
    spec.user === undefined
      ? [
          '# A user systemd allocates while the service runs; it implies ProtectSystem=strict, ProtectHome=read-only,',
          '# PrivateTmp=yes, RemoveIPC=yes. CAVEAT: PID 1 starts dbus-daemon with SYSTEMD_NSS_DYNAMIC_BYPASS=1, so the',
          '# bus cannot resolve a dynamic uid and refuses it: systemctl fails ("Transport endpoint is not connected",',
          '# systemd issue #22737) and snapshots lose unit state and restart detection. Prefer a system user (the default).',
          'DynamicUser=yes',
        ]
      : [
          `# A system user of its own, created once: ${useraddCommand(spec.user)}`,
          '# Not DynamicUser=yes: the system bus cannot resolve a dynamic uid, so `systemctl show` would fail',
          '# from one (systemd issue #22737) and snapshots would lose unit state and restart detection.',
          `User=${spec.user}`,
        ]
  const rw = spec.readWritePaths ?? [];
  return [
    `# preflight.service, printed by \`preflight unit\` (preflight ${VERSION}).`,
    '#   preflight unit > /etc/systemd/system/preflight.service',
    '#   systemctl daemon-reload && systemctl enable --now preflight',
    ...(spec.user === undefined ? [] : [`#   ${useraddCommand(spec.user)}     (once)`]),
    `#   preflight doctor${spec.config === undefined ? '' : ` --config ${spec.config}`}     (checks the config, journal access, units, health URLs)`,
    '[Unit]',
    'Description=preflight failure-context recorder (keeps the evidence of a service failure)',
    `Documentation=${docs}`,
    '# health URLs may be on other hosts: start once the network is configured',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=exec',
    '# Absolute paths, both readable by the service user: not under /root or /home (private home folders;',
    '# ProtectHome=read-only), not under /tmp or /var/tmp (PrivateTmp=yes gives the service its own).',
    '# --max-semi-space-size=1: a small young generation keeps RSS flat at high check rates (README, Measured).',
    `ExecStart=${exec}`,
    '# log lines carry <N> syslog priority prefixes; journald keeps the levels, under this name',
    'SyslogIdentifier=preflight',
    ...who,
    '# Other units\' journals are readable only by root and this group: without it every snapshot lacks',
    '# the service\'s log lines ("not seeing messages from other users").',
    `SupplementaryGroups=${JOURNAL_GROUP}`,
    `# The one writable folder, ${STATE_DIR} ($STATE_DIRECTORY, the snapshot_dir default under systemd).`,
    ...(spec.user === undefined ? [`# With DynamicUser it is ${STATE_DIR.replace('/var/lib/', '/var/lib/private/')} behind the ${STATE_DIR} symlink.`] : []),
    `# Write snapshot_dir: ${STATE_DIR} in the config so \`sudo preflight last SERVICE\` reads the same folder.`,
    'StateDirectory=preflight',
    'StateDirectoryMode=0750',
    '# The tmpfs fallback for snapshots the snapshot folder refuses ($RUNTIME_DIRECTORY). Not /dev/shm: RemoveIPC=',
    "# deletes the user's files there when the service stops. Kept across restarts.",
    'RuntimeDirectory=preflight',
    'RuntimeDirectoryMode=0700',
    'RuntimeDirectoryPreserve=restart',
    ...(rw.length > 0 ? [`ReadWritePaths=${rw.map(quotePathList).join(' ')}`] : []),
    '# preflight only reads: /proc, /sys, journalctl, systemctl show, HTTP.',
    'ProtectSystem=strict',
    'ProtectHome=read-only',
    'PrivateTmp=yes',
    'RemoveIPC=yes',
    'NoNewPrivileges=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectControlGroups=yes',
    'RestrictSUIDSGID=yes',
    'RestrictRealtime=yes',
    'LockPersonality=yes',
    'CapabilityBoundingSet=',
    '# Left out on purpose: MemoryDenyWriteExecute= (V8 compiles code at run time: node would abort),',
    '# ProtectProc=invisible (hides the processes a snapshot lists), PrivateNetwork=/IPAddressDeny= (probes).',
    '# A recorder that is down records nothing: always back, but a config error (exit 2) needs a human.',
    'Restart=always',
    'RestartSec=5s',
    'RestartPreventExitStatus=2',
    '# The last process the kernel OOM killer should pick: it must outlive the incident it records.',
    'OOMScoreAdjust=-500',
    '# Measured peak RSS 55-59 MiB (3 services, 300-sample buffers, snapshots written); 256M leaves',
    '# headroom for a capture with a long journal and the journalctl child charged to this cgroup.',
    `MemoryMax=${MEMORY_MAX}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

// --- the traps, checked on this host ------------------------------------------------------------

/** A user from /etc/passwd and the groups naming it in /etc/group. */
export interface PasswdUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  groups: number[];
}

/** Parse /etc/passwd and /etc/group text for one user; undefined when the user is not there (LDAP, typo). */
export function parsePasswdUser(name: string, passwd: string, group: string): PasswdUser | undefined {
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || f[0] !== name || !/^\d+$/.test(f[2] ?? '') || !/^\d+$/.test(f[3] ?? '')) continue;
    const gid = Number(f[3]);
    const groups = [gid];
    for (const g of group.split('\n')) {
      const gf = g.split(':');
      if (gf.length >= 4 && /^\d+$/.test(gf[2] ?? '') && (gf[3] ?? '').split(',').includes(name)) groups.push(Number(gf[2]));
    }
    return { name, uid: Number(f[2]), gid, home: f[5] ?? '/', groups };
  }
  return undefined;
}

/** gid of a group in /etc/group text. */
export function parseGroupId(name: string, group: string): number | undefined {
  for (const line of group.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && /^\d+$/.test(f[2] ?? '')) return Number(f[2]);
  }
  return undefined;
}

/** Who the service runs as, for mode-bit checks: a known uid, or a dynamic one (never an owner). */
export interface ServiceIdentity {
  uid?: number;
  gids: number[];
}

export interface ModeInfo {
  mode: number;
  uid: number;
  gid: number;
}

/** Can `who` get `bits` (4 read, 1 exec/search) on a file with `m`, by its mode bits? root always can. */
export function modeAllows(m: ModeInfo, who: ServiceIdentity, bits: number): boolean {
  if (who.uid === 0) return true;
  if (who.uid !== undefined && who.uid === m.uid) return ((m.mode >> 6) & bits) === bits;
  if (who.gids.includes(m.gid)) return ((m.mode >> 3) & bits) === bits;
  return (m.mode & bits) === bits;
}

/**
 * The first reason `who` cannot read (or execute) `file` by mode bits along its path, or undefined.
 * `stat` is injected so tests can describe any tree. ACLs are not looked at.
 */
export function pathProblem(file: string, who: ServiceIdentity, want: 'read' | 'exec', stat: (p: string) => ModeInfo): string | undefined {
  const parts = path.resolve(file).split('/').filter(Boolean);
  let dir = '/';
  for (let i = 0; i < parts.length; i++) {
    const m = stat(dir);
    if (!modeAllows(m, who, 1)) return `${dir} (mode ${(m.mode & 0o7777).toString(8).padStart(4, '0')}) cannot be entered`;
    dir = path.join(dir, parts[i] as string);
  }
  const m = stat(dir);
  const bits = want === 'read' ? 4 : 1;
  if (!modeAllows(m, who, bits)) return `${dir} (mode ${(m.mode & 0o7777).toString(8).padStart(4, '0')}) is not ${want === 'read' ? 'readable' : 'executable'}`;
  return undefined;
}

function within(p: string, dir: string): boolean {
  return p === dir || p.startsWith(`${dir}/`);
}

/** Where a path lands that the service cannot see (home folders, private /tmp), or undefined. */
export function hiddenLocation(p: string): string | undefined {
  if (within(p, '/root') || within(p, '/home') || within(p, '/run/user')) return 'a home folder (private to its owner; ProtectHome=read-only)';
  if (within(p, '/tmp') || within(p, '/var/tmp')) return 'a temp folder (PrivateTmp=yes gives the service its own /tmp and /var/tmp)';
  return undefined;
}

function realStat(p: string): ModeInfo {
  const st = statSync(p);
  return { mode: st.mode, uid: st.uid, gid: st.gid };
}

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Warnings about this host for the unit `spec` would run; each says what to do. */
export function unitWarnings(spec: UnitSpec, ctx: { who: ServiceIdentity | null; stat?: (p: string) => ModeInfo }): string[] {
  const out: string[] = [];
  const stat = ctx.stat ?? realStat;
  const check = (what: string, p: string, want: 'read' | 'exec', fix: string): void => {
    const hidden = hiddenLocation(p);
    if (hidden !== undefined) {
      out.push(`${what} ${p} is in ${hidden}: the service cannot use it; ${fix}`);
      return;
    }
    if (ctx.who === null) return;
    let problem: string | undefined;
    try {
      problem = pathProblem(p, ctx.who, want, stat);
    } catch (err) {
      problem = `cannot be checked (${errnoCode(err) ?? String(err)})`;
    }
    if (problem !== undefined) out.push(`${what} ${p}: ${problem} for the service's user; ${fix}`);
  };
  check('node', spec.node, 'exec', 'install Node.js system-wide (e.g. /usr/bin/node from your distribution or NodeSource) and run `preflight unit` with it');
  check('script', spec.script, 'read', `copy it: install -D -m 0644 ${spec.script} ${INSTALL_PATH}, then run \`node ${INSTALL_PATH} unit\``);
  if (spec.config !== undefined) {
    const group = spec.user ?? JOURNAL_GROUP;
    check('config', spec.config, 'read', `make it readable by the service: chgrp ${group} ${spec.config} && chmod 0640 ${spec.config} (others still cannot read api_token)`);
  }
  return out;
}

/** Snapshot folder traps: the service's folder vs the one `preflight last` reads from a shell. */
export function snapshotWarnings(o: { file: string; serviceDir: string; shellDir: string | undefined; user: string | undefined }): string[] {
  const out: string[] = [];
  if (!within(o.serviceDir, STATE_DIR)) {
    out.push(
      o.user === undefined
        ? `snapshot_dir ${o.serviceDir} is outside ${STATE_DIR}: with DynamicUser=yes and ProtectSystem=strict the service can write only its StateDirectory; set snapshot_dir: ${STATE_DIR} in ${o.file} (or use --user NAME and a folder NAME owns)`
        : `snapshot_dir ${o.serviceDir} is outside ${STATE_DIR}: the unit adds ReadWritePaths= for it; it must exist and be writable by ${o.user} (install -d -o ${o.user} -m 0750 ${o.serviceDir})`,
    );
  } else if (o.shellDir !== o.serviceDir) {
    out.push(
      `the service will write snapshots to ${o.serviceDir} but \`preflight last\` run from a shell reads ${o.shellDir ?? '(no folder: $HOME is not set)'}: add \`snapshot_dir: ${o.serviceDir}\` to ${o.file} so \`sudo preflight last SERVICE\` finds them`,
    );
  }
  return out;
}

function loadOr(file: string, env: NodeJS.ProcessEnv): Config | undefined {
  try {
    return loadConfig(file, env);
  } catch (err) {
    if (err instanceof ConfigError) return undefined;
    throw err;
  }
}

export const unitCommand: Command = {
  name: 'unit',
  summary: 'print a hardened systemd unit for this preflight (> /etc/systemd/system/preflight.service)',
  usage: 'unit [--user NAME]',
  options: {
    user: { type: 'string', valueName: 'NAME', description: `the system user to run as (default ${DEFAULT_USER}; create it with useradd --system)` },
    'dynamic-user': { type: 'boolean', description: 'DynamicUser=yes instead: no account, but systemctl cannot reach the bus (unit state is lost)' },
  },
  positionals: [0, 0],
  async run({ io, values, env }) {
    const dynamic = values['dynamic-user'] === true;
    if (dynamic && values.user !== undefined) throw new UsageError('unit: --user and --dynamic-user exclude each other');
    const user = dynamic ? undefined : ((values.user as string | undefined) ?? DEFAULT_USER);
    if (user !== undefined && !USER_NAME.test(user)) throw new UsageError(`unit: --user ${JSON.stringify(user)} is not a valid user name`);
    const warn = (m: string): void => io.err(`preflight: warning: ${m}`);
    const script = path.resolve(process.argv[1] ?? '');
    const spec: UnitSpec = { node: process.execPath, script };
    if (user !== undefined) spec.user = user;

    let file: string | undefined;
    try {
      file = findConfigFile(values.config as string | undefined, env);
    } catch (err) {
      // a named file that is missing is the user's typo: say so; none found is fine (the service searches)
      if (!(err instanceof ConfigError) || values.config !== undefined || env.PREFLIGHT_CONFIG) throw err;
      warn(`no config file found: the service will look for /etc/preflight.yaml; write it there (snapshot_dir: ${STATE_DIR}, services: ...) or pass --config FILE`);
    }

    const group = readOr('/etc/group');
    const journalGid = parseGroupId(JOURNAL_GROUP, group);
    if (journalGid === undefined) warn(`no ${JOURNAL_GROUP} group on this host: SupplementaryGroups=${JOURNAL_GROUP} will fail; is this a systemd host?`);
    const journalGids = journalGid === undefined ? [] : [journalGid];
    let who: ServiceIdentity | null = { gids: journalGids };
    // $HOME as systemd will set it: the user's home (useradd above makes it the state folder), / for a dynamic one
    let home = user === undefined ? '/' : STATE_DIR;
    if (user !== undefined) {
      const pw = parsePasswdUser(user, readOr('/etc/passwd'), group);
      if (pw === undefined) {
        warn(`user ${user} does not exist yet: create it with ${useraddCommand(user)}${values.user === undefined ? ' (or pass --user NAME)' : ''}`);
        // as it will be once created: a fresh system user whose own group is named after it
        const ownGid = parseGroupId(user, group);
        who = { gids: [...(ownGid === undefined ? [] : [ownGid]), ...journalGids] };
      } else {
        if (pw.uid === 0) warn('--user root gives up the hardening: preflight never needs root');
        who = { uid: pw.uid, gids: [...pw.groups, ...journalGids] };
        home = pw.home;
      }
    }

    if (file !== undefined) {
      spec.config = file;
      // the same file read as the service will (StateDirectory sets $STATE_DIRECTORY) and as a shell does
      const asService = loadConfig(file, { ...env, STATE_DIRECTORY: STATE_DIR, HOME: home });
      const { STATE_DIRECTORY: _ignored, ...shellEnv } = env;
      const asShell = loadOr(file, shellEnv);
      if (user !== undefined && !within(asService.snapshotDir, STATE_DIR)) spec.readWritePaths = [asService.snapshotDir];
      for (const w of snapshotWarnings({ file, serviceDir: asService.snapshotDir, shellDir: asShell?.snapshotDir, user })) warn(w);
      const example = exampleConfigWarning(asService);
      if (example) warn(example);
    }
    for (const w of unitWarnings(spec, { who })) warn(w);
    io.out(buildUnitFile(spec));
    return EXIT_OK;
  },
};

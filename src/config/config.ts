// preflight.yaml: the schema, its defaults and validation (format.ts prints the effective config back;
// find.ts says which file is read). Every error points at the line and column of the value at fault
// and says what to write instead; unknown keys get a "did you mean" from edit distance.
//
// Decisions:
// - A key given with an empty value (`listen:`) is an error, not the default: remove the key for that.
// - timeout_seconds longer than the interval it belongs to is an error: a check that may outlast its
//   period either overlaps the next one or silently stretches the period. The default timeout is
//   10 s or the interval, whichever is shorter, so a short interval alone never trips it.
// - Upper bounds keep every dimension bounded: periods <= 86400 s, buffer_samples/retention/
//   journal_lines <= 100000, failure_threshold <= 1000.
// - String settings take the text as written: `api_token: 1234` is the string "1234".
// - listen port 0 is allowed (the OS picks one; tests use it); public_url is then not derived.
import { isIPv4, isIPv6 } from 'node:net';
import { ConfigError, quote } from '../util/errors';
import { parseYaml, type Pos, type YamlEntry, type YamlMap, type YamlNode } from './yaml';
import { parseHeaders, parseHealthUrl, parseProbeOptions, PROBE_KEYS, REDACTED, rejectProbeKeys } from './service';
import { parseMaintenance, type MaintenanceWindow } from './maintenance';
import { Reader, editDistance, entryOf, got, suggest } from './reader';

export { Reader, editDistance, suggest };

export { REDACTED };

/** An accepted HTTP status range, inclusive; a single code is {min: code, max: code}. From `expect_status`. */
export interface StatusRange {
  min: number;
  max: number;
}

/** One watched service, from an entry of `services:` in preflight.yaml, with inherited settings filled in. */
export interface ServiceConfig {
  name: string;
  /** http://, https:// or tcp://host:port; null for a unit watched without one (unit-only, see units.ts) */
  healthUrl: string | null;
  /** Always ends in ".service". */
  unit?: string;
  /** made by watch_failed_units for a unit no listed service watches (not from the file) */
  discovered?: true;
  expectStatus: StatusRange[];
  expectBody?: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  bufferSamples: number;
  /** Request headers of the health check (`headers:`); values are secrets (redacted when printed). */
  headers?: Record<string, string>;
  /** `tls_ca_file`, absolute, and its PEM contents (read at config load). */
  tlsCaFile?: string;
  tlsCa?: string;
  /** `tls_insecure`: accept a certificate that fails verification (the result still says why). */
  tlsInsecure?: boolean;
}

/** `notifications:` in preflight.yaml. */
export interface NotificationsConfig {
  webhook: string;
  format: 'json' | 'ntfy' | 'slack' | 'discord';
  /** Base for links in messages; from public_url, else derived from a specific (non-wildcard) listen address. */
  publicUrl?: string;
  recovery: boolean;
  headers: Record<string, string>;
}

/** The effective configuration: preflight.yaml with defaults applied and paths expanded. */
export interface Config {
  /** The file it was read from; null for a config not read from a file. */
  file: string | null;
  snapshotDir: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
  confirmIntervalSeconds: number;
  sampleSeconds: number;
  bufferSamples: number;
  retention: number;
  /** a failure starting this long after the previous recovery still joins its episode */
  flapWindowSeconds: number;
  /** at most one flapping / still-down reminder per this many seconds */
  reminderSeconds: number;
  journalLines: number;
  disks: string[];
  /** null when `listen: off`. host is bare (no brackets for IPv6). */
  listen: { host: string; port: number } | null;
  apiToken?: string;
  notifications?: NotificationsConfig;
  services: ServiceConfig[];
  /** `maintenance:` windows (maintenance.ts); absent or empty: none */
  maintenance?: MaintenanceWindow[];
  /** `watch_failed_units`: any service unit of the system entering failed is a service of its own (absent: off) */
  watchFailedUnits?: boolean;
}

export const DEFAULT_SNAPSHOT_DIR = '~/.local/share/failure-context';
export const DEFAULT_LISTEN = { host: '127.0.0.1', port: 9187 } as const;
const DEFAULT_TIMEOUT = 10;
const DEFAULT_EXPECT_STATUS: StatusRange[] = [{ min: 200, max: 399 }];
const FORMATS = ['json', 'ntfy', 'slack', 'discord'] as const;
const MAX_SECONDS = 86400;
const MAX_COUNT = 100000;
export const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** `host:port` as a URL or a listen: value writes it: an IPv6 address in brackets. */
export function hostPort(host: string, port: number): string {
  return `${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

export const TOP_KEYS = [
  'snapshot_dir',
  'interval_seconds',
  'timeout_seconds',
  'failure_threshold',
  'confirm_interval_seconds',
  'sample_seconds',
  'buffer_samples',
  'retention',
  'flap_window_seconds',
  'reminder_seconds',
  'journal_lines',
  'disks',
  'listen',
  'api_token',
  'notifications',
  'services',
  'maintenance',
  'watch_failed_units',
];
export const SERVICE_KEYS = ['name', 'health_url', 'unit', 'expect_status', 'expect_body', 'interval_seconds', 'timeout_seconds', 'buffer_samples', ...PROBE_KEYS];
export const NOTIFICATION_KEYS = ['webhook', 'format', 'public_url', 'recovery', 'headers'];


function parseListen(r: Reader, entry: YamlEntry): { host: string; port: number } | null {
  const hint = 'write host:port, e.g. 127.0.0.1:9187 or "[::1]:9187", or off to disable the API';
  const v = entry.value;
  if (v.kind === 'scalar' && typeof v.value === 'number') r.fail(v, `listen: expected host:port or off, got ${v.value}`, `write 127.0.0.1:${v.value} to listen on loopback`);
  if (v.kind === 'scalar' && v.value === false) r.fail(v, 'listen: expected host:port or off, got false', 'write off to disable the API');
  const s = r.text(entry, 'listen', 'host:port or off', hint);
  if (s === 'off') return null;
  const m = /^\[([^\]]*)\]:([0-9]+)$/.exec(s) ?? /^([^:[\]]+):([0-9]+)$/.exec(s);
  if (!m) {
    const v6 = isIPv6(s.replace(/:[0-9]+$/, '')) || isIPv6(s);
    r.fail(v, `listen: expected host:port or off, got ${quote(s)}`, v6 ? 'put an IPv6 address in brackets and quote the value: "[::1]:9187"' : hint);
  }
  const [, host = '', portText = ''] = m;
  const bracketed = s.startsWith('[');
  if (bracketed ? !isIPv6(host) : !(isIPv4(host) || /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(host))) {
    r.fail(v, `listen: ${quote(host)} is not ${bracketed ? 'an IPv6 address' : 'an IPv4 address or host name'}`, hint);
  }
  const port = Number(portText);
  if (!/^(0|[1-9][0-9]*)$/.test(portText) || port > 65535) r.fail(v, `listen: port ${portText} is not 0-65535`, hint);
  return { host, port };
}

function parseStatus(r: Reader, node: YamlNode, path: string): StatusRange {
  const hint = 'write a code (200), a range ("200-399" or 2xx), or a list of them: [200, 301-302]';
  if (node.kind !== 'scalar' || node.value === null || typeof node.value === 'boolean') r.fail(node, `${path}: expected a status code or range, got ${got(node)}`, hint);
  const s = node.quoted ? String(node.value) : node.raw;
  let range: StatusRange | undefined;
  let m: RegExpExecArray | null;
  if ((m = /^([1-5][0-9][0-9])$/.exec(s))) range = { min: Number(m[1]), max: Number(m[1]) };
  else if ((m = /^([1-5][0-9][0-9]) *- *([1-5][0-9][0-9])$/.exec(s))) range = { min: Number(m[1]), max: Number(m[2]) };
  else if ((m = /^([1-5])xx$/i.exec(s))) range = { min: Number(m[1]) * 100, max: Number(m[1]) * 100 + 99 };
  if (!range) r.fail(node, `${path}: expected a status code 100-599 or a range, got ${quote(s)}`, hint);
  if (range.min > range.max) r.fail(node, `${path}: range ${quote(s)} ends before it starts`, `write ${range.max}-${range.min}`);
  return range;
}

function parseExpectStatus(r: Reader, entry: YamlEntry, path: string): StatusRange[] {
  const v = entry.value;
  if (v.kind !== 'list') return [parseStatus(r, v, path)];
  if (v.items.length === 0) r.fail(v, `${path}: the list is empty`, 'list at least one code or range, or remove the key for the default 200-399');
  return v.items.map((item, i) => parseStatus(r, item, `${path}[${i}]`));
}

function parseUnit(r: Reader, entry: YamlEntry, path: string): string {
  const s = r.text(entry, path, 'a systemd unit name', 'e.g. unit: dead-drop.service');
  if (s.length > 255 || !/^[A-Za-z0-9:_.\\@-]+$/.test(s)) {
    r.fail(entry.value, `${path}: ${quote(s)} is not a valid systemd unit name`, 'unit names use letters, digits and : _ . \\ @ -, e.g. dead-drop.service');
  }
  const suffix = /\.(socket|target|mount|automount|timer|path|slice|scope|device|swap)$/.exec(s);
  if (suffix) {
    const hint =
      suffix[1] === 'timer'
        ? `a timer runs a service: name that one (${s.replace(/\.timer$/, '.service')} unless the timer says Unit=)`
        : 'preflight follows services: name the .service unit this health URL belongs to';
    r.fail(entry.value, `${path}: expected a .service unit, got ${quote(s)}`, hint);
  }
  const unit = s.endsWith('.service') ? s : `${s}.service`;
  if (/@\.service$/.test(unit)) r.fail(entry.value, `${path}: ${quote(s)} is a template, not a running unit`, 'name an instance, e.g. worker@1.service');
  return unit;
}

function derivePublicUrl(listen: Config['listen']): string | undefined {
  if (!listen || listen.port === 0 || listen.host === '0.0.0.0' || listen.host === '::') return undefined;
  return `http://${hostPort(listen.host, listen.port)}`;
}

function parseNotifications(r: Reader, entry: YamlEntry, listen: Config['listen']): NotificationsConfig {
  const map = r.map(entry, 'notifications', 'write webhook: https://… indented under notifications:');
  r.checkKeys(map, 'notifications', NOTIFICATION_KEYS);
  const webhookEntry = entryOf(map, 'webhook');
  if (!webhookEntry) r.fail(map, 'notifications: missing webhook', 'add webhook: https://ntfy.example.org/ops under notifications:');
  const webhook = r.url(webhookEntry, 'notifications.webhook', 'https://ntfy.example.org/ops');
  let format: NotificationsConfig['format'] = 'json';
  const formatEntry = entryOf(map, 'format');
  if (formatEntry) {
    const f = r.text(formatEntry, 'notifications.format', FORMATS.join(', '), `one of ${FORMATS.join(', ')}`);
    const known = FORMATS.find((x) => x === f);
    if (!known) {
      const near = suggest(f, FORMATS);
      r.fail(formatEntry.value, `notifications.format: expected one of ${FORMATS.join(', ')}, got ${quote(f)}`, near ? `did you mean ${near}?` : 'json posts the snapshot summary as JSON');
    }
    format = known;
  }
  const publicEntry = entryOf(map, 'public_url');
  let publicUrl = publicEntry ? r.url(publicEntry, 'notifications.public_url', 'https://box.example.org:9187') : derivePublicUrl(listen);
  if (publicUrl && publicUrl.length > 1) publicUrl = publicUrl.replace(/\/+$/, '');
  const recoveryEntry = entryOf(map, 'recovery');
  const recovery = recoveryEntry ? r.boolean(recoveryEntry, 'notifications.recovery') : true;
  const headersEntry = entryOf(map, 'headers');
  const headers = headersEntry ? parseHeaders(r, headersEntry, 'notifications.headers') : {};
  const n: NotificationsConfig = { webhook, format, recovery, headers };
  if (publicUrl !== undefined) n.publicUrl = publicUrl;
  return n;
}

interface Inherited {
  intervalSeconds: number;
  timeoutSeconds: number;
  /** Where timeout_seconds was set at the top level, if it was. */
  timeoutEntry: YamlEntry | undefined;
  bufferSamples: number;
}

function parseService(r: Reader, map: YamlMap, name: string, namePos: Pos, path: string, top: Inherited): ServiceConfig {
  if (!SERVICE_NAME.test(name)) {
    r.fail(namePos, `${path}: service name ${quote(name)} is not allowed`, 'names become folder names and URL paths: 1-64 letters, digits, . _ -, starting with a letter or digit');
  }
  const e = (k: string): YamlEntry | undefined => entryOf(map, k);
  const healthEntry = entryOf(map, 'health_url');
  const unitEntry = e('unit');
  if (!healthEntry && !unitEntry) {
    r.fail(map, `${path}: neither health_url nor unit`, 'add health_url: http://127.0.0.1:8080/health (the URL preflight checks), or unit: backup.service to watch a unit (a timer\'s job) through systemd alone, or both');
  }
  const healthUrl = healthEntry ? parseHealthUrl(r, healthEntry, `${path}.health_url`) : null;
  if (healthUrl === null) rejectProbeKeys(r, map, path);
  const svc: ServiceConfig = {
    name,
    healthUrl,
    expectStatus: DEFAULT_EXPECT_STATUS.map((s) => ({ ...s })),
    intervalSeconds: top.intervalSeconds,
    timeoutSeconds: top.timeoutSeconds,
    bufferSamples: top.bufferSamples,
    ...(healthUrl === null ? {} : parseProbeOptions(r, map, path, healthUrl)),
  };
  if (unitEntry) svc.unit = parseUnit(r, unitEntry, `${path}.unit`);
  const status = e('expect_status');
  if (status) svc.expectStatus = parseExpectStatus(r, status, `${path}.expect_status`);
  const body = e('expect_body');
  if (body) svc.expectBody = r.text(body, `${path}.expect_body`, 'text the response body must contain', 'e.g. expect_body: ok');
  const interval = e('interval_seconds');
  if (interval) svc.intervalSeconds = r.number(interval, `${path}.interval_seconds`, SECONDS(30));
  const timeout = e('timeout_seconds');
  if (timeout) svc.timeoutSeconds = r.number(timeout, `${path}.timeout_seconds`, SECONDS(DEFAULT_TIMEOUT));
  else if (!top.timeoutEntry) svc.timeoutSeconds = Math.min(DEFAULT_TIMEOUT, svc.intervalSeconds);
  const buffer = e('buffer_samples');
  if (buffer) svc.bufferSamples = r.number(buffer, `${path}.buffer_samples`, BUFFER);
  if (svc.timeoutSeconds > svc.intervalSeconds) {
    if (timeout) {
      r.fail(timeout.value, `${path}.timeout_seconds: ${svc.timeoutSeconds} is longer than interval_seconds (${svc.intervalSeconds})`, `a check must end before the next one starts: write timeout_seconds: ${svc.intervalSeconds} or less, or raise interval_seconds`);
    }
    r.fail(interval?.value ?? map, `${path}.interval_seconds: ${svc.intervalSeconds} is shorter than timeout_seconds ${svc.timeoutSeconds}, set on line ${top.timeoutEntry?.keyPos.line ?? '?'}`, `add timeout_seconds: ${svc.intervalSeconds} or less to this service`);
  }
  return svc;
}

const SECONDS = (example: number) => ({ integer: false, min: 0, minExclusive: true, max: MAX_SECONDS, example });
const BUFFER = { integer: true, min: 2, max: MAX_COUNT, example: 30 };

function parseServices(r: Reader, entry: YamlEntry, top: Inherited): ServiceConfig[] {
  const v = entry.value;
  const hint = "add one: '- name: web' with 'health_url: http://127.0.0.1:8080/health' indented under it";
  const elsewhere = (key: string): string | undefined =>
    TOP_KEYS.includes(key) ? `${key} is a top-level setting; per service only interval_seconds, timeout_seconds and buffer_samples can be overridden` : undefined;
  const services: ServiceConfig[] = [];
  const seen = new Map<string, Pos>();
  const add = (map: YamlMap, name: string, namePos: Pos, path: string): void => {
    const first = seen.get(name);
    if (first) r.fail(namePos, `services: duplicate service name '${name}', first on line ${first.line}`, 'service names must be unique; rename one');
    seen.set(name, namePos);
    services.push(parseService(r, map, name, namePos, path, top));
  };
  if (v.kind === 'list') {
    v.items.forEach((item, i) => {
      if (item.kind !== 'map') r.fail(item, `services[${i}]: expected a map with name: and health_url:, got ${got(item)}`, hint);
      const nameEntry = entryOf(item, 'name');
      const named = nameEntry?.value.kind === 'scalar' && nameEntry.value.value !== null ? `services.${nameEntry.value.raw}` : `services[${i}]`;
      r.checkKeys(item, named, SERVICE_KEYS, elsewhere);
      if (!nameEntry) r.fail(item, `services[${i}]: missing name`, 'add name: <service>, e.g. name: web');
      const name = r.text(nameEntry, `services[${i}].name`, 'a service name', 'e.g. name: web');
      add(item, name, nameEntry.value, `services.${name}`);
    });
  } else if (v.kind === 'map') {
    for (const svc of v.entries.values()) {
      const path = `services.${svc.key}`;
      if (svc.value.kind !== 'map') r.fail(svc.value, `${path}: expected a map with health_url:, got ${got(svc.value)}`, `indent health_url: … under ${svc.key}:`);
      const nameEntry = entryOf(svc.value, 'name');
      if (nameEntry) r.fail(nameEntry.keyPos, `${path}: unexpected key 'name'`, `here the service is named by its key (${svc.key}:); remove name:, or write services as a list (- name: …)`);
      r.checkKeys(svc.value, path, SERVICE_KEYS, elsewhere);
      add(svc.value, svc.key, svc.keyPos, path);
    }
  } else {
    r.fail(v, `services: expected a list or a map of services, got ${got(v)}`, hint);
  }
  if (services.length === 0) r.fail(v, 'services: at least one service is required', hint);
  return services;
}

/** Parse and validate preflight.yaml text; throws ConfigError pointing at the value at fault. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const r: Reader = new Reader(file, env);
  const doc = parseYaml(text, file);
  if (doc.kind === 'scalar' && doc.value === null) r.fail(undefined, 'the config is empty', 'at least services: is needed; see the example preflight.yaml');
  if (doc.kind !== 'map') r.fail(doc, `expected a map of settings at the top level, got ${got(doc)}`, 'write key: value lines, e.g. services:');
  r.checkKeys(doc, '', TOP_KEYS, (key) =>
    SERVICE_KEYS.includes(key) && !TOP_KEYS.includes(key) ? `${key} belongs to a service: indent it under an entry of services:` : NOTIFICATION_KEYS.includes(key) ? `${key} belongs under notifications:` : undefined,
  );
  const e = (k: string): YamlEntry | undefined => entryOf(doc, k);
  const num = (k: string, dflt: number, opts: Parameters<Reader['number']>[2]): number => {
    const entry = e(k);
    return entry ? r.number(entry, k, opts) : dflt;
  };

  const snapshotEntry = e('snapshot_dir');
  let snapshotDir: string;
  if (snapshotEntry) snapshotDir = r.path(snapshotEntry, 'snapshot_dir', true);
  else {
    // systemd's StateDirectory= sets $STATE_DIRECTORY (several directories are ':'-separated; the first is ours).
    const state = (env.STATE_DIRECTORY ?? '').split(':')[0] ?? '';
    if (state !== '') snapshotDir = r.absolute(state, undefined, '$STATE_DIRECTORY', false);
    else if (env.HOME) snapshotDir = r.absolute(DEFAULT_SNAPSHOT_DIR, undefined, 'snapshot_dir (default ~/.local/share/failure-context)', true);
    else r.fail(undefined, 'no snapshot_dir: neither $STATE_DIRECTORY nor $HOME is set', 'set snapshot_dir: /var/lib/preflight, or StateDirectory=preflight in the unit');
  }

  const intervalSeconds = num('interval_seconds', 30, SECONDS(30));
  const timeoutEntry = e('timeout_seconds');
  const timeoutSeconds = timeoutEntry ? r.number(timeoutEntry, 'timeout_seconds', SECONDS(DEFAULT_TIMEOUT)) : Math.min(DEFAULT_TIMEOUT, intervalSeconds);
  if (timeoutEntry && timeoutSeconds > intervalSeconds) {
    r.fail(timeoutEntry.value, `timeout_seconds: ${timeoutSeconds} is longer than interval_seconds (${intervalSeconds})`, `a check must end before the next one starts: write timeout_seconds: ${intervalSeconds} or less, or raise interval_seconds`);
  }
  const bufferSamples = num('buffer_samples', 30, BUFFER);

  const disks: string[] = ['/'];
  const disksEntry = e('disks');
  if (disksEntry) {
    const v = disksEntry.value;
    if (v.kind !== 'list') r.fail(v, `disks: expected a list of absolute paths, got ${got(v)}`, `write a list: disks: [${v.kind === 'scalar' && v.raw ? v.raw : '/'}]`);
    disks.length = 0;
    const seen = new Map<string, Pos>();
    v.items.forEach((item, i) => {
      const path = r.path({ key: 'disks', keyPos: item, value: item }, `disks[${i}]`, false);
      const first = seen.get(path);
      if (first) r.fail(item, `disks[${i}]: ${quote(path)} is listed twice, first on line ${first.line}`, 'remove one');
      seen.set(path, item);
      disks.push(path);
    });
  }

  const listenEntry = e('listen');
  const listen = listenEntry ? parseListen(r, listenEntry) : { ...DEFAULT_LISTEN };
  const tokenEntry = e('api_token');
  let apiToken: string | undefined;
  if (tokenEntry) {
    apiToken = r.text(tokenEntry, 'api_token', 'a token', 'e.g. api_token: "a long random string" (openssl rand -hex 32)');
    if (!/^[\x21-\x7e]+$/.test(apiToken)) r.fail(tokenEntry.value, 'api_token: the token holds spaces or non-ASCII characters', 'use printable ASCII without spaces, e.g. the output of openssl rand -hex 32');
  }
  const notificationsEntry = e('notifications');
  const servicesEntry = e('services');
  if (!servicesEntry) r.fail(undefined, 'missing services:', "add services: with at least one '- name: …' and 'health_url: …'");

  const config: Config = {
    file,
    snapshotDir,
    intervalSeconds,
    timeoutSeconds,
    failureThreshold: num('failure_threshold', 2, { integer: true, min: 1, max: 1000, example: 2 }),
    confirmIntervalSeconds: num('confirm_interval_seconds', 5, SECONDS(5)),
    sampleSeconds: num('sample_seconds', 10, SECONDS(10)),
    bufferSamples,
    retention: num('retention', 50, { integer: true, min: 1, max: MAX_COUNT, example: 50 }),
    flapWindowSeconds: num('flap_window_seconds', 600, { integer: false, min: 0, max: MAX_SECONDS, example: 600 }),
    reminderSeconds: num('reminder_seconds', 3600, SECONDS(3600)),
    journalLines: num('journal_lines', 100, { integer: true, min: 0, max: MAX_COUNT, example: 100 }),
    disks,
    listen,
    services: parseServices(r, servicesEntry, { intervalSeconds, timeoutSeconds, timeoutEntry, bufferSamples }),
  };
  if (apiToken !== undefined) config.apiToken = apiToken;
  const watchEntry = e('watch_failed_units');
  if (watchEntry) config.watchFailedUnits = r.boolean(watchEntry, 'watch_failed_units');
  if (notificationsEntry) config.notifications = parseNotifications(r, notificationsEntry, listen);
  const maintenanceEntry = e('maintenance');
  if (maintenanceEntry) config.maintenance = parseMaintenance(r, maintenanceEntry, config.services.map((x) => x.name));
  return config;
}

export { formatConfig } from './format';

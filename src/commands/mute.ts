// mute, unmute: write the mute file into the snapshot folder the config names (daemon/mute-file.ts);
// the running daemon reads it within a second. No API call: being able to write that folder (root, or
// the user preflight runs as) is what allows muting, and the HTTP API stays read-only.
import { userInfo } from 'node:os';
import { describeConfigSource, locateConfig, readConfigFile } from '../config/find';
import { suggest, type Config } from '../config/config';
import { windowEnd, describeWindow } from '../config/maintenance';
import { ALL, activeMute, formatMuteDuration, MuteInputError, muteFilePath, parseDuration, readMuteFile, writeMuteFile, type MuteEntry } from '../daemon/mute-file';
import { errnoCode, errorMessage, quote, UsageError } from '../util/errors';
import { EXIT_NOT_FOUND, EXIT_OK, type Command, type CommandContext } from './command';

const MAX_REASON = 200;

function load(ctx: CommandContext): { config: Config; source: string } {
  const found = locateConfig(ctx.values.config as string | undefined, ctx.env);
  return { config: readConfigFile(found.file, ctx.env), source: describeConfigSource(found) };
}

/** "all" → ALL; a configured service name → itself; else a UsageError naming the nearest. */
function target(config: Config, name: string, source: string): string {
  if (name === 'all') return ALL;
  const names = config.services.map((s) => s.name);
  if (names.includes(name)) return name;
  const near = suggest(name, names);
  throw new UsageError(`no service ${quote(name)} in ${source}${near ? `; did you mean ${near}?` : ''} (services: ${names.join(', ')}, or all)`);
}

const live = (entries: MuteEntry[], now: number): MuteEntry[] => entries.filter((e) => Date.parse(e.until) > now);

async function current(config: Config): Promise<MuteEntry[]> {
  try {
    return await readMuteFile(config.snapshotDir);
  } catch (err) {
    // a damaged file is replaced rather than blocking every later mute
    if (err instanceof MuteInputError) return [];
    throw err;
  }
}

function writeFailed(config: Config, err: unknown): Error {
  if (errnoCode(err) === 'ENOENT') {
    return new Error(`the snapshot folder ${config.snapshotDir} does not exist: is preflight running with this config? (it makes the folder when it starts)`);
  }
  return new Error(`cannot write ${muteFilePath(config.snapshotDir)}: ${errorMessage(err)} (muting needs write access to the snapshot folder: run as root or as the user preflight runs as)`);
}

export const muteCommand: Command = {
  name: 'mute',
  summary: "hold a service's notifications (failures are still captured)",
  usage: 'mute <service|all> <duration> [--reason TEXT]',
  options: { reason: { type: 'string', valueName: 'TEXT', description: 'why, shown in the log and in snapshots taken meanwhile' } },
  details: [
    'durations: 20s, 10m, 2h, 1d, or combined like 1h30m (at most 30d; for planned windows use maintenance: in the config)',
    'service: a name from services: in the config, or all',
    '',
    'The mute is written to .mutes.json in the snapshot folder: only who may write there (root, or the',
    'user preflight runs as) can mute. The running daemon reads it within a second. While muted a failure',
    'is captured as always and its snapshot says muted: {until, reason}; one still open when the mute ends',
    'is notified then. A new mute of the same service replaces the old one.',
    '',
    'example: preflight mute web 2h --reason "database migration"',
  ],
  positionals: [2, 2],
  async run(ctx) {
    const [name = '', durationText = ''] = ctx.positionals;
    const { config, source } = load(ctx);
    const service = target(config, name, source);
    let ms: number;
    try {
      ms = parseDuration(durationText);
    } catch (err) {
      if (err instanceof MuteInputError) throw new UsageError(`mute: ${err.message}`);
      throw err;
    }
    const reasonText = typeof ctx.values.reason === 'string' ? ctx.values.reason.trim() : '';
    if (/[\x00-\x1f\x7f]/.test(reasonText)) throw new UsageError('mute: --reason holds a control character (write one line of text)');
    if (reasonText.length > MAX_REASON) throw new UsageError(`mute: --reason is longer than ${MAX_REASON} characters`);
    const now = Date.now();
    let by: string | null = null;
    try {
      by = userInfo().username;
    } catch {
      // no passwd entry (a container's arbitrary uid): the mute still works
    }
    const entry: MuteEntry = { service, until: new Date(now + ms).toISOString(), reason: reasonText || null, at: new Date(now).toISOString(), by };
    // a new mute of the same target replaces the old one, even a longer one: the last word wins
    const entries = [...live(await current(config), now).filter((e) => e.service !== service), entry];
    await writeMuteFile(config.snapshotDir, entries).catch((err: unknown) => {
      throw writeFailed(config, err);
    });
    const who = service === ALL ? 'all services' : service;
    ctx.io.out(`muted ${who} for ${formatMuteDuration(ms)}, until ${entry.until}${entry.reason ? ` (${entry.reason})` : ''}: failures are captured, not notified; one still open when it ends is notified then`);
    // where it went, and which config chose the folder: a mute in another folder than the daemon's
    // (sudo without $STATE_DIRECTORY, another config) would hold nothing, silently
    ctx.io.out(`written to ${muteFilePath(config.snapshotDir)} (snapshot_dir of ${source})`);
    return EXIT_OK;
  },
};

export const unmuteCommand: Command = {
  name: 'unmute',
  summary: 'end a mute now (a failure still open is notified)',
  usage: 'unmute <service|all>',
  options: {},
  details: ['unmute all ends every mute; unmute web ends the mute of web (a mute of all still holds it).', 'maintenance: windows of the config are not ended by unmute.', 'exit codes: 0 unmuted, 1 nothing was muted'],
  positionals: [1, 1],
  async run(ctx) {
    const name = ctx.positionals[0] ?? '';
    const { config, source } = load(ctx);
    const service = target(config, name, source);
    const now = Date.now();
    const before = live(await current(config), now);
    // unmute all ends every mute; unmute web ends web's own (a mute of all still holds it: said below)
    const after = service === ALL ? [] : before.filter((e) => e.service !== service);
    await writeMuteFile(config.snapshotDir, after).catch((err: unknown) => {
      throw writeFailed(config, err);
    });
    const who = service === ALL ? 'all services' : service;
    const lines: string[] = [];
    if (after.length === before.length) lines.push(`${who} ${service === ALL ? 'were' : 'was'} not muted`);
    else lines.push(`unmuted ${who}`);
    const names = service === ALL ? config.services.map((s) => s.name) : [service];
    for (const n of names) {
      const still = activeMute(after, n, now);
      if (still) lines.push(`${n} is still muted by 'mute all' until ${still.until}: preflight unmute all ends that`);
      for (const w of config.maintenance ?? []) {
        if (w.services && !w.services.includes(n)) continue;
        const end = windowEnd(w, now);
        if (end !== null) lines.push(`${n} is in the maintenance window ${describeWindow(w)} (line ${w.line} of ${config.file ?? 'the config'}) until ${new Date(end).toISOString()}: unmute does not end it`);
      }
    }
    ctx.io.out(lines.join('\n'));
    return after.length === before.length ? EXIT_NOT_FOUND : EXIT_OK;
  },
};

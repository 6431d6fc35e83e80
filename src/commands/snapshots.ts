// last, list, show: read the snapshot store the config names.
import { existsSync } from 'node:fs';
import { describeConfigSource, locateConfig, readConfigFile } from '../config/find';
import { renderSnapshot } from '../incident/render';
import type { Snapshot, SnapshotNotification } from '../incident/snapshot';
import { entryJson, type EntryEpisode } from '../incident/snapshot-file';
import { SNAPSHOT_ID_RE, SnapshotStore, type SnapshotEntry } from '../incident/store';
import { formatDuration } from '../util/units';
import { EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE, type Command, type CommandContext } from './command';
import { clip } from '../util/text';

/** The store, and where its folder came from: "in DIR (snapshot_dir of FILE ...)" for not-found errors. */
function openStore(ctx: CommandContext): { store: SnapshotStore; where: string } {
  const found = locateConfig(ctx.values.config as string | undefined, ctx.env);
  const config = readConfigFile(found.file, ctx.env);
  const store = new SnapshotStore({ dir: config.snapshotDir, retention: config.retention, warn: (m) => ctx.io.err(`preflight: warning: ${m}`) });
  // a checkout holds the example as ./preflight.yaml: say which file chose the folder, so reading the
  // wrong config is seen in the error rather than taken for "no failures"
  return { store, where: `in ${store.dir} (snapshot_dir of ${describeConfigSource(found)})` };
}

function print(ctx: CommandContext, found: { entry: SnapshotEntry; text: string }): number {
  if (ctx.values.json === true) {
    // byte for byte what is stored, so `last --json | jq` sees the file itself
    ctx.io.out(found.text);
    return EXIT_OK;
  }
  const snapshot = JSON.parse(found.text) as Snapshot;
  ctx.io.out(renderSnapshot(snapshot, { path: found.entry.path }));
  return EXIT_OK;
}

/** The list column: "notified", "notify failed: HTTP 500 …", "notify pending", or "-" without notifications. */
function notifiedText(n: SnapshotNotification | null): string {
  if (!n) return '-';
  if (n.status === 'delivered') return 'notified';
  if (n.status === 'pending') return 'notify pending';
  return `notify failed${n.reason ? `: ${clip(n.reason, 40)}` : ''}`;
}

/** The episode columns: its state, its failures ("10 failures", with restarts when there were), its downtime in total. */
function episodeColumns(e: EntryEpisode): string[] {
  const failures = `${e.occurrences} failure${e.occurrences === 1 ? '' : 's'}${e.restarts > 0 ? ` ${e.restarts} restart${e.restarts === 1 ? '' : 's'}` : ''}`;
  return [e.state, failures, `${formatDuration(e.downtime_seconds)} down`];
}

const json = { json: { type: 'boolean' as const, description: 'print JSON' } };

export const lastCommand: Command = {
  name: 'last',
  summary: "show a service's newest snapshot",
  usage: 'last <service> [--json]',
  options: { json: { type: 'boolean', description: 'print the stored snapshot byte for byte' } },
  positionals: [1, 1],
  async run(ctx) {
    const service = ctx.positionals[0]!;
    const { store, where } = openStore(ctx);
    const found = await store.last(service);
    if (!found) {
      ctx.io.err(`preflight: no snapshot for '${service}' ${where}`);
      return EXIT_NOT_FOUND;
    }
    return print(ctx, found);
  },
};

export const listCommand: Command = {
  name: 'list',
  summary: 'list episodes (one snapshot each) with their counts, newest first',
  usage: 'list [service] [--json]',
  options: json,
  positionals: [0, 1],
  async run(ctx) {
    const { store, where } = openStore(ctx);
    const entries = await store.list(ctx.positionals[0]);
    if (ctx.values.json === true) {
      ctx.io.out(
        JSON.stringify(
          entries.map((e) => ({ ...entryJson(e), path: e.path })),
          null,
          2,
        ),
      );
      return entries.length > 0 ? EXIT_OK : EXIT_NOT_FOUND;
    }
    if (entries.length === 0) {
      ctx.io.err(`preflight: no snapshots${ctx.positionals[0] ? ` for '${ctx.positionals[0]}'` : ''} ${where}`);
      return EXIT_NOT_FOUND;
    }
    const rows = entries.map((e) => [
      e.at.slice(0, 19).replace('T', ' '),
      e.service,
      e.trigger,
      e.id,
      ...episodeColumns(e.episode),
      notifiedText(e.notification ?? null),
      e.probableCause || e.summary,
    ]);
    const last = rows[0]!.length - 1;
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) ctx.io.out(r.map((c, i) => (i < last ? c.padEnd(widths[i]!) : c)).join('  '));
    return EXIT_OK;
  },
};

export const showCommand: Command = {
  name: 'show',
  summary: 'show one snapshot by file path, id, or service/id',
  usage: 'show <file|id|service/id> [--json]',
  options: json,
  positionals: [1, 1],
  async run(ctx) {
    const arg = ctx.positionals[0]!;
    const named = /^([^/]+)\/([^/]+)$/.exec(arg);
    const byServiceId = named !== null && SNAPSHOT_ID_RE.test(named[2]!) && !existsSync(arg);
    if (!byServiceId && (!SNAPSHOT_ID_RE.test(arg) || existsSync(arg))) {
      // a path: no config needed, so a snapshot copied off a server can be read anywhere
      const store = new SnapshotStore({ dir: '.', retention: 1, warn: (m) => ctx.io.err(`preflight: warning: ${m}`) });
      return print(ctx, await store.readPath(arg));
    }
    const { store, where } = openStore(ctx);
    if (byServiceId) {
      const found = await store.read(named[1]!, named[2]!);
      if (!found) {
        ctx.io.err(`preflight: no snapshot ${named[2]} of '${named[1]}' ${where}`);
        return EXIT_NOT_FOUND;
      }
      return print(ctx, found);
    }
    const found = await store.find(arg);
    if (found.length === 0) {
      ctx.io.err(`preflight: no snapshot with id ${arg} ${where}`);
      return EXIT_NOT_FOUND;
    }
    if (found.length > 1) {
      // an id is a time: two services that failed in the same millisecond share it
      const services = found.map((f) => f.entry.service);
      ctx.io.err(`preflight: snapshot id ${arg} belongs to ${services.length} services (${services.join(', ')}); say which: preflight show ${services[0]}/${arg}`);
      return EXIT_USAGE;
    }
    return print(ctx, found[0]!);
  },
};

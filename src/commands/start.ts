import { setFlagsFromString } from 'node:v8';
import { formatConfig } from '../config/config';
import { exampleConfigWarning } from '../config/example';
import { describeConfigSource, locateConfig, readConfigFile } from '../config/find';
import { Daemon } from '../daemon/daemon';
import { Logger } from '../daemon/log';
import { Notifier, headerSecrets } from '../daemon/notify';
import { ApiServer, listenProblem } from '../daemon/server';
import { ConfigError } from '../util/errors';
import { VERSION } from '../version';
import { EXIT_OK, type Command } from './command';

/** How long a stopping daemon waits for queued notifications. */
const NOTIFY_GRACE_MS = 3000;

export const startCommand: Command = {
  name: 'start',
  summary: 'run the recorder in the foreground (systemd runs it like this)',
  usage: 'start [--check] [--config FILE]',
  options: {
    check: { type: 'boolean', description: 'validate the config, print the effective config, and exit' },
    debug: { type: 'boolean', description: 'log every check' },
  },
  positionals: [0, 0],
  async run({ io, values, env, signal }) {
    // The daemon's steady work is system calls and short parses, not hot loops: V8's optimizing
    // compiler (its working memory, its code, the pages of node's binary it runs from) costs more
    // memory than it saves time. bench/rss.ts at 100 services: +11 MiB over an idle node without it,
    // +20 with it, for the same CPU. Set before any of the daemon's code has run hot.
    setFlagsFromString('--no-opt');
    const found = locateConfig(values.config as string | undefined, env);
    const config = readConfigFile(found.file, env);
    const exposed = listenProblem(config);
    if (exposed) throw new ConfigError({ file: config.file ?? 'config' }, exposed.reason, exposed.hint);
    const example = exampleConfigWarning(config);
    if (values.check === true) {
      // stdout is the effective config (it may be piped into a file): the warning goes to stderr
      if (example) io.err(`preflight: warning: ${example}`);
      io.out(`# ${config.file}: valid\n${formatConfig(config)}`);
      return EXIT_OK;
    }
    const log = new Logger(io, { debug: values.debug === true });
    if (example) log.warn(example);
    log.addSecret(config.apiToken); // the Notifier registers the webhook's and headers' own secrets
    // a health check's headers (an auth token for a protected route) are redacted like the webhook's
    for (const svc of config.services) for (const s of headerSecrets(svc.headers ?? {})) log.addSecret(s);
    const notifier = config.notifications ? new Notifier({ config: config.notifications, log }) : undefined;
    const daemon = new Daemon(config, log, {}, notifier ? { notifier } : {});
    // a unit found by watch_failed_units is a service of the API too (its notification links to it)
    const hasService = (name: string): boolean => daemon.services.some((rt) => rt.cfg.name === name);
    const api = config.listen ? new ApiServer({ config, store: daemon.store, status: () => daemon.status(), log, hasService }) : null;
    if (api) {
      await api.listen();
      // listen port 0 (the OS picks): links can only be made now
      if (notifier && notifier.publicUrl === undefined && !['0.0.0.0', '::'].includes(config.listen?.host ?? '')) notifier.publicUrl = api.url ?? undefined;
      log.info(`API on ${api.url}${config.apiToken ? ' (bearer token required)' : ''}`);
    }
    try {
      await daemon.start();
    } catch (err) {
      await api?.close();
      throw err;
    }
    log.info(
      `preflight ${VERSION} watching ${config.services.length} service(s): ${config.services.map((s) => s.name).join(', ')}${config.watchFailedUnits === true ? ', and every unit that fails (watch_failed_units)' : ''}; snapshots in ${config.snapshotDir}; config ${describeConfigSource(found)}`,
    );
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    log.info('stopping: finishing captures in progress');
    await api?.close();
    await daemon.stop(NOTIFY_GRACE_MS);
    log.info('stopped');
    return EXIT_OK;
  },
};

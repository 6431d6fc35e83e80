import { formatConfig, loadConfig } from '../config/config';
import { Daemon } from '../daemon/daemon';
import { Logger } from '../daemon/log';
import { VERSION } from '../version';
import { EXIT_OK, type Command } from './command';

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
    const config = loadConfig(values.config as string | undefined, env);
    if (values.check === true) {
      io.out(`# ${config.file}: valid\n${formatConfig(config)}`);
      return EXIT_OK;
    }
    const log = new Logger(io, { debug: values.debug === true });
    log.addSecret(config.apiToken);
    if (config.notifications) {
      log.addSecret(config.notifications.webhook);
      for (const v of Object.values(config.notifications.headers)) log.addSecret(v);
    }
    const daemon = new Daemon(config, log);
    await daemon.start();
    log.info(
      `preflight ${VERSION} watching ${config.services.length} service(s): ${config.services.map((s) => s.name).join(', ')}; snapshots in ${config.snapshotDir}`,
    );
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    log.info('stopping: finishing captures in progress');
    await daemon.stop();
    log.info('stopped');
    return EXIT_OK;
  },
};

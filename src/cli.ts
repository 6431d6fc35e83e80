// Thin entry: parse argv, dispatch to src/commands/*, set process.exitCode. Only this file prints.
import { parseArgs } from 'node:util';
import { EXIT_USAGE, type Command, type Io, type OptionSpec } from './commands/command';
import { demoCommand } from './commands/demo';
import { doctorCommand } from './commands/doctor';
import { sampleCommand } from './commands/sample';
import { muteCommand, unmuteCommand } from './commands/mute';
import { lastCommand, listCommand, showCommand } from './commands/snapshots';
import { startCommand } from './commands/start';
import { statusCommand } from './commands/status';
import { unitCommand } from './commands/unit';
import { ConfigError, UsageError, errorMessage } from './util/errors';
import { VERSION } from './version';

const COMMANDS: Command[] = [
  startCommand,
  statusCommand,
  lastCommand,
  listCommand,
  showCommand,
  muteCommand,
  unmuteCommand,
  doctorCommand,
  unitCommand,
  demoCommand,
  sampleCommand,
];

const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', description: 'show help' },
  config: { type: 'string', valueName: 'FILE', description: 'config file (else $PREFLIGHT_CONFIG, /etc/preflight.yaml, ./preflight.yaml if no /etc one)' },
};

function optionLines(options: Record<string, OptionSpec>): string[] {
  return Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.valueName ? ` ${o.valueName}` : ''}`;
    return `  ${flag.padEnd(26)}${o.description}`;
  });
}

const USAGE_WIDTH = Math.max(...COMMANDS.map((c) => c.usage.length)) + 2;

function usage(): string {
  return [
    'preflight: keeps the evidence of a service failure (host samples, logs, kernel lines, unit state)',
    '',
    'usage: preflight <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.usage.padEnd(USAGE_WIDTH)}${c.summary}`),
    '',
    'options:',
    ...optionLines(GLOBAL_OPTIONS),
    '  -V, --version             print the version',
    '',
    'exit codes: 0 ok, 1 nothing found or a check failed, 2 usage or config error, 3 no daemon answers (status)',
  ].join('\n');
}

function commandUsage(c: Command): string {
  const details = c.details ? ['', ...c.details] : [];
  return [`usage: preflight ${c.usage}`, '', c.summary, '', 'options:', ...optionLines({ ...c.options, ...GLOBAL_OPTIONS }), ...details].join('\n');
}

const io: Io = {
  out: (text) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  isTTY: process.stdout.isTTY === true,
  ...(process.stdout.isTTY && process.stdout.columns ? { columns: process.stdout.columns } : {}),
};

function usageError(message: string, help: string): number {
  io.err(`preflight: ${message}`);
  io.err(help);
  return EXIT_USAGE;
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    io.out(usage());
    return first === undefined ? EXIT_USAGE : 0;
  }
  if (first === '-V' || first === '--version') {
    io.out(VERSION);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === first);
  if (!command) {
    return usageError(first.startsWith('-') ? `unknown option ${first}` : `unknown command '${first}'`, usage());
  }
  const options = { ...command.options, ...GLOBAL_OPTIONS };
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: Object.fromEntries(
        Object.entries(options).map(([k, o]) => [k, o.short ? { type: o.type, short: o.short } : { type: o.type }]),
      ),
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    // parseArgs says e.g. "Unknown option '--x'. To specify a positional argument starting with a '-'..."
    const msg = errorMessage(err).split('. ')[0] ?? errorMessage(err);
    return usageError(`${command.name}: ${msg.replace(/^Unknown option/, 'unknown option')}`, commandUsage(command));
  }
  if (parsed.values.help === true) {
    io.out(commandUsage(command));
    return 0;
  }
  const [min, max] = command.positionals;
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    const what = parsed.positionals.length < min ? 'missing argument' : `unexpected argument '${parsed.positionals[max]}'`;
    return usageError(`${command.name}: ${what}`, commandUsage(command));
  }
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await command.run({
      io,
      values: parsed.values as Record<string, string | boolean | undefined>,
      positionals: parsed.positionals,
      env: process.env,
      signal: controller.signal,
    });
  } catch (err) {
    if (err instanceof UsageError) return usageError(err.message, commandUsage(command));
    if (err instanceof ConfigError) {
      io.err(`preflight: ${err.message}`);
      return EXIT_USAGE;
    }
    io.err(`preflight: ${errorMessage(err)}`);
    return 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

// A statfs stuck on a dead NFS mount holds a libuv thread that Node waits for at exit, even in
// process.exit(). Whatever the command left pending, the process ends within this long.
const EXIT_GRACE_MS = 5000;

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => {
      process.stderr.write('preflight: a system call is still hung (a dead mount?); exiting without waiting for it\n');
      process.removeAllListeners('SIGTERM');
      process.kill(process.pid, 'SIGTERM');
    }, EXIT_GRACE_MS).unref();
  },
  (err: unknown) => {
    process.stderr.write(`preflight: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);

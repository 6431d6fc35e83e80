// The contract between the thin CLI and each command: the CLI parses argv and owns stdout/stderr;
// a command gets parsed values and an Io to write through, and returns its exit code.

/** Exit codes shared by every command. */
export const EXIT_OK = 0;
export const EXIT_NOT_FOUND = 1;
export const EXIT_USAGE = 2;

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stdout is a terminal (no syslog prefixes, colours allowed). */
  readonly isTTY: boolean;
  /** the terminal's width when stdout is one: tables fit it */
  readonly columns?: number;
}

export type OptionSpec = { type: 'boolean' | 'string'; short?: string; description: string; valueName?: string };

export interface CommandContext {
  io: Io;
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM: long-running commands finish what they are doing and return. */
  signal: AbortSignal;
}

export interface Command {
  name: string;
  summary: string;
  /** e.g. "sample [--json] [--watch]" */
  usage: string;
  options: Record<string, OptionSpec>;
  /** more lines for `<command> --help`, after the options (formats, examples) */
  details?: string[];
  /** [min, max] positionals */
  positionals: [number, number];
  run(ctx: CommandContext): Promise<number>;
}

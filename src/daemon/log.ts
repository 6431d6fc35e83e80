// Daemon log lines. Under systemd stdout is not a TTY and each line starts with a syslog priority
// prefix (`<3>` err, `<4>` warning, `<6>` info, `<7>` debug) that journald turns into the entry's
// PRIORITY. Known secrets (webhook URLs, tokens, header values) are replaced before anything is written.
import type { Io } from '../commands/command';

export type Level = 'error' | 'warning' | 'info' | 'debug';
const PRIORITY: Record<Level, number> = { error: 3, warning: 4, info: 6, debug: 7 };

export class Logger {
  private readonly secrets: string[] = [];

  constructor(
    private readonly io: Io,
    /** `human`: timestamps instead of syslog prefixes even when stdout is not a terminal */
    private readonly opts: { debug?: boolean; now?: () => Date; human?: boolean } = {},
  ) {}

  /** Never print this string (or a URL-encoded form of it) again. Short strings are ignored as noise. */
  addSecret(secret: string | undefined): void {
    if (!secret || secret.length < 4) return;
    for (const s of [secret, encodeURIComponent(secret)]) if (!this.secrets.includes(s)) this.secrets.push(s);
    // longest first, so a URL is replaced whole before a token inside it
    this.secrets.sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('<redacted>');
    return out;
  }

  log(level: Level, message: string): void {
    if (level === 'debug' && !this.opts.debug) return;
    const line = this.redact(message).replace(/\n/g, ' ');
    if (this.io.isTTY || this.opts.human) {
      const t = (this.opts.now?.() ?? new Date()).toISOString().slice(11, 19);
      const text = `${t} ${level === 'info' ? '' : `${level}: `}${line}`;
      if (level === 'error' || level === 'warning') this.io.err(text);
      else this.io.out(text);
    } else {
      this.io.out(`<${PRIORITY[level]}>${line}`);
    }
  }

  error(m: string): void {
    this.log('error', m);
  }
  warn(m: string): void {
    this.log('warning', m);
  }
  info(m: string): void {
    this.log('info', m);
  }
  debug(m: string): void {
    this.log('debug', m);
  }
}

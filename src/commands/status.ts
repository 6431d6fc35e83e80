// `preflight status`: what the running daemon is doing now. It asks the daemon's API (the config's
// `listen:` address and api_token) for GET /status, falling back to /healthz on a daemon that predates
// that route; with `listen: off` there is nothing to ask, so it reads what the daemon last wrote
// (<snapshot_dir>/.state.json) and says so. Reading and rendering are in status-view.ts.
//
// Decisions:
// - No daemon answering is its own exit code (3), so a script can tell "not running" from "running,
//   and a service is down" (0: the status was read, whatever it says) and from a config error (2).
// - A wildcard listen address (0.0.0.0, ::) is asked on loopback: that is where this host reaches it.
// - The request has its own short deadline: a daemon so stuck it cannot answer /status in 5 s is
//   reported as not answering, with the address, rather than hanging the terminal.
import { readFileSync, statSync } from 'node:fs';
import * as http from 'node:http';
import path from 'node:path';
import { hostPort, type Config } from '../config/config';
import { describeConfigSource, locateConfig, readConfigFile } from '../config/find';
import { errnoCode, errorMessage } from '../util/errors';
import { EXIT_NOT_FOUND, EXIT_OK, type Command, type CommandContext } from './command';
import { renderStatus, statusJson, viewOfApi, viewOfState, type StatusView } from './status-view';

/** No daemon answers (or, with listen: off, none has written a state file). */
export const EXIT_NO_DAEMON = 3;
const REQUEST_TIMEOUT_MS = 5000;
const STATE_FILE = '.state.json';

/** Nothing answered at `url`: refused, timed out, unreachable. */
export class DaemonUnreachableError extends Error {
  override name = 'DaemonUnreachableError';
  constructor(
    readonly url: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`no daemon answers at ${url} (${reason})`, options);
  }
}

/** Something answered at `url`, but not with a status: a wrong token, another program on the port. */
export class DaemonAnswerError extends Error {
  override name = 'DaemonAnswerError';
  constructor(
    readonly url: string,
    readonly httpStatus: number | null,
    reason: string,
  ) {
    super(`${url}: ${reason}`);
  }
}

const UNREACHABLE_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'no such local address',
};

function get(url: string, token: string | undefined, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        // a status is a few KiB; a megabyte is not preflight talking
        body += d;
        if (body.length > 1 << 20) req.destroy(new DaemonAnswerError(url, res.statusCode ?? null, 'the answer is over 1 MiB: is this preflight?'));
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (err) => {
      if (err instanceof DaemonAnswerError) return reject(err);
      const code = errnoCode(err);
      const why = code === 'ETIMEDOUT' ? `no answer within ${timeoutMs / 1000} s` : ((code && UNREACHABLE_WORDS[code]) ?? errorMessage(err));
      reject(new DaemonUnreachableError(new URL(url).origin, why, { cause: err }));
    });
  });
}

/** The daemon's answer as a view: /status, else (a daemon before that route: 404) /healthz. */
export async function askDaemon(listen: NonNullable<Config['listen']>, token: string | undefined, timeoutMs = REQUEST_TIMEOUT_MS): Promise<StatusView> {
  const host = listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '::1' : listen.host;
  const base = `http://${hostPort(host, listen.port)}`;
  let r = await get(`${base}/status`, token, timeoutMs);
  // /healthz is 503 while the daemon is stale or stuck: its body is the status all the same
  if (r.status === 404) r = await get(`${base}/healthz`, token, timeoutMs);
  if (r.status === 401) throw new DaemonAnswerError(base, 401, 'the daemon refused the token (HTTP 401): api_token in the config is not the running daemon\'s');
  if (r.status !== 200 && r.status !== 503) throw new DaemonAnswerError(base, r.status, `HTTP ${r.status}, not a status: is another program listening there?`);
  let body: unknown;
  try {
    body = JSON.parse(r.body);
  } catch {
    throw new DaemonAnswerError(base, r.status, 'the answer is not JSON: is another program listening there?');
  }
  return viewOfApi(body, base);
}

/** With listen: off: the state file the daemon last wrote, or null when there is none. */
export function readState(config: Pick<Config, 'snapshotDir' | 'services'>, now: number): StatusView | null {
  const file = path.join(config.snapshotDir, STATE_FILE);
  let text: string;
  let mtime: number;
  try {
    mtime = statSync(file).mtimeMs;
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
  let state: unknown = null;
  try {
    state = JSON.parse(text);
  } catch {
    // a torn or foreign file: the services are still listed, with nothing known about them
  }
  return viewOfState(state, config.services.map((s) => s.name), file, Math.max(0, (now - mtime) / 1000), now);
}

function print(ctx: CommandContext, view: StatusView): number {
  if (ctx.values.json === true) ctx.io.out(JSON.stringify(statusJson(view), null, 2));
  // NO_COLOR (https://no-color.org): present and not empty turns colour off
  else ctx.io.out(renderStatus(view, { ...(ctx.io.columns ? { columns: ctx.io.columns } : {}), colour: ctx.io.isTTY && !ctx.env.NO_COLOR }));
  return EXIT_OK;
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'what the running daemon is doing now, one line per service (exit 3: no daemon answers)',
  usage: 'status [--json]',
  options: { json: { type: 'boolean', description: 'print the status as JSON' } },
  positionals: [0, 0],
  async run(ctx) {
    const found = locateConfig(ctx.values.config as string | undefined, ctx.env);
    const config = readConfigFile(found.file, ctx.env);
    const from = describeConfigSource(found);
    if (!config.listen) {
      const view = readState(config, Date.now());
      if (!view) {
        ctx.io.err(`preflight: listen: off in ${from}, and no ${path.join(config.snapshotDir, STATE_FILE)}: no daemon has run with this snapshot_dir (or it never had an incident to record)`);
        return EXIT_NO_DAEMON;
      }
      return print(ctx, view);
    }
    if (config.listen.port === 0) {
      ctx.io.err(`preflight: listen: in ${from} has port 0 (the OS picks one), so which port the daemon got cannot be known: set a port to use preflight status`);
      return EXIT_NO_DAEMON;
    }
    try {
      return print(ctx, await askDaemon(config.listen, config.apiToken));
    } catch (err) {
      if (err instanceof DaemonUnreachableError) {
        ctx.io.err(`preflight: ${err.message}: is preflight start running? (listen: in ${from})`);
        return EXIT_NO_DAEMON;
      }
      if (err instanceof DaemonAnswerError) {
        ctx.io.err(`preflight: ${err.message} (listen: in ${from})`);
        return EXIT_NOT_FOUND;
      }
      throw err;
    }
  },
};

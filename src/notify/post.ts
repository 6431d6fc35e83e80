// One bounded HTTP POST for the notifier, on node:http/https like the probe (src/probe/http.ts says why
// not fetch). One deadline for the whole exchange, at most `maxResponseBytes` of the answer kept, a
// fresh connection dropped afterwards, and it never rejects: a dead or hung receiver is a result.
import * as http from 'node:http';
import * as https from 'node:https';
import { classifyProbeError } from '../probe/http';
import { VERSION } from '../version';

export interface PostRequest {
  /** POST unless said: Matrix sends its events with PUT (an idempotent transaction id in the path) */
  method?: 'POST' | 'PUT';
  url: URL;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** Keep at most this many bytes of the answer (for the failure reason); the rest is not read. */
  maxResponseBytes: number;
  /** Aborting ends the request at once with `aborted: true`. */
  signal?: AbortSignal;
}

export interface PostResult {
  ok: boolean;
  status?: number;
  /** One line: "HTTP 500 Internal Server Error: <start of the body>", "no answer within 10000 ms", … */
  message: string;
  /** The Retry-After header as sent (429/503). */
  retryAfter?: string;
  timedOut?: boolean;
  aborted?: boolean;
}

const SNIPPET_CHARS = 200;

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

export function post(req: PostRequest): Promise<PostResult> {
  return new Promise<PostResult>((resolve) => {
    let done = false;
    let cr: http.ClientRequest | undefined;
    const finish = (r: PostResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      cr?.destroy();
      resolve(r);
    };
    const onAbort = (): void => finish({ ok: false, aborted: true, message: 'aborted: preflight is stopping' });
    const timer = setTimeout(() => finish({ ok: false, timedOut: true, message: `no answer within ${req.timeoutMs} ms` }), req.timeoutMs);
    if (req.signal?.aborted) return onAbort();
    req.signal?.addEventListener('abort', onAbort, { once: true });

    const body = Buffer.from(req.body, 'utf8');
    const headers: Record<string, string | number> = { 'user-agent': `preflight/${VERSION}`, ...req.headers, 'content-length': body.length };
    const options: https.RequestOptions = { method: req.method ?? 'POST', agent: false, headers };
    try {
      cr = (req.url.protocol === 'https:' ? https : http).request(req.url, options, (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let kept = 0;
        const judge = (): void => {
          const text = oneLine(Buffer.concat(chunks, kept).toString('utf8')).slice(0, SNIPPET_CHARS);
          const phrase = res.statusMessage || http.STATUS_CODES[status] || '';
          const ok = status >= 200 && status <= 299;
          const retryAfter = res.headers['retry-after'];
          finish({
            ok,
            status,
            message: `HTTP ${status}${phrase ? ` ${phrase}` : ''}${!ok && text ? `: ${text}` : ''}`,
            ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
          });
        };
        res.on('data', (chunk: Buffer) => {
          if (done) return;
          const room = req.maxResponseBytes - kept;
          chunks.push(chunk.subarray(0, Math.max(0, room)));
          kept += Math.min(chunk.length, Math.max(0, room));
          // enough to say why: stop reading a long (or endless) answer
          if (chunk.length >= room) judge();
        });
        res.on('end', judge);
        res.on('error', judge);
        res.on('close', judge);
      });
    } catch (err) {
      finish({ ok: false, message: classifyProbeError(err).message });
      return;
    }
    cr.on('error', (err) => finish({ ok: false, message: classifyProbeError(err).message }));
    cr.end(body);
  });
}

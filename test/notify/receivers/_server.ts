// A local HTTP receiver on 127.0.0.1 (an ephemeral port) for one provider's API: every request is read
// (at most 1 MiB, as a real API would refuse more) and handed to the provider's judge, which answers as
// the real API does; accepted and rejected requests are kept for the test to look at.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { post, type PostResult } from '../../../src/notify/post';
import type { OutgoingRequest } from '../../../src/notify/formats/request';

export interface Received {
  method: string;
  /** the path as sent (percent-encoded), without the query */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Verdict {
  status: number;
  /** JSON-encoded unless a string */
  body: unknown;
  headers?: Record<string, string>;
}

export interface Receiver {
  url: string;
  accepted: Received[];
  rejected: { request: Received; verdict: Verdict }[];
  /** fields the real API ignores without a word: sent by mistake, they would fail silently */
  unknownFields: string[];
  close(): Promise<void>;
}

const MAX_BODY = 1 << 20;

export type Judge = (r: Received, unknown: (field: string) => void) => Verdict;

export async function startReceiver(judge: Judge): Promise<Receiver> {
  const accepted: Received[] = [];
  const rejected: { request: Received; verdict: Verdict }[] = [];
  const unknownFields: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://127.0.0.1');
      const r: Received = { method: req.method ?? '', path: u.pathname, query: u.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      const v: Verdict = size > MAX_BODY ? { status: 413, body: 'Request Entity Too Large' } : judge(r, (f) => unknownFields.push(f));
      if (v.status >= 200 && v.status <= 299) accepted.push(r);
      else rejected.push({ request: r, verdict: v });
      const text = typeof v.body === 'string' ? v.body : JSON.stringify(v.body);
      res.writeHead(v.status, { 'content-type': typeof v.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json', ...v.headers });
      res.end(v.status === 204 ? undefined : text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    accepted,
    rejected,
    unknownFields,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A built request sent as the notifier sends it: src/notify/post.ts, one bounded exchange. */
export function send(r: OutgoingRequest): Promise<PostResult> {
  return post({ method: r.method, url: new URL(r.url), headers: r.headers, body: r.body, timeoutMs: 5000, maxResponseBytes: 64 * 1024 });
}

/** Each case built and sent, in order: its name, whether it was accepted, and the status (with the reason when refused). */
export async function sendEach<T>(cases: { name: string; input: T }[], build: (input: T, name: string) => OutgoingRequest): Promise<{ name: string; status: string }[]> {
  const out: { name: string; status: string }[] = [];
  for (const c of cases) {
    const res = await send(build(c.input, c.name));
    out.push({ name: c.name, status: res.ok ? String(res.status) : res.message });
  }
  return out;
}

/** The JSON body, or the reason it is not a JSON object. */
export function jsonObject(body: string): Record<string, unknown> | string {
  try {
    const v: unknown = JSON.parse(body);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : 'not a JSON object';
  } catch (e) {
    return `not JSON: ${(e as Error).message}`;
  }
}

/** The media type of a content-type header, lower case, without parameters. */
export function mediaType(h: string | undefined): string {
  return (h ?? '').split(';')[0]!.trim().toLowerCase();
}

export const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

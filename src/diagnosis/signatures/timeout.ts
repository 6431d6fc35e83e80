// timeout family: a service saying something it waited for did not answer in time, with what it waited
// for (a URL, a host:port, a name) as the service named it. The errno form (`connect ETIMEDOUT host:port`,
// nginx's `(110: Connection timed out)`) is the errno family's; this one reads the words.

import type { SignatureMatch } from './types';
import { firstUrl, hostPorts } from './tokens';

// A timeout that happened, not one configured: "timed out", Go's "deadline exceeded" and "i/o timeout",
// TimeoutError/SocketTimeoutException, axios' "timeout of 2000ms exceeded", got's "Timeout awaiting
// 'request'", and "<noun> timeout" used as an event ("upstream timeout: GET ..."). Not "timeout=30s",
// "read timeout: 30s", "request timeout set to 30s" or "idle timeout" (a routine close).
const EVENT: readonly RegExp[] = [
  /\btime[sd] out\b/i,
  /\bdeadline exceeded\b|\bDEADLINE_EXCEEDED\b/i,
  /\bi\/o timeout\b/i,
  /\b\w*Timeout(?:Error|Exception)\b/,
  /\btimeout (?:of \S+ )?(?:exceeded|expired|reached|occurred)\b/i,
  /\bTimeout awaiting '\w+'/,
  /\b(?:upstream|request|gateway|connect|connection|read|write|socket|operation|query|lock|handshake|response|server|client|health ?check) timeout(?::(?!\s*\d)|\s*$|\s+(?:after|while|waiting|for|on|to|from|exceeded|expired|occurred|reached)\b)/i,
  /^timeout(?::(?!\s*\d)|\s+(?:after|while|waiting|for|on|to|from)\b)/i,
];
// "no requests timed out", "0 jobs timed out"
const NONE = /\b(?:no|0|zero|none of the)\s+(?:\w+\s+){0,2}(?:timed out|timeouts?)\b/i;

/** Whether a line reports a timeout that happened. */
export function reportsTimeout(line: string): boolean {
  return !NONE.test(line) && EVENT.some((re) => re.test(line));
}

/** What timed out, as the service named it; undefined when it did not say. */
export function timeoutTarget(line: string): string | undefined {
  // Go net/http: Get "http://127.0.0.1:9000/": context deadline exceeded
  const go = /\b(?:Get|Post|Put|Patch|Delete|Head|Options) "([^"]+)"/.exec(line);
  if (go) return go[1];
  // Go net: read tcp 127.0.0.1:49860->127.0.0.1:19325: i/o timeout; dial tcp 10.0.0.5:443: i/o timeout
  const arrow = /->(\S+?):? /.exec(`${line} `);
  const peer = arrow ? hostPorts(arrow[1]!)[0] : undefined;
  if (peer) return peer;
  const dial = /\b(?:dial|read|write) (?:tcp|udp)[46]? (\S+?): /.exec(line);
  const dialed = dial ? hostPorts(dial[1]!)[0] : undefined;
  if (dialed) return dialed;
  // "timed out waiting for the database", "waiting for redis timed out", "timeout connecting to db:5432"
  const waiting =
    /\b(?:timed out|timeout|deadline exceeded) (?:while )?(?:waiting for|connecting to|talking to) (.+?)(?:\s+(?:after|within)\b|[,;()]|\.(?:\s|$)|$)/i.exec(line) ??
    /\bwaiting for (.+?) (?:timed out|to time out)\b/i.exec(line);
  if (waiting) return waiting[1]!.trim();
  return firstUrl(line) ?? hostPorts(line)[0];
}

/** One line that reports a timeout: "timed out waiting for <target>", else "the service reported a timeout". */
export function timeoutLine(lines: readonly string[], i: number): SignatureMatch | undefined {
  const line = lines[i]!;
  if (!reportsTimeout(line)) return undefined;
  const target = timeoutTarget(line);
  return {
    id: 'timeout.named',
    family: 'timeout',
    cause: target ? `timed out waiting for ${target}` : 'the service reported a timeout',
    line: i,
    lines: [i],
    strength: 'suggests',
    ...(target ? { object: { target } } : {}),
  };
}

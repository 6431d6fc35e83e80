// The TCP health probe, for `health_url: tcp://host:port`: databases, queues, SMTP, anything whose health
// is that it accepts a connection. It connects, and closes the connection as soon as it is accepted:
// nothing is written, so no protocol is spoken and the service logs at most a dropped client. The
// result has the HTTP probe's shape and error kinds (connection_refused, timeout, dns, reset), so the
// monitor, the rings and the snapshot read it the same way; it has no status and no body.
import { isIP, connect, type Socket } from 'node:net';
import { quote } from '../util/errors';
import { classifyProbeError, type ProbeStage } from './classify';
import type { ProbeResult, ProbeSpec } from './result';

export const TCP_EXAMPLE = 'tcp://127.0.0.1:5432';

/** A tcp:// health URL's host (bare: no brackets for IPv6) and port. */
export interface TcpTarget {
  host: string;
  port: number;
}

/**
 * `tcp://host:port` as a target, or why not (in words the config's hint can follow). The port is
 * required (there is no default port for "any TCP service"); a path, a query, a fragment and user
 * info are refused, since nothing would be sent to use them.
 */
export function parseTcpUrl(url: string): TcpTarget | string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `invalid tcp:// URL ${quote(url)}`;
  }
  if (u.protocol !== 'tcp:') return `not a tcp:// URL: ${quote(url)}`;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (host === '') return `no host in ${quote(url)}`;
  if (u.port === '') return `no port in ${quote(url)}`;
  const port = Number(u.port);
  if (port < 1) return `port ${u.port} in ${quote(url)} is not 1-65535`;
  if (u.username !== '' || u.password !== '') return `user info in ${quote(url)}: a TCP check sends nothing, so it cannot log in`;
  if ((u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '') return `a path or query in ${quote(url)}: a TCP check only connects`;
  return { host, port };
}

/**
 * Connect to `spec.url` (tcp://host:port) once, within `spec.timeoutMs` for the lookup and the connect
 * together. Never rejects. ok when the connection is accepted; the connection is then closed at once.
 */
export function probeTcp(spec: Pick<ProbeSpec, 'url' | 'timeoutMs'>): Promise<ProbeResult> {
  const at = Date.now();
  const started = performance.now();
  const target = parseTcpUrl(spec.url);
  if (typeof target === 'string') {
    // as in the HTTP probe: the config refuses such URLs; the message says it is the URL
    return Promise.resolve({ at, ok: false, latencyMs: 0, errorKind: 'connection_refused', message: target });
  }
  const { host, port } = target;
  return new Promise<ProbeResult>((resolve) => {
    let stage: ProbeStage = isIP(host) ? 'connect' : 'dns lookup';
    let done = false;
    let socket: Socket | undefined;
    const finish = (r: Omit<ProbeResult, 'at' | 'latencyMs'>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket?.destroy();
      resolve({ at, latencyMs: performance.now() - started, ...r });
    };
    const timer = setTimeout(() => {
      const dns = stage === 'dns lookup' ? { dns: { host, code: 'ETIMEOUT' } } : {};
      finish({ ok: false, errorKind: 'timeout', message: `no connection within ${spec.timeoutMs} ms (stalled at ${stage})`, ...dns });
    }, spec.timeoutMs);
    try {
      socket = connect({ host, port });
    } catch (err) {
      const { kind, message, dns } = classifyProbeError(err, stage, host);
      finish({ ok: false, errorKind: kind, message, ...(dns ? { dns } : {}) });
      return;
    }
    socket.once('lookup', () => {
      if (stage === 'dns lookup') stage = 'connect';
    });
    socket.once('connect', () => finish({ ok: true }));
    socket.on('error', (err) => {
      const { kind, message, dns } = classifyProbeError(err, stage, host);
      finish({ ok: false, errorKind: kind, message, ...(dns ? { dns } : {}) });
    });
  });
}

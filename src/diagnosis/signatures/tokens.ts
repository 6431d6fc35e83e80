// The objects an error line names, read out of free text: a peer (host:port), a file path, a URL.
// Shared by the errno and timeout families; pure functions on one line.

// A host is an IPv4 address, a bracketed IPv6 address, `localhost` or a dotted name whose last label
// starts with a letter. Not preceded by a path or word character, so `/app/server.js:12` (a file and a
// line number) and `06:25:21` (a time) are not peers.
const HOST = String.raw`(?:\[[0-9A-Fa-f:.]+\]|\d{1,3}(?:\.\d{1,3}){3}|localhost|(?:[A-Za-z0-9-]+\.)+[A-Za-z][A-Za-z0-9-]*)`;
const HOST_PORT = new RegExp(String.raw`(?<![\w/.@-])(${HOST}):(\d{1,5})(?![\w.]|:\d)`, 'g');

/** `host:port` with the port checked (1-65535); IPv6 stays in brackets. */
function peerOf(host: string, port: string): string | undefined {
  const n = Number(port);
  return n >= 1 && n <= 65535 ? `${host}:${n}` : undefined;
}

/** Every host:port in `text`, in order. */
export function hostPorts(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(HOST_PORT)) {
    const p = peerOf(m[1]!, m[2]!);
    if (p) out.push(p);
  }
  return out;
}

/**
 * The address Node and libuv print after an errno (`connect ECONNREFUSED 127.0.0.1:5432`,
 * `::1:5432`: IPv6 without brackets, the port after the last colon), as `host:port`.
 */
export function addressToken(token: string): string | undefined {
  const m = /^(\S+):(\d{1,5})$/.exec(token);
  if (!m) return undefined;
  const host = m[1]!;
  return peerOf(host.includes(':') && !host.startsWith('[') ? `[${host}]` : host, m[2]!);
}

/** `address` and `port` fields of a Node error object as one peer. */
export function joinPeer(address: string, port: number): string {
  return peerOf(address.includes(':') && !address.startsWith('[') ? `[${address}]` : address, String(port)) ?? address;
}

/** The port of a `host:port` peer. */
export function portOf(peer: string): number | undefined {
  const m = /:(\d{1,5})$/.exec(peer);
  return m ? Number(m[1]) : undefined;
}

/** The peer of a URL (`http://127.0.0.1:19331/slow` -> 127.0.0.1:19331; the scheme's port when none). */
export function urlPeer(url: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(?:[^@/\s]*@)?(\[[0-9A-Fa-f:.]+\]|[^:/\s?#]+)(?::(\d{1,5}))?/i.exec(url);
  if (!m) return undefined;
  const port = m[3] ?? { http: '80', https: '443', ws: '80', wss: '443' }[m[1]!.toLowerCase()];
  return port ? peerOf(m[2]!, port) : undefined;
}

const URL_RE = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>)\],]+/i;

/** The first URL in `text`. */
export function firstUrl(text: string): string | undefined {
  return URL_RE.exec(text)?.[0];
}

/** The first quoted string ('…' or "…") in `text` that looks like a path: absolute, ./ or ../, or a file name. */
export function quotedPath(text: string): string | undefined {
  for (const m of text.matchAll(/'([^']+)'|"([^"]+)"/g)) {
    const s = (m[1] ?? m[2])!;
    if (/^(?:\/|\.{1,2}\/|~\/)|^[\w.-]+\/[\w./-]*$|^[\w-]+\.\w+$/.test(s)) return s;
  }
  return undefined;
}

/** The first absolute path in `text` that is not part of a URL (`/data/x`, not `http://h/x`). */
export function absolutePath(text: string): string | undefined {
  const m = /(?<![\w:/.~-])(\/[\w.@%+~-]+(?:\/[\w.@%+~-]*)*)/.exec(text);
  // a sentence's full stop is not part of the path
  return m?.[1]!.replace(/\.+$/, '');
}

// errno family: a system call's failure named by its errno (ECONNREFUSED, ENOSPC, ...) and the object it
// failed on (the peer, the path, the port). Read from the three shapes services print them in:
//   Node/libuv  `connect ECONNREFUSED 127.0.0.1:5432`, `ENOENT: no such file or directory, open '/x'`
//               (and a Node error object's `code:`/`path:`/`address:`/`port:`/`syscall:` fields);
//   strerror    `[Errno 111] Connection refused` (Python), `(111: Connection refused)` (nginx),
//               `dial tcp 127.0.0.1:5432: connect: connection refused` (Go), `/x (Permission denied)` (Java);
//   a bare code `... (Errno::EDQUOT)`, only on a line that reads as an error.
// A line that mentions a code in passing ("cache missing (ENOENT), starting cold") is not a match: the
// service itself said it is fine, and a wrong cause is worse than none.

import type { SignatureMatch, SignatureObject } from './types';
import { absolutePath, addressToken, hostPorts, joinPeer, portOf, quotedPath, urlPeer } from './tokens';
import { readsAsError } from './words';

/** What a matched errno names. */
export interface ErrnoFacts {
  errno: string;
  peer?: string;
  path?: string;
  port?: number;
  /** the system call or operation (`open`, `listen`, `chown`, `spawn`) */
  syscall?: string;
  /** Node's `socket hang up`: ECONNRESET raised for a peer that closed before answering */
  hangUp?: boolean;
}

/** The errnos the catalogue names (the spec's list); others are left to the generic last words. */
export const ERRNO_NAMES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ENOSPC', 'EDQUOT',
  'EMFILE', 'ENFILE', 'EACCES', 'EPERM', 'ENOENT', 'EADDRINUSE',
]);
const NETWORK = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);
/** Whether an errno is about a peer (a dependency over the network). */
export function isNetworkErrno(errno: string): boolean {
  return NETWORK.has(errno);
}
const FILE = new Set(['ENOENT', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT', 'EMFILE', 'ENFILE']);

// strerror(3) texts as glibc, Go and libuv word them (ENFILE before EMFILE: one contains the other)
const STRERROR: readonly (readonly [string, string])[] = [
  ['connection refused', 'ECONNREFUSED'],
  ['connection timed out', 'ETIMEDOUT'],
  ['no route to host', 'EHOSTUNREACH'],
  ['host is unreachable', 'EHOSTUNREACH'],
  ['network is unreachable', 'ENETUNREACH'],
  ['connection reset by peer', 'ECONNRESET'],
  ['no space left on device', 'ENOSPC'],
  ['disk quota exceeded', 'EDQUOT'],
  ['too many open files in system', 'ENFILE'],
  ['file table overflow', 'ENFILE'],
  ['too many open files', 'EMFILE'],
  ['permission denied', 'EACCES'],
  ['operation not permitted', 'EPERM'],
  ['no such file or directory', 'ENOENT'],
  ['address already in use', 'EADDRINUSE'],
];
// A strerror text counts only where a runtime puts one: after `: `, `(`, `"` or `[Errno N] `, and
// followed by the end, punctuation or a path. "ERROR: permission denied for table users" (PostgreSQL's
// own words, not EACCES) is not one.
const STRERROR_RE = new RegExp(
  String.raw`(?:^|[:("]\s*|\]\s+)(${STRERROR.map(([t]) => t).join('|')})(?=\s*$|\s*[:,)\]"'>;.@]|\s+\(|\s+-\s)`,
  'i',
);

const CODE_RE = new RegExp(String.raw`\b(${[...ERRNO_NAMES].join('|')})\b`, 'g');

// The operations libuv names before a code (`connect ECONNREFUSED`, `kill EPERM`, `spawn /x ENOENT`): a
// known list, so "cache missing ENOENT" is not read as a system call named "missing".
const LIBUV_OP = new RegExp(
  String.raw`(?:^|[\s:[{(])(spawn(?:Sync)? \S+|uv_\w+|(?:connect|read|write|writev|listen|bind|accept|getaddrinfo|getnameinfo|kill|send|sendmsg|recv|shutdown|open|close|watch|socket)) $`,
);

/** Facts from a Node/libuv message around `code` at `at`: `<syscall> CODE[: words] [address]`, `CODE: words, syscall 'path'`. */
function libuvForm(text: string, code: string, at: number): ErrnoFacts | undefined {
  const before = text.slice(0, at);
  const after = text.slice(at + code.length);
  // `ENOENT: no such file or directory, open '/etc/app/config.json'` (fs), also `-> 'dest'` for rename
  const fs = /^: [a-z][a-z ]*?, ([a-z]\w*)(?: '([^']*)')?/.exec(after);
  if (fs) return clean({ errno: code, syscall: fs[1], path: fs[2] });
  // `connect ECONNREFUSED 127.0.0.1:5432`, `listen EADDRINUSE: address already in use 127.0.0.1:8080`,
  // `read ECONNRESET`, `spawn /usr/bin/x ENOENT`
  const op = LIBUV_OP.exec(before);
  if (!op) return /^: [a-z][a-z ]*$/.test(after.trimEnd()) ? { errno: code } : undefined;
  const syscall = op[1]!;
  const facts: ErrnoFacts = { errno: code, syscall: syscall.split(' ')[0]! };
  if (syscall.startsWith('spawn')) facts.path = syscall.slice(syscall.indexOf(' ') + 1);
  const addr = /^(?::\s[a-z][a-z ]*?)?\s+(\S+)/.exec(after);
  const peer = addr ? addressToken(addr[1]!.replace(/[\]),]+$/, '')) : undefined;
  if (peer) facts.peer = peer;
  return facts;
}

function clean(f: ErrnoFacts): ErrnoFacts {
  for (const k of Object.keys(f) as (keyof ErrnoFacts)[]) if (f[k] === undefined) delete f[k];
  return f;
}

/** Facts from a strerror text in `text` (Python, nginx, Go, C, Java, Rust's io::Error). */
function strerrorForm(text: string): ErrnoFacts | undefined {
  const m = STRERROR_RE.exec(text);
  if (!m) return undefined;
  const words = m[1]!.toLowerCase();
  const errno = STRERROR.find(([t]) => t === words)![1];
  const facts: ErrnoFacts = { errno };
  const end = m.index + m[0].length;
  const start = m.index + m[0].length - m[1]!.length;
  if (NETWORK.has(errno) || errno === 'EADDRINUSE') {
    const peer = networkPeer(text, start);
    if (peer) facts.peer = peer;
  } else {
    // Python `...: '/x'` after the words; Go `open /x: no such file`; Java `/x (No such file or directory)`
    const path = quotedPath(text.slice(end)) ?? goPath(text.slice(0, start)) ?? quotedPath(text) ?? absolutePath(text);
    if (path) facts.path = path;
  }
  return facts;
}

/** Go's `*PathError`: `open /etc/app/config.json: ` right before the words (also `/x (` in Java's form). */
function goPath(before: string): string | undefined {
  const m = /(?:^|\s)(\/\S*?)(?::\s*|\s\()$/.exec(before);
  return m?.[1];
}

/** The dependency a network strerror is about: `A->B` is B; nginx's `upstream: "http://B/"`; else the last peer before the words. */
function networkPeer(text: string, at: number): string | undefined {
  const arrow = /->(\S+?):?\s/.exec(`${text} `);
  const fromArrow = arrow ? hostPorts(arrow[1]!)[0] : undefined;
  if (fromArrow) return fromArrow;
  const upstream = /\bupstream: "([^"]+)"/.exec(text);
  if (upstream) return urlPeer(upstream[1]!);
  return hostPorts(text.slice(0, at)).pop() ?? hostPorts(text)[0];
}

/**
 * The errno a line names, in any of the three shapes, or undefined. `errorLine` says whether the line
 * is an error report, which a bare code needs (default: decided by its words other than the code).
 */
export function errnoFromText(text: string, errorLine?: boolean): ErrnoFacts | undefined {
  let bare: ErrnoFacts | undefined;
  for (const m of text.matchAll(CODE_RE)) {
    const hit = libuvForm(text, m[1]!, m.index!);
    if (hit) return withPeerFallback(withPathFallback(hit, text), text);
    bare ??= { errno: m[1]! };
  }
  const s = strerrorForm(text) ?? pythonClassForm(text);
  if (s) return withPeerFallback(s, text);
  // the code alone does not make its line an error: its other words must
  return bare && (errorLine ?? readsAsError(text)) ? withPeerFallback(withPathFallback(bare, text), text) : undefined;
}

// Python's OSError subclasses as a service logs them with repr(): `ConnectionRefusedError(111, 'Connection
// refused')` (the strerror sits in quotes, where STRERROR_RE does not look)
const PY_CLASSES: Readonly<Record<string, string>> = {
  ConnectionRefusedError: 'ECONNREFUSED',
  ConnectionResetError: 'ECONNRESET',
  ConnectionAbortedError: 'ECONNRESET',
};
const PY_CLASS_RE = new RegExp(String.raw`\b(${Object.keys(PY_CLASSES).join('|')})\(\d+, '`);

function pythonClassForm(text: string): ErrnoFacts | undefined {
  const m = PY_CLASS_RE.exec(text);
  return m ? { errno: PY_CLASSES[m[1]!]! } : undefined;
}

/** A network error the runtime printed without its peer, on a line that names one (`... (peer 127.0.0.1:6379)`). */
function withPeerFallback(f: ErrnoFacts, text: string): ErrnoFacts {
  if (!f.peer && NETWORK.has(f.errno)) {
    const peer = hostPorts(text).pop();
    if (peer) f.peer = peer;
  }
  return f;
}

/** A path the service named around the error (`cannot save state to /data/x: ENOSPC: ..., write`). */
function withPathFallback(f: ErrnoFacts, text: string): ErrnoFacts {
  if (!f.path && FILE.has(f.errno)) {
    const path = quotedPath(text) ?? absolutePath(text);
    if (path) f.path = path;
  }
  return f;
}

/** Facts from a Node error object: its fields (`code`, `syscall`, `path`, `address`, `port`) over its message. */
export function errnoFromNodeError(message: string, fields: Readonly<Record<string, string | number>>): ErrnoFacts | undefined {
  const code = typeof fields.code === 'string' && ERRNO_NAMES.has(fields.code) ? fields.code : undefined;
  const fromText = errnoFromText(message, true);
  const errno = code ?? fromText?.errno;
  if (!errno) return undefined;
  const facts: ErrnoFacts = { ...(fromText?.errno === errno ? fromText : {}), errno };
  if (typeof fields.syscall === 'string') facts.syscall = fields.syscall.split(' ')[0];
  if (typeof fields.path === 'string') facts.path = fields.path;
  if (typeof fields.address === 'string' && typeof fields.port === 'number') facts.peer = joinPeer(fields.address, fields.port);
  if (errno === 'ECONNRESET' && /^socket hang up$/.test(message)) facts.hangUp = true;
  return facts;
}

/** A runtime's exception class that stands for an errno without its words (Java NIO). */
export function errnoFromClass(cls: string, message: string): ErrnoFacts | undefined {
  const errno = { 'java.nio.file.NoSuchFileException': 'ENOENT', 'java.nio.file.AccessDeniedException': 'EACCES' }[cls];
  return errno && message ? { errno, path: message.split(/\s/)[0]! } : undefined;
}

/** The cause in words (the spec's wordings) and the object, for facts read anywhere. */
export function errnoSignature(f: ErrnoFacts, runtime?: string): Pick<SignatureMatch, 'id' | 'cause' | 'object'> {
  const { errno, peer, path } = f;
  const object: SignatureObject = { errno };
  // the port a listen failed on (EADDRINUSE, EACCES on a privileged port)
  const ownPort = f.port ?? (peer ? portOf(peer) : undefined);
  let cause: string;
  switch (errno) {
    case 'ECONNREFUSED':
      cause = peer ? `dependency ${peer} refused connections` : 'a dependency refused connections (ECONNREFUSED)';
      break;
    case 'ETIMEDOUT':
      cause = peer ? `dependency ${peer} timed out (ETIMEDOUT)` : 'a dependency timed out (ETIMEDOUT)';
      break;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      cause = peer ? `dependency ${peer} unreachable (${errno})` : `a dependency was unreachable (${errno})`;
      break;
    case 'ECONNRESET':
      cause = peer
        ? `dependency ${peer} reset the connection`
        : `a dependency reset the connection (${f.hangUp ? 'socket hang up' : 'ECONNRESET'})`;
      break;
    case 'ENOSPC':
      cause = `disk full: no space left on device${path ? ` writing ${path}` : ''}`;
      break;
    case 'EDQUOT':
      cause = `disk quota exceeded${path ? ` writing ${path}` : ''}`;
      break;
    case 'EMFILE':
      cause = 'out of file descriptors (EMFILE)';
      break;
    case 'ENFILE':
      cause = "the system's file table is full (ENFILE)";
      break;
    case 'EACCES': {
      const what = path ?? (peer && f.syscall ? `${f.syscall} ${peer}` : undefined);
      cause = what ? `permission denied: ${what}` : 'permission denied (EACCES)';
      break;
    }
    case 'EPERM': {
      const what = [f.syscall, path].filter(Boolean).join(' ');
      cause = what ? `operation not permitted: ${what}` : 'operation not permitted (EPERM)';
      break;
    }
    case 'ENOENT':
      cause = path ? `missing file ${path}` : 'missing file or directory (ENOENT)';
      break;
    default:
      // EADDRINUSE
      cause = ownPort ? `port ${ownPort} already in use` : 'address already in use (EADDRINUSE)';
  }
  if (NETWORK.has(errno) && peer) object.peer = peer;
  if (path) object.path = path;
  const port = errno === 'EADDRINUSE' || (errno === 'EACCES' && !path) ? ownPort : f.port;
  if (port !== undefined) object.port = port;
  if (runtime) object.runtime = runtime;
  return { id: `errno.${errno}`, cause, object };
}

/**
 * One line a service logged (a caught error, in its own words or a library's): the errno it names, as a
 * `suggests` match. nginx's per-request file errors (`open() "/x/favicon.ico" failed (2: No such file or
 * directory), client: ..., request: ...`) are a client asking for a missing file, not the service failing.
 */
export function errnoLine(lines: readonly string[], i: number): SignatureMatch | undefined {
  const line = lines[i]!;
  const f = errnoFromText(line);
  if (!f) return undefined;
  if (FILE.has(f.errno) && /, client: .*, request: "/.test(line)) return undefined;
  return { ...errnoSignature(f), family: 'errno', line: i, lines: [i], strength: 'suggests' };
}

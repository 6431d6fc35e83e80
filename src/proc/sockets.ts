// Who listens: the sockets among a process's file descriptors (/proc/<pid>/fd/N -> "socket:[inode]")
// matched with the kernel's TCP tables by inode. Reading another user's fd links needs ptrace access
// (a non-root daemon gets EACCES for a service running as another user), so that part is a typed
// "unavailable"; whether anything listens on an address and port needs only /proc/net, which anyone
// may read.
import { isIP } from 'node:net';
import { opendirSync, readlinkSync } from 'node:fs';
import { errnoCode } from '../util/errors';
import { readListeners, type Listener } from './net-tcp';

/** Why a process's sockets could not be read: 'denied' (EACCES/EPERM: not ours), 'gone' (the pid exited). */
export interface Unavailable {
  ok: false;
  reason: 'denied' | 'gone';
  /** What could not be read and the errno: "permission denied reading /proc/1/fd (EACCES)". */
  message: string;
}

export type SocketInodes = { ok: true; inodes: number[]; truncated?: true } | Unavailable;

/** A listener and the pid that holds it (a socket shared by pre-forked workers appears once per pid). */
export interface PidListener extends Listener {
  pid: number;
}

export interface PidListeners {
  listeners: PidListener[];
  /** The pids whose descriptors could not be read: their listeners may be missing from `listeners`. */
  unavailable: Array<{ pid: number } & Unavailable>;
}

/** Descriptors looked at per process at most; a process with more is read in part (truncated). */
export const MAX_FDS = 65536;

const DENIED = new Set(['EACCES', 'EPERM']);
const GONE = new Set(['ENOENT', 'ESRCH']);

/** The inode of a "socket:[12345]" link target; undefined for anything else (files, pipes, anon inodes). */
export function parseSocketLink(link: string): number | undefined {
  if (!link.startsWith('socket:[') || !link.endsWith(']')) return undefined;
  const digits = link.slice(8, -1);
  if (digits === '' || !/^\d+$/.test(digits)) return undefined;
  return Number(digits);
}

// Node's messages for opendir and readlink do not always name the path: the message is built here.
function unavailable(err: unknown, path: string): Unavailable | undefined {
  const code = errnoCode(err);
  if (code !== undefined && DENIED.has(code)) return { ok: false, reason: 'denied', message: `permission denied reading ${path} (${code})` };
  if (code !== undefined && GONE.has(code)) return { ok: false, reason: 'gone', message: `${path} is gone (${code}): the process exited` };
  return undefined;
}

/**
 * The socket inodes among /proc/<pid>/fd, sorted, each once (dup'ed descriptors share one). Unavailable
 * when the folder cannot be read (another user's process, a vanished pid); other errors throw.
 */
export function socketInodes(pid: number, root = '/proc', maxFds = MAX_FDS): SocketInodes {
  const dir = `${root}/${pid}/fd`;
  let handle;
  try {
    handle = opendirSync(dir);
  } catch (err) {
    const u = unavailable(err, dir);
    if (u) return u;
    throw err;
  }
  const inodes = new Set<number>();
  let seen = 0;
  let truncated = false;
  try {
    // one entry at a time, so a process with a million descriptors costs no million-name array
    for (let d = handle.readSync(); d !== null; d = handle.readSync()) {
      if (++seen > maxFds) {
        truncated = true;
        break;
      }
      let link: string;
      const path = `${dir}/${d.name}`;
      try {
        link = readlinkSync(path);
      } catch (err) {
        const u = unavailable(err, path);
        if (u?.reason === 'gone') continue; // that descriptor was closed while we read
        if (u) return u; // descriptors that need ptrace access (a non-dumpable process)
        throw err;
      }
      const inode = parseSocketLink(link);
      if (inode !== undefined) inodes.add(inode);
    }
  } catch (err) {
    // the process exited while its folder was being read
    const u = unavailable(err, dir);
    if (u) return u;
    throw err;
  } finally {
    handle.closeSync();
  }
  const sorted = [...inodes].sort((a, b) => a - b);
  return truncated ? { ok: true, inodes: sorted, truncated: true } : { ok: true, inodes: sorted };
}

/**
 * The TCP listeners held by `pids`, read in each pid's own network namespace (/proc/<pid>/net, so a
 * unit with PrivateNetwork= is read where its sockets are; pids that share a namespace share one read).
 * A pid whose descriptors or tables cannot be read is listed in `unavailable` instead.
 */
export function listenersOf(pids: readonly number[], root = '/proc'): PidListeners {
  const out: PidListeners = { listeners: [], unavailable: [] };
  const tables = new Map<string, Map<number, Listener> | undefined>();
  for (const pid of new Set(pids)) {
    const fds = socketInodes(pid, root);
    if (!fds.ok) {
      out.unavailable.push({ pid, ...fds });
      continue;
    }
    if (fds.inodes.length === 0) continue; // no sockets (a zombie has no descriptors and no tables)
    const key = namespaceKey(pid, root);
    if (!tables.has(key)) {
      const listeners = readListeners(`${root}/${pid}`);
      tables.set(key, listeners && new Map(listeners.map((l) => [l.inode, l])));
    }
    const byInode = tables.get(key);
    if (byInode === undefined) {
      // the pid went away between its fd folder and its tables
      out.unavailable.push({ pid, ok: false, reason: 'gone', message: `${root}/${pid}/net/tcp is gone: the process exited` });
      continue;
    }
    for (const inode of fds.inodes) {
      const l = byInode.get(inode);
      if (l) out.listeners.push({ ...l, pid });
    }
  }
  return out;
}

/** The network namespace of a pid ("net:[4026531840]"), or the pid itself when the link is not readable. */
function namespaceKey(pid: number, root: string): string {
  try {
    return readlinkSync(`${root}/${pid}/ns/net`);
  } catch {
    return `pid:${pid}`;
  }
}

/** `address` without brackets, IPv6 in its compressed form and IPv4-mapped as the IPv4 it maps. */
function canonical(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 4) return bare;
  if (family !== 6) return undefined;
  let v6: string;
  try {
    v6 = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  // the URL form of ::ffff:127.0.0.1 is ::ffff:7f00:1
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (mapped) {
    const hi = parseInt(mapped[1] ?? '0', 16);
    const lo = parseInt(mapped[2] ?? '0', 16);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return v6;
}

/**
 * Would `l` accept a connection to address:port? The same port, and the same address, or a wildcard:
 * 0.0.0.0 for IPv4, :: for IPv6 and (dual-stack, Linux's default net.ipv6.bindv6only=0, and Node's
 * listen('::')) IPv4 too. A socket made IPv6-only (IPV6_V6ONLY) cannot be told apart in /proc/net, so
 * :: may be counted for an IPv4 address it would refuse. Pure.
 */
export function accepts(l: Listener, address: string, port: number): boolean {
  if (l.port !== port) return false;
  const want = canonical(address);
  const have = canonical(l.address);
  if (want === undefined || have === undefined) return false;
  if (want === have || have === '::') return true;
  return have === '0.0.0.0' && isIP(want) === 4;
}

/**
 * What listens on address:port in this process's network namespace (where a probe connects from): the
 * listeners that would accept the connection, [] when none. Needs only /proc/net. `address` must be an
 * IP address (resolve a name first): undefined for a name, and when the tables cannot be read.
 */
export function listenerOnPort(address: string, port: number, root = '/proc'): Listener[] | undefined {
  if (canonical(address) === undefined) return undefined;
  return readListeners(root)?.filter((l) => accepts(l, address, port));
}

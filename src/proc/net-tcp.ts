// /proc/net/tcp and /proc/net/tcp6: the kernel's table of TCP sockets in the reader's network namespace
// (/proc/net is /proc/self/net; /proc/<pid>/net is that process's namespace). World-readable, so a
// daemon without root can see what listens where even when it cannot read the owner's file descriptors.
// One line per socket, printed by the kernel as
//   "%4d: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX %08X %5u %8d %lu …"
//    sl   local      remote     st  tx:rx      tr:when    retr uid timeout inode
// (net/ipv4/tcp_ipv4.c get_tcp4_sock; tcp6 prints the address as four %08X words). Each %08X word
// is a 32-bit value of the address as it lies in memory, so on a little-endian machine its bytes read
// backwards: 0100007F is 127.0.0.1. The port is a plain number in hex. State 0A is TCP_LISTEN.
// The kernel prints the table in chunks while sockets come and go: a socket opened or closed during
// the read can be missed (never invented).
import { endianness } from 'node:os';
import { ParseError } from '../util/errors';
import { Cursor, parseErrorAt, readTextOr } from './scan';

/** One listening TCP socket. */
export interface Listener {
  /** Dotted IPv4 ("127.0.0.1", "0.0.0.0") or compressed IPv6 ("::1", "::", "::ffff:127.0.0.1"). */
  address: string;
  port: number;
  /** The socket's inode: what /proc/<pid>/fd/N links to as socket:[inode]. */
  inode: number;
  /** The uid that owns the socket (the table's uid column). */
  uid: number;
}

export type ByteOrder = 'LE' | 'BE';

const LISTEN = '0A';
// Files absent (no IPv6: tcp6 is missing; no /proc) or not ours to read.
const ABSENT: ReadonlySet<string> = new Set(['ENOENT', 'ESRCH', 'EACCES', 'EPERM']);

/** The value of `len` hex digits at `at`, or NaN when any is not a hex digit. */
function hexAt(text: string, at: number, len: number): number {
  let v = 0;
  for (let i = at; i < at + len; i++) {
    const c = text.charCodeAt(i);
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (d < 0) return NaN;
    v = v * 16 + d;
  }
  return v;
}

/** The 4 bytes of one %08X word, in memory order. */
function wordBytes(v: number, order: ByteOrder): number[] {
  const b = [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
  return order === 'LE' ? b.reverse() : b;
}

/**
 * 16 address bytes as RFC 5952 text: lowercase, no leading zeros, the longest run of two or more zero
 * groups as "::" (the first of equal runs); IPv4-mapped addresses as ::ffff:a.b.c.d, as Node prints them.
 */
export function formatIpv6(bytes: readonly number[]): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `::ffff:${bytes.slice(12, 16).join('.')}`;
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (best === -1) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** The address of `hexLen` hex digits at `at` (8 for tcp, 32 for tcp6), or undefined when malformed. */
function addressAt(text: string, at: number, hexLen: number, order: ByteOrder): string | undefined {
  const bytes: number[] = [];
  for (let w = 0; w < hexLen; w += 8) {
    const v = hexAt(text, at + w, 8);
    if (Number.isNaN(v)) return undefined;
    bytes.push(...wordBytes(v, order));
  }
  return hexLen === 8 ? bytes.join('.') : formatIpv6(bytes);
}

/**
 * The listening sockets of a /proc/net/tcp (family 4) or /proc/net/tcp6 (family 6) text. `order` is the
 * byte order of the machine that printed it (this one's, for a live read). Other states are skipped
 * without being decoded. A last line cut short (a capped or copied read) is skipped; any other line that
 * is not in the kernel's layout, or a text without the header, throws a ParseError.
 */
export function parseNetTcp(text: string, family: 4 | 6, order: ByteOrder = 'LE', file = family === 4 ? '/proc/net/tcp' : '/proc/net/tcp6'): Listener[] {
  if (text.length === 0) throw new ParseError({ file, line: 1, field: 'header' }, 'empty file');
  const headerEnd = text.indexOf('\n');
  if (!/^\s*sl\s+local_address\s/.test(text.slice(0, headerEnd === -1 ? text.length : headerEnd))) {
    throw parseErrorAt(text, file, 0, 'header', 'expected "sl  local_address …"');
  }
  const hexLen = family === 4 ? 8 : 32;
  const c = new Cursor(text, file);
  const out: Listener[] = [];
  for (let pos = headerEnd === -1 ? text.length : headerEnd + 1; pos < text.length; ) {
    const nl = text.indexOf('\n', pos);
    const end = nl === -1 ? text.length : nl;
    const row = parseRow(c, pos, end, hexLen, order, nl !== -1);
    if (row !== null) out.push(row);
    pos = end + 1;
  }
  return out;
}

/** One table line from `pos`: the listener, or null (not listening, blank, or the cut last line). */
function parseRow(c: Cursor, pos: number, end: number, hexLen: number, order: ByteOrder, complete: boolean): Listener | null {
  const t = c.text;
  const bad = (field: string, reason: string, at: number): null => {
    if (!complete) return null;
    return c.fail(field, reason, at);
  };
  const colon = t.indexOf(':', pos);
  if (colon === -1 || colon > end) return t.slice(pos, end).trim() === '' ? null : bad('sl', 'expected "N:"', pos);
  // the fixed widths of the kernel's format: "local:port remote:port st"
  const local = colon + 2;
  const state = local + 2 * (hexLen + 6);
  if (state + 2 > end || t.charCodeAt(colon + 1) !== 32 || t.charCodeAt(local + hexLen) !== 58 || t.charCodeAt(state - 1) !== 32) {
    return bad('local_address', `expected ${hexLen} hex digits, ':' and a 4-digit port`, local);
  }
  if (!t.startsWith(LISTEN, state)) return null;
  const address = addressAt(t, local, hexLen, order);
  const port = hexAt(t, local + hexLen + 1, 4);
  if (address === undefined || Number.isNaN(port)) return bad('local_address', 'not hex', local);
  try {
    c.pos = state + 2;
    for (const field of ['tx_queue', 'tr', 'retrnsmt']) c.skipToken(field);
    const uid = c.uintField('uid');
    c.skipToken('timeout');
    const inode = c.uintField('inode');
    // the cut last line may end inside the inode: trust it only when more of the line follows
    c.blanks();
    if (!complete && (c.atLineEnd || c.pos >= end)) return null;
    return { address, port, inode, uid };
  } catch (err) {
    if (!complete && err instanceof ParseError) return null;
    throw err;
  }
}

/**
 * The listening TCP sockets of the network namespace `root` shows: `${root}/net/tcp` and, when IPv6 is
 * on, `${root}/net/tcp6`. root '/proc' is this process's namespace; '/proc/<pid>' is that pid's.
 * undefined when the IPv4 table cannot be read at all (no /proc, a vanished pid).
 */
export function readListeners(root = '/proc'): Listener[] | undefined {
  const order: ByteOrder = endianness();
  const file4 = `${root}/net/tcp`;
  const v4 = readTextOr(file4, ABSENT);
  if (v4 === null) return undefined;
  const file6 = `${root}/net/tcp6`;
  // a kernel without IPv6 (ipv6.disable=1, CONFIG_IPV6=n) has no tcp6: no IPv6 listeners
  const v6 = readTextOr(file6, ABSENT);
  return [...parseNetTcp(v4, 4, order, file4), ...(v6 === null ? [] : parseNetTcp(v6, 6, order, file6))];
}

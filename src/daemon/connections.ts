// The API's connection limit, kept so that a new connection always gets in: anyone on the box can open
// sockets to 127.0.0.1 and leave them idle (or send a header line now and then), and with Node's own
// `server.maxConnections` the 65th connection, /healthz included, is dropped for as long as they do.
// Shorter timeouts do not help (the attacker reopens each socket the moment it is closed), nor does a
// per-address limit (every local client, the attacker too, is 127.0.0.1), nor a slot kept for /healthz
// (what a connection asks for is known only once its headers are in). bench/api-abuse.md has the figures.
//
// So at the limit a new connection closes the one that has been idle longest: connected (or answered)
// and no complete request since, which is what idle, keep-alive and slowloris sockets all are. A
// connection with a request being answered is kept, unless it has been at it for BUSY_EVICT_MS (a client
// not reading a large answer). Only when every connection is that busy and younger is the new one refused.
// An attacker can still close a legitimate client's connection, but only by opening `limit` newer ones
// between its connect and its request (microseconds on loopback), and only by keeping up a connect flood.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** A request still being answered after this long may be closed to let a new connection in. */
export const BUSY_EVICT_MS = 1000;
/** At most one "limit reached" warning per this long (an attack would otherwise flood the journal). */
const WARN_EVERY_MS = 10 * 60_000;

interface Conn {
  /** performance.now() when it connected or its last answer ended */
  idleSince: number;
  /** performance.now() when the request being answered arrived; null when idle */
  busySince: number | null;
}

export interface ConnectionStats {
  open: number;
  /** connections closed to let a newer one in */
  evicted: number;
  /** new connections refused because every open one was answering a fresh request */
  refused: number;
}

export class ConnectionGuard {
  private readonly conns = new Map<Socket, Conn>();
  private evicted = 0;
  private refused = 0;
  private warnedAt = -Infinity;

  constructor(
    private readonly limit: number,
    private readonly warn: (m: string) => void,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Track `server`'s connections; its own maxConnections must stay unset (it would drop instead). */
  attach(server: Server): void {
    server.on('connection', (socket: Socket) => this.admit(socket));
    server.on('request', (req, res) => {
      const c = this.conns.get(req.socket);
      if (!c) return;
      c.busySince = this.clock();
      res.once('close', () => {
        c.busySince = null;
        c.idleSince = this.clock();
      });
    });
  }

  stats(): ConnectionStats {
    return { open: this.conns.size, evicted: this.evicted, refused: this.refused };
  }

  private admit(socket: Socket): void {
    const now = this.clock();
    if (this.conns.size >= this.limit) {
      const victim = this.victim(now);
      if (!victim) {
        this.refused++;
        socket.destroy();
        return;
      }
      this.conns.delete(victim);
      victim.destroy();
      this.evicted++;
      if (now - this.warnedAt >= WARN_EVERY_MS) {
        this.warnedAt = now;
        this.warn(`api: ${this.limit} connections open; closing the longest idle to let new ones in (someone may be holding connections)`);
      }
    }
    this.conns.set(socket, { idleSince: now, busySince: null });
    socket.once('close', () => this.conns.delete(socket));
  }

  /** The idle connection idle longest; else the one answering longest, if past BUSY_EVICT_MS. */
  private victim(now: number): Socket | null {
    let idle: Socket | null = null;
    let idleSince = Infinity;
    let busy: Socket | null = null;
    let busySince = Infinity;
    for (const [s, c] of this.conns) {
      if (c.busySince === null) {
        if (c.idleSince < idleSince) [idle, idleSince] = [s, c.idleSince];
      } else if (c.busySince < busySince) [busy, busySince] = [s, c.busySince];
    }
    if (idle) return idle;
    return busy && now - busySince >= BUSY_EVICT_MS ? busy : null;
  }
}

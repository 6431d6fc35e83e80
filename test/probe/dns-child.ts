// Helper for test/probe/http.test.ts, run as a child process (not a test) inside `unshare -rmn` with
// /etc/resolv.conf bound to "nameserver 127.0.0.1" and /etc/nsswitch.conf to "hosts: files dns": a
// private network where this process is the only resolver there is, so glibc's getaddrinfo gives its
// real answers to each resolver behaviour without touching the host's resolver or network.
// argv: <mode> <host> <probe timeout ms>; mode is what the resolver on 127.0.0.1:53 does:
//   address   answers A 127.0.0.1 (no AAAA), where an HTTP server answers 200: the probe passes
//   nxdomain  NXDOMAIN (rcode 3): the name does not exist
//   nodata    NOERROR with no answer: the name exists, without an address
//   servfail  SERVFAIL (rcode 2)        refused  REFUSED (rcode 5)
//   silent    reads the queries and never answers
//   none      nothing listens on port 53 (the kernel refuses the datagrams)
// Prints one JSON line: the raw dns.lookup error's own fields, and the probe's result.
import * as dgram from 'node:dgram';
import * as dns from 'node:dns';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { probe } from '../../src/probe/http';

const RCODE: Record<string, number> = { address: 0, nxdomain: 3, nodata: 0, servfail: 2, refused: 5 };

/** A reply to one query: the header and question copied, with the mode's rcode and at most one A record. */
function reply(query: Buffer, mode: string): Buffer {
  let end = 12;
  while (end < query.length && query[end] !== 0) end += (query[end] ?? 0) + 1;
  end += 5; // the root label, QTYPE, QCLASS
  const qtype = query.readUInt16BE(end - 4);
  const withA = mode === 'address' && qtype === 1;
  const header = Buffer.from(query.subarray(0, end)); // drops the EDNS record glibc adds
  header[2] = 0x80 | ((query[2] ?? 0) & 0x01); // QR, and RD as asked
  header[3] = 0x80 | (RCODE[mode] ?? 2); // RA, rcode
  header.writeUInt16BE(withA ? 1 : 0, 6);
  header.writeUInt16BE(0, 8);
  header.writeUInt16BE(0, 10);
  if (!withA) return header;
  // name pointer to the question, TYPE A, CLASS IN, TTL 0, RDLENGTH 4, 127.0.0.1
  return Buffer.concat([header, Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 127, 0, 0, 1])]);
}

async function main(): Promise<void> {
  const [mode = '', host = '', timeout = '2000'] = process.argv.slice(2);
  if (mode !== 'none') {
    const server = dgram.createSocket('udp4');
    server.on('message', (msg, from) => {
      if (mode !== 'silent') server.send(reply(msg, mode), from.port, from.address);
    });
    await new Promise<void>((resolve) => server.bind(53, '127.0.0.1', resolve));
    server.unref();
  }
  const web = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  const port = (web.address() as AddressInfo).port;

  const lookup = await new Promise<Record<string, unknown> | null>((resolve) =>
    dns.lookup(host, (err) => resolve(err ? { code: err.code, errno: err.errno, syscall: err.syscall, hostname: (err as { hostname?: string }).hostname, message: err.message } : null)),
  );
  const result = await probe({ url: `http://${host}:${port}/health`, timeoutMs: Number(timeout), expectStatus: [{ min: 200, max: 299 }] });
  process.stdout.write(`${JSON.stringify({ lookup, probe: result })}\n`);
  process.exit(0); // a silent resolver leaves getaddrinfo threads waiting out their timeout
}

void main();

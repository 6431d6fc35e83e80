// Who holds a listening socket, found for real: a listener of this process on 127.0.0.1, looked up
// through /proc/net/tcp and the fd links, and the bounds that make the search give up.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ownerOfSocket } from '../../src/proc/port-owner';
import { listenerOnPort } from '../../src/proc/sockets';

describe('ownerOfSocket', () => {
  const server = net.createServer();
  let port = 0;
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('the listener on 127.0.0.1:port is held by this process', () => {
    const l = listenerOnPort('127.0.0.1', port)?.[0];
    assert.ok(l, `nothing listens on ${port} according to /proc/net/tcp`);
    assert.equal(ownerOfSocket(l.inode, l.uid), process.pid);
  });

  const cases: { name: string; input: { inode?: number; uid?: number; maxPids?: number; root?: string }; want: number | undefined }[] = [
    { name: 'no pid looked at: not found', input: { maxPids: 0 }, want: undefined },
    { name: 'an inode nobody holds', input: { inode: 1 }, want: undefined },
    { name: "another user's socket: not ours to read without root, and no process of that uid as root", input: { uid: (process.getuid?.() ?? 0) === 0 ? -1 : 12345 }, want: undefined },
    { name: 'a /proc that does not exist', input: { root: '/nonexistent/proc' }, want: undefined },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const l = listenerOnPort('127.0.0.1', port)?.[0];
      assert.ok(l);
      const uid = c.input.uid ?? l.uid;
      // a uid of -1 (root running the test) stands for a socket owned by a uid no process has
      const got = ownerOfSocket(c.input.inode ?? l.inode, uid === -1 ? 4_000_000 : uid, c.input.root, { maxPids: c.input.maxPids ?? 4096, maxMs: 200 });
      assert.equal(got, c.want);
    });
  }
});

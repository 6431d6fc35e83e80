// A `tcp://` check end to end: the built bundle watches a real listener on 127.0.0.1 that accepts
// connections (healthy, no incident), then the listener is closed: the kernel refuses the next connect
// (RST), which the snapshot names `connection_refused`; `preflight last` answers with the incident. The
// listener opened again: the incident recovers in the same file.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import { RunningDaemon, snapshotFiles, waitFor } from './daemon';

const open: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of open.reverse()) await close();
});

function listen(port = 0): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    // a database-like peer: accepts and says nothing (a TCP check must not wait for a banner)
    const srv = net.createServer((sock) => sock.on('error', () => undefined));
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

const close = (srv: net.Server): Promise<void> => new Promise((resolve) => srv.close(() => resolve()));

test('tcp:// against a real listener: healthy while it accepts, connection_refused once it is closed, recovered when it is back', async () => {
  let srv = await listen();
  const port = (srv.address() as net.AddressInfo).port;
  let accepted = 0;
  srv.on('connection', () => accepted++);
  open.push(() => close(srv));
  const daemon = await RunningDaemon.start({ yaml: () => `services:\n  - name: db\n    health_url: tcp://127.0.0.1:${port}\n` });
  open.push(() => daemon.cleanup());

  await waitFor('a few checks accepted', 10_000, () => accepted >= 3);
  assert.deepEqual(snapshotFiles(daemon.snapshotDir, 'db'), [], 'no incident while the listener accepts');

  await close(srv);
  const [first] = await waitFor('the refused connection committed', 15_000, () => {
    const files = snapshotFiles(daemon.snapshotDir, 'db');
    return files.length > 0 ? files : undefined;
  });
  const s = first!.snapshot;
  assert.equal(s.health_url, `tcp://127.0.0.1:${port}`);
  assert.equal(s.trigger, 'health_check');
  assert.equal(s.error?.kind, 'connection_refused');
  assert.equal(s.error?.status, null);
  const last = await daemon.cli(['last', 'db']);
  assert.equal(last.code, 0, last.stderr);
  assert.match(last.stdout.split('\n')[0] ?? '', /^db failed at \S+ \S+ UTC \(health check failed\); not recovered when captured$/, last.stdout);

  srv = await listen(port);
  open.push(() => close(srv));
  const recovered = await waitFor('the recovery', 15_000, () => snapshotFiles(daemon.snapshotDir, 'db')[0]?.snapshot.recovery ?? undefined);
  assert.ok(recovered.downtime_seconds > 0, String(recovered.downtime_seconds));
  assert.equal(snapshotFiles(daemon.snapshotDir, 'db').length, 1, 'the recovery is written into the same file');
});

// Who listens: real listeners of this process and of children (one as another user, one in a network
// namespace of its own, one a zombie), found through /proc alone; the address matching on the real
// tables in fixtures/proc/net.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { readListeners, type Listener } from '../../src/proc/net-tcp';
import { accepts, listenerOnPort, listenersOf, parseSocketLink, socketInodes, type SocketInodes } from '../../src/proc/sockets';
import { FIXTURES, procRoot } from './_helpers';

const childArgs = (file: string, ...args: string[]): string[] => [...process.execArgv.filter((a) => !a.startsWith('--test')), join(__dirname, file), ...args];

function listen(host: string): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(undefined));
    s.listen(0, host, () => resolve(s));
  });
}
const portOf = (s: net.Server): number => (s.address() as net.AddressInfo).port;
const close = (s: net.Server | undefined): Promise<unknown> => new Promise((r) => (s ? s.close(r) : r(undefined)));

/** A pid that existed and is gone: a child that exited and was reaped. */
async function vanishedPid(): Promise<number> {
  const c = spawn('true');
  await once(c, 'exit');
  return c.pid as number;
}

test('parseSocketLink', async (t) => {
  const cases: { name: string; input: string; want: number | undefined }[] = [
    { name: 'a socket', input: 'socket:[131004]', want: 131004 },
    { name: 'a pipe', input: 'pipe:[5678]', want: undefined },
    { name: 'a file', input: '/dev/null', want: undefined },
    { name: 'an anonymous inode', input: 'anon_inode:[eventpoll]', want: undefined },
    { name: 'no digits', input: 'socket:[]', want: undefined },
    { name: 'truncated', input: 'socket:[1310', want: undefined },
    { name: 'not digits', input: 'socket:[12a]', want: undefined },
    { name: 'empty', input: '', want: undefined },
  ];
  for (const c of cases) await t.test(c.name, () => assert.equal(parseSocketLink(c.input), c.want));
});

test('this process: its listeners\' inodes are among its sockets, and listenersOf names them', async () => {
  const v4 = await listen('127.0.0.1');
  const v6 = await listen('::1');
  try {
    const mine = socketInodes(process.pid);
    assert.equal(mine.ok, true, JSON.stringify(mine));
    const inodes = (mine as Extract<SocketInodes, { ok: true }>).inodes;
    assert.deepEqual(inodes, [...new Set(inodes)].sort((a, b) => a - b), 'sorted, each once');
    const live = readListeners() ?? [];
    const of = listenersOf([process.pid, process.pid]);
    assert.deepEqual(of.unavailable, []);
    for (const [s, address] of [[v4, '127.0.0.1'], [v6, '::1']] as const) {
      if (!s) continue;
      const entry = live.find((x) => x.port === portOf(s));
      assert.ok(entry, `${address}:${portOf(s)} is in /proc/net`);
      assert.ok(inodes.includes(entry.inode), `inode ${entry.inode} among ${inodes.join(',')}`);
      assert.deepEqual(of.listeners.filter((x) => x.port === portOf(s)), [{ ...entry, pid: process.pid }], 'once, though the pid was given twice');
      assert.deepEqual(listenerOnPort(address, portOf(s)), [entry]);
    }
    // nothing of ours but these two listens (the test runner holds no server)
    assert.deepEqual(of.listeners.map((x) => x.port).sort(), [v4, v6].flatMap((s) => (s ? [portOf(s)] : [])).sort());
  } finally {
    await close(v4);
    await close(v6);
  }
});

test('a vanished pid is unavailable: gone', async () => {
  const pid = await vanishedPid();
  const r = socketInodes(pid);
  assert.deepEqual(r, { ok: false, reason: 'gone', message: `/proc/${pid}/fd is gone (ENOENT): the process exited` });
  assert.deepEqual(listenersOf([pid]), { listeners: [], unavailable: [{ pid, ...r }] });
});

test('a zombie has no sockets, and nothing is unavailable about it', async () => {
  // sh leaves `sleep 0` to the process it becomes (sleep 5), which never reaps it
  const c = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const [chunk] = (await once(c.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
    const zombie = Number(chunk.toString().trim());
    for (let i = 0; i < 100 && !/\) Z /.test(readStat(zombie)); i++) await new Promise((r) => setTimeout(r, 10));
    assert.match(readStat(zombie), /\) Z /, 'the child is a zombie');
    assert.deepEqual(socketInodes(zombie), { ok: true, inodes: [] });
    assert.deepEqual(listenersOf([zombie]), { listeners: [], unavailable: [] });
  } finally {
    c.kill();
  }
});

function readStat(pid: number): string {
  try {
    return execFileSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

test('another user\'s process: denied, from its fd folder; what listens there is still seen in /proc/net', { skip: process.getuid?.() === 0 ? false : 'needs root to run a child as nobody' }, async () => {
  const s = await listen('127.0.0.1');
  try {
    // a child as nobody (65534) looks at this root-owned process
    const out = execFileSync(process.execPath, childArgs('sockets-child.ts', String(process.pid)), { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 10_000 });
    const got = JSON.parse(out) as { inodes: SocketInodes; of: ReturnType<typeof listenersOf> };
    const denied = { ok: false, reason: 'denied', message: `permission denied reading /proc/${process.pid}/fd (EACCES)` };
    assert.deepEqual(got.inodes, denied);
    assert.deepEqual(got.of, { listeners: [], unavailable: [{ pid: process.pid, ...denied }] });
    // /proc/net needs no permission: the port is seen as listening by anyone
    assert.ok((readListeners() ?? []).some((x) => x.port === portOf(s as net.Server)));
  } finally {
    await close(s);
  }
});

test('a process in a network namespace of its own: listenersOf reads its tables, not ours', { skip: canUnshare() ? false : 'unshare -rn not permitted here' }, async () => {
  let child: ChildProcess | undefined;
  try {
    // unshare execs node in the same process, so the child's pid is the listener's
    const script = "const s=require('net').createServer().listen(0,'127.0.0.1',()=>console.log(s.address().port))";
    child = spawn('unshare', ['-rn', 'sh', '-c', `ip link set lo up && exec "${process.execPath}" -e "${script}"`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [chunk] = (await once(child.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
    const port = Number(chunk.toString().trim());
    const pid = child.pid as number;
    const of = listenersOf([pid]);
    assert.deepEqual(of.unavailable, []);
    assert.deepEqual(of.listeners.map((x) => [x.address, x.port, x.pid]), [['127.0.0.1', port, pid]]);
    // from where a probe connects (this namespace) that port has no listener (unless by chance ours reuses it)
    const here = listenerOnPort('127.0.0.1', port) ?? [];
    assert.ok(here.every((x) => x.inode !== of.listeners[0]?.inode), 'its socket is not in our tables');
  } finally {
    child?.kill();
  }
});

function canUnshare(): boolean {
  try {
    execFileSync('unshare', ['-rn', 'sh', '-c', 'ip link set lo up'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

test('accepts: which listener takes a connection to address:port', async (t) => {
  // the real rows of fixtures/proc/net and its wildcards capture
  const all = [...(readListeners(procRoot()) ?? []), ...(readListeners(join(FIXTURES, 'proc', 'net', 'edge', 'wildcards')) ?? [])];
  const at = (address: string, port: number): Listener => {
    const found = all.find((x) => x.address === address && x.port === port);
    assert.ok(found, `${address}:${port} in the fixtures`);
    return found;
  };
  const cases: { name: string; input: { l: Listener; address: string; port: number }; want: boolean }[] = [
    { name: '127.0.0.1 takes 127.0.0.1', input: { l: at('127.0.0.1', 37933), address: '127.0.0.1', port: 37933 }, want: true },
    { name: 'another port', input: { l: at('127.0.0.1', 37933), address: '127.0.0.1', port: 37934 }, want: false },
    { name: '127.0.0.1 does not take 127.0.0.2', input: { l: at('127.0.0.1', 37933), address: '127.0.0.2', port: 37933 }, want: false },
    { name: '0.0.0.0 takes any IPv4 address', input: { l: at('0.0.0.0', 2024), address: '10.1.2.3', port: 2024 }, want: true },
    { name: '0.0.0.0 does not take ::1', input: { l: at('0.0.0.0', 2024), address: '::1', port: 2024 }, want: false },
    { name: ':: takes ::1', input: { l: at('::', 35041), address: '::1', port: 35041 }, want: true },
    { name: ':: takes 127.0.0.1 (dual-stack; also counted for a v6only socket)', input: { l: at('::', 43127), address: '127.0.0.1', port: 43127 }, want: true },
    { name: '::1 takes [::1] in URL brackets', input: { l: at('::1', 42891), address: '[::1]', port: 42891 }, want: true },
    { name: '::1 takes ::0:1 (the same address written long)', input: { l: at('::1', 42891), address: '0:0:0:0:0:0:0:1', port: 42891 }, want: true },
    { name: '::1 does not take 127.0.0.1', input: { l: at('::1', 42891), address: '127.0.0.1', port: 42891 }, want: false },
    { name: 'a v4-mapped bind takes its IPv4 address', input: { l: at('::ffff:127.0.0.1', 36857), address: '127.0.0.1', port: 36857 }, want: true },
    { name: 'a v4-mapped bind takes the mapped form', input: { l: at('::ffff:127.0.0.1', 36857), address: '::ffff:127.0.0.1', port: 36857 }, want: true },
    { name: 'a name is not an address', input: { l: at('0.0.0.0', 2024), address: 'localhost', port: 2024 }, want: false },
  ];
  for (const c of cases) await t.test(c.name, () => assert.equal(accepts(c.input.l, c.input.address, c.input.port), c.want));
});

test('listenerOnPort on fixture roots', async (t) => {
  await t.test('the wildcard listener for 127.0.0.1:2024', () => assert.deepEqual(listenerOnPort('127.0.0.1', 2024, procRoot()), [{ address: '0.0.0.0', port: 2024, inode: 1594, uid: 0 }]));
  await t.test('nothing on 127.0.0.1:8080', () => assert.deepEqual(listenerOnPort('127.0.0.1', 8080, procRoot()), []));
  await t.test('a name: cannot tell', () => assert.equal(listenerOnPort('localhost', 2024, procRoot()), undefined));
  await t.test('no tables: cannot tell', () => assert.equal(listenerOnPort('127.0.0.1', 2024, join(FIXTURES, 'no-such-root')), undefined));
  await t.test('a port closed a moment ago has no listener (live)', async () => {
    const s = (await listen('127.0.0.1')) as net.Server;
    const port = portOf(s);
    assert.equal(listenerOnPort('127.0.0.1', port)?.length, 1);
    await close(s);
    assert.deepEqual(listenerOnPort('127.0.0.1', port), []);
  });
});

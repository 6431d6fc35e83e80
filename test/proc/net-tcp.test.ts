// /proc/net/tcp and tcp6: the real captures in fixtures/proc/net (see its README for what was listening),
// their cut and empty copies, and this machine's live tables while the test's own listeners run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { join } from 'node:path';
import { formatIpv6, parseNetTcp, readListeners, type Listener } from '../../src/proc/net-tcp';
import { FIXTURES, assertParseError, procRoot, readFixture } from './_helpers';

const edgeRoot = (name: string): string => join(FIXTURES, 'proc', 'net', 'edge', name);
const edge = (name: string, file: string): string => readFixture('proc', 'net', 'edge', name, 'net', file);
const l = (address: string, port: number, inode: number, uid = 0): Listener => ({ address, port, inode, uid });

test('parseNetTcp on real tables', async (t) => {
  const cases: { name: string; input: { text: string; family: 4 | 6 }; want: Listener[] }[] = [
    {
      name: 'tcp: the wildcard and loopback listeners; ESTABLISHED and TIME_WAIT rows skipped',
      input: { text: readFixture('proc', 'net', 'tcp'), family: 4 },
      want: [l('0.0.0.0', 2024, 1594), l('127.0.0.1', 37933, 131004)],
    },
    {
      name: 'tcp6: a v4-mapped bind and ::1; ESTABLISHED rows skipped',
      input: { text: readFixture('proc', 'net', 'tcp6'), family: 6 },
      want: [l('::ffff:127.0.0.1', 36857, 131006), l('::1', 42891, 131005)],
    },
    { name: 'wildcards: tcp', input: { text: edge('wildcards', 'tcp'), family: 4 }, want: [l('127.0.0.1', 43369, 132654), l('0.0.0.0', 46595, 132651)] },
    { name: 'wildcards: tcp6, dual-stack and v6only alike', input: { text: edge('wildcards', 'tcp6'), family: 6 }, want: [l('::', 35041, 132652), l('::', 43127, 132653)] },
    { name: 'header only: tcp', input: { text: edge('header-only', 'tcp'), family: 4 }, want: [] },
    { name: 'header only: tcp6', input: { text: edge('header-only', 'tcp6'), family: 6 }, want: [] },
    { name: 'truncated inside the last row\'s inode: that row is skipped', input: { text: edge('truncated', 'tcp'), family: 4 }, want: [l('0.0.0.0', 2024, 1594)] },
    { name: 'truncated inside the last row\'s address', input: { text: edge('truncated', 'tcp6'), family: 6 }, want: [l('::ffff:127.0.0.1', 36857, 131006)] },
    { name: 'the header line cut (no newline)', input: { text: edge('header-only', 'tcp').trimEnd(), family: 4 }, want: [] },
  ];
  for (const c of cases) await t.test(c.name, () => assert.deepEqual(parseNetTcp(c.input.text, c.input.family), c.want));

  await t.test('big-endian order reads each word the other way round', () => {
    assert.deepEqual(parseNetTcp(readFixture('proc', 'net', 'tcp'), 4, 'BE')[1], l('1.0.0.127', 37933, 131004));
  });
});

test('parseNetTcp refuses what is not the kernel\'s table', async (t) => {
  const real = readFixture('proc', 'net', 'tcp');
  const [header = '', row0 = '', row1 = ''] = real.split('\n');
  const cases: { name: string; input: { text: string; family: 4 | 6 }; want: { line: number; field: string } }[] = [
    { name: 'empty', input: { text: edge('empty', 'tcp'), family: 4 }, want: { line: 1, field: 'header' } },
    { name: 'not a table', input: { text: 'hello\n', family: 4 }, want: { line: 1, field: 'header' } },
    { name: 'a tcp6 row read as tcp', input: { text: readFixture('proc', 'net', 'tcp6'), family: 4 }, want: { line: 2, field: 'local_address' } },
    { name: 'a complete row without its inode', input: { text: `${header}\n${row0.replace(/ 1594 .*/, '')}\n${row1}\n`, family: 4 }, want: { line: 2, field: 'inode' } },
    { name: 'a complete row with bad hex', input: { text: `${header}\n${row0.replace('00000000:07E8', '0000000G:07E8')}\n`, family: 4 }, want: { line: 2, field: 'local_address' } },
  ];
  for (const c of cases) await t.test(c.name, () => assertParseError(() => parseNetTcp(c.input.text, c.input.family), c.want));
});

test('formatIpv6 writes what the URL parser writes (RFC 5952)', async (t) => {
  const bytesOf = (groups: number[]): number[] => groups.flatMap((g) => [g >> 8, g & 0xff]);
  const cases: { name: string; input: number[]; want: string }[] = [
    { name: 'unspecified', input: [0, 0, 0, 0, 0, 0, 0, 0], want: '::' },
    { name: 'loopback', input: [0, 0, 0, 0, 0, 0, 0, 1], want: '::1' },
    { name: 'trailing zeros', input: [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], want: '2001:db8::' },
    { name: 'link-local', input: [0xfe80, 0, 0, 0, 0, 0, 0, 1], want: 'fe80::1' },
    { name: 'first of two equal runs', input: [0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], want: '2001:db8::1:0:0:1' },
    { name: 'the longer run', input: [0x2001, 0, 0, 1, 0, 0, 0, 1], want: '2001:0:0:1::1' },
    { name: 'a single zero group is not compressed', input: [0x2001, 0xdb8, 0, 1, 1, 1, 1, 1], want: '2001:db8:0:1:1:1:1:1' },
    { name: 'no zeros', input: [1, 2, 3, 4, 5, 6, 7, 0xabcd], want: '1:2:3:4:5:6:7:abcd' },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const got = formatIpv6(bytesOf(c.input));
      assert.equal(got, c.want);
      assert.equal(`[${got}]`, new URL(`http://[${c.input.map((g) => g.toString(16)).join(':')}]/`).hostname);
    });
  }
  await t.test('IPv4-mapped, as Node prints it', () => assert.equal(formatIpv6(bytesOf([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1])), '::ffff:127.0.0.1'));
});

test('readListeners on fixture roots', async (t) => {
  await t.test('both tables', () => {
    assert.deepEqual(readListeners(procRoot()), [l('0.0.0.0', 2024, 1594), l('127.0.0.1', 37933, 131004), l('::ffff:127.0.0.1', 36857, 131006), l('::1', 42891, 131005)]);
  });
  await t.test('no tcp6 (IPv6 off): the IPv4 listeners', () => {
    assert.deepEqual(readListeners(edgeRoot('no-ipv6')), [l('0.0.0.0', 2024, 1594), l('127.0.0.1', 37933, 131004)]);
  });
  await t.test('no tables at all: undefined', () => assert.equal(readListeners(join(FIXTURES, 'no-such-root')), undefined));
  await t.test('an empty table throws, naming the file', () => {
    assertParseError(() => readListeners(edgeRoot('empty')), { file: join(edgeRoot('empty'), 'net', 'tcp'), line: 1, field: 'header' });
  });
});

function listen(host: string): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(undefined)); // no ::1 here
    s.listen(0, host, () => resolve(s));
  });
}

test('readListeners finds this process\'s own listeners in the live tables', async () => {
  const v4 = await listen('127.0.0.1');
  const v6 = await listen('::1');
  try {
    const live = readListeners();
    assert.ok(live, '/proc/net/tcp is readable');
    for (const [server, address] of [[v4, '127.0.0.1'], [v6, '::1']] as const) {
      if (!server) continue;
      const port = (server.address() as net.AddressInfo).port;
      const found: Listener[] = live.filter((x) => x.port === port);
      assert.equal(found.length, 1, `${address}:${port} in ${JSON.stringify(live)}`);
      assert.equal(found[0]?.address, address);
      if (process.getuid) assert.equal(found[0]?.uid, process.getuid());
      assert.ok((found[0]?.inode ?? 0) > 0);
    }
  } finally {
    for (const s of [v4, v6]) await new Promise((r) => (s ? s.close(r) : r(undefined)));
  }
});

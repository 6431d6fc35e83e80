import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { absolutePath, addressToken, firstUrl, hostPorts, joinPeer, quotedPath, urlPeer } from '../../../src/diagnosis/signatures/tokens';

describe('hostPorts', () => {
  const cases = [
    { name: 'IPv4, a name, localhost, bracketed IPv6', input: 'a 10.0.0.5:443 db.internal:5432 localhost:6379 [::1]:8080', want: ['10.0.0.5:443', 'db.internal:5432', 'localhost:6379', '[::1]:8080'] },
    { name: 'a peer followed by a colon (Go)', input: 'dial tcp 127.0.0.1:5432: connect: connection refused', want: ['127.0.0.1:5432'] },
    { name: 'not a file and line, not a time, not a port out of range', input: '/srv/app/server.js:12 at 06:25:21 host.example:99999', want: [] },
    { name: 'empty', input: '', want: [] },
  ];
  for (const { name, input, want } of cases) it(name, () => assert.deepEqual(hostPorts(input), want));
});

describe('addressToken, joinPeer, urlPeer', () => {
  it('libuv prints IPv6 without brackets', () => assert.equal(addressToken('::1:5432'), '[::1]:5432'));
  it('IPv4 as is; no port, none', () => {
    assert.equal(addressToken('127.0.0.1:5432'), '127.0.0.1:5432');
    assert.equal(addressToken('127.0.0.1'), undefined);
  });
  it('address and port fields', () => {
    assert.equal(joinPeer('127.0.0.1', 6379), '127.0.0.1:6379');
    assert.equal(joinPeer('::ffff:127.0.0.1', 6379), '[::ffff:127.0.0.1]:6379');
  });
  it("a URL's peer, the scheme's port when none", () => {
    assert.equal(urlPeer('http://127.0.0.1:19331/slow'), '127.0.0.1:19331');
    assert.equal(urlPeer('https://api.example.com/v1'), 'api.example.com:443');
    assert.equal(urlPeer('not a url'), undefined);
  });
});

describe('paths and URLs in text', () => {
  const cases = [
    { name: 'quoted absolute', fn: quotedPath, input: "open '/etc/app/config.json'", want: '/etc/app/config.json' },
    { name: 'quoted relative with a folder', fn: quotedPath, input: "scandir 'server/logs'", want: 'server/logs' },
    { name: 'quoted words are not a path', fn: quotedPath, input: "reading 'host'", want: undefined },
    { name: 'absolute in prose, full stop dropped', fn: absolutePath, input: 'cannot write /data/x.db.', want: '/data/x.db' },
    { name: 'a URL path is not a file path', fn: absolutePath, input: 'GET http://h/x failed', want: undefined },
    { name: 'the first URL', fn: firstUrl, input: 'upstream timeout: GET http://127.0.0.1:9000/a?b=1 timed out', want: 'http://127.0.0.1:9000/a?b=1' },
  ];
  for (const { name, fn, input, want } of cases) it(name, () => assert.equal(fn(input), want));
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scanSignatures } from '../../../src/diagnosis/signatures/index';
import { reportsTimeout, timeoutTarget } from '../../../src/diagnosis/signatures/timeout';
import { fixtureLines, withQuotes, type Seen } from './_helpers';

const named = (target: string | undefined, quote: string): Seen => ({
  id: 'timeout.named',
  family: 'timeout',
  cause: target ? `timed out waiting for ${target}` : 'the service reported a timeout',
  line: 0,
  lines: [0],
  strength: 'suggests',
  ...(target ? { object: { target } } : {}),
  quote,
});

describe('timeout signatures on real output', () => {
  const cases = [
    { name: 'a service timing its upstream call itself', file: 'node-upstream-timeout', target: 'http://127.0.0.1:19316/' },
    { name: 'Go net/http with a context deadline: the URL in Get "..."', file: 'go-deadline', target: 'http://127.0.0.1:19323/' },
    { name: 'Go read deadline: the peer after ->, not the local address', file: 'go-io-timeout', target: '127.0.0.1:19325' },
    { name: 'curl -m: a timeout that names no target', file: 'curl-timeout', target: undefined },
  ];
  for (const { name, file, target } of cases) {
    it(`timeout/${file}: ${name}`, () => {
      const lines = fixtureLines('timeout', file);
      assert.deepEqual(withQuotes(lines, scanSignatures(lines)), [named(target, lines[0]!)]);
    });
  }
});

describe('timeoutTarget', () => {
  const cases = [
    { name: 'waiting for a name', input: 'timed out waiting for the database after 30s', want: 'the database' },
    { name: 'connecting to host:port', input: 'error: timeout connecting to redis.internal:6379', want: 'redis.internal:6379' },
    { name: 'waiting for X timed out', input: 'waiting for lock orders-42 timed out', want: 'lock orders-42' },
    { name: 'Go dial', input: 'dial tcp 10.0.0.5:443: i/o timeout', want: '10.0.0.5:443' },
    { name: 'axios with a URL', input: 'AxiosError: timeout of 2000ms exceeded (GET https://api.example.com/v1/users)', want: 'https://api.example.com/v1/users' },
    { name: 'no target', input: 'request timeout', want: undefined },
  ];
  for (const { name, input, want } of cases) it(name, () => assert.equal(timeoutTarget(input), want));
});

describe('reportsTimeout', () => {
  const cases = [
    { input: 'upstream timeout: GET http://127.0.0.1:9000/ timed out after 2000ms', want: true },
    { input: "Timeout awaiting 'request' for 2000ms", want: true },
    { input: 'java.net.SocketTimeoutException: Read timed out', want: true },
    { input: 'rpc error: code = DeadlineExceeded desc = context deadline exceeded', want: true },
    { input: 'gateway timeout', want: true },
    // settings and counts are not timeouts that happened
    { input: 'timeout=30s', want: false },
    { input: 'read timeout: 30s', want: false },
    { input: 'request timeout set to 30s', want: false },
    { input: 'closing idle timeout connections', want: false },
    { input: 'no requests timed out in the last hour', want: false },
    { input: '0 timeouts', want: false },
    { input: 'listening on http://127.0.0.1:8080 (timeout 30s)', want: false },
    { input: '', want: false },
  ];
  for (const { input, want } of cases) it(JSON.stringify(input), () => assert.equal(reportsTimeout(input), want));
});

describe('timeout lines that must not match', () => {
  it('a timeout the service logged at debug: routine by its own level', () => {
    assert.deepEqual(scanSignatures(['level=debug msg="idle connection to 127.0.0.1:6379 timed out, reconnecting"']), []);
  });
  it('a stack frame with Timeout in it', () => {
    assert.deepEqual(scanSignatures(['    at Timeout.detectFiles [as _onTimeout] (/srv/app/watcher.js:153:31)']), []);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isNoise, lastWords, readsAsError, type LoggedLine } from '../../../src/diagnosis/signatures/last-words';
import { fixtureLines } from './_helpers';

const logged = (messages: readonly string[], priority: number | null = 6): LoggedLine[] => messages.map((message) => ({ message, priority }));

describe('readsAsError', () => {
  const cases = [
    { input: 'database unreachable: connect ECONNREFUSED 127.0.0.1:5432', want: true },
    { input: 'Error: boom', want: true },
    { input: '2026/12/02 06:39:00 [error] 29640#29640: *4 connect() failed (111: Connection refused)', want: true },
    { input: 'npm ERR! code ELIFECYCLE', want: true },
    { input: 'FATAL: could not open relation', want: true },
    { input: 'Cannot find module \'express\'', want: true },
    { input: 'unable to bind 0.0.0.0:80', want: true },
    { input: 'worker 3 killed by signal 9', want: true },
    { input: 'upstream timed out', want: true },
    { input: 'permission denied', want: true },
    { input: '{"level":"error","msg":"payment provider down"}', want: true },
    { input: '{"level":50,"msg":"payment provider down"}', want: true },
    // not errors
    { input: '0 errors', want: false },
    { input: 'build finished with no errors', want: false },
    { input: 'no error', want: false },
    { input: 'errors=0 warnings=2', want: false },
    { input: 'errors: 0', want: false },
    { input: 'error_count=0', want: false },
    { input: 'error_count=3', want: false }, // a metric's name, not an error word
    { input: 'error-free run', want: false },
    { input: 'starting with log_level=error', want: false },
    { input: 'listening on 127.0.0.1:8080 (timeout 30s)', want: false },
    { input: 'timeout=30s', want: false },
    { input: 'failover complete', want: false },
    { input: 'AbortController ready', want: false },
    { input: 'level=info msg="retrying after error"', want: false },
    { input: '{"level":"debug","msg":"connection refused, retrying"}', want: false },
    { input: 'registered handler for errors', want: true },
    { input: 'ignoring errors from optional plugin', want: false },
    { input: '', want: false },
  ];
  for (const { input, want } of cases) it(JSON.stringify(input), () => assert.equal(readsAsError(input), want));
});

describe('isNoise', () => {
  const noise = [
    '',
    '   ',
    '    at Object.<anonymous> (/srv/app/boom.js:2:7)',
    '\tat OOM.main(OOM.java:8)',
    '\t... 3 more',
    'Node.js v20.20.2',
    '(Use `node --trace-uncaught ...` to show where the exception was thrown)',
    'Thrown at:',
    "Emitted 'error' event on Socket instance at:",
    'node:events:502',
    '/work/app/boom.js:2',
    '      ^',
    '           ~~~~~~~~~~^^^^^^^^^^^^^^^^',
    'Traceback (most recent call last):',
    '  File "/srv/app/main.py", line 9, in <module>',
    'During handling of the above exception, another exception occurred:',
    'goroutine 1 [running]:',
    'goroutine 7 [chan receive, 2 minutes]:',
    '\t/srv/app/main.go:12 +0xe5',
    'main.main()',
    'net/http.(*conn).serve(0xc000120000, {0x6b2f38, 0xc000108000})',
    'created by net/http.(*Server).Serve in goroutine 1',
    'note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace',
    'stack backtrace:',
    '   0: std::panicking::begin_panic::<&str>',
    ' 1: 0xb78db3 node::OOMErrorHandler(char const*, v8::OOMDetails const&) [node]',
    '10: 0x10b7fb4 v8::internal::FactoryBase<v8::internal::Factory>::NewFixedArrayWithFiller [node]',
    '<--- Last few GCs --->',
    '----- Native stack trace -----',
    '[9242:0x38e88d30]       86 ms: Mark-Compact 16.3 (24.8) -> 16.3 (32.8) MB',
  ];
  for (const line of noise) it(`noise: ${JSON.stringify(line)}`, () => assert.equal(isNoise(line), true));
  const telling = ['Error: boom', 'panic: runtime error: index out of range [5] with length 3', 'queue closed', "KeyError: 'DATABASE_URL'", 'boom', '8080: address in use', 'database unreachable'];
  for (const line of telling) it(`not noise: ${JSON.stringify(line)}`, () => assert.equal(isNoise(line), false));
});

describe('lastWords', () => {
  it('an uncaught Node error gives its Error: line, not the `throw er; // Unhandled \'error\' event` source line', () => {
    const lines = fixtureLines('errno', 'econnrefused-uncaught');
    assert.deepEqual(lastWords(logged(lines)), [4]);
  });
  it('a Java StackOverflowError of 1018 lines gives one line', () => {
    assert.deepEqual(lastWords(logged(fixtureLines('runtime', 'java-stack-overflow'))), [0]);
  });
  it('a Rust panic gives its message line, which has no error word', () => {
    assert.deepEqual(lastWords(logged(fixtureLines('runtime', 'rust-panic'))), [2]);
  });
  it('a caught Error logged whole, naming no cause, gives its head line', () => {
    const lines = ['request failed', ...fixtureLines('runtime', 'node-boom').slice(4, 12)];
    assert.deepEqual(lastWords(logged(lines)), [0, 1]);
  });
  it('an uncaught ENFILE, then npm ERR! lines: the ENFILE line that proves, then the newest two', () => {
    assert.deepEqual(lastWords(logged(fixtureLines('public', 'node8-enfile'))), [5, 20, 21]);
  });
  it('error lines by priority as well as by words; noise dropped even at priority 3', () => {
    const lines: LoggedLine[] = [
      { message: 'listening on 127.0.0.1:8080', priority: 6 },
      { message: 'payment provider gave up', priority: 3 },
      { message: '    at charge (/srv/app/pay.js:10:3)', priority: 3 },
      { message: 'request served', priority: null },
    ];
    assert.deepEqual(lastWords(lines), [1]);
  });
  it('repeats (lines that differ only in numbers) collapse to their last occurrence', () => {
    const lines = logged(['error: db down (attempt 1)', 'error: db down (attempt 2)', 'ok', 'error: db down (attempt 3)']);
    assert.deepEqual(lastWords(lines), [3]);
  });
  it('the newest `max` error lines, newest last', () => {
    const lines = logged(['a failed', 'b failed', 'c failed', 'd failed', 'e failed']);
    assert.deepEqual(lastWords(lines), [2, 3, 4]);
    assert.deepEqual(lastWords(lines, 1), [4]);
  });
  it('a signature that proves outranks newer plain error lines', () => {
    const lines = logged([...fixtureLines('runtime', 'go-panic'), 'supervisor: child failed', 'supervisor: restart failed', 'supervisor: giving up, error']);
    assert.deepEqual(lastWords(lines), [0, 6, 7]);
  });
  it('a line that merely mentions ENOENT as information is not a last word', () => {
    assert.deepEqual(lastWords(logged(['cache /var/cache/app/index.json not found (ENOENT), starting cold', 'ready'])), []);
  });
  it('empty input, max 0', () => {
    assert.deepEqual(lastWords([]), []);
    assert.deepEqual(lastWords(logged(['x failed']), 0), []);
  });
});

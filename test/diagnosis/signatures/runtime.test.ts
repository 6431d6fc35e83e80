import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scanSignatures } from '../../../src/diagnosis/signatures/index';
import { describeFixtures, fixtureLines, range, withQuotes, type FixtureCase, type Seen } from './_helpers';

// Every runtime fixture (fixtures/signatures/runtime/, captured from real programs; public/ for the
// older Rust formats) and the FULL list of matches.
type Case = FixtureCase & { dir: 'runtime' | 'public' };

const runtime = (id: string, cause: string, quote: string, line: number, lines: number[], rt: string, strength: 'proves' | 'suggests' = 'proves'): Seen => ({
  id: `runtime.${id}`,
  family: 'runtime',
  cause,
  line,
  lines,
  strength,
  object: { runtime: rt },
  quote,
});

const cases: Case[] = [
  {
    name: 'V8 heap out of memory under --max-old-space-size=16, with its GC report and native stack',
    dir: 'runtime',
    file: 'node-heap-oom',
    want: () => [runtime('v8-heap-oom', 'JavaScript heap out of memory (V8)', 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory', 9, range(1, 27), 'v8')],
  },
  {
    name: 'throw new Error(\'boom\'): the Error: line, not the source line nor the footer',
    dir: 'runtime',
    file: 'node-boom',
    want: () => [runtime('node-uncaught', 'uncaught Error: boom', 'Error: boom', 4, range(0, 13), 'node')],
  },
  {
    name: 'an uncaught TypeError',
    dir: 'runtime',
    file: 'node-typeerror',
    want: () => [runtime('node-uncaught', "uncaught TypeError: Cannot read properties of undefined (reading 'host')", "TypeError: Cannot read properties of undefined (reading 'host')", 4, range(0, 13), 'node')],
  },
  {
    name: 'Cannot find module: the Require stack lines continue the message, before the frames',
    dir: 'runtime',
    file: 'node-missing-module',
    want: () => [runtime('node-uncaught', "uncaught Error: Cannot find module 'sig-missing-module'", "Error: Cannot find module 'sig-missing-module'", 4, range(0, 23), 'node')],
  },
  {
    name: 'an unhandled rejection of an Error prints as an uncaught one',
    dir: 'runtime',
    file: 'node-unhandled-rejection',
    want: () => [runtime('node-uncaught', 'uncaught Error: migration 42 failed: relation "users" already exists', 'Error: migration 42 failed: relation "users" already exists', 4, range(0, 14), 'node')],
  },
  {
    name: 'an unhandled rejection of a string: the reason out of ERR_UNHANDLED_REJECTION\'s sentence',
    dir: 'runtime',
    file: 'node-unhandled-rejection-string',
    want: (l) => [runtime('node-uncaught', 'uncaught promise rejection: queue closed', l[4]!, 4, range(0, 11), 'node')],
  },
  {
    name: 'throw of a string: the value after the caret, no blank line before it',
    dir: 'runtime',
    file: 'node-throw-string',
    want: () => [runtime('node-uncaught', 'uncaught exception: queue closed', 'queue closed', 4, range(1, 7), 'node')],
  },
  {
    name: 'throw of a string under --trace-uncaught: Thrown at: and its frames belong to it',
    dir: 'runtime',
    file: 'node-throw-string-traced',
    want: () => [runtime('node-uncaught', 'uncaught exception: queue closed', 'queue closed', 4, range(1, 15), 'node')],
  },
  {
    name: 'fetch with AbortSignal.timeout: DOMException [TimeoutError] reads as TimeoutError',
    dir: 'runtime',
    file: 'node-fetch-timeout',
    want: () => [runtime('node-uncaught', 'uncaught TimeoutError: The operation was aborted due to timeout', 'DOMException [TimeoutError]: The operation was aborted due to timeout', 4, range(1, 9), 'node')],
  },
  {
    name: 'Python KeyError: the traceback\'s last line',
    dir: 'runtime',
    file: 'python-keyerror',
    want: () => [runtime('python-traceback', "Python exception: KeyError: 'DATABASE_URL'", "KeyError: 'DATABASE_URL'", 8, range(0, 8), 'python')],
  },
  {
    name: 'Python ConnectionRefusedError carries an errno: the errno signature, no peer in the message',
    dir: 'runtime',
    file: 'python-refused',
    want: () => [{ id: 'errno.ECONNREFUSED', family: 'errno', cause: 'a dependency refused connections (ECONNREFUSED)', line: 7, lines: range(0, 7), strength: 'proves', object: { errno: 'ECONNREFUSED', runtime: 'python' }, quote: 'ConnectionRefusedError: [Errno 111] Connection refused' }],
  },
  {
    name: 'Python chained tracebacks (urllib): one match, the LAST exception line',
    dir: 'runtime',
    file: 'python-refused-urllib',
    want: () => [{ id: 'errno.ECONNREFUSED', family: 'errno', cause: 'a dependency refused connections (ECONNREFUSED)', line: 44, lines: range(0, 44), strength: 'proves', object: { errno: 'ECONNREFUSED', runtime: 'python' }, quote: 'urllib.error.URLError: <urlopen error [Errno 111] Connection refused>' }],
  },
  {
    name: 'Python TimeoutError (socket timeout): the exception, which names no target',
    dir: 'runtime',
    file: 'python-timeout',
    want: () => [runtime('python-traceback', 'Python exception: TimeoutError: timed out', 'TimeoutError: timed out', 3, range(0, 3), 'python')],
  },
  {
    name: 'Java OutOfMemoryError under -Xmx16m',
    dir: 'runtime',
    file: 'java-oom',
    want: () => [runtime('java-oom', 'Java OutOfMemoryError: Java heap space', 'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space', 0, [0, 1], 'java')],
  },
  {
    name: 'Java StackOverflowError: 1017 frames, one match',
    dir: 'runtime',
    file: 'java-stack-overflow',
    want: () => [runtime('java-stack-overflow', 'Java StackOverflowError', 'Exception in thread "main" java.lang.StackOverflowError', 0, range(0, 1017), 'java')],
  },
  {
    name: 'Java uncaught exception in main',
    dir: 'runtime',
    file: 'java-uncaught',
    want: (l) => [runtime('java-exception', "Java exception: java.lang.IllegalStateException: APP_MODE must be 'server', got ''", l[0]!, 0, [0, 1], 'java')],
  },
  {
    name: 'Go panic: index out of range',
    dir: 'runtime',
    file: 'go-panic',
    want: () => [runtime('go-panic', 'Go panic: runtime error: index out of range [5] with length 3', 'panic: runtime error: index out of range [5] with length 3', 0, range(0, 4), 'go')],
  },
  {
    name: 'Go fatal error: deadlock',
    dir: 'runtime',
    file: 'go-deadlock',
    want: () => [runtime('go-fatal', 'Go fatal error: all goroutines are asleep - deadlock!', 'fatal error: all goroutines are asleep - deadlock!', 0, range(0, 4), 'go')],
  },
  {
    // captured under systemd 252 by the diagnosis corpus (scenario go-fatal): the runtime's own fatal error
    // is followed by "runtime stack:" and ~200 frames, and no goroutine header in its first lines
    name: 'Go fatal error: stack overflow, from the journal of a real run',
    dir: 'runtime',
    file: 'go-stack-overflow',
    want: () => [runtime('go-fatal', 'Go fatal error: stack overflow', 'fatal error: stack overflow', 4, range(2, 212), 'go')],
  },
  {
    name: 'Rust 1.95 panic: the message on the line after "panicked at" (and a blank line before it)',
    dir: 'runtime',
    file: 'rust-panic',
    want: () => [runtime('rust-panic', 'Rust panic: boom (src/main.rs:2:5)', 'boom', 2, range(1, 3), 'rust')],
  },
  {
    name: 'Rust panic with RUST_BACKTRACE=1: the backtrace belongs to it',
    dir: 'runtime',
    file: 'rust-panic-backtrace',
    want: () => [runtime('rust-panic', 'Rust panic: boom (src/main.rs:2:5)', 'boom', 2, range(1, 8), 'rust')],
  },
  {
    name: 'Rust unwrap of an io::Error: its message carries the errno words',
    dir: 'runtime',
    file: 'rust-unwrap',
    want: (l) => [{ id: 'errno.ENOENT', family: 'errno', cause: 'missing file or directory (ENOENT)', line: 2, lines: range(1, 3), strength: 'proves', object: { errno: 'ENOENT', runtime: 'rust' }, quote: l[2]! }],
  },
  {
    name: 'public: Rust <= 1.72, the message quoted inside the panicked-at line',
    dir: 'public',
    file: 'rust-1.72-panic',
    want: (l) => [runtime('rust-panic', 'Rust panic: called `Option::unwrap()` on a `None` value (/cargo/git/checkouts/wappalyzer-e32a3fb79f4ccad3/fb82bb4/src/lib.rs:117:39)', l[0]!, 0, [0, 1], 'rust')],
  },
  {
    name: 'public: Rust 1.73-1.8x, message on the next line, no thread id',
    dir: 'public',
    file: 'rust-1.8x-panic',
    want: () => [runtime('rust-panic', 'Rust panic: called `Option::unwrap()` on a `None` value (src\\explorer_modinfo.rs:45:14)', 'called `Option::unwrap()` on a `None` value', 1, range(0, 2), 'rust')],
  },
  {
    name: 'glibc double free',
    dir: 'runtime',
    file: 'glibc-double-free',
    want: () => [runtime('glibc', 'glibc: double free detected in tcache 2', 'free(): double free detected in tcache 2', 0, [0], 'glibc')],
  },
  {
    name: 'glibc stack smashing (-fstack-protector-all)',
    dir: 'runtime',
    file: 'glibc-stack-smash',
    want: () => [runtime('glibc', 'glibc: stack smashing detected', '*** stack smashing detected ***: terminated', 0, [0], 'glibc')],
  },
  {
    name: 'glibc corrupted top size',
    dir: 'runtime',
    file: 'glibc-corrupted-top',
    want: () => [runtime('glibc', 'glibc: corrupted top size', 'malloc(): corrupted top size', 0, [0], 'glibc')],
  },
];

describeFixtures('runtime signatures on real output', cases);

describe('runtime blocks cut short', () => {
  it('a traceback cut before its last line names nothing', () => {
    const lines = fixtureLines('runtime', 'python-keyerror').slice(0, 8);
    assert.deepEqual(scanSignatures(lines), []);
  });
  it('a chained traceback cut inside the second keeps the first exception', () => {
    const lines = fixtureLines('runtime', 'python-refused-urllib').slice(0, 30);
    assert.deepEqual(withQuotes(lines, scanSignatures(lines)), [
      { id: 'errno.ECONNREFUSED', family: 'errno', cause: 'a dependency refused connections (ECONNREFUSED)', line: 20, lines: range(0, 29), strength: 'proves', object: { errno: 'ECONNREFUSED', runtime: 'python' }, quote: 'ConnectionRefusedError: [Errno 111] Connection refused' },
    ]);
  });
  it('a Node error cut right after the Error: line: the header says uncaught', () => {
    const lines = fixtureLines('runtime', 'node-boom').slice(0, 5);
    assert.deepEqual(withQuotes(lines, scanSignatures(lines)), [runtime('node-uncaught', 'uncaught Error: boom', 'Error: boom', 4, range(0, 4), 'node')]);
  });
  it('a Node error with neither header nor footer (cut at both ends) is a logged one: no match', () => {
    const lines = fixtureLines('runtime', 'node-boom').slice(4, 12);
    assert.deepEqual(scanSignatures(lines), []);
  });
  it('a Node header cut after its caret names nothing', () => {
    assert.deepEqual(scanSignatures(fixtureLines('runtime', 'node-boom').slice(0, 4)), []);
  });
  it('a Rust panic cut after "panicked at": the location alone', () => {
    const lines = fixtureLines('runtime', 'rust-panic').slice(0, 2);
    assert.deepEqual(withQuotes(lines, scanSignatures(lines)), [runtime('rust-panic', 'Rust panic: (src/main.rs:2:5)', lines[1]!, 1, [1], 'rust')]);
  });
  it('a Go panic cut after its first line still counts (nothing after it)', () => {
    const lines = fixtureLines('runtime', 'go-panic').slice(0, 1);
    assert.deepEqual(withQuotes(lines, scanSignatures(lines)), [runtime('go-panic', 'Go panic: runtime error: index out of range [5] with length 3', lines[0]!, 0, [0], 'go')]);
  });
  it('V8 OOM without its native stack', () => {
    const lines = fixtureLines('runtime', 'node-heap-oom').slice(0, 10);
    assert.deepEqual(withQuotes(lines, scanSignatures(lines)), [runtime('v8-heap-oom', 'JavaScript heap out of memory (V8)', lines[9]!, 9, range(1, 9), 'v8')]);
  });
});

describe('runtime blocks, inline', () => {
  it('a logged Java trace whose root cause is a refused connection: the peer from the exception around it', () => {
    // the shape pgjdbc logs: the wrapper names host:port, the root cause only the errno's words
    const lines = [
      'org.postgresql.util.PSQLException: Connection to localhost:5432 refused. Check that the hostname and port are correct.',
      '\tat org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:319)',
      'Caused by: java.net.ConnectException: Connection refused',
      '\tat java.base/sun.nio.ch.Net.pollConnect(Native Method)',
      '\t... 12 more',
    ];
    assert.deepEqual(withQuotes(lines, scanSignatures(lines)), [
      { id: 'errno.ECONNREFUSED', family: 'errno', cause: 'dependency localhost:5432 refused connections', line: 2, lines: range(0, 4), strength: 'suggests', object: { errno: 'ECONNREFUSED', peer: 'localhost:5432', runtime: 'java' }, quote: lines[2]! },
    ]);
  });
  it("a service's own uncaughtException handler logging the error: uncaught by its words, proves", () => {
    const lines = ['uncaughtException: TypeError: Cannot read properties of null (reading \'id\')', '    at handle (/srv/app/server.js:41:22)', 'exiting'];
    assert.deepEqual(withQuotes(lines, scanSignatures(lines)), [
      runtime('node-uncaught', "uncaught TypeError: Cannot read properties of null (reading 'id')", lines[0]!, 0, [0, 1], 'node'),
    ]);
  });
  it('two logged Node errors one after the other: each its own head', () => {
    const lines = ['Error: first thing failed', 'Error: connect ECONNREFUSED 127.0.0.1:6379', '    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1611:16)'];
    assert.deepEqual(withQuotes(lines, scanSignatures(lines)), [
      { id: 'errno.ECONNREFUSED', family: 'errno', cause: 'dependency 127.0.0.1:6379 refused connections', line: 1, lines: [1, 2], strength: 'suggests', object: { errno: 'ECONNREFUSED', peer: '127.0.0.1:6379', runtime: 'node' }, quote: lines[1]! },
    ]);
  });
});

describe('runtime lines that must not match', () => {
  const cases = [
    { name: '"panic:" in a sentence, lines of the service after it', input: ['panic: disk almost full, cleaning up', 'removed 12 files', 'freed 3 GB', 'disk at 71%', 'ok'] },
    { name: 'a thread name in a log, not a panic', input: ["thread 'worker-3' started"] },
    { name: 'glibc words inside a sentence', input: ['the allocator reported double free or corruption (out) in a test run, ignoring'] },
    { name: 'a Python traceback header alone', input: ['Traceback (most recent call last):'] },
    { name: 'a Java class name in a log line without frames', input: ['loaded handler com.example.ErrorHandler: ok'] },
    { name: 'a V8 OOM quoted by another process (not the line V8 prints)', input: ['worker 3 died: JavaScript heap out of memory'] },
    { name: 'empty input', input: [] },
    { name: 'blank lines', input: ['', '  ', ''] },
  ];
  for (const { name, input } of cases) it(name, () => assert.deepEqual(scanSignatures(input), []));
});

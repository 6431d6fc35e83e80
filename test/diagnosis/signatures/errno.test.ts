import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errnoFromText, errnoSignature } from '../../../src/diagnosis/signatures/errno';
import { scanSignatures } from '../../../src/diagnosis/signatures/index';
import { captureDir, describeFixtures, range, type FixtureCase, type Seen } from './_helpers';

// Every errno fixture (fixtures/signatures/errno/, captured from real programs; public/ holds the
// samples from public issues where a program cannot fail that way here) and the FULL list of matches.
type Case = FixtureCase & { dir: 'errno' | 'public' };

const errno = (id: string, cause: string, quote: string, line: number, lines: number[], strength: 'proves' | 'suggests', object: Seen['object']): Seen => ({
  id: `errno.${id}`,
  family: 'errno',
  cause,
  line,
  lines,
  strength,
  object,
  quote,
});

const cases: Case[] = [
  {
    name: 'a refused connection caught and logged in the service\'s words: suggests',
    dir: 'errno',
    file: 'econnrefused-caught',
    want: () => [errno('ECONNREFUSED', 'dependency 127.0.0.1:19310 refused connections', 'database unreachable: connect ECONNREFUSED 127.0.0.1:19310', 0, [0], 'suggests', { errno: 'ECONNREFUSED', peer: '127.0.0.1:19310' })],
  },
  {
    name: 'an uncaught refused connection (unhandled \'error\' event): the Error: line, the fields, proves',
    dir: 'errno',
    file: 'econnrefused-uncaught',
    want: () => [errno('ECONNREFUSED', 'dependency 127.0.0.1:19311 refused connections', 'Error: connect ECONNREFUSED 127.0.0.1:19311', 4, range(0, 17), 'proves', { errno: 'ECONNREFUSED', peer: '127.0.0.1:19311', runtime: 'node' })],
  },
  {
    name: 'fetch failed: the errno is in [cause], which is the line quoted',
    dir: 'errno',
    file: 'fetch-refused',
    want: () => [errno('ECONNREFUSED', 'dependency 127.0.0.1:19314 refused connections', '  [cause]: Error: connect ECONNREFUSED 127.0.0.1:19314', 8, range(0, 18), 'proves', { errno: 'ECONNREFUSED', peer: '127.0.0.1:19314', runtime: 'node' })],
  },
  {
    name: 'AggregateError [ECONNREFUSED] (two addresses tried): the peer and the quote from its [errors], IPv4 first',
    dir: 'errno',
    file: 'aggregate-refused',
    want: () => [errno('ECONNREFUSED', 'dependency 127.0.0.1:19319 refused connections', '    Error: connect ECONNREFUSED 127.0.0.1:19319', 22, range(0, 34), 'proves', { errno: 'ECONNREFUSED', peer: '127.0.0.1:19319', runtime: 'node' })],
  },
  {
    name: 'read ECONNRESET (a local server that sends RST): no address in the error, so no peer',
    dir: 'errno',
    file: 'econnreset',
    want: () => [errno('ECONNRESET', 'a dependency reset the connection (ECONNRESET)', 'Error: read ECONNRESET', 4, range(0, 15), 'proves', { errno: 'ECONNRESET', runtime: 'node' })],
  },
  {
    name: 'read ECONNRESET logged with the peer the service appended: the peer from the line',
    dir: 'errno',
    file: 'econnreset-peer-said',
    want: () => [errno('ECONNRESET', 'dependency 127.0.0.1:19155 reset the connection', 'cache unreachable: read ECONNRESET (peer 127.0.0.1:19155)', 0, [0], 'suggests', { errno: 'ECONNRESET', peer: '127.0.0.1:19155' })],
  },
  {
    name: "Python's ConnectionRefusedError logged with repr(): the class is the errno, the peer from the line",
    dir: 'errno',
    file: 'python-connrefused-repr',
    want: () => [errno('ECONNREFUSED', 'dependency 127.0.0.1:19191 refused connections', "database unreachable: cannot connect to 127.0.0.1:19191: ConnectionRefusedError(111, 'Connection refused')", 0, [0], 'suggests', { errno: 'ECONNREFUSED', peer: '127.0.0.1:19191' })],
  },
  {
    name: 'connect ECONNRESET (reset while connecting) names the peer',
    dir: 'errno',
    file: 'econnreset-connect',
    want: () => [errno('ECONNRESET', 'dependency 127.0.0.1:19318 reset the connection', 'Error: connect ECONNRESET 127.0.0.1:19318', 4, range(0, 17), 'proves', { errno: 'ECONNRESET', peer: '127.0.0.1:19318', runtime: 'node' })],
  },
  {
    name: 'socket hang up is ECONNRESET by its code field',
    dir: 'errno',
    file: 'socket-hang-up',
    want: () => [errno('ECONNRESET', 'a dependency reset the connection (socket hang up)', 'Error: socket hang up', 4, range(0, 18), 'proves', { errno: 'ECONNRESET', runtime: 'node' })],
  },
  {
    name: 'ENOENT on readFileSync: the path, not the Node.js footer nor a frame',
    dir: 'errno',
    file: 'enoent',
    want: () => [errno('ENOENT', 'missing file /etc/app/config.json', "Error: ENOENT: no such file or directory, open '/etc/app/config.json'", 4, range(0, 19), 'proves', { errno: 'ENOENT', path: '/etc/app/config.json', runtime: 'node' })],
  },
  {
    name: 'ENOENT from fs/promises (async frames)',
    dir: 'errno',
    file: 'enoent-promise',
    want: () => [errno('ENOENT', 'missing file /etc/app/config.json', "Error: ENOENT: no such file or directory, open '/etc/app/config.json'", 4, range(0, 14), 'proves', { errno: 'ENOENT', path: '/etc/app/config.json', runtime: 'node' })],
  },
  {
    name: 'an error object caught and logged whole after the service\'s words: suggests',
    dir: 'errno',
    file: 'caught-error-object',
    want: () => [errno('ENOENT', 'missing file /etc/app/config.json', "failed to load config: Error: ENOENT: no such file or directory, open '/etc/app/config.json'", 0, range(0, 13), 'suggests', { errno: 'ENOENT', path: '/etc/app/config.json', runtime: 'node' })],
  },
  {
    name: 'spawn of a program that is not installed',
    dir: 'errno',
    file: 'spawn-enoent',
    want: () => [errno('ENOENT', 'missing file /usr/local/bin/sig-missing-tool', 'Error: spawn /usr/local/bin/sig-missing-tool ENOENT', 4, range(0, 19), 'proves', { errno: 'ENOENT', path: '/usr/local/bin/sig-missing-tool', runtime: 'node' })],
  },
  {
    name: 'EACCES opening a root-owned 0600 file as nobody',
    dir: 'errno',
    file: 'eacces',
    want: (l) => {
      const path = `${captureDir(l)}/secret.key`;
      return [errno('EACCES', `permission denied: ${path}`, `Error: EACCES: permission denied, open '${path}'`, 4, range(0, 20), 'proves', { errno: 'EACCES', path, runtime: 'node' })];
    },
  },
  {
    name: 'EACCES listening on port 81 as nobody: the operation and address, and the port',
    dir: 'errno',
    file: 'eacces-listen',
    want: () => [errno('EACCES', 'permission denied: listen 127.0.0.1:81', 'Error: listen EACCES: permission denied 127.0.0.1:81', 4, range(0, 19), 'proves', { errno: 'EACCES', port: 81, runtime: 'node' })],
  },
  {
    name: 'EPERM: chown to root as nobody names the call and the path',
    dir: 'errno',
    file: 'eperm',
    want: (l) => {
      const path = `${captureDir(l)}/owned-by-nobody`;
      return [errno('EPERM', `operation not permitted: chown ${path}`, `Error: EPERM: operation not permitted, chown '${path}'`, 4, range(0, 19), 'proves', { errno: 'EPERM', path, runtime: 'node' })];
    },
  },
  {
    name: 'EMFILE under prlimit --nofile=64',
    dir: 'errno',
    file: 'emfile',
    want: () => [errno('EMFILE', 'out of file descriptors (EMFILE)', "Error: EMFILE: too many open files, open '/dev/null'", 4, range(0, 19), 'proves', { errno: 'EMFILE', path: '/dev/null', runtime: 'node' })],
  },
  {
    name: 'EADDRINUSE: two listeners on one port',
    dir: 'errno',
    file: 'eaddrinuse',
    want: () => [errno('EADDRINUSE', 'port 19315 already in use', 'Error: listen EADDRINUSE: address already in use 127.0.0.1:19315', 4, range(0, 19), 'proves', { errno: 'EADDRINUSE', port: 19315, runtime: 'node' })],
  },
  {
    name: 'ENOSPC from writeFileSync on a 64k tmpfs: Node names no path',
    dir: 'errno',
    file: 'enospc',
    want: () => [errno('ENOSPC', 'disk full: no space left on device', 'Error: ENOSPC: no space left on device, write', 4, range(0, 19), 'proves', { errno: 'ENOSPC', runtime: 'node' })],
  },
  {
    name: 'ENOSPC caught, the service naming the file it wrote',
    dir: 'errno',
    file: 'enospc-caught',
    want: (l) => {
      const path = `${captureDir(l)}/tiny/state.bin`;
      return [errno('ENOSPC', `disk full: no space left on device writing ${path}`, `cannot save state to ${path}: ENOSPC: no space left on device, write`, 0, [0], 'suggests', { errno: 'ENOSPC', path })];
    },
  },
  {
    name: 'Python FileNotFoundError: the traceback\'s last line, errno wording, proves',
    dir: 'errno',
    file: 'python-filenotfound',
    want: () => [errno('ENOENT', 'missing file /etc/app/config.json', "FileNotFoundError: [Errno 2] No such file or directory: '/etc/app/config.json'", 4, range(0, 4), 'proves', { errno: 'ENOENT', path: '/etc/app/config.json', runtime: 'python' })],
  },
  {
    name: 'Python PermissionError',
    dir: 'errno',
    file: 'python-permission',
    want: (l) => {
      const path = `${captureDir(l)}/secret.key`;
      return [errno('EACCES', `permission denied: ${path}`, `PermissionError: [Errno 13] Permission denied: '${path}'`, 4, range(0, 4), 'proves', { errno: 'EACCES', path, runtime: 'python' })];
    },
  },
  {
    name: 'Java: the errno of the root cause (NoSuchFileException) in a Caused by: chain',
    dir: 'errno',
    file: 'java-caused-by',
    want: () => [errno('ENOENT', 'missing file /etc/app/config.json', 'Caused by: java.nio.file.NoSuchFileException: /etc/app/config.json', 3, range(0, 21), 'proves', { errno: 'ENOENT', path: '/etc/app/config.json', runtime: 'java' })],
  },
  {
    name: 'Go: panic(err) of a *PathError is the errno, proves',
    dir: 'errno',
    file: 'go-panic-enoent',
    want: () => [errno('ENOENT', 'missing file /etc/app/config.json', 'panic: open /etc/app/config.json: no such file or directory', 0, range(0, 4), 'proves', { errno: 'ENOENT', path: '/etc/app/config.json', runtime: 'go' })],
  },
  {
    name: 'Go: log.Fatalf of a refused dial, the peer before "connect:"',
    dir: 'errno',
    file: 'go-refused',
    want: (l) => [errno('ECONNREFUSED', 'dependency 127.0.0.1:19324 refused connections', l[0]!, 0, [0], 'suggests', { errno: 'ECONNREFUSED', peer: '127.0.0.1:19324' })],
  },
  {
    name: 'nginx: upstream timed out (110) and connect() failed (111) with the upstream; a client\'s 404 (2: No such file) is not the service failing',
    dir: 'errno',
    file: 'nginx-upstream',
    want: (l) => [
      errno('ETIMEDOUT', 'dependency 127.0.0.1:19331 timed out (ETIMEDOUT)', l[0]!, 0, [0], 'suggests', { errno: 'ETIMEDOUT', peer: '127.0.0.1:19331' }),
      errno('ECONNREFUSED', 'dependency 127.0.0.1:19332 refused connections', l[1]!, 1, [1], 'suggests', { errno: 'ECONNREFUSED', peer: '127.0.0.1:19332' }),
    ],
  },
  // public samples (fixtures/signatures/README.md has their URLs)
  {
    name: 'public: Node 12 inspect form `{ Error: connect ETIMEDOUT ... port: 443 }`, logged',
    dir: 'public',
    file: 'node12-etimedout',
    want: () => [errno('ETIMEDOUT', 'dependency 13.110.0.73:443 timed out (ETIMEDOUT)', '{ Error: connect ETIMEDOUT 13.110.0.73:443', 0, range(0, 6), 'suggests', { errno: 'ETIMEDOUT', peer: '13.110.0.73:443', runtime: 'node' })],
  },
  {
    name: 'public: Node 4 inspect form `{ [Error: ...]` with no frames',
    dir: 'public',
    file: 'node4-etimedout',
    want: () => [errno('ETIMEDOUT', 'dependency 10.10.34.36:443 timed out (ETIMEDOUT)', '{ [Error: connect ETIMEDOUT 10.10.34.36:443]', 0, range(0, 5), 'suggests', { errno: 'ETIMEDOUT', peer: '10.10.34.36:443', runtime: 'node' })],
  },
  {
    name: 'public: EHOSTUNREACH with "- Local (...)" after the peer (macOS errno -65: the code field decides)',
    dir: 'public',
    file: 'node-ehostunreach',
    want: () => [errno('EHOSTUNREACH', 'dependency 192.168.21.34:22 unreachable (EHOSTUNREACH)', 'Error: connect EHOSTUNREACH 192.168.21.34:22 - Local (192.168.21.58:49182)', 0, range(0, 11), 'suggests', { errno: 'EHOSTUNREACH', peer: '192.168.21.34:22', runtime: 'node' })],
  },
  {
    name: 'public: Ruby Errno::EDQUOT, the path after the call',
    dir: 'public',
    file: 'ruby-edquot',
    want: (l) => {
      const path = '/users/PAS1487/jaglabosu/ondemand/data/sys/dashboard/batch_connect/cache';
      return [errno('EDQUOT', `disk quota exceeded writing ${path}`, l[0]!, 0, [0], 'suggests', { errno: 'EDQUOT', path })];
    },
  },
  {
    name: 'public: Node 8 uncaught ENFILE; the npm ERR! lines after it name nothing',
    dir: 'public',
    file: 'node8-enfile',
    want: () => [errno('ENFILE', "the system's file table is full (ENFILE)", "Error: ENFILE: file table overflow, scandir '/Users/test/Documents/xxx/src'", 5, range(1, 14), 'proves', { errno: 'ENFILE', path: '/Users/test/Documents/xxx/src', runtime: 'node' })],
  },
];

describeFixtures('errno signatures on real output', cases);

describe('errnoFromText', () => {
  const cases: { name: string; input: string; want: ReturnType<typeof errnoFromText> }[] = [
    { name: 'empty', input: '', want: undefined },
    { name: 'libuv connect form', input: 'connect ECONNREFUSED 127.0.0.1:5432', want: { errno: 'ECONNREFUSED', syscall: 'connect', peer: '127.0.0.1:5432' } },
    { name: 'IPv6 without brackets, as libuv prints it', input: 'connect ECONNREFUSED ::1:5432', want: { errno: 'ECONNREFUSED', syscall: 'connect', peer: '[::1]:5432' } },
    { name: 'fs form with rename dest', input: "EXDEV: cross-device link not permitted, rename '/a' -> '/b'", want: undefined },
    { name: 'fs form', input: "ENOENT: no such file or directory, stat '/srv/app/.env'", want: { errno: 'ENOENT', syscall: 'stat', path: '/srv/app/.env' } },
    { name: 'kill EPERM', input: 'Error: kill EPERM', want: { errno: 'EPERM', syscall: 'kill' } },
    { name: 'Go listen', input: 'listen tcp 127.0.0.1:8080: bind: address already in use', want: { errno: 'EADDRINUSE', peer: '127.0.0.1:8080' } },
    { name: 'Go read reset, the peer after ->', input: 'read tcp 127.0.0.1:40000->127.0.0.1:6379: read: connection reset by peer', want: { errno: 'ECONNRESET', peer: '127.0.0.1:6379' } },
    { name: 'Java FileNotFoundException', input: 'java.io.FileNotFoundException: /etc/app/app.yml (No such file or directory)', want: { errno: 'ENOENT', path: '/etc/app/app.yml' } },
    { name: 'Python OSError without a path', input: 'OSError: [Errno 28] No space left on device', want: { errno: 'ENOSPC' } },
    { name: 'C perror form', input: '/var/lib/app/db.lock: Permission denied', want: { errno: 'EACCES', path: '/var/lib/app/db.lock' } },
    { name: 'a bare code on an error line', input: 'FATAL: write failed (EDQUOT)', want: { errno: 'EDQUOT' } },
    { name: 'ENFILE words are not EMFILE', input: 'accept: Too many open files in system', want: { errno: 'ENFILE' } },
  ];
  for (const { name, input, want } of cases) it(name, () => assert.deepEqual(errnoFromText(input), want));
});

describe('lines that must not match an errno', () => {
  // A code or an errno's words in a sentence that is not an error report: the service said it is fine
  // (an optional cache), or the words are another program's (PostgreSQL's permission model).
  const cases = [
    { name: 'an optional cache that is missing, said as information', input: 'cache /var/cache/app/index.json not found (ENOENT), starting cold' },
    { name: 'retrying after a code, no error words', input: 'retrying after ECONNRESET' },
    { name: 'PostgreSQL permission words, not EACCES', input: 'ERROR:  permission denied for table users' },
    { name: 'a code inside a longer word', input: 'XENOENTX handler registered' },
    { name: 'a routine line by its own level', input: 'level=info msg="connect ECONNREFUSED 127.0.0.1:5432, retrying in 1s"' },
    { name: 'a stack frame', input: '    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1611:16)' },
    { name: 'the Node.js footer', input: 'Node.js v20.20.2' },
    { name: 'a fields line alone', input: "  code: 'ECONNREFUSED'," },
  ];
  for (const { name, input } of cases) it(name, () => assert.deepEqual(scanSignatures([input]), []));
});

describe('errnoSignature wordings without an object', () => {
  const cases = [
    { errno: 'ECONNREFUSED', want: 'a dependency refused connections (ECONNREFUSED)' },
    { errno: 'ETIMEDOUT', want: 'a dependency timed out (ETIMEDOUT)' },
    { errno: 'ENETUNREACH', want: 'a dependency was unreachable (ENETUNREACH)' },
    { errno: 'EDQUOT', want: 'disk quota exceeded' },
    { errno: 'EACCES', want: 'permission denied (EACCES)' },
    { errno: 'EPERM', want: 'operation not permitted (EPERM)' },
    { errno: 'ENOENT', want: 'missing file or directory (ENOENT)' },
    { errno: 'EADDRINUSE', want: 'address already in use (EADDRINUSE)' },
  ];
  for (const { errno, want } of cases) it(errno, () => assert.equal(errnoSignature({ errno }).cause, want));
});

// Scenarios whose cause is in the service's own words: an errno with its object, a runtime's fatal
// error, a timeout it names, or just an error line it logged. Each program fails for real; see
// programs/ for how.
import { AROUND, PORT } from '../ports';
import { binaryUnit, esc, exited, killed, nodeUnit, simple, trigger, unitFile, type Scenario } from '../scenario';

const ENOENT_CONFIG = '/etc/diag-corpus/config.json';

export const OWN_WORDS: Scenario[] = [
  simple('econnrefused', nodeUnit('econnrefused', 'dependency.js', { env: { DEP_NAME: 'database', DEP_PORT: AROUND.closedForNode } }), {
    about: 'its database port is closed: /health logs ECONNREFUSED and answers 503',
    happened: { journal: [['econnrefused.service', /database unreachable: connect ECONNREFUSED 127\.0\.0\.1:19190/]] },
    recorded: { journal: [/database unreachable: connect ECONNREFUSED 127\.0\.0\.1:19190/] },
    want: { cause: /^dependency 127\.0\.0\.1:19190 refused connections/, scope: 'invocation', confidence: 'likely', quote: /database unreachable: connect ECONNREFUSED/ },
  }),
  simple('econnreset', nodeUnit('econnreset', 'dependency.js', { env: { DEP_NAME: 'cache', DEP_PORT: AROUND.resetting } }), {
    about: 'its cache resets every connection: /health logs ECONNRESET and answers 503',
    // the reset lands during connect ("connect ECONNRESET 127.0.0.1:19155") or after ("read ECONNRESET",
    // no peer in Node's message: the program appends it); both are seen
    happened: { journal: [['econnreset.service', /cache unreachable: (connect ECONNRESET 127\.0\.0\.1:19155|read ECONNRESET \(peer 127\.0\.0\.1:19155\))/]] },
    recorded: { journal: [/ECONNRESET/] },
    want: { cause: /^dependency 127\.0\.0\.1:19155 reset the connection/, scope: 'invocation', confidence: 'likely', quote: /ECONNRESET/ },
  }),
  simple('python-connrefused', { 'python-connrefused.service': unitFile({ about: 'diagnosis corpus: python-connrefused', exec: '"@PYTHON@" -u "@PROGRAMS@/python/app.py"', env: { PORT: PORT['python-connrefused'], MODE: 'connrefused', DEP_PORT: AROUND.closedForPython } }) }, {
    about: 'a Python service whose database port is closed: ConnectionRefusedError logged, 503',
    needs: ['python3'],
    happened: { journal: [['python-connrefused.service', /database unreachable: cannot connect to 127\.0\.0\.1:19191: ConnectionRefusedError\(111/]] },
    recorded: { journal: [/ConnectionRefusedError\(111, 'Connection refused'\)/] },
    want: { cause: /^dependency 127\.0\.0\.1:19191 refused connections/, scope: 'invocation', confidence: 'likely', quote: /ConnectionRefusedError/ },
  }),
  simple('enoent-config', nodeUnit('enoent-config', 'reload.js', { env: { CONFIG: ENOENT_CONFIG } }), {
    about: 're-reads a config file that does not exist, uncaught: exit 1',
    happened: { journal: [['enoent-config.service', /Error: ENOENT: no such file or directory, open '\/etc\/diag-corpus\/config\.json'/], exited('enoent-config.service', '1/FAILURE')] },
    recorded: { journal: [/ENOENT: no such file or directory/] },
    want: { cause: new RegExp(`^missing file ${esc(ENOENT_CONFIG)}`), scope: 'invocation', confidence: 'certain', quote: /ENOENT/ },
  }),
  simple('eacces', nodeUnit('eacces', 'reload.js', { env: { CONFIG: '@SCRATCH@/eacces/api.token' }, service: ['User=nobody', 'Group=nogroup'] }), {
    about: 'runs as nobody and reads a root-only 0600 file, uncaught EACCES: exit 1',
    happened: { journal: [['eacces.service', /Error: EACCES: permission denied, open '\S+\/eacces\/api\.token'/], exited('eacces.service', '1/FAILURE')] },
    recorded: { journal: [/EACCES: permission denied/] },
    want: { cause: /^permission denied: \S*\/eacces\/api\.token/, scope: 'invocation', confidence: 'certain', quote: /EACCES/ },
  }),
  simple('emfile', nodeUnit('emfile', 'emfile.js', { service: ['LimitNOFILE=64'] }), {
    about: 'leaks descriptors under LimitNOFILE=64 until EMFILE, logs it, answers 503',
    happened: { journal: [['emfile.service', /error: cannot open session store: EMFILE: too many open files/]], show: [['emfile.service', { LimitNOFILE: '64' }]] },
    recorded: { journal: [/EMFILE: too many open files/] },
    want: { cause: /^out of file descriptors: \d+ of LimitNOFILE=64/, scope: 'invocation', confidence: 'likely', quote: /EMFILE/ },
  }),
  simple('eaddrinuse', nodeUnit('eaddrinuse', 'move.js', { env: { NEW_PORT: AROUND.taken } }), {
    about: 'a config reload moves it to a port another process holds: EADDRINUSE, exit 1',
    happened: { journal: [['eaddrinuse.service', /Error: listen EADDRINUSE: address already in use 127\.0\.0\.1:19151/], exited('eaddrinuse.service', '1/FAILURE')] },
    recorded: { journal: [/EADDRINUSE/] },
    want: { cause: /^port 19151 already in use/, scope: 'invocation', confidence: 'certain', quote: /EADDRINUSE/ },
  }),
  simple('v8-heap-oom', nodeUnit('v8-heap-oom', 'heap.js', { nodeArgs: ['--max-old-space-size=24'] }), {
    about: 'node --max-old-space-size=24 caches without bound: V8 heap out of memory, SIGABRT',
    happened: { journal: [['v8-heap-oom.service', /FATAL ERROR: .*JavaScript heap out of memory/], killed('v8-heap-oom.service', '6/ABRT')] },
    recorded: { journal: [/JavaScript heap out of memory/] },
    want: { cause: /^JavaScript heap out of memory \(V8\)/, scope: 'invocation', confidence: 'certain', quote: /JavaScript heap out of memory/ },
  }),
  simple('upstream-timeout', nodeUnit('upstream-timeout', 'upstream.js', { env: { UPSTREAM_PORT: AROUND.silentUpstream } }), {
    about: 'its upstream never answers: logs "upstream timeout ... timed out after 2000ms", 503',
    happened: { journal: [['upstream-timeout.service', /upstream timeout: GET http:\/\/127\.0\.0\.1:19150\/ timed out after 2000ms/]] },
    recorded: { journal: [/upstream timeout: GET http:\/\/127\.0\.0\.1:19150\/ timed out after 2000ms/] },
    want: { cause: /^timed out waiting for http:\/\/127\.0\.0\.1:19150\//, scope: 'invocation', confidence: 'likely', quote: /upstream timeout/ },
  }),
  simple('enospc', nodeUnit('enospc', 'enospc.js', { env: { DATA: '/data/cache.bin' }, service: ['TemporaryFileSystem=/data:size=256k'] }), {
    about: 'fills a 256k tmpfs at /data: every write then fails with ENOSPC, logged, 503',
    happened: { journal: [['enospc.service', /error: cannot write \/data\/cache\.bin: ENOSPC: no space left on device/]] },
    recorded: { journal: [/ENOSPC: no space left on device/] },
    want: { cause: /^disk full: no space left on device writing \/data\/cache\.bin/, scope: 'invocation', confidence: 'likely', quote: /ENOSPC/ },
  }),
  simple('generic-log', nodeUnit('generic-log', 'words.js', { env: { LINE: 'fatal: cache warmup failed: upstream returned garbage' } }), {
    about: 'logs one fatal line of its own and answers 503 (no signature knows it)',
    happened: { journal: [['generic-log.service', /^fatal: cache warmup failed: upstream returned garbage$/m]] },
    recorded: { journal: [/^fatal: cache warmup failed: upstream returned garbage$/] },
    want: { cause: /^the service logged: fatal: cache warmup failed: upstream returned garbage/, scope: 'invocation', confidence: 'likely', quote: /^fatal: cache warmup failed/ },
  }),
  simple('node-uncaught', nodeUnit('node-uncaught', 'words.js', { env: { THROW: 'invariant violated: order total is negative' } }), {
    about: 'throws an Error nobody catches: exit 1',
    act: (_sb, ctx) => trigger(ctx, PORT['node-uncaught'], '/throw'),
    happened: { journal: [['node-uncaught.service', /^Error: invariant violated: order total is negative$/m], exited('node-uncaught.service', '1/FAILURE')] },
    recorded: { journal: [/^Error: invariant violated: order total is negative$/] },
    want: { cause: /^uncaught Error: invariant violated: order total is negative/, scope: 'invocation', confidence: 'certain', quote: /^Error: invariant violated/ },
  }),
  simple('python-traceback', { 'python-traceback.service': unitFile({ about: 'diagnosis corpus: python-traceback', exec: '"@PYTHON@" -u "@PROGRAMS@/python/app.py"', env: { PORT: PORT['python-traceback'], MODE: 'keyerror' } }) }, {
    about: "a Python http.server service raises an uncaught KeyError('DATABASE_URL'): exit 1",
    needs: ['python3'],
    happened: { journal: [['python-traceback.service', /^Traceback \(most recent call last\):$/m], ['python-traceback.service', /^KeyError: 'DATABASE_URL'$/m], exited('python-traceback.service', '1/FAILURE')] },
    recorded: { journal: [/^KeyError: 'DATABASE_URL'$/] },
    want: { cause: /^Python exception: KeyError: 'DATABASE_URL'/, scope: 'invocation', confidence: 'certain', quote: /KeyError: 'DATABASE_URL'/ },
  }),
  simple('java-oom', { 'java-oom.service': unitFile({ about: 'diagnosis corpus: java-oom', exec: '"@JAVA@" -Xmx32m -XX:+ExitOnOutOfMemoryError "@PROGRAMS@/java/HeapHog.java"', env: { PORT: PORT['java-oom'] } }) }, {
    about: 'a JVM with -Xmx32m caches without bound: OutOfMemoryError, the JVM exits',
    needs: ['java'],
    happened: { journal: [['java-oom.service', /Terminating due to java\.lang\.OutOfMemoryError: Java heap space/], exited('java-oom.service', '3/NOTIMPLEMENTED')] },
    recorded: { journal: [/java\.lang\.OutOfMemoryError: Java heap space/] },
    want: { cause: /^Java OutOfMemoryError: Java heap space/, scope: 'invocation', confidence: 'certain', quote: /OutOfMemoryError/ },
  }),
  simple('rust-panic', binaryUnit('rust-panic', 'rust-panic'), {
    about: 'a std-only Rust server panics (Option::expect on None): exit 101',
    needs: ['rustc'],
    happened: { journal: [['rust-panic.service', /thread 'main' .*panicked at rust\/panic\.rs:\d+:\d+:/], ['rust-panic.service', /^shard map is empty$/m], exited('rust-panic.service', '101')] },
    recorded: { journal: [/panicked at rust\/panic\.rs/] },
    want: { cause: /^Rust panic: shard map is empty \(rust\/panic\.rs:\d+:\d+\)/, scope: 'invocation', confidence: 'certain', quote: /panicked at|shard map is empty/ },
  }),
  simple('go-panic', binaryUnit('go-panic', 'go-panic'), {
    about: 'a Go server indexes past a slice: runtime panic, exit 2',
    needs: ['go'],
    happened: { journal: [['go-panic.service', /^panic: runtime error: index out of range \[5\] with length 3$/m], exited('go-panic.service', '2/INVALIDARGUMENT')] },
    recorded: { journal: [/^panic: runtime error: index out of range \[5\] with length 3$/] },
    want: { cause: /^Go panic: runtime error: index out of range \[5\] with length 3/, scope: 'invocation', confidence: 'certain', quote: /^panic: runtime error/ },
  }),
  simple('go-fatal', binaryUnit('go-fatal', 'go-fatal'), {
    about: 'a Go server recurses past its 8 MiB stack: "fatal error: stack overflow", exit 2',
    needs: ['go'],
    happened: { journal: [['go-fatal.service', /^fatal error: stack overflow$/m], exited('go-fatal.service', '2/INVALIDARGUMENT')] },
    recorded: { journal: [/^fatal error: stack overflow$/] },
    want: { cause: /^Go fatal error: stack overflow/, scope: 'invocation', confidence: 'certain', quote: /^fatal error: stack overflow/ },
  }),
  simple('glibc-double-free', binaryUnit('glibc-double-free', 'double-free'), {
    about: 'a C server frees a buffer twice: glibc aborts (SIGABRT)',
    needs: ['gcc'],
    happened: { journal: [['glibc-double-free.service', /^free\(\): double free detected in tcache 2$/m], killed('glibc-double-free.service', '6/ABRT')] },
    recorded: { journal: [/double free detected in tcache 2/] },
    want: { cause: /^glibc: double free detected in tcache 2/, scope: 'invocation', confidence: 'certain', quote: /double free detected/ },
  }),
  simple('glibc-stack-smash', binaryUnit('glibc-stack-smash', 'stack-smash'), {
    about: 'a C server overruns a stack buffer (-fstack-protector-all): glibc aborts (SIGABRT)',
    needs: ['gcc'],
    happened: { journal: [['glibc-stack-smash.service', /\*\*\* stack smashing detected \*\*\*: terminated/], killed('glibc-stack-smash.service', '6/ABRT')] },
    recorded: { journal: [/stack smashing detected/] },
    want: { cause: /^glibc: stack smashing detected/, scope: 'invocation', confidence: 'certain', quote: /stack smashing detected/ },
  }),
];

// runtime family: a runtime saying it is dying, and of what. Python's traceback (its last exception
// line), Java's uncaught exception and its `Caused by:` chain, Go's `panic:` and `fatal error:`, Rust's
// `panicked at`, V8's heap out of memory, glibc's abort messages. Each arrives as several journal lines
// and gives one match; a fatal exception that carries an errno gives the errno signature instead
// (`FileNotFoundError: [Errno 2] ... '/x'` is "missing file /x"), as strong, since the runtime died of it.
// (Node's own error objects are in node.ts.)

import type { SignatureMatch } from './types';
import { errnoFromClass, errnoFromText, errnoSignature, isNetworkErrno, type ErrnoFacts } from './errno';
import { hostPorts } from './tokens';
import type { Found } from './found';

type Strength = SignatureMatch['strength'];

function runtimeMatch(id: string, cause: string, line: number, lines: number[], runtime: string, strength: Strength = 'proves'): SignatureMatch {
  return { id: `runtime.${id}`, family: 'runtime', cause, line, lines, strength, object: { runtime } };
}

function errnoMatch(f: ErrnoFacts, line: number, lines: number[], runtime: string, strength: Strength): SignatureMatch {
  return { ...errnoSignature(f, runtime), family: 'errno', line, lines, strength };
}

const blank = (s: string | undefined) => s !== undefined && s.trim() === '';

// --- Python ---

const TRACEBACK = /^Traceback \(most recent call last\):$/;
const CHAIN = /^(?:During handling of the above exception, another exception occurred|The above exception was the direct cause of the following exception):$/;

/** The index of the next line that continues a chained traceback after blank lines, if one does. */
function chainAfter(lines: readonly string[], j: number): number | undefined {
  let k = j;
  while (blank(lines[k])) k++;
  return k < lines.length && (CHAIN.test(lines[k]!) || TRACEBACK.test(lines[k]!)) ? k : undefined;
}

/**
 * `Traceback (most recent call last):`, frames (indented), the exception line (the first unindented
 * one), and any chained tracebacks after it: the LAST exception line is the one the program died of.
 * Cut before its exception line, a traceback names nothing: no match.
 */
export function pythonBlock(lines: readonly string[], i: number): Found | undefined {
  if (!TRACEBACK.test(lines[i]!)) return undefined;
  const used = [i];
  let last: number | undefined;
  // a chained traceback cut before its own exception line still has the one before it
  let earlier: number | undefined;
  let j = i + 1;
  while (j < lines.length) {
    const line = lines[j]!;
    if (TRACEBACK.test(line) || CHAIN.test(line)) {
      earlier = last ?? earlier;
      last = undefined;
      used.push(j++);
      continue;
    }
    if (last === undefined && line.trim() !== '') {
      // frames and source lines are indented; the exception line is not
      if (!/^\s/.test(line)) last = j;
      used.push(j++);
      continue;
    }
    // a blank line, or a line after the exception: only a chained traceback continues the block
    const k = chainAfter(lines, j);
    if (k === undefined) break;
    while (j < k) used.push(j++);
  }
  last ??= earlier;
  if (last === undefined) return { lines: used, head: i };
  const text = lines[last]!.trim();
  const f = errnoFromText(text, true);
  const match = f ? errnoMatch(f, last, used, 'python', 'proves') : runtimeMatch('python-traceback', `Python exception: ${text}`, last, used, 'python');
  return { lines: used, head: last, match };
}

// --- Java ---

const JAVA_THREAD = /^Exception in thread "([^"]*)" (.*)$/;
const JAVA_CLASS = /^((?:[a-zA-Z_$][\w$]*\.)+[A-Z][\w$]*)(?::\s?(.*))?$/;
const JAVA_FRAME = /^\s+at [\w$./<>-]+\(.*\)$/;
const JAVA_TAIL = /^\s+\.\.\. \d+ (?:more|common frames omitted)$/;

interface JavaThrowable {
  line: number;
  cls: string;
  message: string;
}

/**
 * `Exception in thread "main" java.lang.X: msg` (uncaught) or a logged `java.lang.X: msg` followed by
 * `\tat` frames, with its `Caused by:` chain. OutOfMemoryError and StackOverflowError anywhere in the
 * chain name the cause; else the deepest errno in the chain; else, uncaught, the root cause.
 */
export function javaBlock(lines: readonly string[], i: number): Found | undefined {
  const thread = JAVA_THREAD.exec(lines[i]!);
  const first = JAVA_CLASS.exec(thread ? thread[2]! : lines[i]!);
  if (!first || (!thread && !JAVA_FRAME.test(lines[i + 1] ?? ''))) return undefined;
  const chain: JavaThrowable[] = [{ line: i, cls: first[1]!, message: first[2] ?? '' }];
  const used = [i];
  let j = i + 1;
  for (; j < lines.length; j++) {
    const line = lines[j]!;
    const caused = /^Caused by: (.*)$/.exec(line);
    const c = caused ? JAVA_CLASS.exec(caused[1]!) : undefined;
    if (c) chain.push({ line: j, cls: c[1]!, message: c[2] ?? '' });
    else if (!JAVA_FRAME.test(line) && !JAVA_TAIL.test(line) && !/^\s+Suppressed: /.test(line)) break;
    used.push(j);
  }
  const uncaught = thread !== null;
  const strength: Strength = uncaught && thread[1] === 'main' ? 'proves' : 'suggests';
  const oom = chain.find((t) => t.cls === 'java.lang.OutOfMemoryError');
  if (oom) return { lines: used, head: oom.line, match: javaOom(oom.message, oom.line, used) };
  const soe = chain.find((t) => t.cls === 'java.lang.StackOverflowError');
  if (soe) return { lines: used, head: soe.line, match: runtimeMatch('java-stack-overflow', 'Java StackOverflowError', soe.line, used, 'java') };
  for (const t of [...chain].reverse()) {
    const f = errnoFromClass(t.cls, t.message) ?? errnoFromText(t.message, true);
    if (!f) continue;
    // `java.net.ConnectException: Connection refused` names no peer; the exception around it may
    // (PostgreSQL's "Connection to localhost:5432 refused")
    if (!f.peer && isNetworkErrno(f.errno)) {
      const peer = chain.flatMap((c) => hostPorts(c.message))[0];
      if (peer) f.peer = peer;
    }
    return { lines: used, head: t.line, match: errnoMatch(f, t.line, used, 'java', strength) };
  }
  const root = chain[chain.length - 1]!;
  if (!uncaught) return { lines: used, head: root.line };
  const text = `${root.cls}${root.message ? `: ${root.message}` : ''}`;
  return { lines: used, head: root.line, match: runtimeMatch('java-exception', `Java exception: ${text}`, root.line, used, 'java', strength) };
}

function javaOom(message: string, line: number, lines: number[]): SignatureMatch {
  const what = /^[A-Z]/.test(message) ? `: ${message}` : '';
  return runtimeMatch('java-oom', `Java OutOfMemoryError${what}`, line, lines, 'java');
}

/** A JVM error outside a stack trace: `Terminating due to java.lang.OutOfMemoryError: Java heap space`. */
export function javaLine(lines: readonly string[], i: number): SignatureMatch | undefined {
  const line = lines[i]!;
  const oom = /\bjava\.lang\.OutOfMemoryError(?:: ([^"]+?))?\s*$/.exec(line) ?? /\bjava\.lang\.OutOfMemoryError\b/.exec(line);
  if (oom) return javaOom(oom[1] ?? '', i, [i]);
  if (/\bjava\.lang\.StackOverflowError\b/.test(line)) return runtimeMatch('java-stack-overflow', 'Java StackOverflowError', i, [i], 'java');
  return undefined;
}

// --- Go ---

const GO_PANIC = /^panic: (.*?)(?: \[recovered\])?$/;
const GO_FATAL = /^fatal error: (.+)$/;
const GO_GOROUTINE = /^goroutine \d+ \[[^\]]*\]:$/;

/**
 * `panic: <message>` or `fatal error: <message>`, then `goroutine 1 [running]:` and frames. A `panic:`
 * line counts when a goroutine or `[signal ...]` line follows within 4 lines, or the input ends first (a
 * cut-off trace): "panic: disk almost full" in a sentence is not Go's.
 */
export function goBlock(lines: readonly string[], i: number): Found | undefined {
  const panic = GO_PANIC.exec(lines[i]!);
  const fatal = panic ? null : GO_FATAL.exec(lines[i]!);
  if (!panic && !fatal) return undefined;
  const ahead = lines.slice(i + 1, i + 5);
  // a runtime's dump follows: goroutines, a signal, or (a fatal error in the runtime itself, e.g. a stack
  // overflow) "runtime stack:" and its frames
  if (ahead.length === 4 && !ahead.some((l) => GO_GOROUTINE.test(l) || /^\[signal /.test(l) || /^runtime stack:$/.test(l))) return undefined;
  const used: number[] = [];
  // the runtime's own lines before a fatal error: `runtime: out of memory: cannot allocate ...`
  for (let k = i - 1; k >= 0 && /^runtime: /.test(lines[k]!); k--) used.unshift(k);
  used.push(i);
  let j = i + 1;
  for (; j < lines.length; j++) {
    const line = lines[j]!;
    const frame = /^\t/.test(line) || GO_GOROUTINE.test(line) || /^\[signal /.test(line) || /^created by /.test(line) || /^runtime stack:$/.test(line);
    const func = /^\S/.test(line) && /^\t\//.test(lines[j + 1] ?? '');
    if (!frame && !func && !(blank(line) && j + 1 < lines.length && GO_GOROUTINE.test(lines[j + 1]!))) break;
    used.push(j);
  }
  if (fatal) return { lines: used, head: i, match: runtimeMatch('go-fatal', `Go fatal error: ${fatal[1]}`, i, used, 'go') };
  const f = errnoFromText(panic![1]!, true);
  const match = f ? errnoMatch(f, i, used, 'go', 'proves') : runtimeMatch('go-panic', `Go panic: ${panic![1]}`, i, used, 'go');
  return { lines: used, head: i, match };
}

// --- Rust ---

// Rust >= 1.73: `thread 'main' panicked at src/main.rs:2:5:` and the message on the next line; Rust
// 1.9x adds the thread id: `thread 'main' (123) panicked at ...`. Before 1.73, one line:
// `thread 'main' panicked at 'boom', src/main.rs:2:5`.
const RUST_NEW = /^thread '([^']*)'(?: \(\d+\))? panicked at (.+):$/;
const RUST_OLD = /^thread '([^']*)'(?: \(\d+\))? panicked at '(.*)', (\S+:\d+:\d+)$/;

export function rustBlock(lines: readonly string[], i: number): Found | undefined {
  const line = lines[i]!;
  const old = RUST_OLD.exec(line);
  const now = old ? null : RUST_NEW.exec(line);
  if (!old && !now) return undefined;
  const used = [i];
  let head = i;
  let message = old ? old[2]! : '';
  let j = i + 1;
  if (now && j < lines.length && !/^(?:note: |stack backtrace:$)/.test(lines[j]!)) {
    head = j;
    message = lines[j]!.trim();
    used.push(j++);
    // assert_eq!'s `  left: 1` / ` right: 2` continue the message, indented
    while (j < lines.length && /^\s+\S/.test(lines[j]!) && !/^\s+\d+: /.test(lines[j]!)) used.push(j++);
  }
  for (; j < lines.length && /^(?:note: |stack backtrace:$|\s+\d+: |\s+at )/.test(lines[j]!); j++) used.push(j);
  const where = old ? old[3]! : now![2]!;
  const strength: Strength = (old ?? now)![1] === 'main' ? 'proves' : 'suggests';
  const f = message ? errnoFromText(message, true) : undefined;
  const match = f
    ? errnoMatch(f, head, used, 'rust', strength)
    : runtimeMatch('rust-panic', `Rust panic: ${message ? `${message} ` : ''}(${where})`, head, used, 'rust', strength);
  return { lines: used, head, match };
}

// --- V8 ---

const V8_OOM = /^FATAL ERROR: .*JavaScript heap out of memory\s*$/;
const V8_AROUND = /^(?:\s*$|<--- [\w ]+ --->$|\[\d+:0x[0-9a-f]+\]\s+\d+ ms: |----- Native stack trace -----$|\s*\d+: 0x[0-9a-f]+ )/;

/** `FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory`, with V8's report around it. */
export function v8Block(lines: readonly string[], i: number): Found | undefined {
  if (!V8_OOM.test(lines[i]!)) return undefined;
  let from = i;
  while (from > 0 && V8_AROUND.test(lines[from - 1]!) && !/^----- /.test(lines[from - 1]!)) from--;
  while (from < i && blank(lines[from])) from++;
  let to = i;
  while (to + 1 < lines.length && V8_AROUND.test(lines[to + 1]!) && !/^<--- /.test(lines[to + 1]!)) to++;
  while (to > i && blank(lines[to])) to--;
  const used = Array.from({ length: to - from + 1 }, (_, k) => from + k);
  return { lines: used, head: i, match: runtimeMatch('v8-heap-oom', 'JavaScript heap out of memory (V8)', i, used, 'v8') };
}

// --- glibc ---

const GLIBC: readonly RegExp[] = [
  /^(?:free|malloc|realloc|calloc|munmap_chunk|malloc_consolidate|_int_free|_int_malloc|_int_realloc|tcache_thread_shutdown)\(\): (.+)$/,
  /^(double free or corruption \(\S+\))$/,
  /^(corrupted size vs\. prev_size(?: in fastbins)?)$/,
  /^(corrupted double-linked list(?: \(not small\))?)$/,
  /^\*\*\* (stack smashing detected|buffer overflow detected) \*\*\*: .*terminated$/,
  /^Fatal glibc error: (.+)$/,
  // glibc < 2.26: *** Error in `./app': double free or corruption (fasttop): 0x0000000001e4c010 ***
  /^\*\*\* Error in `[^`]*': (.+?): 0x[0-9a-f]+ \*\*\*$/,
];

/** glibc's abort messages, each a whole line: "glibc: double free detected in tcache 2". */
export function glibcLine(lines: readonly string[], i: number): SignatureMatch | undefined {
  for (const re of GLIBC) {
    const m = re.exec(lines[i]!);
    if (m) return runtimeMatch('glibc', `glibc: ${m[1]}`, i, [i], 'glibc');
  }
  return undefined;
}

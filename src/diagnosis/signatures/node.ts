// Node error objects as they reach the journal, one line per entry:
//
//   node:fs:448                                    <- uncaught only: where it was thrown,
//       return binding.readFileUtf8(path, ...);    <- the source line
//                      ^                           <- and a caret
//
//   Error: ENOENT: no such file or directory, open '/etc/app/config.json'    <- the head (the line quoted)
//       at Object.readFileSync (node:fs:448:20)   <- frames; the last one opens the fields
//       at node:internal/main/run_main_module:28:49 {
//     errno: -2,
//     code: 'ENOENT',
//     syscall: 'open',
//     path: '/etc/app/config.json'
//   }
//
//   Node.js v20.20.2                               <- uncaught only: the footer
//
// plus nested `[cause]: Error: ...` objects (fetch), `[errors]: [ Error: ..., ... ]` (AggregateError),
// `Emitted 'error' event on Socket instance at:`, the old `{ Error: ... port: 443 }` inspect form of
// Node <= 10, and a thrown non-Error (`throw 'queue closed'`) printed bare. One block gives one match.

import type { SignatureMatch } from './types';
import { errnoFromNodeError, errnoSignature, type ErrnoFacts } from './errno';
import type { Found } from './found';

const HEADER = /^(?:node:[\w/.-]+|file:\/\/\S+|\/\S+|[A-Za-z]:\\\S+|[\w./-]+\.[cm]?js):\d+$/;
const CARET = /^\s*\^+\s*$/;
const FOOTER = /^Node\.js v\d+\.\d+\.\d+$/;
const FRAME = /^\s+at \S/;
const TRAILER = /^(?:Emitted '[\w-]+' event on .* at:|Thrown at:|\s*\.\.\. \d+ lines matching cause stack trace \.\.\.|\(Use `node --trace-[\w-]+ \.\.\.` to show where .*\))$/;
// `Error: x`, `TypeError [ERR_X]: x`, `DOMException [TimeoutError]: x`, `[Error: x] {`, `{ Error: x`;
// not a Java class (`java.lang.IllegalStateException:` is preceded by a dot)
const ERROR_HEAD = /(?<![\w.$])((?:[A-Z][\w$]*)?(?:Error|Exception)|UnhandledPromiseRejection)(?: \[([\w-]+)\])?: ?(.*)$/;
const FIELD = /^([\w$]+|\[[\w$]+\]): (.*)$/;

interface NodeError {
  line: number;
  name: string;
  message: string;
  fields: Record<string, string | number>;
}

function parseHead(text: string, line: number): (NodeError & { prefix: string }) | undefined {
  const m = ERROR_HEAD.exec(text);
  if (!m) return undefined;
  const code = m[2];
  const name = m[1] === 'DOMException' && code ? code : code ? `${m[1]} [${code}]` : m[1]!;
  // `[Error: ENOENT: ...] {` and `{ [Error: connect ETIMEDOUT 10.10.34.36:443]`: the inspect brackets
  const message = m[3]!.replace(/\s*\{$/, '').replace(/\]$/, '').trim();
  return { line, name, message, fields: {}, prefix: text.slice(0, m.index) };
}

function parseValue(v: string): string | number {
  const s = /^'(.*)'$/.exec(v);
  if (s) return s[1]!.replace(/\\'/g, "'");
  return /^-?\d+$/.test(v) ? Number(v) : v;
}

const opens = (s: string) => /[{[]$/.test(s);

/**
 * The Node error block at line `i` (its header or, for a caught error logged whole, its head), or
 * undefined when line `i` starts none. A plain `Error: x` line with no frames, fields or header is not
 * a block: the line families read it as one line.
 */
export function nodeBlock(lines: readonly string[], i: number): Found | undefined {
  const used: number[] = [];
  let uncaught = false;
  let head = i;
  if (HEADER.test(lines[i]!) && CARET.test(lines[i + 2] ?? '')) {
    uncaught = true;
    used.push(i, i + 1, i + 2);
    head = i + 3;
    while (head < lines.length && lines[head]!.trim() === '') used.push(head++);
    if (head >= lines.length) return { lines: used, head: i };
  }
  const top = parseHead(lines[head]!, head);
  if (!top) return uncaught ? thrownValue(lines, head, used) : undefined;
  const rest = messageLines(lines, head);
  const next = lines[head + 1 + rest] ?? '';
  if (!uncaught && !FRAME.test(next) && !opens(lines[head]!) && !top.prefix.includes('{')) return undefined;
  // a service's own last-resort handler says so before the error: `uncaughtException: Error: ...`,
  // `Uncaught Error: ...`, `unhandledRejection: ...`
  // (not any "unhandled": "unhandled request error: Error: ..." is a server answering 500)
  if (/\b(?:uncaught|unhandled)\s*(?:exception|rejection)\b|\bUncaught\s*$/i.test(top.prefix)) uncaught = true;
  for (let k = head; k <= head + rest; k++) used.push(k);

  const errors: NodeError[] = [top];
  // owners of the open braces: fields belong to the innermost one
  const stack: (NodeError | undefined)[] = [];
  if (top.prefix.includes('{')) stack.push(top);
  if (opens(lines[head]!)) stack.push(top);
  let current: NodeError = top;
  let j = head + 1 + rest;
  for (; j < lines.length; j++) {
    const line = lines[j]!;
    const t = line.trim();
    if (stack.length === 0) {
      if (FRAME.test(line) || TRAILER.test(t)) {
        used.push(j);
        if (opens(t)) stack.push(current);
        continue;
      }
      const end = footerAfter(lines, j);
      if (end !== undefined) {
        for (; j <= end; j++) used.push(j);
        uncaught = true;
      }
      break;
    }
    // inside the fields every line is indented; an unindented one means the object was cut off
    if (!/^\s/.test(line) && !/^[}\]]/.test(t)) break;
    used.push(j);
    if (/^[}\]]/.test(t)) {
      stack.pop();
      continue;
    }
    const nested = /^(?:\[cause\]: )?((?:[A-Z][\w$]*)?(?:Error|Exception)\b.*)$/.exec(t);
    const err = nested ? parseHead(nested[1]!, j) : undefined;
    if (err) {
      errors.push(err);
      current = err;
      if (opens(t)) stack.push(err);
      continue;
    }
    if (FRAME.test(line)) {
      if (opens(t)) stack.push(current);
      continue;
    }
    const f = FIELD.exec(t);
    if (!f) continue;
    const closes = /\s\}$/.test(f[2]!);
    const value = f[2]!.replace(/\s*\}$/, '').replace(/,$/, '');
    const owner = stack[stack.length - 1];
    if (owner && !(f[1]! in owner.fields)) owner.fields[f[1]!] = parseValue(value);
    if (opens(value)) stack.push(owner);
    if (closes) stack.pop();
  }
  // without the header or the footer there is no telling a dying process from a logged error: logged
  const match = classify(errors, uncaught);
  if (match) match.lines = used;
  return { lines: used, head: top.line, match };
}

/**
 * How many lines after the head continue its message (`Error: Cannot find module 'x'` is followed by
 * `Require stack:` and `- /srv/app/index.js` before its frames): up to 8 lines, when a frame follows.
 */
function messageLines(lines: readonly string[], head: number): number {
  for (let k = head + 1; k < lines.length && k <= head + 9; k++) {
    if (FRAME.test(lines[k]!)) return k - head - 1;
    // another error's head is not this one's message
    if (lines[k]!.trim() === '' || FOOTER.test(lines[k]!) || ERROR_HEAD.test(lines[k]!)) return 0;
  }
  return 0;
}

/** The index of the `Node.js vX` footer when line `j` is it or blank lines lead to it. */
function footerAfter(lines: readonly string[], j: number): number | undefined {
  let k = j;
  while (k < lines.length && lines[k]!.trim() === '') k++;
  return k < lines.length && FOOTER.test(lines[k]!) ? k : undefined;
}

/** `throw 'queue closed'`: Node prints the value itself after the caret, then a hint or `Thrown at:`. */
function thrownValue(lines: readonly string[], head: number, used: number[]): Found {
  used.push(head);
  let j = head + 1;
  for (; j < lines.length && (FRAME.test(lines[j]!) || TRAILER.test(lines[j]!.trim())); j++) used.push(j);
  const end = footerAfter(lines, j);
  if (end !== undefined) for (; j <= end; j++) used.push(j);
  const value = lines[head]!.trim();
  const match: SignatureMatch = {
    id: 'runtime.node-uncaught',
    family: 'runtime',
    cause: `uncaught exception: ${value}`,
    line: head,
    lines: used,
    strength: 'proves',
    object: { runtime: 'node' },
  };
  return { lines: used, head, match };
}

/**
 * One match for the whole object: the first error in it (the outer one, then its causes) that carries
 * an errno gives the errno signature; else an uncaught error is `runtime.node-uncaught`; a caught error
 * without an errno gives none (the last words quote it).
 */
function classify(errors: readonly NodeError[], uncaught: boolean): SignatureMatch | undefined {
  const strength = uncaught ? 'proves' : 'suggests';
  for (const e of errors) {
    const facts = errnoFromNodeError(e.message, e.fields);
    if (!facts) continue;
    // the line quoted is the one that names the peer: an AggregateError's head names none
    const { facts: full, from } = withPeer(facts, errors);
    return { ...errnoSignature(full, 'node'), family: 'errno', line: (from ?? e).line, lines: [], strength };
  }
  if (!uncaught) return undefined;
  const top = errors[0]!;
  // the reason of a rejection with a non-Error: `... The promise rejected with the reason "queue closed".`
  const reason = top.name === 'UnhandledPromiseRejection' ? /rejected with the reason "(.*)"\.$/.exec(top.message)?.[1] : undefined;
  const cause = reason !== undefined ? `uncaught promise rejection: ${reason}` : `uncaught ${top.name}${top.message ? `: ${top.message}` : ''}`;
  return { id: 'runtime.node-uncaught', family: 'runtime', cause, line: top.line, lines: [], strength, object: { runtime: 'node' } };
}

/**
 * An AggregateError's own code has no address: take the peer of an error inside with the same code,
 * the first IPv4 one if any (for "localhost", 127.0.0.1:5432 reads better than [::1]:5432).
 */
function withPeer(facts: ErrnoFacts, errors: readonly NodeError[]): { facts: ErrnoFacts; from?: NodeError } {
  if (facts.peer) return { facts };
  const inner = errors.flatMap((e) => {
    const f = errnoFromNodeError(e.message, e.fields);
    return f?.errno === facts.errno && f.peer ? [{ e, peer: f.peer }] : [];
  });
  const pick = inner.find((x) => !x.peer.startsWith('[')) ?? inner[0];
  return pick ? { facts: { ...facts, peer: pick.peer }, from: pick.e } : { facts };
}

// The signature catalogue over the lines of one run: every match, in line order, all families.
// Multi-line error blocks (a Node error object, a Python traceback, a Java stack trace, a Go or Rust
// panic, V8's heap report) are read first and give one match each; the remaining lines are read one
// by one (glibc's abort messages, a JVM error, an errno a service logged, a timeout it reported).

import type { SignatureMatch } from './types';
import type { Found } from './found';
import { errnoLine } from './errno';
import { nodeBlock } from './node';
import { glibcLine, goBlock, javaBlock, javaLine, pythonBlock, rustBlock, v8Block } from './runtime';
import { timeoutLine } from './timeout';
import { declaredLevel, isNoise } from './words';

type BlockReader = (lines: readonly string[], i: number) => Found | undefined;
type LineReader = (lines: readonly string[], i: number) => SignatureMatch | undefined;

// Java before Node: `java.lang.X: msg` with `\tat` frames would also read as a Node error head.
const BLOCKS: readonly BlockReader[] = [javaBlock, pythonBlock, goBlock, rustBlock, v8Block, nodeBlock];
// the runtimes' own single lines before a service's words
const LINES: readonly LineReader[] = [glibcLine, javaLine, errnoLine, timeoutLine];

export interface Scan {
  matches: SignatureMatch[];
  /** lines that belong to a multi-line block, by index */
  covered: boolean[];
  /** the head line of each block that named no cause (a caught `Error: boom` logged whole) */
  unnamed: number[];
}

/**
 * A service's words on a line it marked routine (`level=info`, `"level":"debug"`) are not read by the
 * line families: "idle connection timed out" at debug is how it says nothing is wrong.
 */
function lineMatch(lines: readonly string[], i: number): SignatureMatch | undefined {
  if (declaredLevel(lines[i]!) === 'quiet') return undefined;
  for (const read of LINES) {
    const m = read(lines, i);
    if (m) return m;
  }
  return undefined;
}

/** Every match and which lines the blocks cover (last-words.ts reads the rest). */
export function scan(lines: readonly string[]): Scan {
  const covered: boolean[] = new Array<boolean>(lines.length).fill(false);
  const matches: SignatureMatch[] = [];
  const unnamed: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (covered[i]) continue;
    let found: Found | undefined;
    for (const read of BLOCKS) if ((found = read(lines, i))) break;
    if (found) {
      for (const k of found.lines) covered[k] = true;
      // a logged error object without a cause of its own may still say what it is in its head line
      const m = found.match ?? lineMatch(lines, found.head);
      if (m) matches.push(found.match ? m : { ...m, lines: found.lines });
      else unnamed.push(found.head);
      continue;
    }
    if (isNoise(lines[i]!)) continue;
    const m = lineMatch(lines, i);
    if (m) matches.push(m);
  }
  matches.sort((a, b) => a.line - b.line);
  return { matches, covered, unnamed };
}

/** Every signature match over the lines of one run (journal MESSAGEs, oldest first), in line order. */
export function scanSignatures(lines: readonly string[]): SignatureMatch[] {
  return scan(lines).matches;
}

// Which single lines read as errors, and which are noise (stack frames, runtime footers, carets).
// journald gives a service's stdout and stderr the same priority (info) unless it writes `<3>` prefixes,
// so priority alone misses most error lines: their words have to say it.

// Words that make a line an error. `timeout` and `timed out` count; `warn` does not (last words are
// errors). An errno name alone does not: "cache missing (ENOENT), starting cold" is information; the
// forms in which a runtime reports an errno are signatures (errno.ts) and count as last words by that.
const ERROR_WORDS = new RegExp(
  String.raw`\b(?:errors?|err|fatal|fail(?:ed|ure|ures|s|ing)?|refused|denied|exceptions?|cannot|can't|could not|couldn't|unable|panic(?:ked)?|abort(?:ed|ing)?|crash(?:ed|es|ing)?|timed out|timeouts?|killed|segfault|segmentation fault|unreachable|not permitted|no such file|no space left|out of memory|unhandled|uncaught|corrupt(?:ed|ion)?|critical|crit|emerg|alert)\b`,
  'i',
);

// Phrases that say there is no error: "0 errors", "no errors", "without failures", "errors=0",
// "errors: 0", "error-free", "log level: error" (a setting echoed at start), "timeout=30s" and
// "(timeout 30s)" (settings).
const NOT_ERRORS = [
  /\b(?:0|no|zero|without|none of the)\s+(?:errors?|failures?|failed|exceptions?|timeouts?|crash(?:es)?|panics?)\b/gi,
  /\b(?:errors?|failures?|failed|exceptions?|timeouts?|crash(?:es)?|panics?)\s*[=:]\s*(?:0|none|no|false|null|nil)\b/gi,
  /\b(?:errors?|fail(?:ure)?)[- ]free\b/gi,
  /\blog[_ -]?level\s*[=:]?\s*\w+/gi,
  /\b(?:\w+[_-])?timeouts?(?:[_-]\w+)?\s*[=: ]\s*\d\w*/gi,
  /\b(?:on|if|handle|handling|catch|ignor(?:e|ing)|suppress(?:ed|ing)?)\s+errors?\b/gi,
];

// Levels of structured logs: `"level":"info"`, `level=warn`, pino's numbers (30 info, 50 error).
const LEVEL = /(?:"(?:level|severity|lvl)"\s*:\s*"?|\b(?:level|severity|lvl)=)"?([A-Za-z]+|\d{2})\b/i;
const ERROR_LEVELS = new Set(['error', 'err', 'fatal', 'panic', 'critical', 'crit', 'alert', 'emerg', 'emergency', '50', '60']);
const OTHER_LEVELS = new Set(['trace', 'debug', 'info', 'notice', 'warn', 'warning', 'verbose', '10', '20', '30', '40']);

/**
 * The level a structured line declares for itself: `error` (error and worse), `quiet` (trace, debug,
 * info: the service said this is routine), `warn`, or undefined when it declares none.
 */
export function declaredLevel(line: string): 'error' | 'warn' | 'quiet' | undefined {
  const level = LEVEL.exec(line)?.[1]?.toLowerCase();
  if (!level) return undefined;
  if (ERROR_LEVELS.has(level)) return 'error';
  if (level === 'warn' || level === 'warning' || level === '40') return 'warn';
  return OTHER_LEVELS.has(level) ? 'quiet' : undefined;
}

/**
 * Whether a line reads as an error by its words. A structured line's own level decides when it has one
 * (`level=info msg="retrying after error"` is not an error: the service said so); phrases that count
 * zero errors are not errors; `error_count=3` is a metric, not an error word.
 */
export function readsAsError(line: string): boolean {
  const level = declaredLevel(line);
  if (level) return level === 'error';
  let rest = line;
  for (const re of NOT_ERRORS) rest = rest.replace(re, ' ');
  return ERROR_WORDS.test(rest);
}

// One pattern per kind of noise, each a whole line.
const NOISE: readonly RegExp[] = [
  /^\s*$/,
  // stack frames: Node (4 spaces) and Java (a tab), Rust's `at /rustc/...`, "... 12 more"
  /^\s+at \S/,
  /^\s*\.\.\. \d+ (?:more|lines matching cause stack trace \.\.\.)$/,
  // the footer and hints of a Node fatal exception, its source header and caret
  /^Node\.js v\d+\.\d+\.\d+$/,
  /^\(Use `node --trace-[\w-]+ \.\.\.` to show where .*\)$/,
  /^Thrown at:$/,
  /^Emitted '[\w-]+' event on .* at:$/,
  /^(?:node:[\w/.-]+|file:\/\/\S+|\/\S+\.[cm]?[jt]sx?|[\w./-]+\.[cm]?js):\d+$/,
  /^\s*[\^~]+\s*$/,
  // Python
  /^Traceback \(most recent call last\):$/,
  /^\s+File ".*", line \d+/,
  /^(?:During handling of the above exception, another exception occurred|The above exception was the direct cause of the following exception):$/,
  // Go
  /^goroutine \d+ \[[^\]]*\]:$/,
  /^\t\/\S+\.go:\d+(?: \+0x[0-9a-f]+)?$/,
  /^created by \S+/,
  // a frame's function: `main.main()`, `net/http.(*conn).serve(0xc000120000, {0x6b2f38, 0xc000108000})`
  // (one character class before the arguments: nested ones backtrack badly on long dotted lines)
  /^(?=[^\s(]*\.)[\w./*()-]+\((?:[\s,{}]|0x[0-9a-f]+|\.\.\.)*\)$/,
  // Rust
  /^note: run with `RUST_BACKTRACE=(?:1|full)`/,
  /^note: Some details are omitted, run with `RUST_BACKTRACE=full`/,
  /^stack backtrace:$/,
  // numbered native frames: Rust's `  3: main::main`, V8's ` 1: 0xb78db3 node::OOMErrorHandler(...) [node]`
  /^\s*\d+: 0x[0-9a-f]+ /,
  /^\s{2,}\d+: [\w<{_]/,
  // V8's heap report around a fatal error
  /^<--- [\w ]+ --->$/,
  /^----- Native stack trace -----$/,
  /^\[\d+:0x[0-9a-f]+\]\s+\d+ ms: /,
];

/** Whether a line is noise to a person reading what went wrong: frames, footers, carets, blank lines. */
export function isNoise(line: string): boolean {
  return NOISE.some((re) => re.test(line));
}

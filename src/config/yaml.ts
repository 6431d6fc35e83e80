// A strict YAML subset for preflight.yaml: block maps, block lists, one-line flow lists of scalars,
// plain/quoted scalars and comments. Anything outside the subset is a ConfigError with the line, the
// column and what to write instead, never a silent reinterpretation: a config parser that guesses is
// how `010` becomes 8, `no` becomes false and a tab shifts a key into the wrong map.
//
// Decisions (each one a place where YAML parsers disagree, so we refuse instead of picking a side):
// - Scalars follow the YAML 1.2 core schema, narrowed: `true`/`false` are booleans, `~`/`null`/an empty
//   value are null; `yes`/`no`/`on`/`off` are ordinary strings (YAML 1.1 read them as booleans, 1.2 does
//   not; `listen: off` relies on it). `True`, `FALSE`, `Null`, `NULL` are errors: write them lowercase or quote them.
// - Numbers are only canonical decimals: `-?(0|[1-9][0-9]*)(\.[0-9]+)?`. Forms other parsers read as
//   numbers but differently from each other (`010` octal or ten, `0x10`, `0o17`, `1e3`, `.5`, `5.`, `+5`,
//   `1_000`, `.inf`, `.nan`) are errors with the canonical spelling as the hint; quote them for text.
//   A quoted value is always a string. Anything else (`200-399`, `127.0.0.1:9187`) is a plain string.
// - Keys are always strings, never typed (`200:` is the key "200").
// - Block scalars (`|`, `>`) are rejected: no preflight key needs multi-line text, and chomping and
//   folding are where a trailing newline silently ends up in a token or header. Use "…\n…" instead.
// - Multi-line flow lists and multi-line quoted or plain scalars are rejected: one value, one line.
// - A block list may sit at its key's indentation (`key:\n- a`), as in most hand-written YAML.
// - A flow list may end with one trailing comma (`[a, b,]`), as YAML allows; empty entries are errors.
// - Tabs only inside quoted strings and comments, as libyaml (PyYAML, Ruby, yamllint) insists: a tab
//   in indentation, between tokens, inside plain text or trailing is an error pointing at it.
// - Columns are 1-based and count characters (code points), as editors do; a UTF-8 BOM is skipped
//   and does not count; `\r\n` line ends are accepted.
import { ConfigError } from '../util/errors';

/** A 1-based position in the config file. */
export interface Pos {
  line: number;
  column: number;
}

export interface YamlScalar extends Pos {
  kind: 'scalar';
  value: string | number | boolean | null;
  /** Written in quotes: always a string, never typed. */
  quoted: boolean;
  /** The text as written, without quotes or escapes decoded for plain scalars ('' for an empty value). */
  raw: string;
}

export interface YamlList extends Pos {
  kind: 'list';
  items: YamlNode[];
  /** Written as `[a, b]` rather than `- a` lines. */
  flow: boolean;
}

export interface YamlEntry {
  key: string;
  /** Where the key starts. */
  keyPos: Pos;
  value: YamlNode;
}

export interface YamlMap extends Pos {
  kind: 'map';
  /** In document order. */
  entries: Map<string, YamlEntry>;
}

/** A value of a preflight.yaml document with the position it was written at. */
export type YamlNode = YamlMap | YamlList | YamlScalar;

interface Line {
  /** 1-based line number. */
  no: number;
  raw: string;
  /** Offset in `raw` where this line's content starts (after indentation, or after `- ` for an item). */
  indent: number;
  /** `raw` holds surrogate pairs, so offsets and columns differ. */
  wide: boolean;
}

/** Separates tokens for YAML, but only a space may do it here (libyaml refuses tabs outside quotes and comments). */
const isBlank = (c: string | undefined): boolean => c === ' ' || c === '\t';
/** `-`, `?` and `:` are indicators only when followed by a space or the end of the line. */
const indicatorAt = (raw: string, i: number, ch: string): boolean =>
  raw[i] === ch && (i + 1 >= raw.length || isBlank(raw[i + 1]));

const DOUBLE_ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  n: '\n',
  t: '\t',
  r: '\r',
  b: '\b',
  f: '\f',
  '0': '\0',
};
const MAX_DEPTH = 64;
const ESCAPE_LIST = '\\" \\\\ \\/ \\n \\t \\r \\b \\f \\0 \\xXX \\uXXXX \\UXXXXXXXX';

class Parser {
  private readonly lines: Line[] = [];
  private pos = 0;
  private depth = 0;
  private readonly wideColumns = new Map<number, Uint32Array>();

  constructor(
    text: string,
    private readonly file: string,
  ) {
    this.split(text);
  }

  private col(line: Line, offset: number): number {
    if (!line.wide) return offset + 1;
    // Computed once per line so a long line of many flow entries stays linear.
    let cols = this.wideColumns.get(line.no);
    if (!cols) {
      cols = new Uint32Array(line.raw.length + 1);
      let c = 1;
      for (let i = 0; i <= line.raw.length; i++) {
        cols[i] = c;
        const code = line.raw.charCodeAt(i);
        if (!(code >= 0xd800 && code <= 0xdbff)) c++; // a high surrogate shares its column with the low one
      }
      this.wideColumns.set(line.no, cols);
    }
    return cols[Math.min(offset, line.raw.length)] ?? offset + 1;
  }

  /** The offset of the first non-space at or after `i`; a tab there is an error. */
  private skipSpaces(line: Line, i: number): number {
    let j = i;
    while (line.raw[j] === ' ') j++;
    if (line.raw[j] === '\t') this.failTab(line, j);
    return j;
  }

  private noTab(line: Line, from: number, to: number): void {
    const tab = line.raw.indexOf('\t', from);
    if (tab >= 0 && tab < to) this.failTab(line, tab);
  }

  private failTab(line: Line, at: number): never {
    this.fail(line, at, 'tab character', 'use spaces: libyaml-based tools refuse tabs outside quotes and comments; in a value write \\t inside double quotes');
  }

  /** Bound recursion: each nested map or list is a level. */
  private enter(line: Line, offset: number): void {
    if (++this.depth > MAX_DEPTH) this.fail(line, offset, `nesting deeper than ${MAX_DEPTH} levels`, 'a config needs a few levels; flatten it');
  }

  private at(line: Line, offset: number): Pos {
    return { line: line.no, column: this.col(line, offset) };
  }

  private fail(line: Line, offset: number, reason: string, hint: string): never {
    throw new ConfigError({ file: this.file, ...this.at(line, offset) }, reason, hint);
  }

  /** Cut the text into content lines; reject tabs in indentation, control characters and extra documents. */
  private split(text: string): void {
    const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    const raws = body.split('\n');
    let sawContent = false;
    let sawStart = false;
    for (let i = 0; i < raws.length; i++) {
      let raw = raws[i] ?? '';
      if (raw.endsWith('\r')) raw = raw.slice(0, -1);
      const line: Line = { no: i + 1, raw, indent: 0, wide: /[\uD800-\uDFFF]/.test(raw) };
      const bad = /[\x00-\x08\x0a-\x1f\x7f]/.exec(raw);
      if (bad?.[0] === '\r') {
        this.fail(line, bad.index, 'carriage return without a line feed', 'save the file with \\n or \\r\\n line ends');
      }
      if (bad) {
        const code = bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
        this.fail(line, bad.index, `control character U+${code}`, 'remove it; the config must be plain UTF-8 text');
      }
      let indent = 0;
      while (raw[indent] === ' ') indent++;
      const rest = raw.slice(indent);
      if (rest === '' || rest[0] === '#') continue; // blank or comment-only
      if (rest[0] === '\t') {
        const blank = /^[ \t]*(#.*)?$/.test(rest);
        this.fail(line, indent, blank ? 'tab on a blank or comment line' : 'tab used for indentation', 'indent with spaces; YAML does not allow tabs there');
      }
      line.indent = indent;
      if (indent === 0 && /^---(\s|$)/.test(raw)) {
        if (sawContent || sawStart) {
          this.fail(line, 0, "a second document ('---') is not supported", 'preflight reads one document per file; remove this --- and merge the settings into one document');
        }
        if (!/^---\s*(#.*)?$/.test(raw)) {
          this.fail(line, 4, "content on the '---' line", "put it on the next line; '---' may only be followed by a comment");
        }
        sawStart = true;
        continue;
      }
      if (indent === 0 && /^\.\.\.(\s|$)/.test(raw)) {
        this.fail(line, 0, "document end marker '...' is not supported", 'remove it: one document per file, ending at the end of the file');
      }
      if (indent === 0 && raw[0] === '%') {
        this.fail(line, 0, 'YAML directives (%YAML, %TAG) are not supported', 'remove the line');
      }
      sawContent = true;
      this.lines.push(line);
    }
  }

  parseDocument(): YamlNode {
    const first = this.lines[0];
    if (!first) return { kind: 'scalar', value: null, quoted: false, raw: '', line: 1, column: 1 };
    const node = this.parseBlock(first);
    const extra = this.lines[this.pos];
    if (extra) {
      // Only a line indented less than the first one can be left over.
      this.fail(extra, extra.indent, `unexpected indentation: ${extra.indent} spaces, but the document starts at column ${this.col(first, first.indent)}`, `align it with line ${first.no}`);
    }
    return node;
  }

  /** A block (map or list) whose first line is `line`; its content starts at `line.indent`. */
  private parseBlock(line: Line): YamlMap | YamlList {
    return indicatorAt(line.raw, line.indent, '-') ? this.parseList(line.indent, false) : this.parseMap(line.indent);
  }

  /** The block nested under a key or list item on `owner` (indented deeper than `ownerIndent`), or null. */
  private parseNested(ownerIndent: number, allowIndentlessList: boolean, nullAt: Pos): YamlNode {
    const next = this.lines[this.pos];
    if (next && next.indent > ownerIndent) return this.parseBlock(next);
    if (allowIndentlessList && next && next.indent === ownerIndent && indicatorAt(next.raw, next.indent, '-')) {
      return this.parseList(ownerIndent, true);
    }
    return { kind: 'scalar', value: null, quoted: false, raw: '', ...nullAt };
  }

  private parseMap(indent: number): YamlMap {
    const firstLine = this.lines[this.pos];
    if (!firstLine) throw new Error('parseMap past the end');
    this.enter(firstLine, indent);
    const map: YamlMap = { kind: 'map', entries: new Map(), ...this.at(firstLine, indent) };
    let previous: { key: string; line: Line; inline: boolean; nested: YamlNode } | undefined;
    for (let line = this.lines[this.pos]; line && line.indent >= indent; line = this.lines[this.pos]) {
      if (line.indent > indent) {
        if (previous?.inline) {
          this.fail(line, line.indent, `unexpected indentation: the value of '${previous.key}' is already given on line ${previous.line.no}`, `a value must fit on one line, in quotes if it holds ': ' or ' #'; to nest a map under '${previous.key}', leave its value empty`);
        }
        const inner = previous && previous.nested.kind !== 'scalar' ? `, or with the block under it, at column ${previous.nested.column}` : '';
        this.fail(line, line.indent, `unexpected indentation: the keys of this map start at column ${map.column}`, previous ? `align it with '${previous.key}' on line ${previous.line.no}, at column ${map.column}${inner}` : `indent it like line ${map.line}`);
      }
      if (indicatorAt(line.raw, indent, '-')) {
        this.fail(line, indent, "a list item ('- ') where a key was expected", `a block holds either 'key: value' lines or '- ' items, not both; to give '${previous?.key ?? 'a key'}' a list, leave its value empty and put the items under it`);
      }
      const key = this.scanKey(line, indent, true);
      if (!key) throw new Error('scanKey returned null in strict mode');
      const seen = map.entries.get(key.key);
      if (seen) {
        this.fail(line, indent, `duplicate key '${key.key}', already set on line ${seen.keyPos.line}`, `lines ${seen.keyPos.line} and ${line.no} both set '${key.key}'; keep one of them`);
      }
      const keyPos = this.at(line, indent);
      const v = this.skipSpaces(line, key.valueStart);
      let value: YamlNode;
      const inline = v < line.raw.length && line.raw[v] !== '#';
      if (inline) {
        value = this.parseInline(line, v);
        this.pos++;
      } else {
        this.pos++;
        value = this.parseNested(indent, true, keyPos);
      }
      map.entries.set(key.key, { key: key.key, keyPos, value });
      previous = { key: key.key, line, inline, nested: value };
    }
    this.depth--;
    return map;
  }

  private parseList(indent: number, indentless: boolean): YamlList {
    const firstLine = this.lines[this.pos];
    if (!firstLine) throw new Error('parseList past the end');
    this.enter(firstLine, indent);
    const list: YamlList = { kind: 'list', items: [], flow: false, ...this.at(firstLine, indent) };
    for (let line = this.lines[this.pos]; line && line.indent >= indent; line = this.lines[this.pos]) {
      const isItem = indicatorAt(line.raw, line.indent, '-');
      if (line.indent > indent) {
        this.fail(line, line.indent, `unexpected indentation: the items of this list start at column ${list.column}`, "indent a multi-line item's lines to the column of its first key, after '- '");
      }
      if (!isItem) {
        if (indentless) break; // `key:\n- a\nnext_key: …`: the list ended, the parent map goes on
        this.fail(line, indent, "expected a list item ('- ...') at this indentation", 'a block holds either \'- \' items or \'key: value\' lines, not both');
      }
      const dash = line.indent;
      const c = this.skipSpaces(line, dash + 1);
      const itemPos = this.at(line, dash);
      if (c >= line.raw.length || line.raw[c] === '#') {
        this.pos++;
        list.items.push(this.parseNested(dash, false, itemPos));
        continue;
      }
      // The item's content behaves like a line indented to where it starts: `- name: x` opens a map at
      // that column that the following lines continue, `- - a` a nested list.
      const inner: Line = { ...line, indent: c };
      this.lines[this.pos] = inner;
      if (indicatorAt(line.raw, c, '-')) {
        list.items.push(this.parseList(c, false));
      } else if (this.scanKey(inner, c, false)) {
        list.items.push(this.parseMap(c));
      } else {
        list.items.push(this.parseInline(inner, c));
        this.pos++;
        const next = this.lines[this.pos];
        if (next && next.indent > dash) {
          this.fail(next, next.indent, `unexpected indentation: the list item on line ${line.no} is already complete`, 'a value must fit on one line, in quotes if it holds \': \' or \' #\'');
        }
      }
    }
    this.depth--;
    return list;
  }

  /**
   * The key starting at `start` and the offset after its colon. With `strict`, a line that is not
   * `key: value` is an error; without, it returns null (the caller then reads a scalar).
   */
  private scanKey(line: Line, start: number, strict: boolean): { key: string; valueStart: number } | null {
    const raw = line.raw;
    const ch = raw[start] ?? '';
    let key: string;
    let end: number;
    if (ch === '"' || ch === "'") {
      const q = ch === '"' ? this.readDouble(line, start) : this.readSingle(line, start);
      end = this.skipSpaces(line, q.end);
      if (!indicatorAt(raw, end, ':')) {
        if (!strict) return null;
        this.fail(line, end, "expected ':' after the quoted key", 'write "key": value');
      }
      key = q.value;
    } else {
      if (strict) this.checkStart(line, start, 'key');
      else if (ch === '[' || ch === '{') return null; // flow collections: parseInline explains
      let colon = -1;
      for (let i = start; i < raw.length; i++) {
        if (raw[i] === '#' && isBlank(raw[i - 1])) break;
        if (indicatorAt(raw, i, ':')) {
          colon = i;
          break;
        }
      }
      if (colon < 0) {
        if (!strict) return null;
        const bare = raw.slice(start).replace(/\s+#.*$/, '').trimEnd();
        const tight = bare.indexOf(':');
        if (tight >= 0) {
          this.fail(line, start + tight + 1, "missing space after ':'", `write '${bare.slice(0, tight)}: ${bare.slice(tight + 1)}'`);
        }
        this.fail(line, start, `expected 'key: value', found no ':' in ${JSON.stringify(bare)}`, `write '${bare}: <value>', or if this continues the value above, put it on the same line`);
      }
      if (!strict && (ch === '&' || ch === '*' || ch === '!' || ch === '|' || ch === '>')) return null;
      if (!strict) this.checkStart(line, start, 'key');
      this.noTab(line, start, colon);
      key = raw.slice(start, colon).trimEnd();
      end = colon;
    }
    return { key, valueStart: end + 1 };
  }

  /** Reject what cannot start a plain key or value, naming the YAML feature when there is one. */
  private checkStart(line: Line, i: number, what: 'key' | 'value'): void {
    const raw = line.raw;
    const ch = raw[i] ?? '';
    switch (ch) {
      case '&':
        this.fail(line, i, 'anchors (&name) are not supported', 'write the value out in full where it is needed');
      case '*':
        this.fail(line, i, 'aliases (*name) are not supported', 'write the value out in full where it is needed');
      case '!':
        this.fail(line, i, 'tags (!tag) are not supported', 'remove the tag; quote the value if it should be text');
      case '{':
        this.fail(line, i, 'flow maps ({...}) are not supported', "write a block map: each 'key: value' on its own line, indented under the parent key");
      case '|':
      case '>':
        if (what === 'value') {
          this.fail(line, i, `block scalars ('${ch}') are not supported`, 'write the text on one line in double quotes, with \\n for line breaks');
        }
        break;
      case '[':
        if (what === 'key') this.fail(line, i, 'a list cannot be a key', 'keys are plain words, e.g. name:');
        return;
      case '?':
        if (indicatorAt(raw, i, '?')) this.fail(line, i, "complex keys ('? ') are not supported", "write 'key: value'");
        return;
      case ':':
        if (indicatorAt(raw, i, ':')) this.fail(line, i, "missing key before ':'", "write 'key: value'");
        return;
      case '-':
        if (indicatorAt(raw, i, '-')) {
          this.fail(line, i, "a list item cannot start on the same line as its key", "put each '- item' on its own line under the key, or write a flow list [a, b]");
        }
        return;
      default:
        break;
    }
    if ('|>%@`,]}'.includes(ch) && ch !== '') {
      this.fail(line, i, `a ${what} cannot start with '${ch}'`, `quote it: ${JSON.stringify(raw.slice(i).replace(/\s+#.*$/, '').trimEnd())}`);
    }
  }

  /** A value on the rest of a line: quoted, flow list or plain, followed only by a comment. */
  private parseInline(line: Line, start: number): YamlNode {
    const raw = line.raw;
    const ch = raw[start];
    if (ch === '"' || ch === "'") {
      const q = ch === '"' ? this.readDouble(line, start) : this.readSingle(line, start);
      this.expectLineEnd(line, q.end, 'after the closing quote', 'put the whole value inside the quotes, or start a comment with \' #\'');
      return { kind: 'scalar', value: q.value, quoted: true, raw: q.value, ...this.at(line, start) };
    }
    if (ch === '[') {
      const { list, end } = this.readFlowList(line, start);
      this.expectLineEnd(line, end, "after the closing ']'", `to write text that starts with '[', quote the whole value: ${JSON.stringify(raw.slice(start).replace(/\s+#.*$/, '').trimEnd())}`);
      return list;
    }
    this.checkStart(line, start, 'value');
    let end = raw.length;
    for (let i = start; i < raw.length; i++) {
      if (raw[i] === '#' && isBlank(raw[i - 1])) {
        end = i;
        break;
      }
      if (indicatorAt(raw, i, ':')) {
        this.fail(line, i, "': ' inside a plain value", `quote the value: ${JSON.stringify(raw.slice(start).replace(/\s+#.*$/, '').trimEnd())}, or put a nested map on the next lines`);
      }
    }
    this.noTab(line, start, end);
    const text = raw.slice(start, end).trimEnd();
    return { kind: 'scalar', value: this.resolvePlain(line, start, text), quoted: false, raw: text, ...this.at(line, start) };
  }

  private expectLineEnd(line: Line, end: number, where: string, hint: string): void {
    const i = this.skipSpaces(line, end);
    if (i >= line.raw.length) return;
    if (line.raw[i] === '#' && i > end) return;
    this.fail(line, i, `unexpected text ${where}`, hint);
  }

  /** `[a, "b c", 3]` on one line; nested collections are not supported. */
  private readFlowList(line: Line, start: number): { list: YamlList; end: number } {
    const raw = line.raw;
    const list: YamlList = { kind: 'list', items: [], flow: true, ...this.at(line, start) };
    const unclosed = (): never =>
      this.fail(line, start, "flow list '[' is not closed on this line", "close it with ']' on the same line, or write a block list: one '- item' per line");
    let i = start + 1;
    for (;;) {
      i = this.skipSpaces(line, i);
      if (i >= raw.length || (raw[i] === '#' && isBlank(raw[i - 1]))) unclosed();
      const ch = raw[i] ?? '';
      if (ch === ']') return { list, end: i + 1 };
      if (ch === ',') this.fail(line, i, 'empty entry in a flow list', 'remove the extra comma');
      let item: YamlScalar;
      if (ch === '"' || ch === "'") {
        const q = ch === '"' ? this.readDouble(line, i) : this.readSingle(line, i);
        item = { kind: 'scalar', value: q.value, quoted: true, raw: q.value, ...this.at(line, i) };
        i = q.end;
      } else if (ch === '[') {
        this.fail(line, i, 'nested lists are not supported', 'use block lists (- item) for lists of lists');
      } else {
        this.checkStart(line, i, 'value');
        let j = i;
        while (j < raw.length && raw[j] !== ',' && raw[j] !== ']' && !(raw[j] === '#' && isBlank(raw[j - 1]))) {
          if (raw[j] === '[' || raw[j] === '{' || raw[j] === '}') {
            this.fail(line, j, `'${raw[j]}' inside a flow list entry`, 'quote the entry');
          }
          if (indicatorAt(raw, j, ':')) this.fail(line, j, "': ' inside a flow list entry", 'quote the entry');
          j++;
        }
        this.noTab(line, i, j);
        const text = raw.slice(i, j).trimEnd();
        item = { kind: 'scalar', value: this.resolvePlain(line, i, text), quoted: false, raw: text, ...this.at(line, i) };
        i = j;
      }
      list.items.push(item);
      i = this.skipSpaces(line, i);
      if (raw[i] === ',') {
        i++;
        continue;
      }
      if (raw[i] === ']') return { list, end: i + 1 };
      if (i >= raw.length || raw[i] === '#') unclosed();
      this.fail(line, i, "expected ',' or ']' in the flow list", 'separate entries with commas; quote an entry that holds spaces and quotes');
    }
  }

  private readDouble(line: Line, start: number): { value: string; end: number } {
    const raw = line.raw;
    let out = '';
    let i = start + 1;
    while (i < raw.length) {
      const ch = raw[i] ?? '';
      if (ch === '"') return { value: out, end: i + 1 };
      if (ch !== '\\') {
        out += ch;
        i++;
        continue;
      }
      const e = raw[i + 1] ?? '';
      const simple = DOUBLE_ESCAPES[e];
      if (simple !== undefined) {
        out += simple;
        i += 2;
        continue;
      }
      const width = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
      const hex = raw.slice(i + 2, i + 2 + width);
      if (width === 0 || !new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) {
        const shown = width === 0 ? `\\${e}` : `\\${e}${hex}`;
        this.fail(line, i, `invalid escape ${shown} in a double-quoted string`, `supported: ${ESCAPE_LIST}; write \\\\ for a backslash, or use single quotes`);
      }
      const code = parseInt(hex, 16);
      if (code > 0x10ffff) this.fail(line, i, `escape \\U${hex} is beyond Unicode`, 'use a code point up to 10FFFF');
      out += String.fromCodePoint(code);
      i += 2 + width;
    }
    this.fail(line, start, 'unterminated double-quoted string', 'close it with " on the same line; write \\n for a line break');
  }

  private readSingle(line: Line, start: number): { value: string; end: number } {
    const raw = line.raw;
    let out = '';
    let i = start + 1;
    while (i < raw.length) {
      const ch = raw[i] ?? '';
      if (ch === "'") {
        if (raw[i + 1] === "'") {
          out += "'";
          i += 2;
          continue;
        }
        return { value: out, end: i + 1 };
      }
      out += ch;
      i++;
    }
    this.fail(line, start, 'unterminated single-quoted string', "close it with ' on the same line; write '' for a quote inside");
  }

  /** Type a plain scalar, refusing the spellings YAML parsers read differently. */
  private resolvePlain(line: Line, at: number, text: string): string | number | boolean | null {
    if (text === '~' || text === 'null') return null;
    if (text === 'true') return true;
    if (text === 'false') return false;
    if (/^(True|TRUE|False|FALSE|Null|NULL)$/.test(text)) {
      this.fail(line, at, `ambiguous value ${text}`, `write ${text.toLowerCase()} in lowercase, or quote it as "${text}" if it is text`);
    }
    if (/^-?(0|[1-9][0-9]*)$/.test(text)) {
      const n = Number(text);
      if (!Number.isSafeInteger(n)) this.fail(line, at, `integer ${text} is too large`, 'quote it if it is text');
      return n === 0 ? 0 : n; // no -0
    }
    if (/^-?(0|[1-9][0-9]*)\.[0-9]+$/.test(text)) return Number(text) || 0;
    const ambiguous = ambiguousNumber(text);
    if (ambiguous) {
      this.fail(line, at, `ambiguous number ${text}: ${ambiguous.what}`, `${ambiguous.instead ? `write ${ambiguous.instead}` : 'write a plain decimal number'}, or quote it as ${JSON.stringify(text)} if it is text`);
    }
    return text;
  }
}

/** Spellings YAML 1.1 or 1.2 read as numbers that are not our canonical decimals. */
function ambiguousNumber(text: string): { what: string; instead: string | undefined } | undefined {
  const sign = text.startsWith('-') ? '-' : '';
  const body = text.replace(/^[-+]/, '');
  const plain = (n: number): string | undefined => (Number.isFinite(n) && Math.abs(n) < 1e21 ? canonicalNumber(sign === '-' ? -n : n) : undefined);
  if (/^\.(inf|Inf|INF)$/.test(body)) return { what: 'infinity', instead: undefined };
  if (/^\.(nan|NaN|NAN)$/.test(body)) return { what: 'not a number', instead: undefined };
  if (/^0x[0-9a-fA-F]+$/.test(body)) return { what: 'hexadecimal', instead: plain(parseInt(body.slice(2), 16)) };
  if (/^0o[0-7]+$/.test(body)) return { what: 'octal', instead: plain(parseInt(body.slice(2), 8)) };
  if (/^0b[01]+$/.test(body)) return { what: 'binary', instead: plain(parseInt(body.slice(2), 2)) };
  if (/^[0-9][0-9_]*_[0-9_]*$/.test(body)) return { what: 'underscores', instead: plain(Number(body.replace(/_/g, ''))) };
  if (/^0[0-9]+(\.[0-9]+)?$/.test(body)) return { what: 'a leading zero means octal in YAML 1.1', instead: plain(Number(body)) };
  if (/^([0-9]+(\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$/.test(body)) return { what: 'exponent', instead: plain(Number(body)) };
  if (/^\.[0-9]+$/.test(body)) return { what: 'no digit before the point', instead: plain(Number(body)) };
  if (/^[0-9]+\.$/.test(body)) return { what: 'no digit after the point', instead: plain(Number(body)) };
  if (text.startsWith('+') && /^[0-9]+(\.[0-9]+)?$/.test(body)) return { what: "leading '+'", instead: plain(Number(body)) };
  return undefined;
}

/** A finite number as a canonical decimal our parser reads back exactly (no exponent). */
export function canonicalNumber(n: number): string {
  const s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([-+]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign = '', lead = '', frac = '', expText = '0'] = m;
  const digits = lead + frac;
  const point = 1 + Number(expText); // position of the decimal point within `digits`
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Parse a preflight.yaml document; throws ConfigError with the file, 1-based line and column, and a hint. */
export function parseYaml(text: string, file: string): YamlNode {
  return new Parser(text, file).parseDocument();
}

/** The plain JS value of a node (maps become objects, lists arrays); for tests and debugging. */
export function toValue(node: YamlNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'list':
      return node.items.map(toValue);
    case 'map':
      return Object.fromEntries([...node.entries.values()].map((e) => [e.key, toValue(e.value)]));
  }
}

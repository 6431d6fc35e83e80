import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalNumber, parseYaml, toValue, type YamlNode } from '../../src/config/yaml';
import { ConfigError } from '../../src/util/errors';

/** The node at a path of map keys and list indexes. */
function nodeAt(node: YamlNode, ...path: Array<string | number>): YamlNode {
  let n = node;
  for (const p of path) {
    if (typeof p === 'number') {
      assert.equal(n.kind, 'list', `expected a list at ${p}`);
      if (n.kind !== 'list') throw new Error('unreachable');
      const item = n.items[p];
      assert.ok(item, `no item ${p}`);
      n = item;
    } else {
      assert.equal(n.kind, 'map', `expected a map at ${p}`);
      if (n.kind !== 'map') throw new Error('unreachable');
      const e = n.entries.get(p);
      assert.ok(e, `no key ${p}`);
      n = e.value;
    }
  }
  return n;
}

describe('parseYaml: valid documents', () => {
  const cases: Array<{ name: string; input: string; want: unknown }> = [
    { name: 'empty document', input: '', want: null },
    { name: 'only comments and blank lines', input: '# a\n\n   # b\n  \n# tab\tin a comment\n', want: null },
    { name: 'flat map', input: 'a: 1\nb: two\nc: "three"\n', want: { a: 1, b: 'two', c: 'three' } },
    { name: 'nested map', input: 'a:\n  b:\n    c: 1\n  d: 2\ne: 3\n', want: { a: { b: { c: 1 }, d: 2 }, e: 3 } },
    { name: 'block list under a key', input: 'l:\n  - a\n  - b\n', want: { l: ['a', 'b'] } },
    { name: 'block list at the key indentation', input: 'l:\n- a\n- b\nm: 1\n', want: { l: ['a', 'b'], m: 1 } },
    {
      name: 'list of maps',
      input: 'services:\n  - name: x\n    url: y\n  - name: z\n    url: w\n',
      want: { services: [{ name: 'x', url: 'y' }, { name: 'z', url: 'w' }] },
    },
    { name: 'nested list in a list', input: '- - a\n  - b\n- c\n', want: [['a', 'b'], 'c'] },
    { name: 'list item with nested block on next lines', input: '-\n  a: 1\n-\n', want: [{ a: 1 }, null] },
    { name: 'map nested under a list item key', input: '- a:\n    b: 1\n  c: 2\n', want: [{ a: { b: 1 }, c: 2 }] },
    { name: 'top-level list', input: '- 1\n- 2.5\n', want: [1, 2.5] },
    { name: 'flow list', input: 'd: [/, /var, "a b", \'c\']\n', want: { d: ['/', '/var', 'a b', 'c'] } },
    { name: 'empty flow list', input: 'd: []\n', want: { d: [] } },
    { name: 'flow list with trailing comma and comment', input: 'd: [1, 2,] # x\n', want: { d: [1, 2] } },
    { name: 'flow list in a block list', input: '- [a, b]\n', want: [['a', 'b']] },
    { name: 'empty values are null', input: 'a:\nb: ~\nc: null\nd: # comment\n', want: { a: null, b: null, c: null, d: null } },
    { name: 'booleans', input: 'a: true\nb: false\n', want: { a: true, b: false } },
    { name: 'yes/no/on/off are strings (YAML 1.2)', input: 'a: yes\nb: no\nc: on\nd: off\ne: y\n', want: { a: 'yes', b: 'no', c: 'on', d: 'off', e: 'y' } },
    { name: 'integers and decimals', input: 'a: 0\nb: -5\nc: 30\nd: 0.5\ne: -12.25\nf: 9007199254740991\n', want: { a: 0, b: -5, c: 30, d: 0.5, e: -12.25, f: 9007199254740991 } },
    { name: '-0 is 0', input: 'a: -0\nb: -0.0\n', want: { a: 0, b: 0 } },
    { name: 'number-like text stays text', input: 'a: 200-399\nb: 127.0.0.1:9187\nc: 1.2.3\nd: 5s\n', want: { a: '200-399', b: '127.0.0.1:9187', c: '1.2.3', d: '5s' } },
    { name: 'quoted values are strings', input: 'a: "30"\nb: \'true\'\nc: "null"\nd: ""\n', want: { a: '30', b: 'true', c: 'null', d: '' } },
    {
      name: 'double-quoted escapes',
      input: 'a: "q\\" b\\\\ n\\n t\\t u\\u00e9 U\\U0001F600 x\\x41 s\\/ 0\\0"\n',
      want: { a: 'q" b\\ n\n t\t ué U😀 xA s/ 0\0' },
    },
    { name: 'single-quoted escape', input: "a: 'it''s # not a comment'\n", want: { a: "it's # not a comment" } },
    { name: 'comments after values', input: 'a: x # c\nb: "y" # c\nc: [1] # c\n', want: { a: 'x', b: 'y', c: [1] } },
    { name: '# without a space before is text', input: 'a: http://x/#frag\nb: a#b\n', want: { a: 'http://x/#frag', b: 'a#b' } },
    { name: 'colon without a space is text', input: 'a: http://x:8080/p\n', want: { a: 'http://x:8080/p' } },
    { name: 'quoted keys', input: '"a b": 1\n\'c\': 2\n', want: { 'a b': 1, c: 2 } },
    { name: 'keys are never typed', input: '200: a\ntrue: b\n~: c\n', want: { '200': 'a', true: 'b', '~': 'c' } },
    { name: 'leading ---', input: '---\na: 1\n', want: { a: 1 } },
    { name: '--- with comment after leading comments', input: '# c\n--- # doc\na: 1\n', want: { a: 1 } },
    { name: 'CRLF line ends', input: 'a: 1\r\nb:\r\n  - x\r\n', want: { a: 1, b: ['x'] } },
    { name: 'UTF-8 BOM skipped', input: '\ufeffa: 1\n', want: { a: 1 } },
    { name: 'no final newline', input: 'a: 1', want: { a: 1 } },
    { name: 'tabs inside quotes and comments', input: 'a: "b\tc" # x\ty\nd: \'\t\'\n', want: { a: 'b\tc', d: '\t' } },
    { name: 'trailing spaces', input: 'a: b   \nc:   \n', want: { a: 'b', c: null } },
    { name: 'spaces before the colon', input: 'a  : 1\n', want: { a: 1 } },
    { name: 'plain value with inner spaces and quotes', input: 'a: say "hi" now\n', want: { a: 'say "hi" now' } },
    { name: 'negative numbers in lists', input: '- -1\n- -x\n', want: [-1, '-x'] },
    { name: 'indented document', input: '  a: 1\n  b: 2\n', want: { a: 1, b: 2 } },
    { name: '__proto__ key is an own property', input: '__proto__: 1\n', want: JSON.parse('{"__proto__": 1}') },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(toValue(parseYaml(c.input, 't.yaml')), c.want));
  }
});

describe('parseYaml: scalar details', () => {
  const cases: Array<{ name: string; input: string; want: { value: unknown; quoted: boolean; raw: string } }> = [
    { name: 'plain string', input: 'k: abc', want: { value: 'abc', quoted: false, raw: 'abc' } },
    { name: 'plain number keeps its raw text', input: 'k: 1.50', want: { value: 1.5, quoted: false, raw: '1.50' } },
    { name: 'quoted number', input: 'k: "10"', want: { value: '10', quoted: true, raw: '10' } },
    { name: 'null from ~', input: 'k: ~', want: { value: null, quoted: false, raw: '~' } },
    { name: 'null from empty', input: 'k:', want: { value: null, quoted: false, raw: '' } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const n = nodeAt(parseYaml(c.input, 't'), 'k');
      assert.equal(n.kind, 'scalar');
      if (n.kind !== 'scalar') return;
      assert.deepEqual({ value: n.value, quoted: n.quoted, raw: n.raw }, c.want);
    });
  }
});

describe('parseYaml: positions', () => {
  const doc = [
    '# header', // 1
    'a: 1', // 2
    'b:', // 3
    '  c: "x"', // 4
    '  d:', // 5
    '    - p', // 6
    '    - q: 1', // 7
    '      r: [x,  "y"]', // 8
    'é😀: z', // 9
    'e:', // 10
  ].join('\n');
  const root = parseYaml(doc, 't');
  const cases: Array<{ name: string; path: Array<string | number>; want: { line: number; column: number } }> = [
    { name: 'root map at its first key', path: [], want: { line: 2, column: 1 } },
    { name: 'scalar value', path: ['a'], want: { line: 2, column: 4 } },
    { name: 'nested map', path: ['b'], want: { line: 4, column: 3 } },
    { name: 'quoted value at its quote', path: ['b', 'c'], want: { line: 4, column: 6 } },
    { name: 'block list at its first dash', path: ['b', 'd'], want: { line: 6, column: 5 } },
    { name: 'list item', path: ['b', 'd', 0], want: { line: 6, column: 7 } },
    { name: 'map in a list item', path: ['b', 'd', 1], want: { line: 7, column: 7 } },
    { name: 'flow list', path: ['b', 'd', 1, 'r'], want: { line: 8, column: 10 } },
    { name: 'flow item', path: ['b', 'd', 1, 'r', 1], want: { line: 8, column: 15 } },
    { name: 'columns count code points', path: ['é😀'], want: { line: 9, column: 5 } },
    { name: 'empty value at its key', path: ['e'], want: { line: 10, column: 1 } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const n = nodeAt(root, ...c.path);
      assert.deepEqual({ line: n.line, column: n.column }, c.want);
    });
  }
  it('key positions', () => {
    const b = nodeAt(root, 'b');
    assert.equal(b.kind, 'map');
    if (b.kind !== 'map') return;
    assert.deepEqual(b.entries.get('d')?.keyPos, { line: 5, column: 3 });
  });
  it('columns stay right across many wide entries on one line', () => {
    const items = Array.from({ length: 2000 }, () => '😀');
    const list = nodeAt(parseYaml(`k: [${items.join(', ')}]`, 't'), 'k');
    assert.equal(list.kind, 'list');
    if (list.kind !== 'list') return;
    // entry i starts after "k: [" (4 columns) and i entries of "😀, " (3 columns each)
    assert.deepEqual(list.items.map((n) => n.column).slice(-2), [5 + 3 * 1998, 5 + 3 * 1999]);
  });
  it('64 levels of nesting are fine', () => {
    assert.deepEqual(toValue(parseYaml(`${'- '.repeat(63)}x\n`, 't')), JSON.parse(`${'['.repeat(63)}"x"${']'.repeat(63)}`));
  });
  it('a BOM does not shift columns, CRLF does not shift lines', () => {
    const n = nodeAt(parseYaml('\ufeffa: 1\r\nb: 2\r\n', 't'), 'b');
    assert.deepEqual({ line: n.line, column: n.column }, { line: 2, column: 4 });
  });
});

interface ErrorCase {
  name: string;
  input: string;
  line: number;
  column: number;
  reason: RegExp;
  hint: RegExp;
}

describe('parseYaml: errors name line, column and a fix', () => {
  const cases: ErrorCase[] = [
    { name: 'anchor', input: 'a: &x 1\n', line: 1, column: 4, reason: /anchors/, hint: /write the value out/ },
    { name: 'alias', input: 'a: 1\nb: *x\n', line: 2, column: 4, reason: /aliases/, hint: /write the value out/ },
    { name: 'anchor on a list item', input: 'l:\n  - &x a\n', line: 2, column: 5, reason: /anchors/, hint: /in full/ },
    { name: 'tag', input: 'a: !!str 1\n', line: 1, column: 4, reason: /tags/, hint: /remove the tag/ },
    { name: 'flow map value', input: 'a: {b: 1}\n', line: 1, column: 4, reason: /flow maps/, hint: /block map/ },
    { name: 'flow map list item', input: '- {b: 1}\n', line: 1, column: 3, reason: /flow maps/, hint: /block map/ },
    { name: 'flow map in a flow list', input: 'a: [{b: 1}]\n', line: 1, column: 5, reason: /flow maps/, hint: /block map/ },
    { name: 'tab indentation', input: 'a:\n\tb: 1\n', line: 2, column: 1, reason: /tab used for indentation/, hint: /spaces/ },
    { name: 'tab after spaces', input: 'a:\n  \tb: 1\n', line: 2, column: 3, reason: /tab used for indentation/, hint: /spaces/ },
    { name: 'tab after a colon', input: 'a:\tb\n', line: 1, column: 3, reason: /tab character/, hint: /use spaces/ },
    { name: 'tab after a colon and spaces', input: 'a:  \t"b"\n', line: 1, column: 5, reason: /tab character/, hint: /use spaces/ },
    { name: 'tab after a dash', input: 'l:\n  -\tb\n', line: 2, column: 4, reason: /tab character/, hint: /use spaces/ },
    { name: 'tab after a dash and a space', input: '- \tb\n', line: 1, column: 3, reason: /tab character/, hint: /use spaces/ },
    { name: 'tab on a blank line', input: 'a: 1\n\t\nb: 2\n', line: 2, column: 1, reason: /tab on a blank or comment line/, hint: /spaces/ },
    { name: 'tab before a full-line comment', input: 'a: 1\n  \t# c\n', line: 2, column: 3, reason: /tab on a blank or comment line/, hint: /spaces/ },
    { name: 'tab inside a plain value', input: 'a: b\tc\n', line: 1, column: 5, reason: /tab character/, hint: /\\t inside double quotes/ },
    { name: 'tab before a comment', input: 'a: b\t# c\n', line: 1, column: 5, reason: /tab character/, hint: /use spaces/ },
    { name: 'trailing tab after a plain value', input: 'a: b\t\n', line: 1, column: 5, reason: /tab character/, hint: /use spaces/ },
    { name: 'trailing tab after a quoted value', input: 'a: "b"\t\n', line: 1, column: 7, reason: /tab character/, hint: /use spaces/ },
    { name: 'tab after an empty value', input: 'a:\t\n', line: 1, column: 3, reason: /tab character/, hint: /use spaces/ },
    { name: 'tab in a flow list', input: 'a: [1,\t2]\n', line: 1, column: 7, reason: /tab character/, hint: /use spaces/ },
    { name: 'tab inside a plain key', input: 'a\tb: 1\n', line: 1, column: 2, reason: /tab character/, hint: /use spaces/ },
    { name: 'duplicate key', input: 'a: 1\nb: 2\na: 3\n', line: 3, column: 1, reason: /duplicate key 'a', already set on line 1/, hint: /lines 1 and 3/ },
    { name: 'duplicate key quoted/plain', input: 'x:\n  a: 1\n  "a": 2\n', line: 3, column: 3, reason: /duplicate key 'a'.*line 2/, hint: /lines 2 and 3/ },
    { name: 'second document', input: 'a: 1\n---\nb: 2\n', line: 2, column: 1, reason: /second document/, hint: /one document/ },
    { name: 'document end marker', input: 'a: 1\n...\n', line: 2, column: 1, reason: /'\.\.\.'/, hint: /remove it/ },
    { name: 'content on the --- line', input: '--- a: 1\n', line: 1, column: 5, reason: /content on the '---' line/, hint: /next line/ },
    { name: 'directive', input: '%YAML 1.2\n---\na: 1\n', line: 1, column: 1, reason: /directives/, hint: /remove/ },
    { name: 'literal block scalar', input: 'a: |\n  x\n', line: 1, column: 4, reason: /block scalars \('\|'\)/, hint: /\\n for line breaks/ },
    { name: 'folded block scalar', input: 'a: >-\n  x\n', line: 1, column: 4, reason: /block scalars \('>'\)/, hint: /double quotes/ },
    { name: 'deeper indentation after an inline value', input: 'a: x\n  y\n', line: 2, column: 3, reason: /value of 'a' is already given on line 1/, hint: /one line/ },
    { name: 'dedent to no level', input: 'a:\n    b: 1\n  c: 2\n', line: 3, column: 3, reason: /unexpected indentation/, hint: /column 1.*column 5/ },
    { name: 'sibling indented deeper', input: 'a:\n  b: 1\n   c: 2\n', line: 3, column: 4, reason: /value of 'b' is already given/, hint: /one line/ },
    { name: 'list item indented deeper', input: 'l:\n  - a\n    - b\n', line: 3, column: 5, reason: /list item on line 2 is already complete/, hint: /one line/ },
    { name: 'list item then key at the same level', input: 'l:\n  - a\n  b: 1\n', line: 3, column: 3, reason: /expected a list item/, hint: /not both/ },
    { name: 'list item in a map', input: 'a: 1\n- b\n', line: 2, column: 1, reason: /list item .* where a key was expected/, hint: /leave its value empty/ },
    { name: 'list item on the key line', input: 'a: - b\n', line: 1, column: 4, reason: /list item cannot start on the same line/, hint: /own line/ },
    { name: 'key without a colon', input: 'a: 1\nb\n', line: 2, column: 1, reason: /expected 'key: value', found no ':'/, hint: /write 'b: <value>'/ },
    { name: 'key without a colon, comment after', input: 'abc # note\n', line: 1, column: 1, reason: /no ':' in "abc"/, hint: /abc: <value>/ },
    { name: 'missing space after colon', input: 'a:1\n', line: 1, column: 3, reason: /missing space after ':'/, hint: /write 'a: 1'/ },
    { name: 'missing key', input: ': 1\n', line: 1, column: 1, reason: /missing key/, hint: /key: value/ },
    { name: 'complex key', input: '? a\n', line: 1, column: 1, reason: /complex keys/, hint: /key: value/ },
    { name: 'colon-space inside a value', input: 'a: b: c\n', line: 1, column: 5, reason: /': ' inside a plain value/, hint: /quote the value: "b: c"/ },
    { name: 'unterminated double quote', input: 'a: "abc\n', line: 1, column: 4, reason: /unterminated double-quoted/, hint: /close it/ },
    { name: 'unterminated single quote', input: "a: 'abc\n", line: 1, column: 4, reason: /unterminated single-quoted/, hint: /close it/ },
    { name: 'unterminated quoted key', input: '"a: 1\n', line: 1, column: 1, reason: /unterminated double-quoted/, hint: /close it/ },
    { name: 'garbage after closing quote', input: 'a: "x" y\n', line: 1, column: 8, reason: /after the closing quote/, hint: /inside the quotes/ },
    { name: 'comment glued to closing quote', input: "a: 'x'# c\n", line: 1, column: 7, reason: /after the closing quote/, hint: /' #'/ },
    { name: 'quoted key without colon', input: '"a" 1\n', line: 1, column: 5, reason: /expected ':' after the quoted key/, hint: /"key": value/ },
    { name: 'invalid escape', input: 'a: "x\\qy"\n', line: 1, column: 6, reason: /invalid escape \\q/, hint: /supported/ },
    { name: 'short \\u escape', input: 'a: "\\u12"\n', line: 1, column: 5, reason: /invalid escape \\u12/, hint: /uXXXX/ },
    { name: 'flow list not closed', input: 'a: [1, 2\n', line: 1, column: 4, reason: /not closed on this line/, hint: /block list/ },
    { name: 'flow list closed by a comment', input: 'a: [1, 2 # ]\n', line: 1, column: 4, reason: /not closed/, hint: /same line/ },
    { name: 'text after a flow list', input: 'listen: [::1]:9187\n', line: 1, column: 14, reason: /after the closing '\]'/, hint: /"\[::1\]:9187"/ },
    { name: 'empty flow entry', input: 'a: [1, , 2]\n', line: 1, column: 8, reason: /empty entry/, hint: /extra comma/ },
    { name: 'nested flow list', input: 'a: [[1]]\n', line: 1, column: 5, reason: /nested lists/, hint: /block lists/ },
    { name: 'missing comma in a flow list', input: 'a: ["x" y]\n', line: 1, column: 9, reason: /expected ',' or '\]'/, hint: /commas/ },
    { name: 'colon-space in a flow entry', input: 'a: [b: c]\n', line: 1, column: 6, reason: /': ' inside a flow list entry/, hint: /quote/ },
    { name: 'leading zero', input: 'a: 010\n', line: 1, column: 4, reason: /ambiguous number 010/, hint: /write 10, or quote it as "010"/ },
    { name: 'hexadecimal', input: 'a: 0x10\n', line: 1, column: 4, reason: /hexadecimal/, hint: /write 16/ },
    { name: 'octal 0o', input: 'a: 0o17\n', line: 1, column: 4, reason: /octal/, hint: /write 15/ },
    { name: 'binary', input: 'a: 0b101\n', line: 1, column: 4, reason: /binary/, hint: /write 5/ },
    { name: 'exponent', input: 'a: 1e3\n', line: 1, column: 4, reason: /exponent/, hint: /write 1000/ },
    { name: 'negative exponent', input: 'a: -2.5E-3\n', line: 1, column: 4, reason: /exponent/, hint: /write -0.0025/ },
    { name: 'no digit before the point', input: 'a: .5\n', line: 1, column: 4, reason: /no digit before/, hint: /write 0.5/ },
    { name: 'no digit after the point', input: 'a: 5.\n', line: 1, column: 4, reason: /no digit after/, hint: /write 5/ },
    { name: 'leading plus', input: 'a: +5\n', line: 1, column: 4, reason: /leading '\+'/, hint: /write 5/ },
    { name: 'underscores', input: 'a: 1_000\n', line: 1, column: 4, reason: /underscores/, hint: /write 1000/ },
    { name: 'infinity', input: 'a: .inf\n', line: 1, column: 4, reason: /infinity/, hint: /plain decimal/ },
    { name: 'not a number', input: 'a: .NaN\n', line: 1, column: 4, reason: /not a number/, hint: /plain decimal/ },
    { name: 'ambiguous number in a flow list', input: 'a: [1, 010]\n', line: 1, column: 8, reason: /ambiguous number/, hint: /write 10/ },
    { name: 'integer too large', input: 'a: 9007199254740993\n', line: 1, column: 4, reason: /too large/, hint: /quote/ },
    { name: 'capitalised boolean', input: 'a: True\n', line: 1, column: 4, reason: /ambiguous value True/, hint: /write true in lowercase/ },
    { name: 'capitalised null', input: 'a: NULL\n', line: 1, column: 4, reason: /ambiguous value NULL/, hint: /write null/ },
    { name: 'reserved @', input: 'a: @x\n', line: 1, column: 4, reason: /cannot start with '@'/, hint: /quote it: "@x"/ },
    { name: 'reserved backtick', input: 'a: `x`\n', line: 1, column: 4, reason: /cannot start with '`'/, hint: /quote it/ },
    { name: 'percent value', input: 'a: %x\n', line: 1, column: 4, reason: /cannot start with '%'/, hint: /quote it/ },
    { name: 'control character', input: 'a: x\x01y\n', line: 1, column: 5, reason: /control character U\+0001/, hint: /plain UTF-8/ },
    { name: 'lone carriage return', input: 'a: x\ry\n', line: 1, column: 5, reason: /carriage return without a line feed/, hint: /line ends/ },
    { name: 'nesting too deep', input: `${'- '.repeat(65)}x\n`, line: 1, column: 129, reason: /nesting deeper than 64 levels/, hint: /flatten/ },
    { name: 'nesting too deep by indentation', input: Array.from({ length: 70 }, (_, i) => `${' '.repeat(i)}k:`).join('\n'), line: 65, column: 65, reason: /nesting deeper than 64/, hint: /flatten/ },
    { name: 'top-level scalar', input: 'hello\n', line: 1, column: 1, reason: /found no ':'/, hint: /hello: <value>/ },
    { name: 'less indented line after an indented document', input: '  a: 1\nb: 2\n', line: 2, column: 1, reason: /document starts at column 3/, hint: /align it with line 1/ },
    { name: 'column after a wide character', input: 'a: "😀" x\n', line: 1, column: 8, reason: /after the closing quote/, hint: /inside the quotes/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.throws(
        () => parseYaml(c.input, 'conf.yaml'),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
          assert.equal(err.file, 'conf.yaml');
          assert.deepEqual({ line: err.line, column: err.column }, { line: c.line, column: c.column }, err.message);
          assert.match(err.message, c.reason);
          assert.match(err.hint ?? '', c.hint);
          assert.ok(err.message.startsWith(`conf.yaml:${c.line}:${c.column}: `), err.message);
          return true;
        },
      );
    });
  }
});

describe('canonicalNumber', () => {
  const cases: Array<{ name: string; input: number; want: string }> = [
    { name: 'integer', input: 30, want: '30' },
    { name: 'fraction', input: 0.5, want: '0.5' },
    { name: 'tiny', input: 1e-7, want: '0.0000001' },
    { name: 'tiny with digits', input: -1.25e-8, want: '-0.0000000125' },
    { name: 'huge', input: 1e21, want: '1000000000000000000000' },
    { name: 'huge with digits', input: 1.5e22, want: '15000000000000000000000' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = canonicalNumber(c.input);
      assert.equal(s, c.want);
      // what fits in a safe integer or is a fraction must read back as the same number
      if (Number.isSafeInteger(c.input) || !Number.isInteger(c.input)) assert.deepEqual(toValue(parseYaml(`k: ${s}`, 't')), { k: c.input });
    });
  }
});

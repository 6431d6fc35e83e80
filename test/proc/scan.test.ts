import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cursor, lineAt, lineNumberAt } from '../../src/proc/scan';

describe('Cursor numbers', () => {
  const uints = [
    { name: 'zero', input: '0', want: 0 },
    { name: 'plain', input: '569923 rest', want: 569923 },
    { name: '15 digits exact', input: '999999999999999', want: 999999999999999 },
    { name: '2^53 + 1 rounds to 2^53', input: '9007199254740993', want: 9007199254740992 },
    { name: 'u64 max rounds once, like Number()', input: '18446744073709551615', want: 18446744073709551615 },
    { name: 'no digit', input: 'x1', want: NaN },
    { name: 'empty', input: '', want: NaN },
  ];
  for (const { name, input, want } of uints) {
    it(`uint: ${name}`, () => assert.equal(new Cursor(input, 'f').uint(), want));
  }

  const decimals = [
    { name: 'two places', input: '32.08', want: 32.08 },
    { name: 'hundredths below one', input: '0.07', want: 0.07 },
    { name: 'integer', input: '314', want: 314 },
    { name: 'uptime-sized', input: '12345678.91', want: 12345678.91 },
    { name: 'trailing dot is malformed', input: '5.', want: NaN },
    { name: 'leading dot is malformed', input: '.5', want: NaN },
    { name: 'second dot ends the number', input: '1.2.3', want: 1.2 },
  ];
  for (const { name, input, want } of decimals) {
    it(`decimal: ${name}`, () => assert.equal(new Cursor(input, 'f').decimal(), want));
  }

  it('decimal agrees with parseFloat on every two-place value up to 100', () => {
    for (let i = 0; i <= 10000; i++) {
      const s = `${Math.floor(i / 100)}.${String(i % 100).padStart(2, '0')}`;
      assert.equal(new Cursor(s, 'f').decimal(), Number.parseFloat(s), s);
    }
  });

  const ints = [
    { name: 'negative', input: '-1 ', want: -1 },
    { name: 'lone minus', input: '- ', want: NaN },
    { name: 'positive', input: '20', want: 20 },
  ];
  for (const { name, input, want } of ints) {
    it(`int: ${name}`, () => assert.equal(new Cursor(input, 'f').int(), want));
  }
});

describe('line helpers', () => {
  const text = 'one\ntwo\nthree';
  const cases = [
    { name: 'first line', pos: 1, want: { line: 1, text: 'one' } },
    { name: 'on a newline belongs to its line', pos: 3, want: { line: 1, text: 'one' } },
    { name: 'start of the second line', pos: 4, want: { line: 2, text: 'two' } },
    { name: 'end of text', pos: text.length, want: { line: 3, text: 'three' } },
  ];
  for (const { name, pos, want } of cases) {
    it(name, () => assert.deepEqual({ line: lineNumberAt(text, pos), text: lineAt(text, pos) }, want));
  }
});

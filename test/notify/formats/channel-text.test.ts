// The pieces every chat and push channel carries and the clipping their limits need.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CODE_POINTS, UTF16, channelText, fitPieces, flat, quoteOf, urgencyOf } from '../../../src/notify/formats/channel-text';
import { caseOf } from './_facts';

describe('channel text', () => {
  test('quoteOf: the first finding\'s quote, else its first evidence line', () => {
    const f = { cause: 'c', evidence: ['e1', 'e2'] };
    const cases: { name: string; input: Parameters<typeof quoteOf>[0]; want: string | null }[] = [
      { name: 'no findings', input: { findings: [] }, want: null },
      { name: 'a quote', input: { findings: [{ ...f, quote: 'q' }, { ...f, quote: 'second' }] }, want: 'q' },
      { name: 'no quote field', input: { findings: [f] }, want: 'e1' },
      { name: 'a null quote', input: { findings: [{ ...f, quote: null }] }, want: 'e1' },
      { name: 'nothing quoted', input: { findings: [{ cause: 'c', evidence: [] }] }, want: null },
      { name: 'a blank quote', input: { findings: [{ cause: 'c', quote: '  ', evidence: [] }] }, want: null },
    ];
    for (const c of cases) assert.equal(quoteOf(c.input), c.want, c.name);
  });

  test('flat: one line, control characters gone', () => {
    const cases: { input: string; want: string }[] = [
      { input: '', want: '' },
      { input: 'a\nb\r\nc\td', want: 'a b c d' },
      { input: ' \u001b[31mred\u001b[0m ', want: '[31mred [0m' },
      { input: 'x\u2028y', want: 'x y' },
    ];
    for (const c of cases) assert.equal(flat(c.input), c.want, JSON.stringify(c.input));
  });

  test('the pieces per event: no cause or quote for resolved, none for an empty cause', () => {
    const cases: { name: string; want: { cause: boolean; quote: boolean; link: boolean } }[] = [
      { name: 'down', want: { cause: true, quote: true, link: true } },
      { name: 'flapping', want: { cause: true, quote: true, link: true } },
      { name: 'cause_changed', want: { cause: true, quote: true, link: true } },
      { name: 'resolved', want: { cause: false, quote: false, link: true } },
      { name: 'empty cause', want: { cause: false, quote: false, link: true } },
      { name: 'no link', want: { cause: true, quote: true, link: false } },
    ];
    for (const c of cases) {
      const t = channelText(caseOf(c.name));
      assert.deepEqual({ cause: t.cause !== null, quote: t.quote !== null, link: t.link !== null }, c.want, c.name);
    }
    assert.deepEqual(['down', 'flapping', 'cause_changed', 'resolved'].map((e) => urgencyOf(e as 'down')), ['high', 'normal', 'normal', 'low']);
  });

  test('measures: UTF-16 units and code points, clipped never inside a surrogate pair', () => {
    const cases: { name: string; m: typeof UTF16; input: string; max: number; want: string }[] = [
      { name: 'utf16, fits', m: UTF16, input: 'abc', max: 3, want: 'abc' },
      { name: 'utf16, cut', m: UTF16, input: 'abcdef', max: 4, want: 'abc…' },
      { name: 'utf16, an emoji at the cut', m: UTF16, input: 'ab😀cd', max: 4, want: 'ab…' },
      { name: 'code points, an emoji is one', m: CODE_POINTS, input: '😀😀😀', max: 3, want: '😀😀😀' },
      { name: 'code points, cut', m: CODE_POINTS, input: '😀😀😀😀', max: 3, want: '😀😀…' },
      { name: 'empty', m: CODE_POINTS, input: '', max: 3, want: '' },
      { name: 'no room', m: UTF16, input: 'abc', max: 0, want: '' },
    ];
    for (const c of cases) {
      const got = c.m.clip(c.input, c.max);
      assert.equal(got, c.want, c.name);
      assert.ok(c.m.length(got) <= Math.max(0, c.max), c.name);
    }
  });

  test('fitPieces: caps, then what the earlier pieces leave; a piece without room is left out', () => {
    const cases: { name: string; total: number; input: [string | null, number, number][]; want: (string | null)[] }[] = [
      { name: 'all fit', total: 100, input: [['title', 10, 0], ['line', 10, 1]], want: ['title', 'line'] },
      { name: 'a cap cuts', total: 100, input: [['abcdefghijkl', 10, 0]], want: ['abcdefghi…'] },
      { name: 'the total cuts the later piece', total: 20, input: [['0123456789', 10, 0], ['abcdefghijklmnop', 20, 2]], want: ['0123456789', 'abcdefg…'] },
      { name: 'no room left: out, not an ellipsis', total: 14, input: [['0123456789', 10, 0], ['abcdefghijklmnop', 20, 2]], want: ['0123456789', null] },
      { name: 'a short piece fits a small room', total: 14, input: [['0123456789', 10, 0], ['ab', 20, 2]], want: ['0123456789', 'ab'] },
      { name: 'null and empty stay out', total: 10, input: [[null, 5, 0], ['', 5, 0], ['x', 5, 0]], want: [null, null, 'x'] },
    ];
    for (const c of cases) {
      const got = fitPieces(UTF16, c.total, c.input.map(([text, cap, overhead]) => ({ text, cap, overhead })));
      assert.deepEqual(got, c.want, c.name);
      const used = got.reduce((n, p, i) => n + (p === null ? 0 : p.length + c.input[i]![2]), 0);
      assert.ok(used <= c.total, c.name);
    }
  });
});

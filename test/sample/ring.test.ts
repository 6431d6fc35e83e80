import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Ring } from '../../src/sample/ring';

const rowsOf = (r: Ring): number[][] => [...r].map((row) => [...row]);

describe('Ring', () => {
  const bad: { name: string; input: [number, number] }[] = [
    { name: 'zero capacity', input: [0, 2] },
    { name: 'negative capacity', input: [-1, 2] },
    { name: 'fractional capacity', input: [2.5, 2] },
    { name: 'NaN capacity', input: [Number.NaN, 2] },
    { name: 'zero width', input: [4, 0] },
    { name: 'fractional width', input: [4, 1.5] },
    { name: 'too large', input: [1e7, 10] },
  ];
  for (const c of bad) {
    test(`constructor rejects ${c.name}`, () => {
      assert.throws(() => new Ring(...c.input), RangeError);
    });
  }

  const cases: { name: string; capacity: number; push: number[]; want: number[] }[] = [
    { name: 'empty', capacity: 3, push: [], want: [] },
    { name: 'partly filled', capacity: 3, push: [1, 2], want: [1, 2] },
    { name: 'exactly full', capacity: 3, push: [1, 2, 3], want: [1, 2, 3] },
    { name: 'wrapped once', capacity: 3, push: [1, 2, 3, 4], want: [2, 3, 4] },
    { name: 'wrapped many times', capacity: 3, push: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], want: [8, 9, 10] },
    { name: 'capacity one', capacity: 1, push: [1, 2, 3], want: [3] },
  ];
  for (const c of cases) {
    test(`iterates oldest to newest: ${c.name}`, () => {
      const r = new Ring(c.capacity, 2);
      for (const t of c.push) r.push([t, t * 10]);
      assert.equal(r.length, c.want.length);
      assert.deepEqual(rowsOf(r), c.want.map((t) => [t, t * 10]));
      assert.deepEqual(r.last() && [...r.last()!], c.want.length ? [c.want.at(-1)!, c.want.at(-1)! * 10] : undefined);
    });
  }

  test('push rejects a row of the wrong width', () => {
    const r = new Ring(2, 3);
    assert.throws(() => r.push([1, 2]), /2 values, expected 3/);
    assert.equal(r.length, 0);
  });

  test('rows are copies: mutating one does not change the ring', () => {
    const r = new Ring(2, 2);
    const scratch = new Float64Array([1, 2]);
    r.push(scratch);
    scratch[0] = 99;
    const row = r.row(0);
    row[1] = 99;
    assert.deepEqual([...r.row(0)], [1, 2]);
  });

  test('keeps NaN for unavailable values', () => {
    const r = new Ring(2, 2);
    r.push([1, Number.NaN]);
    assert.ok(Number.isNaN(r.get(0, 1)));
  });

  test('get checks bounds', () => {
    const r = new Ring(2, 2);
    r.push([1, 2]);
    assert.throws(() => r.get(1, 0), RangeError);
    assert.throws(() => r.get(0, 2), RangeError);
    assert.throws(() => r.get(-1, 0), RangeError);
  });

  const since: { name: string; push: number[]; t: number; want: number[] }[] = [
    { name: 'before all', push: [10, 20, 30], t: 0, want: [10, 20, 30] },
    { name: 'exact match is included', push: [10, 20, 30], t: 20, want: [20, 30] },
    { name: 'between rows', push: [10, 20, 30], t: 25, want: [30] },
    { name: 'after all', push: [10, 20, 30], t: 31, want: [] },
    { name: 'empty ring', push: [], t: 0, want: [] },
    { name: 'wrapped', push: [10, 20, 30, 40, 50], t: 35, want: [40, 50] },
    { name: 'equal times', push: [10, 20, 20, 30], t: 20, want: [20, 20, 30] },
  ];
  for (const c of since) {
    test(`since: ${c.name}`, () => {
      const r = new Ring(4, 1);
      for (const t of c.push) r.push([t]);
      assert.deepEqual(
        r.since(c.t).map((row) => row[0]),
        c.want,
      );
    });
  }

  // The wall clock stepped (NTP, a VM resumed): times read every 10 s, then a step of an hour. Rows keep
  // the time as read; a window is every row from the first whose largest time so far is >= t.
  const H = 3600;
  const before = [0, 10, 20, 30, 40, 50];
  const back = [...before, 60 - H, 70 - H, 80 - H];
  const forward = [...before, 60 + H, 70 + H, 80 + H];
  const steps: { name: string; push: number[]; t: number; capacity?: number; want: number[] }[] = [
    { name: 'back 1 h: since a time before the step (the first failure) keeps every row after it', push: back, t: 45, want: [50, 60 - H, 70 - H, 80 - H] },
    { name: 'back 1 h: the last 25 s on the clock as it reads now holds the recent rows (and, too wide, the hour before)', push: back, t: 80 - H - 25, want: back },
    { name: 'back 1 h: after the newest key, nothing', push: back, t: 51, want: [] },
    { name: 'forward 1 h: the last 25 s on the clock as it reads now', push: forward, t: 80 + H - 25, want: [60 + H, 70 + H, 80 + H] },
    { name: 'forward 1 h: since a time before the step', push: forward, t: 45, want: [50, 60 + H, 70 + H, 80 + H] },
    { name: 'back, then wrapped past the rows before the step', push: [...back, 90 - H, 100 - H, 110 - H, 120 - H, 130 - H, 140 - H], t: 45, capacity: 8, want: [70 - H, 80 - H, 90 - H, 100 - H, 110 - H, 120 - H, 130 - H, 140 - H] },
    { name: 'a NaN time keeps its place and is not searched by', push: [10, Number.NaN, 30], t: 20, want: [30] },
  ];
  for (const c of steps) {
    test(`since, the clock stepped: ${c.name}`, () => {
      const r = new Ring(c.capacity ?? 16, 1);
      for (const t of c.push) r.push([t * 1000]);
      assert.deepEqual(
        r.since(c.t * 1000).map((row) => row[0]! / 1000),
        c.want,
      );
    });
  }
});

// Fixed-size history in one preallocated Float64Array: pushing never allocates, so a daemon that
// samples for months keeps a flat memory profile. Column 0 is, by convention, the row's time
// (epoch ms, as the wall clock read it); NaN marks a value that was unavailable.
//
// The wall clock can go back (an NTP step, a VM resumed with an old clock), so column 0 may decrease.
// Rows stay in the order they were pushed and keep the time as read (a snapshot shows what the clock
// said); searches by time (`indexSince`) go by each row's *key*, the largest time pushed up to it, which
// never decreases, so the binary search stays valid. What that means for `since(t)`:
// - a row pushed after one that is >= t is >= t too: the rows after a step back are never lost from a
//   window that reaches before the step, and the newest rows are always in a window that reaches them;
// - after a step back of S, a window reaching before the step also holds up to S of older rows: it is
//   too wide (bounded by the ring) rather than empty or cut;
// - a step forward needs nothing: times still increase, and rows before it are as old as the clock says.

const MAX_CELLS = 1 << 24; // 128 MiB of float64: far beyond any sane config, refuses typos like 1e9

/** A ring of `capacity` rows of `width` float64 values; oldest rows are overwritten. */
export class Ring {
  readonly capacity: number;
  readonly width: number;
  private readonly data: Float64Array;
  /** per physical row: the largest column 0 pushed up to it (see the top of the file) */
  private readonly keys: Float64Array;
  private maxKey = -Infinity;
  /** physical row the next push writes */
  private head = 0;
  private count = 0;

  constructor(capacity: number, width: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`ring capacity must be a positive integer, got ${capacity}`);
    }
    if (!Number.isSafeInteger(width) || width < 1) {
      throw new RangeError(`ring width must be a positive integer, got ${width}`);
    }
    if (capacity * width > MAX_CELLS) {
      throw new RangeError(`ring of ${capacity} x ${width} values is too large (max ${MAX_CELLS})`);
    }
    this.capacity = capacity;
    this.width = width;
    this.data = new Float64Array(capacity * width);
    this.keys = new Float64Array(capacity);
  }

  get length(): number {
    return this.count;
  }

  /** Copy one row in; `row` must have exactly `width` values (callers reuse one scratch array). */
  push(row: ArrayLike<number>): void {
    if (row.length !== this.width) {
      throw new RangeError(`ring row has ${row.length} values, expected ${this.width}`);
    }
    const base = this.head * this.width;
    for (let c = 0; c < this.width; c++) this.data[base + c] = row[c] as number;
    const t = row[0] as number;
    // a NaN time keeps the previous key: it cannot be ordered, and must not poison the search
    if (t > this.maxKey) this.maxKey = t;
    this.keys[this.head] = this.maxKey;
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    if (this.count < this.capacity) this.count++;
  }

  /** Physical row of logical row i (0 = oldest). */
  private physical(i: number): number {
    return (this.head - this.count + i + this.capacity) % this.capacity;
  }

  /** Offset into the backing array of logical row i (0 = oldest). */
  private offset(i: number): number {
    return this.physical(i) * this.width;
  }

  /** Value at logical row i (0 = oldest), column c. */
  get(i: number, c: number): number {
    if (i < 0 || i >= this.count || c < 0 || c >= this.width) {
      throw new RangeError(`ring index (${i}, ${c}) out of range (${this.count} x ${this.width})`);
    }
    return this.data[this.offset(i) + c] as number;
  }

  /** A copy of logical row i. */
  row(i: number): Float64Array {
    if (i < 0 || i >= this.count) throw new RangeError(`ring row ${i} out of range (${this.count} rows)`);
    const o = this.offset(i);
    return this.data.slice(o, o + this.width);
  }

  /** The newest row (a copy), or undefined when empty. */
  last(): Float64Array | undefined {
    return this.count === 0 ? undefined : this.row(this.count - 1);
  }

  /**
   * Logical index of the oldest row whose key (the largest time up to it) is >= t: every row from there
   * on is in the window. A binary search over the keys, which never decrease even when times do.
   */
  indexSince(t: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.keys[this.physical(mid)] as number) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Copies of the rows from `indexSince(t)` on, oldest first (time >= t while the clock never went back). */
  since(t: number): Float64Array[] {
    const out: Float64Array[] = [];
    for (let i = this.indexSince(t); i < this.count; i++) out.push(this.row(i));
    return out;
  }

  /** Copies of every row, oldest first. */
  *[Symbol.iterator](): IterableIterator<Float64Array> {
    for (let i = 0; i < this.count; i++) yield this.row(i);
  }
}

// Fixed-size history in one preallocated Float64Array: pushing never allocates, so a daemon that
// samples for months keeps a flat memory profile. Column 0 is, by convention, the row's time
// (epoch ms) and must not decrease; NaN marks a value that was unavailable.

const MAX_CELLS = 1 << 24; // 128 MiB of float64: far beyond any sane config, refuses typos like 1e9

/** A ring of `capacity` rows of `width` float64 values; oldest rows are overwritten. */
export class Ring {
  readonly capacity: number;
  readonly width: number;
  private readonly data: Float64Array;
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
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    if (this.count < this.capacity) this.count++;
  }

  /** Offset into the backing array of logical row i (0 = oldest). */
  private offset(i: number): number {
    const physical = (this.head - this.count + i + this.capacity) % this.capacity;
    return physical * this.width;
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

  /** Logical index of the oldest row whose column 0 is >= t (binary search; times never decrease). */
  indexSince(t: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.data[this.offset(mid)] as number) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Copies of the rows with time >= t, oldest first. */
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

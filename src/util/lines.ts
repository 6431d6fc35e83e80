// Command output cut into lines as it arrives, so a reader keeps what it parsed (the newest N journal
// entries, the kernel lines that match) instead of the whole output as one string.

/**
 * Splits a byte stream at '\n'. Memory is bounded by `maxLineBytes`: a longer line is dropped whole
 * (`onDropped`), never kept growing. `end()` hands over a last line that had no newline.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private dropping = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onDropped?: () => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      const whole = !this.dropping && this.pendingBytes + piece.length <= this.maxLineBytes;
      const line = whole ? (this.pending.length === 0 ? piece.toString('utf8') : Buffer.concat([...this.pending, piece]).toString('utf8')) : null;
      this.pending = [];
      this.pendingBytes = 0;
      this.dropping = false;
      if (line === null) this.onDropped?.();
      else this.onLine(line);
    }
    const rest = chunk.subarray(start);
    if (rest.length === 0 || this.dropping) return;
    if (this.pendingBytes + rest.length > this.maxLineBytes) {
      this.dropping = true;
      this.pending = [];
      this.pendingBytes = 0;
    } else {
      // a copy: the chunk's memory is Node's pooled buffer, reused once this returns
      this.pending.push(Buffer.from(rest));
      this.pendingBytes += rest.length;
    }
  }

  /** The output ended: a last line without its newline is still a line. */
  end(): void {
    if (this.pending.length > 0 && !this.dropping) this.onLine(Buffer.concat(this.pending).toString('utf8'));
    this.discard();
  }

  /** The output was cut (a cap, a deadline): the partial last line is not a line. */
  discard(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.dropping = false;
  }
}

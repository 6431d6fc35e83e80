// A /proc file kept open and re-read from offset 0. procfs regenerates the text on every read from
// offset 0, so keeping the descriptor saves the open, fstat and close that readFileSync pays each
// time: on the host sampler's hot path that is three quarters of the cost (bench/sample.ts).
import { closeSync, openSync, readSync } from 'node:fs';
import { isErrno } from '../util/errors';

const MAX_BYTES = 4 << 20;

export class ProcFile {
  private fd: number | null = null;
  private buf: Buffer;
  private absent = false;

  constructor(
    readonly path: string,
    initialBytes = 16 * 1024,
  ) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** The file's current text. Errors (ENOENT, EACCES, EIO) are thrown as fs errors with the path. */
  read(): string {
    try {
      if (this.fd === null) this.fd = openSync(this.path, 'r');
      for (;;) {
        const n = readSync(this.fd, this.buf, 0, this.buf.length, 0);
        // a read that fills the buffer may have been cut: grow and read again from the start
        if (n < this.buf.length || this.buf.length >= MAX_BYTES) return this.buf.toString('latin1', 0, n);
        this.buf = Buffer.allocUnsafe(Math.min(this.buf.length * 2, MAX_BYTES));
      }
    } catch (err) {
      // a descriptor that failed once is not trusted again: the next read reopens the path
      this.close();
      throw err;
    }
  }

  /**
   * The text, or null when the error's code is one of `absent` (e.g. no PSI on this kernel). Absent
   * stays absent: a kernel file does not appear without a reboot, so later calls make no system call.
   */
  readOr(absent: ReadonlySet<string>): string | null {
    if (this.absent) return null;
    try {
      return this.read();
    } catch (err) {
      if (!isErrno(err, absent)) throw err;
      this.absent = true;
      return null;
    }
  }

  close(): void {
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        // already gone; nothing to release
      }
      this.fd = null;
    }
  }
}

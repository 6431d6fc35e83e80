// What a multi-line detector found: the lines of one error block and the one match it gives, if any.

import type { SignatureMatch } from './types';

export interface Found {
  /** every line of the block, ascending */
  lines: number[];
  /** the line that names the error (the exception line, the panic message) */
  head: number;
  /** the block's one match; none for a logged error that names no cause (a caught `Error: boom`) */
  match?: SignatureMatch;
}

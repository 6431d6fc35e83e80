// PLACEHOLDER until the catalogue lands (branch sig): no signature matches.
import type { SignatureMatch } from './types';

export type { SignatureMatch } from './types';

export function scanSignatures(_lines: readonly string[]): SignatureMatch[] {
  return [];
}

// PLACEHOLDER until the catalogue lands (branch sig).
const ERROR_WORDS = /\b(error|fatal|failed|refused|denied|exception|cannot|unable|panic|abort|crash)/i;

export function readsAsError(line: string): boolean {
  return ERROR_WORDS.test(line);
}

export function isNoise(line: string): boolean {
  return line.trim() === '' || /^\s+at /.test(line) || /^Node\.js v\d/.test(line);
}

export function lastWords(lines: readonly { message: string; priority: number | null }[], max = 3): number[] {
  const out: number[] = [];
  for (let i = lines.length - 1; i >= 0 && out.length < max; i--) {
    const l = lines[i]!;
    if (isNoise(l.message)) continue;
    if ((l.priority !== null && l.priority <= 3) || readsAsError(l.message)) out.unshift(i);
  }
  return out;
}

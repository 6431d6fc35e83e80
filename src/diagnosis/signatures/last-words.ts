// The service's last words: the few lines a person should read first when nothing more specific names
// the cause ("the service logged: ..."). Error lines by priority (<= 3: err and worse) or by their words,
// noise dropped, a multi-line error block represented by its one telling line, repeats collapsed.

import { scan } from './index';
import { isNoise, readsAsError } from './words';

export { isNoise, readsAsError } from './words';

export interface LoggedLine {
  message: string;
  /** syslog priority (0 emerg .. 7 debug); null when the journal has none */
  priority: number | null;
}

/** Lines that differ only in their numbers (a counter, a pid, a time) are one line said again. */
const repeatKey = (message: string) => message.trim().replace(/\d+/g, '#');

/**
 * The indexes of the most telling lines, newest last, at most `max`: a signature's quoted line that
 * proves its cause first, then other signatures' lines, then the other error lines; newer before older
 * among equals. Each repeated line counts once, at its last occurrence.
 */
export function lastWords(lines: readonly LoggedLine[], max = 3): number[] {
  if (max <= 0 || lines.length === 0) return [];
  const { matches, covered, unnamed } = scan(lines.map((l) => l.message));
  const rank = new Map<number, number>();
  for (const m of matches) rank.set(m.line, m.strength === 'proves' ? 2 : 1);
  for (const h of unnamed) if (!isNoise(lines[h]!.message)) rank.set(h, 0);
  const last = new Map<string, number>();
  lines.forEach((l, i) => {
    const telling = rank.has(i) || (!covered[i] && !isNoise(l.message) && ((l.priority !== null && l.priority <= 3) || readsAsError(l.message)));
    if (!telling) return;
    const key = repeatKey(l.message);
    last.delete(key);
    last.set(key, i);
  });
  return [...last.values()]
    .sort((a, b) => (rank.get(b) ?? 0) - (rank.get(a) ?? 0) || b - a)
    .slice(0, max)
    .sort((a, b) => a - b);
}

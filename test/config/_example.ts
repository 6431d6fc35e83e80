// The repository's example preflight.yaml, for the tests that read it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const EXAMPLE = readFileSync(join(__dirname, '..', '..', 'preflight.yaml'), 'utf8');

/** The example's commented `notifications:` block with one "# " taken off each of its lines, as a user would. */
export function uncommentNotifications(text: string): string {
  const lines = text.split('\n');
  const start = lines.indexOf('# notifications:');
  if (start < 0) throw new Error('the example has no commented notifications: block');
  for (let i = start; i < lines.length && lines[i]!.startsWith('#'); i++) lines[i] = lines[i]!.replace(/^# /, '');
  return lines.join('\n');
}

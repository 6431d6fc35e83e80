// How evidence quotes what it rests on: one line each, time first, whitespace folded, bounded.
import type { SnapshotJournalLine } from '../../incident/snapshot';
import type { UnitState } from '../../systemd/unit';
import { capMessage } from '../../util/text';

const MAX_LINE_CHARS = 300;

export const clean = (message: string): string => capMessage(message.trim().replace(/\s+/g, ' '), MAX_LINE_CHARS);
export const journalQuote = (l: SnapshotJournalLine): string => `${l.at} ${clean(l.message)}`;
export const kernelQuote = (l: { at?: string; message: string }): string => `${l.at ?? '?'} kernel: ${clean(l.message)}`;
export const pct1 = (x: number): string => `${Math.round(x * 10) / 10}%`;

export function propsQuote(u: UnitState, keys: readonly string[]): string {
  return `systemctl show: ${keys.filter((k) => u.properties[k] !== undefined && u.properties[k] !== '').map((k) => `${k}=${u.properties[k]}`).join(' ')}`;
}

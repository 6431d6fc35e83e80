// What the chat and push channels (Telegram, Gotify, Pushover, Matrix, Apprise) say and how they keep
// to their limits: the same five pieces in each (title, the one line, the probable cause, its
// strongest quoted line, the link), each piece clipped in the unit its API counts, never inside a
// surrogate pair, the earlier pieces first so a 10 KB log line cannot push out the title.
import type { Snapshot } from '../../incident/snapshot';
import { clip } from '../../util/text';
import { oneLine, title, type NotifyEvent, type NotifyFacts } from '../message';

/**
 * NotifyFacts and the first finding's strongest quoted line. `quote` is not on main's NotifyFacts yet:
 * the notifier adds it with `quoteOf(snapshot)`; when NotifyFacts gets its own `quote: string | null`
 * this type is simply NotifyFacts.
 */
export type ChannelFacts = NotifyFacts & { quote?: string | null };

/** The first finding's strongest quoted line (its `quote`, else its first evidence line), or null. */
export function quoteOf(s: Pick<Snapshot, 'findings'>): string | null {
  const first = s.findings[0];
  if (!first) return null;
  const q = first.quote ?? first.evidence[0] ?? null;
  return q !== null && q.trim() !== '' ? q : null;
}

/** One line: log text may carry newlines, tabs, escape sequences; a notification shows none of them. */
export function flat(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();
}

export interface ChannelText {
  title: string;
  line: string;
  /** null when resolved (the episode's end has no cause to tell) or when there is none */
  cause: string | null;
  quote: string | null;
  link: string | null;
}

export function channelText(f: ChannelFacts): ChannelText {
  const told = f.event !== 'resolved';
  const cause = told && f.probableCause ? flat(f.probableCause) : '';
  const quote = told && f.quote ? flat(f.quote) : '';
  return { title: flat(title(f)), line: flat(oneLine(f)), cause: cause || null, quote: quote || null, link: f.link };
}

/** How urgent a message is, for the channels with a priority: the failure pages, its end does not. */
export type Urgency = 'high' | 'normal' | 'low';
export function urgencyOf(event: NotifyEvent): Urgency {
  return event === 'down' ? 'high' : event === 'resolved' ? 'low' : 'normal';
}

/** A length as an API counts it, and a clip to at most `max` in that count (the ellipsis included). */
export interface Measure {
  length(s: string): number;
  clip(s: string, max: number): string;
}

/** UTF-16 code units: JavaScript's `length`, what Telegram counts (its entity offsets are UTF-16). */
export const UTF16: Measure = { length: (s) => s.length, clip: (s, max) => (max <= 0 ? '' : clip(s, max)) };

/** Code points: Pushover's "4-byte UTF-8 characters", Python's len() in Apprise. */
export const CODE_POINTS: Measure = {
  length: (s) => {
    let n = 0;
    for (const _ of s) n++;
    return n;
  },
  clip: (s, max) => {
    if (max <= 0) return '';
    const chars = Array.from(s);
    return chars.length <= max ? s : `${chars.slice(0, max - 1).join('')}…`;
  },
};

export interface Piece {
  text: string | null;
  /** at most this much of the text, whatever room is left */
  cap: number;
  /** what the format adds around it (a label, a separator), counted in the same measure */
  overhead: number;
}

/** Below this much room a clipped piece says nothing: it is left out instead. */
const MIN_ROOM = 8;

/**
 * The pieces in order, each clipped to its cap and to what the earlier ones left of `total`; a piece
 * with no text or no room is null. The sum of the kept pieces and their overheads is at most `total`.
 */
export function fitPieces(m: Measure, total: number, pieces: Piece[]): (string | null)[] {
  let left = total;
  return pieces.map((p) => {
    if (p.text === null || p.text === '') return null;
    const room = Math.min(p.cap, left - p.overhead);
    if (room < Math.min(MIN_ROOM, m.length(p.text))) return null;
    const kept = m.clip(p.text, room);
    left -= p.overhead + m.length(kept);
    return kept;
  });
}

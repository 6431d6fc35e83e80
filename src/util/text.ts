// Cutting text for one-line displays and bounded storage, without splitting a UTF-16 surrogate pair.

/** At most `max` characters of `message`, then '…' when it was longer (so up to max + 1 in all). */
export function capMessage(message: string, max: number): string {
  if (message.length <= max) return message;
  let end = Math.max(0, max);
  const last = message.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${message.slice(0, end)}…`;
}

/** `s` in at most `max` characters, the ellipsis included. */
export function clip(s: string, max: number): string {
  return s.length > max ? capMessage(s, max - 1) : s;
}

/** The first line of a text, trimmed ('' for none). */
export function firstLine(text: string): string {
  return (text.trim().split('\n', 1)[0] ?? '').trim();
}

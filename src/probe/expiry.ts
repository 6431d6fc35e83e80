// A certificate about to expire: the warning a person can act on before the probe starts failing on it.
// The probe keeps the server's certificate on every https:// result (tls.ts); this says when its end is
// near, in words, and tells the daemon's log once per certificate rather than at every check. Pure,
// except for the notices' memory of what was already said.
import type { TlsCertificate } from './tls';

/** A certificate that ends within this long of a check is warned about (log line, snapshot finding). */
export const EXPIRY_WARNING_MS = 7 * 24 * 3600 * 1000;

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

/** "2 days 23 hours", "3 days", "5 hours", "20 minutes": how long is left, rounded down, in its two largest units at most. */
export function timeLeftWords(ms: number): string {
  const unit = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (ms >= DAY) {
    const hours = Math.floor((ms % DAY) / HOUR);
    return `${unit(Math.floor(ms / DAY), 'day')}${hours > 0 ? ` ${unit(hours, 'hour')}` : ''}`;
  }
  if (ms >= HOUR) return unit(Math.floor(ms / HOUR), 'hour');
  return unit(Math.max(0, Math.floor(ms / 60_000)), 'minute');
}

export interface Expiring {
  /** notAfter, ISO */
  validTo: string;
  /** ms from `now` to notAfter (> 0) */
  leftMs: number;
  /** "TLS certificate expires in 3 days, at 2026-12-05T16:05:31Z (CN=localhost)" */
  words: string;
}

/** The certificate's end when it is after `now` and within EXPIRY_WARNING_MS of it; else undefined (an expired one is a TLS failure of its own). */
export function expiringSoon(cert: Pick<TlsCertificate, 'validTo' | 'subject'> | undefined, now: number): Expiring | undefined {
  if (!cert?.validTo) return undefined;
  const end = Date.parse(cert.validTo);
  if (Number.isNaN(end)) return undefined;
  const leftMs = end - now;
  if (leftMs <= 0 || leftMs > EXPIRY_WARNING_MS) return undefined;
  const cn = cert.subject?.split(', ').find((p) => p.startsWith('CN=')) ?? cert.subject;
  return { validTo: cert.validTo, leftMs, words: `TLS certificate expires in ${timeLeftWords(leftMs)}, at ${cert.validTo}${cn ? ` (${cn})` : ''}` };
}

/**
 * What the daemon logs about certificates: one warning per service and certificate (told again only
 * when the service presents another certificate that is also near its end), not one per check.
 */
export class ExpiryNotices {
  private readonly told = new Map<string, string>();

  /** The line to log for this check's certificate, or undefined when there is nothing new to say. */
  note(service: string, cert: TlsCertificate | undefined, now: number): string | undefined {
    if (cert === undefined) return undefined;
    const soon = expiringSoon(cert, now);
    // a certificate is known by its subject and end: a renewed one that nears its end is told again
    const key = `${cert.subject ?? ''}\n${cert.validTo ?? ''}`;
    if (soon === undefined || this.told.get(service) === key) return undefined;
    this.told.set(service, key);
    return `${service}: ${soon.words}; renew it before then, or checks will fail`;
  }
}

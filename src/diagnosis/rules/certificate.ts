// The service's TLS certificate is near its end: a warning, not a cause. The failed check kept the
// certificate the server presented (error.tls, on any failure after the handshake); when it ends within
// seven days of the failure the snapshot says so, as a finding that is only ever `possible` and ranks
// after what the failure itself looked like, so it is never told as the probable cause of a 503.
// An expired or refused certificate is the TLS failure itself (probe.ts says that one).
import { expiringSoon } from '../../probe/expiry';
import type { Ctx } from '../context';
import type { Evidence } from '../evidence';

export function certificateRule(ctx: Ctx): Evidence[] {
  const error = ctx.input.error;
  const cert = error?.tls;
  if (!error || !cert || Number.isNaN(ctx.ff)) return [];
  const soon = expiringSoon({ validTo: cert.valid_to, subject: cert.subject }, ctx.ff);
  if (!soon) return [];
  const verified = cert.code === null ? 'verified' : `not verified: ${cert.code}`;
  return [
    {
      kind: 'tls_expiring',
      cause: soon.words,
      source: 'probe',
      scope: 'unit',
      at: ctx.input.firstFailureAt,
      strength: 'suggests',
      // seen on the way, like a symptom: it explains nothing and nothing explains it away
      role: 'symptom',
      confidence: 'possible',
      specificity: -1,
      quotes: [`certificate ${cert.subject ?? '(no subject)'} from ${cert.issuer ?? '(no issuer)'}, valid ${cert.valid_from ?? '?'} to ${cert.valid_to} (${verified})`],
    },
  ];
}

// Certificate expiry in words, the 7-day window, and the log's once-per-certificate memory. Pure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXPIRY_WARNING_MS, ExpiryNotices, expiringSoon, timeLeftWords } from '../../src/probe/expiry';
import type { TlsCertificate } from '../../src/probe/tls';

const NOW = Date.parse('2026-12-02T12:00:00Z');
const H = 3600 * 1000;
const cert = (validTo: string | null, subject: string | null = 'CN=app'): TlsCertificate => ({ code: null, subject, issuer: 'CN=ca', validFrom: '2026-01-01T00:00:00Z', validTo, altNames: [] });

test('timeLeftWords', async (t) => {
  const cases: [number, string][] = [
    [3 * 24 * H, '3 days'],
    [3 * 24 * H - 1, '2 days 23 hours'],
    [24 * H + 30 * 60_000, '1 day'],
    [25 * H, '1 day 1 hour'],
    [5 * H + 59 * 60_000, '5 hours'],
    [H, '1 hour'],
    [20 * 60_000 + 59_000, '20 minutes'],
    [60_000, '1 minute'],
    [1, '0 minutes'],
  ];
  for (const [ms, want] of cases) await t.test(want, () => assert.equal(timeLeftWords(ms), want));
});

test('expiringSoon: within 7 days of now, after now', async (t) => {
  const cases: { name: string; input: TlsCertificate | undefined; want: ReturnType<typeof expiringSoon> }[] = [
    { name: 'in 3 days', input: cert('2026-12-05T12:00:00Z'), want: { validTo: '2026-12-05T12:00:00Z', leftMs: 72 * H, words: 'TLS certificate expires in 3 days, at 2026-12-05T12:00:00Z (CN=app)' } },
    { name: 'exactly 7 days', input: cert('2026-12-09T12:00:00Z'), want: { validTo: '2026-12-09T12:00:00Z', leftMs: EXPIRY_WARNING_MS, words: 'TLS certificate expires in 7 days, at 2026-12-09T12:00:00Z (CN=app)' } },
    { name: 'a second past 7 days', input: cert('2026-12-09T12:00:01Z'), want: undefined },
    { name: 'already expired: the TLS failure says that', input: cert('2026-12-02T12:00:00Z'), want: undefined },
    { name: 'no CN: the whole subject', input: cert('2026-12-02T13:00:00Z', 'O=Example'), want: { validTo: '2026-12-02T13:00:00Z', leftMs: H, words: 'TLS certificate expires in 1 hour, at 2026-12-02T13:00:00Z (O=Example)' } },
    { name: 'no subject', input: cert('2026-12-02T13:00:00Z', null), want: { validTo: '2026-12-02T13:00:00Z', leftMs: H, words: 'TLS certificate expires in 1 hour, at 2026-12-02T13:00:00Z' } },
    { name: 'no date', input: cert(null), want: undefined },
    { name: 'no certificate', input: undefined, want: undefined },
  ];
  for (const c of cases) await t.test(c.name, () => assert.deepEqual(expiringSoon(c.input, NOW), c.want));
});

test('ExpiryNotices: once per service and certificate', () => {
  const n = new ExpiryNotices();
  const soon = cert('2026-12-05T12:00:00Z');
  const line = 'web: TLS certificate expires in 3 days, at 2026-12-05T12:00:00Z (CN=app); renew it before then, or checks will fail';
  assert.equal(n.note('web', soon, NOW), line);
  assert.equal(n.note('web', soon, NOW + H), undefined, 'the same certificate again: nothing new');
  assert.equal(n.note('api', soon, NOW)?.startsWith('api: '), true, 'another service is told on its own');
  assert.equal(n.note('web', cert('2027-06-01T00:00:00Z'), NOW + 2 * H), undefined, 'renewed: nothing to say');
  assert.equal(n.note('web', undefined, NOW), undefined, 'no certificate (http://, or a failure before the handshake)');
  const next = cert('2026-12-06T12:00:00Z');
  assert.equal(n.note('web', next, NOW), 'web: TLS certificate expires in 4 days, at 2026-12-06T12:00:00Z (CN=app); renew it before then, or checks will fail', 'another certificate near its end is told');
});

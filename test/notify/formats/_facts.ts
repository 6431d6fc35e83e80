// The messages every channel test builds: the four events, an empty cause, a 10 KB hostile cause
// (markup, entities, emoji, newlines, a markdown image) and no link, from the notifier tests' snapshot.
import { quoteOf, type ChannelFacts } from '../../../src/notify/formats/channel-text';
import { factsOf } from '../../../src/notify/message';
import type { Snapshot } from '../../../src/incident/snapshot';
import { snapshotFixture } from '../../daemon/_helpers';

export const ID = '2026-11-25T03-04-05.123Z';
export const BASE = 'http://box.example.org:9187';
export const LINK = `${BASE}/failure-context/dead-drop/${ID}`;

/** `<b>&` and an emoji (a surrogate pair) over and over, a newline, a would-be image: 10 KB and more. */
export const HOSTILE = `${'<b>&amp;😀 </i>'.repeat(700)}\n![x](http://evil.example/pixel.png) [click](javascript:alert(1)) <script>x</script>`;

const facts = (s: Snapshot, event: ChannelFacts['event'], base: string | undefined, detail: string | null = null): ChannelFacts => ({
  ...factsOf(s, event, base, detail),
  quote: quoteOf(s),
});

const recovered = (): Snapshot => snapshotFixture({ recovery: { at: '2026-11-25T03:06:18.123Z', downtime_seconds: 133, samples: [] } });
const hostile = (): Snapshot =>
  snapshotFixture({
    probable_cause: HOSTILE,
    findings: [{ cause: HOSTILE, kind: 'log', scope: 'unit', confidence: 'likely', at: null, quote: HOSTILE, evidence: [HOSTILE] }],
  });

export interface FactsCase {
  name: string;
  input: ChannelFacts;
}

export const CASES: FactsCase[] = [
  { name: 'down', input: facts(snapshotFixture(), 'down', BASE) },
  { name: 'flapping', input: { ...facts(snapshotFixture(), 'flapping', BASE, 'flapping: 7 failures in 12m00s'), occurrences: 7 } },
  { name: 'cause_changed', input: facts(snapshotFixture(), 'cause_changed', BASE, 'cause changed: now connection refused by 127.0.0.1:5432') },
  { name: 'resolved', input: { ...facts(recovered(), 'resolved', BASE), occurrences: 3 } },
  { name: 'empty cause', input: facts(snapshotFixture({ probable_cause: '', findings: [] }), 'down', BASE) },
  { name: 'hostile cause', input: facts(hostile(), 'down', BASE) },
  { name: 'hostile flapping', input: facts(hostile(), 'flapping', BASE) },
  { name: 'no link', input: facts(snapshotFixture(), 'down', undefined) },
];

export function caseOf(name: string): ChannelFacts {
  const c = CASES.find((x) => x.name === name);
  if (!c) throw new Error(`no facts case ${name}`);
  return c.input;
}

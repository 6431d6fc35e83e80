// What a requested restart holds, job line by job line, as systemd 252 logs `systemctl restart`, `stop`,
// a restart whose start times out, and an automatic restart (fixtures/systemd/*: the sequences there).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HOLD_MARGIN_MS, nextRequested, type Requested } from '../../src/daemon/requested';
import type { JobEvent } from '../../src/daemon/units';

const T = { stopMs: 90_000, startMs: 3000 };
const job = (at: number, type: string, phase: 'begin' | 'end', result?: string, automatic = false): JobEvent => ({
  unit: 'app.service',
  type,
  phase,
  ...(result !== undefined ? { result } : {}),
  at,
  automatic,
});
/** Each line read at its own journal time on the monotonic clock (the clocks agree unless a case steps one). */
const replay = (events: JobEvent[], mono: (e: JobEvent, i: number) => number = (e) => e.at): Array<Requested | null> => {
  let r: Requested | null = null;
  return events.map((e, i) => (r = nextRequested(r, e, T, mono(e, i))));
};

describe('nextRequested', () => {
  const cases: { name: string; input: JobEvent[]; want: Array<Requested | null> }[] = [
    {
      name: 'systemctl restart: held from the stop, until the start timeout after the stop half ended',
      input: [job(1000, 'stop', 'begin'), job(1010, 'restart', 'end', 'done'), job(1020, 'start', 'end', 'done')],
      want: [
        { type: 'stop', at: 1000, since: 1000, until: 1000 + 90_000 + HOLD_MARGIN_MS },
        { type: 'restart', at: 1000, since: 1000, until: 1010 + 3000 + HOLD_MARGIN_MS },
        { type: 'restart', at: 1000, since: 1000, until: 1010 + 3000 + HOLD_MARGIN_MS },
      ],
    },
    {
      name: 'systemctl stop: the end as a stop releases it',
      input: [job(1000, 'stop', 'begin'), job(1004, 'stop', 'end', 'done')],
      want: [{ type: 'stop', at: 1000, since: 1000, until: 1000 + 90_000 + HOLD_MARGIN_MS }, null],
    },
    {
      name: 'a restart whose start timed out: released when the start job fails',
      input: [job(1000, 'stop', 'begin'), job(1010, 'restart', 'end', 'done'), job(1011, 'start', 'begin'), job(4011, 'start', 'end', 'failed')],
      want: [
        { type: 'stop', at: 1000, since: 1000, until: 1000 + 90_000 + HOLD_MARGIN_MS },
        { type: 'restart', at: 1000, since: 1000, until: 1010 + 3000 + HOLD_MARGIN_MS },
        { type: 'restart', at: 1000, since: 1000, until: 1010 + 3000 + HOLD_MARGIN_MS },
        { type: 'restart', at: 1000, since: 1000, until: 4011 },
      ],
    },
    {
      name: "an automatic restart (Restart=) holds nothing: no stop begins, and its end is systemd's own",
      input: [job(1000, 'restart', 'end', 'done', true), job(1010, 'start', 'end', 'done')],
      want: [null, null],
    },
    { name: 'a start someone began', input: [job(1000, 'start', 'begin')], want: [{ type: 'start', at: 1000, since: 1000, until: 1000 + 3000 + HOLD_MARGIN_MS }] },
    { name: 'empty', input: [], want: [] },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(replay(c.input), c.want));

  test('the wall clock stepped back 1 h between the stop and its end: the hold still ends the start timeout after the end was read', () => {
    const H = 3_600_000;
    // journal times as the clock read them; read by preflight 10 ms apart on the monotonic clock
    const got = replay([job(1000, 'stop', 'begin'), job(1010 - H, 'restart', 'end', 'done')], (_e, i) => 500 + 10 * i);
    assert.deepEqual(got, [
      { type: 'stop', at: 1000, since: 500, until: 500 + 90_000 + HOLD_MARGIN_MS },
      { type: 'restart', at: 1000, since: 500, until: 510 + 3000 + HOLD_MARGIN_MS },
    ]);
  });
});

// The wall clock steps an hour back, then an hour forward (an NTP step, a VM resumed) under a real Daemon
// checking every 200 ms: the checks keep their cadence (a check scheduled from the wall clock would wait
// the hour, or run back to back), and the host samples' window still holds the newest ones.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sleep, startDaemon, waitFor, type Harness } from './_daemon';

const H = 3_600_000;

describe('a real daemon under a wall clock that steps', () => {
  let d: Harness;
  before(async () => {
    d = await startDaemon();
    await waitFor('the first checks', 5000, () => d.service.got.length >= 2);
  });
  after(async () => d.close());

  const steps: { name: string; input: number }[] = [
    { name: 'back 1 h', input: -H },
    { name: 'forward 1 h (from the step back: 2 h)', input: H },
    { name: 'back to the true time', input: 0 },
  ];
  for (const c of steps) {
    test(`${c.name}: the next checks still come every interval, the window still holds the newest samples`, async () => {
      d.skew.wall = c.input;
      const from = d.service.got.length;
      await sleep(1000);
      const checks = d.service.got.length - from;
      // 5 in a second at 200 ms; a loaded box may lose one or two, a run back to back would make hundreds
      assert.ok(checks >= 3 && checks <= 8, `${checks} checks in 1 s after the step`);
      const now = Date.now() + d.skew.wall;
      const recent = d.daemon.sampler.window(now - 500);
      assert.ok(recent.length >= 2, `${recent.length} samples in the last 500 ms`);
      assert.ok(Math.abs(Date.parse(recent.at(-1)!.at) - now) < 1000, `the newest is ${recent.at(-1)!.at}, now ${new Date(now).toISOString()}`);
      const h = await d.healthz();
      assert.equal(h.status, 200, JSON.stringify(h.body));
    });
  }
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { restartFromPoll } from '../../src/daemon/units';
import { parseSystemctlShow, type UnitState } from '../../src/systemd/unit';

const FIXTURES = path.resolve(__dirname, '..', '..', 'fixtures', 'cmd');
/** The real `systemctl show` of one flaky.service run: healthy, crashed (auto-restart), restarted. */
const unit = (name: string): UnitState => parseSystemctlShow(readFileSync(path.join(FIXTURES, `systemctl-show-${name}.txt`), 'utf8'))[0]!;
const healthy = unit('healthy');
const autoRestart = unit('auto-restart');
const restarted = unit('restarted');
const DEAD = 'c32224f002cf4b2e907470c4a9a57cf7';

describe('restartFromPoll (real systemctl show output across a crash)', () => {
  const cases: { name: string; input: [UnitState, UnitState]; want: { deadInvocationId: string | null; reason: RegExp; gaveUp?: 'failed' } | null }[] = [
    { name: 'nothing changed', input: [healthy, healthy], want: null },
    { name: 'caught between exit and restart: auto-restart names the dying run', input: [healthy, autoRestart], want: { deadInvocationId: DEAD, reason: /auto-restart \(result exit-code\)/ } },
    { name: 'caught after the restart: NRestarts rose, the previous invocation died', input: [healthy, restarted], want: { deadInvocationId: DEAD, reason: /NRestarts 0 -> 1/ } },
    { name: 'from auto-restart to running: the same dead run', input: [autoRestart, restarted], want: { deadInvocationId: DEAD, reason: /NRestarts 0 -> 1/ } },
    {
      name: 'a manual restart (new invocation, same NRestarts, never failed) is not an incident',
      input: [healthy, { ...healthy, invocationId: '0123456789abcdef0123456789abcdef' }],
      want: null,
    },
    {
      name: 'entering failed (Restart=no) names the run that failed',
      input: [healthy, { ...healthy, activeState: 'failed', subState: 'failed', result: 'exit-code' }],
      want: { deadInvocationId: DEAD, reason: /entered failed \(result exit-code\)/, gaveUp: 'failed' },
    },
    {
      // a crash loop that hit its start limit between two polls: the counter rose and the unit is failed
      name: 'restarted and then failed for good: said as failed, so the open incident reads it again',
      input: [healthy, { ...restarted, nRestarts: 3, activeState: 'failed', subState: 'failed', result: 'exit-code' }],
      want: { deadInvocationId: DEAD, reason: /^entered failed \(result exit-code\) after NRestarts 0 -> 3$/, gaveUp: 'failed' },
    },
    { name: 'staying failed is not a second incident', input: [{ ...healthy, activeState: 'failed' }, { ...healthy, activeState: 'failed' }], want: null },
    { name: 'a stop (inactive) is not a restart', input: [healthy, { ...healthy, activeState: 'inactive', subState: 'dead' }], want: null },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = restartFromPoll(...c.input);
      if (c.want === null) return assert.equal(got, null);
      assert.ok(got, 'expected a restart');
      assert.equal(got.deadInvocationId, c.want.deadInvocationId);
      assert.match(got.reason, c.want.reason);
      assert.equal(got.gaveUp, c.want.gaveUp);
    });
  }
});


// A service's rings give back what was pushed, NaN as null, oldest first, the oldest dropped when full.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProbeRing, UnitRing } from '../../src/daemon/service-rings';
import { unitFrom } from '../../src/systemd/unit';

test('probe ring: ok and failed checks, bounded', () => {
  const r = new ProbeRing(2);
  assert.deepEqual(r.samples(), []);
  r.push({ at: 1000, ok: true, status: 200, latencyMs: 3.4 });
  r.push({ at: 2000, ok: false, latencyMs: 1000, errorKind: 'timeout' });
  r.push({ at: 3000, ok: false, status: 503, latencyMs: 12, errorKind: 'http_status' });
  assert.deepEqual(r.samples(), [
    { at: '1970-01-01T00:00:02.000Z', ok: false, status: null, latency_ms: 1000, error_kind: 'timeout' },
    { at: '1970-01-01T00:00:03.000Z', ok: false, status: 503, latency_ms: 12, error_kind: 'http_status' },
  ]);
});

test('unit ring: values, and none where systemctl had none', () => {
  const r = new UnitRing(3);
  r.push(unitFrom({ Id: 'a.service', MemoryCurrent: '7319552', TasksCurrent: '7', NRestarts: '1' }), 1000);
  r.push(unitFrom({ Id: 'a.service', MemoryCurrent: '[not set]', TasksCurrent: '[not set]', NRestarts: '1' }), 2000);
  assert.deepEqual(r.samples(), [
    { at: '1970-01-01T00:00:01.000Z', memory_current_bytes: 7319552, tasks_current: 7, n_restarts: 1 },
    { at: '1970-01-01T00:00:02.000Z', memory_current_bytes: null, tasks_current: null, n_restarts: 1 },
  ]);
});

test('probe ring: a clock stepped back an hour keeps the rows in the order they were taken', () => {
  const r = new ProbeRing(3);
  const H = 3_600_000;
  for (const at of [H + 1000, H + 2000, 3000]) r.push({ at, ok: true, status: 200, latencyMs: 1 });
  assert.deepEqual(
    r.samples().map((s) => s.at),
    ['1970-01-01T01:00:01.000Z', '1970-01-01T01:00:02.000Z', '1970-01-01T00:00:03.000Z'],
  );
});

test("unit ring: the last poll's ActiveState/SubState, for preflight status", () => {
  const r = new UnitRing(2);
  assert.equal(r.last, null);
  r.push(unitFrom({ Id: 'a.service', ActiveState: 'active', SubState: 'running' }), 1000);
  r.push(unitFrom({ Id: 'a.service', ActiveState: 'failed', SubState: 'failed' }), 2000);
  assert.deepEqual(r.last, { activeState: 'failed', subState: 'failed', at: 2000 });
  r.push(unitFrom({ Id: 'a.service' }), 3000);
  assert.deepEqual(r.last, { activeState: null, subState: null, at: 3000 });
});

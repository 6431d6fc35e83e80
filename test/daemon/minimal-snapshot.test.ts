// When the full snapshot cannot be built or serialised, the incident still gets a file: what is known
// (service, trigger, times, the failed check, the error) that every reader of the store accepts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { minimalSnapshot } from '../../src/daemon/incidents';
import type { BuildInput } from '../../src/incident/build';
import { checkSnapshotText } from '../../src/incident/snapshot-file';

const input = {
  id: '2026-11-25T03-04-05.123Z',
  service: { name: 'web', healthUrl: 'http://127.0.0.1:8080/health' },
  trigger: 'health_check',
  firstFailureAt: Date.parse('2026-11-25T03:04:05.123Z'),
  confirmedAt: Date.parse('2026-11-25T03:04:05.400Z'),
  consecutiveFailures: 3,
  error: { kind: 'http_status', status: 503, message: 'HTTP 503', latency_ms: 4 },
  context: {
    startedAt: Date.parse('2026-11-25T03:04:05.130Z'),
    finishedAt: Date.parse('2026-11-25T03:04:05.380Z'),
    host: { hostname: 'box', kernel: null, cpus: 2, boot_id: null, uptime_seconds: null, preflight_version: '0.1.0' },
    errors: [{ part: 'journal', reason: 'journalctl not found' }],
  },
} as unknown as BuildInput;

test('minimalSnapshot: a valid stored snapshot saying what failed', () => {
  const cases = [
    { name: 'build', input: 'build' as const, want: 'the snapshot could not be built: rule exploded' },
    { name: 'serialise', input: 'serialise' as const, want: 'the snapshot could not be serialised: rule exploded' },
  ];
  for (const c of cases) {
    const s = minimalSnapshot(input, c.input, new TypeError('rule exploded'));
    const checked = checkSnapshotText(`${JSON.stringify(s, null, 2)}\n`);
    assert.ok(checked.ok, c.name);
    assert.equal(s.summary, `no summary (${c.want})`, c.name);
    assert.equal(s.probable_cause, `no cause found (${c.want})`, c.name);
    assert.deepEqual(s.transition, { first_failure_at: '2026-11-25T03:04:05.123Z', confirmed_at: '2026-11-25T03:04:05.400Z', consecutive_failures: 3 }, c.name);
    assert.deepEqual(s.capture.errors, [{ part: 'journal', reason: 'journalctl not found' }, { part: 'snapshot', reason: c.want }], c.name);
    assert.equal(s.capture.duration_ms, 250, c.name);
    assert.deepEqual([s.service, s.id, s.trigger, s.error?.status], ['web', '2026-11-25T03-04-05.123Z', 'health_check', 503], c.name);
  }
});

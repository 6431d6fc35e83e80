// Reconciling .state.json with the store at start: the state can be behind the snapshots after a kill
// between the two writes (incidents.ts orders them so), never ahead in a way that duplicates.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { reconcileState } from '../../src/daemon/reconcile';
import type { PersistedState } from '../../src/daemon/runtime';

const NOW = Date.parse('2026-11-25T03:10:00.000Z');
const WINDOW = 5 * 60_000;

interface Snap {
  id: string;
  first: string;
  confirmed: string;
  n: number;
  recovered?: string;
}

/** A store holding these snapshots of `web`, newest last. */
function fakeStore(snaps: Snap[]) {
  const text = (s: Snap): string =>
    JSON.stringify({
      id: s.id,
      service: 'web',
      transition: { first_failure_at: s.first, confirmed_at: s.confirmed, consecutive_failures: s.n },
      recovery: s.recovered ? { at: s.recovered } : null,
    });
  return {
    last: async (service: string) => {
      const s = service === 'web' ? snaps[snaps.length - 1] : undefined;
      return s ? ({ entry: {}, text: text(s) } as never) : null;
    },
    read: async (service: string, id: string) => {
      const s = service === 'web' ? snaps.find((x) => x.id === id) : undefined;
      return s ? ({ entry: {}, text: text(s) } as never) : null;
    },
  };
}

const OLD: Snap = { id: '2026-11-25T02-00-00.000Z', first: '2026-11-25T02:00:00.000Z', confirmed: '2026-11-25T02:00:03.000Z', n: 3, recovered: '2026-11-25T02:05:00.000Z' };
const NEW: Snap = { id: '2026-11-25T03-08-00.000Z', first: '2026-11-25T03:08:00.000Z', confirmed: '2026-11-25T03:08:03.000Z', n: 3 };
const open = (s: Snap): PersistedState['services'] => ({ web: { incidentId: s.id, firstFailureAt: Date.parse(s.first), consecutiveFailures: s.n } });
const state = (services: PersistedState['services']): PersistedState => ({ version: 1, services, restarts: {}, last: {} });

describe('reconcileState', () => {
  test('table', async () => {
    const cases: { name: string; input: { state: PersistedState | null; snaps: Snap[] }; want: { open: string | null; notes: number } }[] = [
      { name: 'kill between save and persist: the saved snapshot becomes the open incident', input: { state: state({}), snaps: [OLD, NEW] }, want: { open: NEW.id, notes: 1 } },
      { name: 'no state file at all, same', input: { state: null, snaps: [NEW] }, want: { open: NEW.id, notes: 1 } },
      { name: 'state and store agree', input: { state: state(open(NEW)), snaps: [OLD, NEW] }, want: { open: NEW.id, notes: 0 } },
      { name: 'state behind: an older open incident, a newer snapshot', input: { state: state(open({ ...OLD, recovered: undefined })), snaps: [{ ...OLD, recovered: undefined }, NEW] }, want: { open: NEW.id, notes: 1 } },
      { name: 'the newest is recovered: nothing open', input: { state: state({}), snaps: [OLD] }, want: { open: null, notes: 0 } },
      {
        name: 'unrecovered but confirmed before the window: an old episode, not adopted',
        input: { state: state({}), snaps: [{ ...OLD, recovered: undefined }] },
        want: { open: null, notes: 0 },
      },
      { name: 'open in the state, its file gone: dropped', input: { state: state(open(NEW)), snaps: [] }, want: { open: null, notes: 1 } },
      {
        name: 'kill between the recovery write and persist: open in the state, file recovered: closed',
        input: { state: state(open(NEW)), snaps: [{ ...NEW, recovered: '2026-11-25T03:09:00.000Z' }] },
        want: { open: null, notes: 1 },
      },
    ];
    for (const c of cases) {
      const r = await reconcileState(c.input.state, fakeStore(c.input.snaps), { services: ['web', 'api'], now: NOW, windowMs: WINDOW });
      assert.equal(r.state.services.web?.incidentId ?? null, c.want.open, c.name);
      assert.equal(r.notes.length, c.want.notes, `${c.name}: ${r.notes.join(' | ')}`);
      assert.equal(r.state.services.api, undefined, c.name);
    }
  });

  test('an adopted incident restores its failure time, count and last incident', async () => {
    const r = await reconcileState(null, fakeStore([NEW]), { services: ['web'], now: NOW, windowMs: WINDOW });
    assert.deepEqual(r.state.services.web, { incidentId: NEW.id, firstFailureAt: Date.parse(NEW.first), consecutiveFailures: 3 });
    assert.deepEqual(r.state.last?.web, { firstFailureAt: NEW.first, recoveredAt: null });
  });
});

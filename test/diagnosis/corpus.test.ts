// The diagnosis on the corpus's real captures (fixtures/scenarios: each judged snapshot of
// test/e2e/diagnosis/diagnosis.test.ts, saved with PREFLIGHT_CAPTURE_SCENARIOS from a run under real
// systemd; see fixtures/scenarios/README.md): the snapshot's inputs are diagnosed again and the FIRST
// finding must be what the scenario wants, cause, scope and confidence, and name no neighbour. A change
// to a rule or the ranker that breaks a real case fails here, without booting anything.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { diagnose, type DiagnosisInput } from '../../src/diagnosis';
import type { Snapshot } from '../../src/incident/snapshot';
import { SCENARIOS } from '../e2e/diagnosis/scenarios';
import { FIXTURES } from './_input';

const DIR = path.join(FIXTURES, 'scenarios');
const read = (file: string): Snapshot | null => {
  const p = path.join(DIR, file);
  return fs.existsSync(p) ? (JSON.parse(fs.readFileSync(p, 'utf8')) as Snapshot) : null;
};

/** A snapshot's own inputs, as the daemon gave them to the diagnosis. */
function inputOf(s: Snapshot, earlier: Snapshot | null, intervalSeconds: number): DiagnosisInput {
  return {
    trigger: s.trigger,
    error: s.error,
    unit: s.unit,
    exit: s.exit,
    journal: s.journal,
    kernel: s.kernel,
    samples: s.samples.host,
    unitSamples: s.samples.unit ?? [],
    probes: s.samples.probe,
    processes: s.processes,
    cpus: s.host.cpus,
    firstFailureAt: s.transition.first_failure_at,
    confirmedAt: s.transition.confirmed_at,
    intervalSeconds,
    deadInvocation: s.trigger === 'unit_restart' ? (s.invocation ?? null) : null,
    previous: earlier ? { firstFailureAt: earlier.transition.first_failure_at, recoveredAt: earlier.recovery?.at ?? null } : null,
    servicePid: s.service_pid ?? null,
    listening: s.listening ? { healthAddress: s.listening.health_address, onHealthPort: s.listening.on_health_port, unitListens: s.listening.unit_listens } : null,
    ...(s.dependencies ? { dependencies: s.dependencies } : {}),
  };
}

describe('the corpus, diagnosed again from its captures', () => {
  const judged = SCENARIOS.filter((sc) => !sc.noIncident && sc.want);
  test('every judged scenario has its capture', () => {
    const missing = judged.filter((sc) => read(`${sc.name}.snapshot.json`) === null).map((sc) => sc.name);
    assert.deepEqual(missing, [], 'rerun the corpus with PREFLIGHT_CAPTURE_SCENARIOS and copy the snapshots here');
  });
  for (const sc of judged) {
    test(sc.name, () => {
      const s = read(`${sc.name}.snapshot.json`);
      if (s === null) return; // said by the test above
      const earlier = read(`${sc.name}.earlier.snapshot.json`);
      const interval = Number(sc.services[0]?.interval_seconds ?? 1);
      const d = diagnose(inputOf(s, earlier, interval));
      const f = d.findings[0];
      const shown = JSON.stringify(d.findings.map((x) => `${x.cause} [${x.scope}, ${x.confidence}]`), null, 1);
      assert.ok(f, `no finding; ${shown}`);
      const want = sc.want!;
      // (a pattern built from the run's notes cannot be checked without that run; the corpus has none for causes)
      assert.ok(want.cause instanceof RegExp, `${sc.name}: its cause pattern needs the run`);
      assert.match(f.cause, want.cause, shown);
      assert.equal(f.scope, want.scope, shown);
      assert.equal(f.confidence, want.confidence, shown);
      if (want.quote instanceof RegExp) assert.match(f.quote ?? '', want.quote);
      // patterns built from a run's notes (the neighbour's pid) need that run: the plain ones are checked here
      for (const p of (sc.mustNotName ?? []).filter((x): x is RegExp => x instanceof RegExp)) {
        for (const x of d.findings) assert.ok(!p.test(x.cause) && !p.test(x.quote ?? ''), `${p} names ${x.cause}`);
      }
      // what the daemon wrote is what the diagnosis says now (or the capture is older than the engine)
      assert.equal(d.probableCause, s.probable_cause, 'the stored probable cause differs: recapture the corpus');
    });
  }
});

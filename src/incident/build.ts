// Assemble a snapshot from what the capture took, the rings, and the check that failed.
import type { ServiceConfig } from '../config/config';
import { diagnose, type Diagnosis, type DiagnosisInput } from '../diagnosis';
import { journalQuote } from '../diagnosis/rules/quote';
import { deadRunExit } from '../diagnosis/rules/exit';
import { NEAR_MIN_MS } from '../diagnosis/context';
import type { HostSample } from '../sample/host';
import { summaryLine } from '../sample/format';
import type { UnitState } from '../systemd/unit';
import type { CapturedContext } from './capture';
import { errorMessage } from '../util/errors';
import {
  SNAPSHOT_SCHEMA,
  iso,
  type ProbeSample,
  type Snapshot,
  type SnapshotError,
  type SnapshotExit,
  type SnapshotJournalLine,
  type Trigger,
  type UnitSample,
} from './snapshot';

export interface BuildInput {
  id: string;
  service: ServiceConfig;
  trigger: Trigger;
  firstFailureAt: number;
  confirmedAt: number;
  consecutiveFailures: number;
  error: SnapshotError | null;
  context: CapturedContext;
  /** the unit's state re-read at commit (cheap, and newer than the capture's); else the capture's */
  unitNow?: UnitState | null;
  /** host samples up to the commit, oldest first */
  hostSamples: HostSample[];
  /** the host sample taken at the first failure, for the summary line */
  failureSample: HostSample | null;
  probeSamples: ProbeSample[];
  unitSamples?: UnitSample[];
  /** how the dead run ended, when the restart event said so; else found in the journal (deadRunExit) */
  restartExit: SnapshotExit | null;
  /** the invocation that died, for a unit restart */
  deadInvocation?: string | null;
  previousRestarts?: DiagnosisInput['previousRestarts'];
  /** this service's previous incident: its evidence is never this one's cause */
  previous?: DiagnosisInput['previous'];
  /** journal lines kept in the file (journal_lines); the lines the findings quote are kept as well */
  journalLines?: number;
}

/**
 * The journal lines a snapshot keeps: the newest `max`, and every line its findings, context and last
 * words quote, wherever it was (a Go runtime's fatal error sits above hundreds of goroutine frames).
 */
export function keptJournal(journal: readonly SnapshotJournalLine[], max: number, d: Pick<Diagnosis, 'findings' | 'context' | 'lastWords'>): SnapshotJournalLine[] {
  if (journal.length <= max) return [...journal];
  const quoted = new Set([...d.findings, ...d.context].flatMap((f) => f.evidence));
  const keep = new Set<SnapshotJournalLine>(journal.slice(journal.length - max));
  for (const l of d.lastWords) keep.add(l);
  for (const l of journal) if (quoted.has(journalQuote(l))) keep.add(l);
  return journal.filter((l) => keep.has(l));
}

export function buildSnapshot(b: BuildInput): Snapshot {
  const ctx = b.context;
  const unitState = b.unitNow ?? ctx.unit;
  const unit = b.service.unit ? { Id: b.service.unit, ...(unitState?.properties ?? {}) } : null;
  const summarySample = b.failureSample ?? b.hostSamples[b.hostSamples.length - 1] ?? null;
  const intervalMs = b.service.intervalSeconds * 1000;
  // one decision for the exit, so the JSON's `exit` and the findings' words can never disagree
  const recovered = b.previous?.recoveredAt ? Date.parse(b.previous.recoveredAt) : Number.NEGATIVE_INFINITY;
  const exit = deadRunExit({
    trigger: b.trigger,
    restartExit: b.restartExit,
    journal: ctx.journal,
    unit: unitState ?? null,
    from: Math.max(b.firstFailureAt - Math.max(intervalMs, NEAR_MIN_MS), recovered + 1),
  });
  const d = diagnose({
    trigger: b.trigger,
    error: b.error,
    unit,
    exit,
    ...(ctx.dependencies ? { dependencies: ctx.dependencies } : {}),
    ...(ctx.listening
      ? { listening: { health_address: ctx.listening.healthAddress, on_health_port: ctx.listening.onHealthPort, unit_listens: ctx.listening.unitListens } }
      : {}),
    ...(ctx.servicePid ? { service_pid: ctx.servicePid } : {}),
    journal: ctx.journal,
    kernel: ctx.kernel,
    samples: b.hostSamples,
    ...(b.unitSamples ? { unitSamples: b.unitSamples } : {}),
    probes: b.probeSamples,
    processes: ctx.processes,
    cpus: ctx.host.cpus,
    memoryEvents: ctx.memoryEvents,
    firstFailureAt: iso(b.firstFailureAt),
    confirmedAt: iso(b.confirmedAt),
    intervalSeconds: b.service.intervalSeconds,
    deadInvocation: b.deadInvocation ?? null,
    previous: b.previous ?? null,
    ...(b.previousRestarts !== undefined ? { previousRestarts: b.previousRestarts } : {}),
    servicePid: ctx.servicePid ?? null,
    listening: ctx.listening ?? null,
    ...(ctx.dependencies ? { dependencies: ctx.dependencies } : {}),
  });
  return {
    schema: SNAPSHOT_SCHEMA,
    id: b.id,
    service: b.service.name,
    health_url: b.service.healthUrl,
    unit,
    host: ctx.host,
    trigger: b.trigger,
    transition: {
      first_failure_at: iso(b.firstFailureAt),
      confirmed_at: iso(b.confirmedAt),
      consecutive_failures: b.consecutiveFailures,
    },
    error: b.error,
    summary: summarySample ? summaryLine(summarySample) : 'no host sample',
    probable_cause: d.probableCause,
    findings: d.findings,
    context: d.context,
    last_words: d.lastWords,
    invocation: d.invocation,
    samples: { host: b.hostSamples, probe: b.probeSamples, ...(b.unitSamples ? { unit: b.unitSamples } : {}) },
    exit,
    ...(ctx.dependencies ? { dependencies: ctx.dependencies } : {}),
    ...(ctx.listening
      ? { listening: { health_address: ctx.listening.healthAddress, on_health_port: ctx.listening.onHealthPort, unit_listens: ctx.listening.unitListens } }
      : {}),
    ...(ctx.servicePid ? { service_pid: ctx.servicePid } : {}),
    journal: b.journalLines === undefined ? ctx.journal : keptJournal(ctx.journal, b.journalLines, d),
    kernel: ctx.kernel,
    processes: ctx.processes,
    recovery: null,
    capture: {
      started_at: iso(ctx.startedAt),
      finished_at: iso(ctx.finishedAt),
      duration_ms: Math.round(ctx.finishedAt - ctx.startedAt),
      errors: ctx.errors,
    },
  };
}

/**
 * Take a stored snapshot's diagnosis again from a newer context (a join that found the unit gave up):
 * findings, context, probable cause, last words, exit, journal, kernel, unit state and dependencies are
 * replaced; its id, times, samples, capture record, notification and recovery stay.
 */
export function rediagnose(s: Snapshot, b: Omit<BuildInput, 'id' | 'trigger' | 'firstFailureAt' | 'confirmedAt' | 'consecutiveFailures' | 'error' | 'failureSample'>): void {
  const fresh = buildSnapshot({
    ...b,
    id: s.id,
    trigger: s.trigger,
    firstFailureAt: Date.parse(s.transition.first_failure_at),
    confirmedAt: Date.parse(s.transition.confirmed_at ?? s.transition.first_failure_at),
    consecutiveFailures: s.transition.consecutive_failures,
    error: s.error,
    failureSample: null,
  });
  s.probable_cause = fresh.probable_cause;
  s.findings = fresh.findings;
  s.context = fresh.context;
  s.last_words = fresh.last_words;
  s.invocation = fresh.invocation ?? null;
  s.exit = fresh.exit;
  s.journal = fresh.journal;
  s.kernel = fresh.kernel;
  s.unit = fresh.unit;
  if (fresh.dependencies) s.dependencies = fresh.dependencies;
  else delete s.dependencies;
}

/**
 * What is known when the full snapshot cannot be made (`what` failed: building it, or turning it into
 * JSON): the service, trigger, times, the failed check and the error itself, so the incident still has
 * its file, its notification and its recovery.
 */
export function minimalSnapshot(b: BuildInput, what: 'build' | 'serialise', err: unknown): Snapshot {
  const reason = `the snapshot could not be ${what === 'build' ? 'built' : 'serialised'}: ${errorMessage(err)}`;
  const ctx = b.context;
  return {
    schema: SNAPSHOT_SCHEMA,
    id: b.id,
    service: b.service.name,
    health_url: b.service.healthUrl,
    unit: null,
    host: ctx.host,
    trigger: b.trigger,
    transition: { first_failure_at: iso(b.firstFailureAt), confirmed_at: iso(b.confirmedAt), consecutive_failures: b.consecutiveFailures },
    error: b.error,
    summary: `no summary (${reason})`,
    probable_cause: `no cause found (${reason})`,
    findings: [],
    context: [],
    last_words: [],
    samples: { host: [], probe: [] },
    exit: null,
    journal: [],
    kernel: [],
    processes: null,
    recovery: null,
    capture: {
      started_at: iso(ctx.startedAt),
      finished_at: iso(ctx.finishedAt),
      duration_ms: ctx.finishedAt - ctx.startedAt,
      errors: [...ctx.errors, { part: 'snapshot', reason }],
    },
  };
}

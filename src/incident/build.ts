// Assemble a snapshot from what the capture took, the rings, and the check that failed.
import type { ServiceConfig } from '../config/config';
import type { HostSample } from '../sample/host';
import { summaryLine } from '../sample/format';
import type { UnitState } from '../systemd/unit';
import type { CapturedContext } from './capture';
import { computeFindings, type FindingsInput } from './findings';
import {
  SNAPSHOT_SCHEMA,
  iso,
  type ProbeSample,
  type Snapshot,
  type SnapshotError,
  type SnapshotExit,
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
  exit: SnapshotExit | null;
  previousRestarts?: FindingsInput['previousRestarts'];
}

export function buildSnapshot(b: BuildInput): Snapshot {
  const ctx = b.context;
  const unitState = b.unitNow ?? ctx.unit;
  const unit = b.service.unit ? { Id: b.service.unit, ...(unitState?.properties ?? {}) } : null;
  const summarySample = b.failureSample ?? b.hostSamples[b.hostSamples.length - 1] ?? null;
  const findings = computeFindings({
    error: b.error,
    trigger: b.trigger,
    unit,
    exit: b.exit,
    journal: ctx.journal,
    kernel: ctx.kernel,
    samples: b.hostSamples,
    cpus: ctx.host.cpus,
    memoryEvents: ctx.memoryEvents,
    ...(b.previousRestarts !== undefined ? { previousRestarts: b.previousRestarts } : {}),
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
    findings,
    samples: { host: b.hostSamples, probe: b.probeSamples, ...(b.unitSamples ? { unit: b.unitSamples } : {}) },
    exit: b.exit,
    journal: ctx.journal,
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

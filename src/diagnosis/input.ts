// What the diagnosis reads: everything a capture and the rings hold about one failure, plus the times
// that say which evidence is near it and which belongs to an earlier incident. Pure data.
import type {
  ProbeSample,
  Snapshot,
  SnapshotError,
  SnapshotExit,
  SnapshotJournalLine,
  SnapshotKernelLine,
  Trigger,
  UnitSample,
} from '../incident/snapshot';
import type { HostSample } from '../sample/host';

export interface DiagnosisInput {
  trigger: Trigger;
  /** the failed check (null for a unit-restart trigger) */
  error: SnapshotError | null;
  /** raw `systemctl show` properties at commit; null without a unit, or when systemctl failed */
  unit: Record<string, string> | null;
  /** how the dead run ended (see deadRunExit), or null */
  exit: SnapshotExit | null;
  /** the unit's journal, time order: the service's own lines and systemd's about it */
  journal: readonly SnapshotJournalLine[];
  kernel: readonly SnapshotKernelLine[];
  /** host samples up to the commit, oldest first */
  samples: readonly HostSample[];
  unitSamples?: readonly UnitSample[];
  probes?: readonly ProbeSample[];
  processes?: Snapshot['processes'];
  cpus: number;
  /** the unit's cgroup v2 memory.events, when readable */
  memoryEvents?: { oom: number; oomKill: number } | null;
  /** ISO: the first failed check, or the restart */
  firstFailureAt: string;
  confirmedAt: string | null;
  intervalSeconds: number;
  /** the invocation that died (a restart); without it the unit's current invocation is "this run" */
  deadInvocation?: string | null;
  /** this service's previous incident: what happened up to its recovery is its evidence, never this one's */
  previous?: { firstFailureAt: string; recoveredAt: string | null } | null;
  /** NRestarts seen at this service's earlier incidents */
  previousRestarts?: readonly { at: string; nRestarts: number }[];
  /** the service's own process when it has no unit (found by the health URL's listening port) */
  servicePid?: number | null;
  /** what listens where, read at capture (null: could not be read) */
  listening?: Listening | null;
  /** the unit's Requires=, Requisite= and BindsTo= units that were not active at capture */
  dependencies?: readonly DependencyState[];
}

/** A unit this one needs, as `systemctl show` said at capture (snake_case: it is stored in the snapshot). */
export interface DependencyState {
  unit: string;
  relation: 'Requires' | 'Requisite' | 'BindsTo';
  active_state: string;
  sub_state?: string;
  result?: string;
  /** ISO: when it went down */
  inactive_at?: string;
}

export interface Listening {
  /** host:port of the health URL */
  healthAddress: string;
  /** is anything listening there (wildcard addresses count)? */
  onHealthPort: boolean;
  /** the host:port the unit's processes listen on; null when their sockets could not be read */
  unitListens: string[] | null;
}

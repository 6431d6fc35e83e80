// Evidence before verdicts: every rule returns typed evidence (what it rests on, whose it is, when, and
// how much it proves); one ranker (rank.ts) decides which of it is the probable cause. Pure types.

/** Where a piece of evidence was read. */
export type Source =
  /** the dead (or failing) invocation's own journal lines */
  | 'invocation_journal'
  /** the unit's journal lines from other runs in the window */
  | 'unit_journal'
  /** systemd's (the manager's) lines about the unit */
  | 'systemd'
  /** `systemctl show` properties */
  | 'unit_properties'
  | 'kernel'
  | 'host_sample'
  /** the unit's MemoryCurrent/TasksCurrent polls */
  | 'unit_sample'
  /** the health check itself */
  | 'probe'
  /** the process table at capture */
  | 'processes';

/** Whose evidence it is, nearest first: only the first three can be this failure's cause on their own. */
export type Scope = 'invocation' | 'unit' | 'dependency' | 'host' | 'other';
export const SCOPES: readonly Scope[] = ['invocation', 'unit', 'dependency', 'host', 'other'];

export type Confidence = 'certain' | 'likely' | 'possible';
export const CONFIDENCES: readonly Confidence[] = ['certain', 'likely', 'possible'];

/**
 * Where in the chain of events a piece of evidence sits. A `cause` says why (an OOM kill, a missing
 * file, a dependency that refused); a `mechanism` says how the run ended (exit status 1, SIGABRT),
 * which a cause can explain; a `symptom` only says how the failure looked from outside (HTTP 503).
 */
export type Role = 'cause' | 'mechanism' | 'symptom';

export interface Evidence {
  /** stable slug of what this is: `oom_kill`, `exit_status`, `log.errno.ECONNREFUSED`, `requested_stop` */
  kind: string;
  /** what this evidence says as a cause, in words */
  cause: string;
  source: Source;
  scope: Scope;
  /** ISO UTC time of the line, sample or event; null for a state read at capture */
  at: string | null;
  /** `proves`: it shows the cause (the kernel killed this cgroup); `suggests`: it can explain it (memory was low) */
  strength: 'proves' | 'suggests';
  role: Role;
  /** the lines or figures it rests on, strongest first (quotes[0] is the one line shown next to the cause) */
  quotes: string[];
  /**
   * For a cause: the kinds of mechanism or symptom it accounts for (`exit_status`, `signal`, `http_status`,
   * `timeout`, `not_running`, ...), so the ranker folds those into it instead of listing them beside it.
   */
  explains?: readonly string[];
  /** the most this evidence can claim (a rule's own cap: "hung" is likely at best); the ranker may lower it */
  confidence?: Confidence;
  /** ranks evidence of the same confidence, role and scope: more specific first (default 0) */
  specificity?: number;
  /** the ranker keeps it only as context ("seen, not blamed"), never as a cause: a neighbour's OOM kill */
  contextOnly?: boolean;
}

/** How a run ends: what a cause of death explains (kinds of mechanism evidence). */
export const ENDINGS = ['exit_status', 'signal', 'core_dump', 'coredump', 'segfault', 'not_running', 'restart_loop'] as const;
/** How a failure looks from outside: what any cause explains (kinds of symptom evidence). */
export const SYMPTOMS = ['http_status', 'timeout', 'hung', 'connection_refused', 'reset', 'body_mismatch'] as const;

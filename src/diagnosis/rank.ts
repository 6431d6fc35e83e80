// The one place that decides: from every rule's evidence to ranked findings. Rules say what they saw
// (source, scope, time, strength, role); the ranker decides what may be a cause at all, how sure it
// is, and the order. Pure.
//
// 1. What can never be this failure's cause goes to `context`: evidence of another unit or cgroup (a
//    neighbour's OOM kill), evidence from the previous incident (up to its recovery), and anything a
//    rule marked context-only. Host-wide conditions away from the failure are dropped.
// 2. Confidence: `proves` gives certain, `suggests` likely (a rule may cap it lower); host-wide
//    evidence is at most possible; evidence earlier in the window than the failure loses one step.
// 3. A cause near the failure absorbs the mechanisms and symptoms it explains (a V8 heap OOM explains
//    the SIGABRT, a refused dependency the 503): they become its evidence instead of findings of
//    their own. What no cause explains stands on its own.
// 4. Order: confidence, then role (cause, mechanism, symptom), then scope (this run, this unit, a
//    dependency, the host), then specificity, then the time nearest the failure.
import type { Finding, SnapshotError, Trigger } from '../incident/snapshot';
import { CONFIDENCES, SCOPES, type Confidence, type Evidence, type Role } from './evidence';
import { withoutTime } from '../util/time';
import { timeClass, type Ctx, type TimeClass } from './context';

const MAX_EVIDENCE = 8;
const ROLES: readonly Role[] = ['cause', 'mechanism', 'symptom'];

interface Ranked {
  e: Evidence;
  confidence: Confidence;
  time: TimeClass;
  /** what it absorbed (each with what that had absorbed) */
  absorbed: Ranked[];
}

export interface Ranking {
  findings: Finding[];
  context: Finding[];
  /** the first certain or likely cause, else what was seen and "no cause found" */
  probableCause: string;
}

function lower(c: Confidence): Confidence {
  return c === 'certain' ? 'likely' : 'possible';
}

function weakest(a: Confidence, b: Confidence): Confidence {
  return CONFIDENCES.indexOf(a) >= CONFIDENCES.indexOf(b) ? a : b;
}

function confidenceOf(e: Evidence, time: TimeClass): Confidence {
  let c: Confidence = e.strength === 'proves' ? 'certain' : 'likely';
  if (e.confidence !== undefined) c = weakest(c, e.confidence);
  if (e.scope === 'host') c = 'possible';
  if (time === 'earlier') c = lower(c);
  return c;
}

/** Context kept per snapshot: a kernel log full of old OOM kills must not bury the rest. */
const MAX_CONTEXT = 5;

/** Everything a ranked item absorbed, depth first. */
function absorbedOf(r: Ranked): Evidence[] {
  return r.absorbed.flatMap((a) => [a.e, ...absorbedOf(a)]);
}

function toFinding(e: Evidence, confidence: Confidence, absorbed: readonly Evidence[] = []): Finding {
  const evidence: string[] = [];
  for (const q of [...e.quotes, ...absorbed.flatMap((a) => a.quotes)]) {
    if (!evidence.includes(q)) evidence.push(q);
  }
  return {
    cause: e.cause,
    kind: e.kind,
    scope: e.scope,
    confidence,
    at: e.at,
    // the line itself: its time is the finding's `at`
    quote: e.quotes[0] === undefined ? null : withoutTime(e.quotes[0]),
    evidence: evidence.slice(0, MAX_EVIDENCE),
  };
}

function order(a: Ranked, b: Ranked): number {
  return (
    CONFIDENCES.indexOf(a.confidence) - CONFIDENCES.indexOf(b.confidence) ||
    ROLES.indexOf(a.e.role) - ROLES.indexOf(b.e.role) ||
    SCOPES.indexOf(a.e.scope) - SCOPES.indexOf(b.e.scope) ||
    (b.e.specificity ?? 0) - (a.e.specificity ?? 0) ||
    // the nearer to the failure the better; a state read at capture counts as at the failure
    (b.e.at ?? '\uffff').localeCompare(a.e.at ?? '\uffff')
  );
}

/** What was seen, when nothing explains it: "HTTP 503", "timeout", "restarted by systemd". */
export function seenWords(trigger: Trigger, error: SnapshotError | null): string {
  if (error === null) return trigger === 'unit_restart' ? 'restarted by systemd' : trigger === 'manual' ? 'manual snapshot' : 'failed';
  switch (error.kind) {
    case 'http_status':
      return error.status === null ? 'unexpected HTTP status' : `HTTP ${error.status}`;
    case 'timeout':
      return 'health check timed out';
    case 'connection_refused':
      return 'connection refused';
    case 'body_mismatch':
      return 'unexpected body';
    case 'unit':
      return error.message || 'unit failed';
    default:
      return `health check failed (${error.kind})`;
  }
}

/**
 * A cause folds in what it explains when it is at least as sure; or when it is this unit's own cause
 * (not merely possible) explaining a more certain mechanism: "missing file X" (likely) is why it
 * "exited with status 1" (certain). A host-wide condition never swallows a surer symptom ("hung").
 */
function mayAbsorb(c: Ranked, m: Ranked): boolean {
  if (CONFIDENCES.indexOf(c.confidence) <= CONFIDENCES.indexOf(m.confidence)) return true;
  return c.e.role === 'cause' && c.confidence !== 'possible' && (c.e.scope === 'invocation' || c.e.scope === 'unit' || c.e.scope === 'dependency');
}

export function rank(ctx: Ctx, all: readonly Evidence[]): Ranking {
  const context: Finding[] = [];
  const live: Ranked[] = [];
  let unsaid = 0;
  for (const e of all) {
    const time = timeClass(ctx, e.at);
    if (e.contextOnly || e.scope === 'other' || (time === 'stale' && e.role === 'cause')) {
      // what happened near this failure, or in the incident before it; older things are just history
      if (time === 'earlier') continue;
      if (context.length < MAX_CONTEXT) context.push(toFinding(e, 'possible'));
      else unsaid++;
      continue;
    }
    // the previous incident's exits and symptoms say nothing about this one
    if (time === 'stale') continue;
    // a host-wide condition is a cause only near the failure
    if (e.scope === 'host' && time !== 'near') continue;
    live.push({ e, confidence: confidenceOf(e, time), time, absorbed: [] });
  }
  // 3. causes near the failure absorb what they explain (strongest cause first, so it gets the evidence)
  live.sort(order);
  // parent: who absorbed whom; a cause may absorb something that already absorbed others, never its own absorber
  const parent = new Map<Ranked, Ranked>();
  const isAncestor = (a: Ranked, of: Ranked): boolean => {
    for (let p = parent.get(of); p !== undefined; p = parent.get(p)) if (p === a) return true;
    return false;
  };
  for (const c of live) {
    if (c.time !== 'near' || !c.e.explains || c.e.explains.length === 0) continue;
    for (const m of live) {
      if (m === c || parent.has(m) || !c.e.explains.includes(m.e.kind) || isAncestor(m, c) || !mayAbsorb(c, m)) continue;
      c.absorbed.push(m);
      parent.set(m, c);
    }
  }
  const standing = live.filter((r) => !parent.has(r)).sort(order);
  const findings = standing.map((r) => toFinding(r.e, r.confidence, absorbedOf(r)));
  if (unsaid > 0) context.push({ cause: `and ${unsaid} more seen near the failure`, kind: 'more', scope: 'other', confidence: 'possible', at: null, quote: null, evidence: [] });
  const first = findings[0];
  const probableCause =
    first && (first.confidence === 'certain' || first.confidence === 'likely')
      ? first.cause
      : `${seenWords(ctx.input.trigger, ctx.input.error)}, no cause found`;
  return { findings, context, probableCause };
}

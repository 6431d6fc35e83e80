// The diagnosis: every rule's evidence, one ranker's verdict. Pure: no I/O, no clock.
import type { Finding, SnapshotJournalLine } from '../incident/snapshot';
import { contextOf } from './context';
import type { Evidence } from './evidence';
import type { DiagnosisInput } from './input';
import { rank } from './rank';
import { certificateRule } from './rules/certificate';
import { exitRule } from './rules/exit';
import { hostRule } from './rules/host';
import { limitsRule } from './rules/limits';
import { lastWordsOf, logRule } from './rules/log';
import { loopRule } from './rules/loop';
import { oomRule } from './rules/oom';
import { probeRule } from './rules/probe';
import { processRule } from './rules/process';
import { clean } from './rules/quote';
import { recordsRule, type RunCause } from './rules/records';
import { requestedRule } from './rules/requested';

export type { DiagnosisInput } from './input';

export interface Diagnosis {
  /** ranked probable causes, most probable first */
  findings: Finding[];
  /** seen, and deliberately not blamed */
  context: Finding[];
  /** the first certain or likely cause, else what was seen and that no cause was found */
  probableCause: string;
  lastWords: SnapshotJournalLine[];
  /** the run the diagnosis is about: the dead one of a restart, else the running (or last) one */
  invocation: string | null;
}

export function diagnose(input: DiagnosisInput): Diagnosis {
  const ctx = contextOf(input);
  const log = logRule(ctx);
  const lastWords = lastWordsOf(ctx);
  const evidence = [
    ...oomRule(ctx),
    ...exitRule(ctx),
    ...log,
    ...recordsRule(ctx, runCause(log, lastWords)),
    ...requestedRule(ctx),
    ...loopRule(ctx),
    ...limitsRule(ctx),
    ...processRule(ctx),
    ...hostRule(ctx),
    ...probeRule(ctx),
    ...certificateRule(ctx),
  ];
  const ranking = rank(ctx, evidence);
  return { findings: ranking.findings, context: ranking.context, probableCause: ranking.probableCause, lastWords, invocation: ctx.invocation };
}

/** What the last run died of, in its own words: its nearest named cause, else its last telling line. */
function runCause(log: readonly Evidence[], lastWords: readonly SnapshotJournalLine[]): RunCause | undefined {
  const named = log.filter((e) => e.scope === 'invocation').sort((a, b) => (b.at ?? '').localeCompare(a.at ?? ''))[0];
  if (named) return { cause: named.cause, quote: named.quotes[0] ?? named.cause, kind: named.kind };
  const words = lastWords[lastWords.length - 1];
  if (!words) return undefined;
  const text = clean(words.message);
  return { cause: `it logged "${text}"`, quote: `${words.at} ${text}` };
}

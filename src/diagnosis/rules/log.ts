// The service's own words: what it logged itself (its stdout and stderr in the journal), read per run.
// A line the signature catalogue recognises names the cause ("missing file /etc/app/config.json");
// otherwise, near the failure, its most telling error line is the cause itself ("the service logged:
// ..."), which still outranks a bare symptom (HTTP 503, hung). A runtime's fatal error proves the cause
// only when this run ended right after it.
import type { SnapshotJournalLine } from '../../incident/snapshot';
import { timeClass, type Ctx, type OwnLine } from '../context';
import { ENDINGS, SYMPTOMS, type Evidence } from '../evidence';
import { scanSignatures } from '../signatures';
import type { SignatureMatch } from '../signatures/types';
import { lastWords } from '../signatures/last-words';
import { clean, journalQuote } from './quote';

/** What the service's own words explain: how its run ended and how the failure looked. */
const LOG_EXPLAINS: readonly string[] = [...ENDINGS, ...SYMPTOMS];
/** A fatal error this long before the run's end is still what it died of (a heap dump, a slow exit). */
const DIED_WITHIN_MS = 30_000;
/** Last words kept in the snapshot. */
const LAST_WORDS = 3;

/** The service's lines, one group per run (a multi-line error never spans two runs), time order. */
function byRun(own: readonly OwnLine[]): OwnLine[][] {
  const groups = new Map<string, OwnLine[]>();
  for (const o of own) {
    const key = o.line.invocation ?? '';
    const g = groups.get(key);
    if (g) g.push(o);
    else groups.set(key, [o]);
  }
  return [...groups.values()];
}

/** Did this run end right after the line (so the line is what it died of)? */
function endedAfter(ctx: Ctx, o: OwnLine): boolean {
  const exit = ctx.exit;
  if (exit === null || o.scope !== 'invocation') return false;
  if (exit.at === null) return true;
  const d = Date.parse(exit.at) - Date.parse(o.line.at);
  return d >= -1000 && d <= DIED_WITHIN_MS;
}

/** The words of a match, with what the unit's properties add (the descriptor limit for EMFILE). */
function words(ctx: Ctx, m: SignatureMatch): string {
  if (m.object?.errno === 'EMFILE') {
    const limit = ctx.settings?.limitNofileSoft ?? ctx.settings?.limitNofile;
    if (limit !== undefined && Number.isFinite(limit)) return `out of file descriptors: ${limit} of LimitNOFILE=${limit}`;
  }
  return m.cause;
}

function signatureEvidence(ctx: Ctx, run: readonly OwnLine[]): Evidence[] {
  const out: Evidence[] = [];
  const seen = new Map<string, { e: Evidence; count: number }>();
  for (const m of scanSignatures(run.map((o) => o.line.message))) {
    const key = run[m.line];
    if (key === undefined) continue;
    const quotes = [journalQuote(key.line), ...m.lines.filter((i) => i !== m.line).slice(0, 3).map((i) => journalQuote(run[i]!.line))];
    const e: Evidence = {
      kind: `log.${m.id}`,
      cause: words(ctx, m),
      source: key.scope === 'invocation' ? 'invocation_journal' : 'unit_journal',
      scope: key.scope,
      at: key.line.at,
      strength: m.strength === 'proves' && endedAfter(ctx, key) ? 'proves' : 'suggests',
      role: 'cause',
      quotes,
      explains: m.object?.errno === 'ENOSPC' || m.object?.errno === 'EDQUOT' ? [...LOG_EXPLAINS, 'disk_full'] : LOG_EXPLAINS,
      specificity: m.strength === 'proves' ? 6 : 5,
    };
    // the same error said again and again is one piece of evidence: its last saying, counted
    const dedupe = `${e.kind} ${e.cause} ${e.scope}`;
    const was = seen.get(dedupe);
    if (was) {
      was.count++;
      if (timeClass(ctx, e.at) !== 'stale') {
        Object.assign(was.e, { at: e.at, quotes: e.quotes, strength: e.strength === 'proves' ? 'proves' : was.e.strength });
      }
      continue;
    }
    const entry = { e, count: 1 };
    seen.set(dedupe, entry);
    out.push(e);
  }
  for (const { e, count } of seen.values()) if (count > 1) e.quotes = [...e.quotes, `said ${count} times in the window`];
  return out;
}

/** The service's most telling lines of this run up to the failure: for the snapshot and line 3 of `last`. */
export function lastWordsOf(ctx: Ctx): SnapshotJournalLine[] {
  const until = ctx.exit?.at ? Date.parse(ctx.exit.at) : ctx.near.to;
  const run = ctx.own.filter((o) => o.scope === 'invocation' && Date.parse(o.line.at) <= until && timeClass(ctx, o.line.at) !== 'stale');
  return lastWords(run.map((o) => o.line), LAST_WORDS).map((i) => run[i]!.line);
}

export function logRule(ctx: Ctx): Evidence[] {
  const out = byRun(ctx.own).flatMap((run) => signatureEvidence(ctx, run));
  // the general fallback, when no signature named anything near the failure and no exit says more
  const named = out.some((e) => timeClass(ctx, e.at) === 'near');
  if (named || ctx.exit !== null) return out;
  const near = ctx.own.filter((o) => o.scope === 'invocation' && timeClass(ctx, o.line.at) === 'near');
  const telling = lastWords(near.map((o) => o.line), 1)[0];
  const line = telling === undefined ? undefined : near[telling]?.line;
  if (line) {
    out.push({
      kind: 'log.generic',
      cause: `the service logged: ${clean(line.message)}`,
      source: 'invocation_journal',
      scope: 'invocation',
      at: line.at,
      strength: 'suggests',
      role: 'cause',
      quotes: [journalQuote(line)],
      explains: LOG_EXPLAINS,
      specificity: -10,
    });
  }
  return out;
}

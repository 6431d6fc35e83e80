// systemd's own record of the unit, read fully: the start limit (systemd gave up on a crash loop), a
// process that could not be set up (status 2xx, with the child's "Failed at step EXEC spawning ..."),
// the watchdog, start and stop timeouts, a control process (ExecStartPre=, ...) that failed, a failed
// Requires=/BindsTo= dependency, and systemd-coredump's entry. Each is systemd's word about this unit:
// proof, not suggestion. Formats: fixtures/systemd/ (systemd 252, captured in the sandbox).
import type { SnapshotJournalLine } from '../../incident/snapshot';
import { parseMainProcessExit } from '../../systemd/exit';
import { isStartLimitLine } from '../../systemd/records';
import { parseCoredump, parseSpawnFailure, parseTimeoutLine, setupStatusWords } from '../../systemd/records-failures';
import { formatTimespan } from '../../systemd/timespan';
import { clip } from '../../util/text';
import { parseRestartScheduled } from '../../systemd/exit';
import { jobOf, timeClass, type Ctx } from '../context';
import { ENDINGS, SYMPTOMS, type Evidence } from '../evidence';
import { journalQuote, propsQuote } from './quote';

/** What systemd's record of a failed start or a killed run explains: the end, the loop, the symptoms, the request. */
const RECORD_EXPLAINS: readonly string[] = [...ENDINGS, ...SYMPTOMS, 'requested_restart', 'requested_stop', 'control_exit'];
/** A dependency's fall this close before the unit's own stop or failed start is what brought it down. */
const SAME_MOMENT_MS = 2000;
/** The last run's cause as said in a crash loop's line: enough to recognise it (its evidence has it whole). */
const LAST_RUN_CHARS = 80;
const CONTROL_EXIT = /(?:^|: )Control process exited, code=(exited|killed|dumped), status=(\d+)\/(\S+)/;

function record(kind: string, cause: string, at: string | null, quotes: string[], extra: Partial<Evidence> = {}): Evidence {
  return { kind, cause, source: 'systemd', scope: 'unit', at, strength: 'proves', role: 'cause', quotes, explains: RECORD_EXPLAINS, specificity: 8, ...extra };
}

/** systemd's lines about the unit after the previous incident. */
function current(ctx: Ctx): SnapshotJournalLine[] {
  return ctx.manager.filter((l) => timeClass(ctx, l.at) !== 'stale');
}

/** What the last run of a crash loop died of, in its own words: a signature's cause, or its last words. */
export interface RunCause {
  cause: string;
  quote: string;
  /** the evidence's kind, when it is one the start limit then absorbs */
  kind?: string;
}

/** "Start request repeated too quickly.": systemd gave up restarting it. The last run's cause is said too. */
function startLimit(ctx: Ctx, lines: readonly SnapshotJournalLine[], runCause: RunCause | undefined): Evidence[] {
  const hit = [...lines].reverse().find((l) => isStartLimitLine(l.message));
  if (!hit) return [];
  const counters = lines.map((l) => parseRestartScheduled(l.message)).filter((n): n is number => n !== null);
  const restarts = counters.length > 0 ? Math.max(...counters) : ctx.unit?.nRestarts;
  const after = restarts === undefined ? '' : ` after ${restarts} restart${restarts === 1 ? '' : 's'}`;
  const last = runCause ? `; last run: ${clip(runCause.cause, LAST_RUN_CHARS)}` : '';
  const quotes = [journalQuote(hit), ...lines.filter((l) => parseRestartScheduled(l.message) !== null).slice(-2).map(journalQuote)];
  if (runCause) quotes.push(runCause.quote);
  return [
    record('start_limit', `crash loop: systemd gave up${after} (start-limit-hit)${last}`, hit.at, quotes, {
      explains: [...RECORD_EXPLAINS, 'restart_loop', ...(runCause?.kind ? [runCause.kind] : [])],
    }),
  ];
}

/** A process that failed before its program ran: status 2xx, in the child's words when it logged them. */
function setupFailure(ctx: Ctx, lines: readonly SnapshotJournalLine[]): Evidence[] {
  const exit = ctx.exit;
  const status = exit?.code === 'exited' && typeof exit.status === 'number' ? exit.status : undefined;
  const words = status === undefined ? undefined : setupStatusWords(status);
  const spawnLine = [...lines].reverse().find((l) => parseSpawnFailure(l.message) !== null);
  const spawn = spawnLine ? parseSpawnFailure(spawnLine.message) : null;
  if (!words && !spawn) return [];
  const name = words?.name ?? spawn?.step ?? '?';
  const code = status === undefined ? name : `${status}/${name}`;
  let cause: string;
  if (spawn && spawn.step === 'EXEC') cause = `could not execute ${spawn.command}: ${spawn.error} (status ${code})`;
  else if (name === 'USER' && ctx.unit?.properties.User) cause = `could not switch to the user ${ctx.unit.properties.User} (status ${code})`;
  else if (name === 'CHDIR' && ctx.unit?.properties.WorkingDirectory) cause = `could not change to the working directory ${ctx.unit.properties.WorkingDirectory} (status ${code})`;
  else cause = `${words?.words ?? `could not set up the process (step ${name})`}${spawn ? `: ${spawn.error}` : ''} (status ${code})`;
  const quotes: string[] = [];
  // the child's own line first ("Failed to locate executable ..."), then its step line, then PID 1's exit
  const child = lines.filter((l) => parseSpawnFailure(l.message) !== null || /^(?:\S+: )?(?:Failed to determine user credentials|Changing to the requested working directory failed)/.test(l.message));
  quotes.push(...child.slice(-2).map(journalQuote));
  const exitLine = [...lines].reverse().find((l) => parseMainProcessExit(l.message, l.at) !== null);
  if (exitLine) quotes.push(journalQuote(exitLine));
  if (ctx.unit && (name === 'USER' || name === 'CHDIR')) quotes.push(propsQuote(ctx.unit, ['User', 'WorkingDirectory', 'ExecMainStatus']));
  return [record('setup_failed', cause, spawnLine?.at ?? exit?.at ?? null, quotes, { scope: 'invocation', specificity: 9 })];
}

/** The watchdog, and start or stop operations that ran past their timeout. */
function timeouts(ctx: Ctx, lines: readonly SnapshotJournalLine[]): Evidence[] {
  const out: Evidence[] = [];
  for (const l of [...lines].reverse()) {
    const t = parseTimeoutLine(l.message);
    if (!t || timeClass(ctx, l.at) !== 'near') continue;
    if (t.kind === 'watchdog') {
      const limit = t.limitMs ?? ctx.settings?.watchdogMs;
      const within = limit !== undefined && Number.isFinite(limit) && limit > 0 ? ` within ${formatTimespan(limit)}` : '';
      out.push(record('watchdog', `watchdog timeout: no keep-alive${within} (WatchdogSec=)`, l.at, [journalQuote(l)]));
    } else if (t.kind === 'timeout' && /^(start|start-pre|start-post|condition)$/.test(t.state)) {
      const limit = ctx.settings?.timeoutStartMs;
      const within = limit !== undefined && Number.isFinite(limit) ? ` within ${formatTimespan(limit)}` : '';
      out.push(record('start_timeout', `did not finish starting${within} (TimeoutStartSec=)`, l.at, [journalQuote(l)]));
    } else if (t.kind === 'timeout' && /^(stop|stop-sigterm|stop-post|final-sigterm|stop-watchdog)$/.test(t.state)) {
      const limit = ctx.settings?.timeoutStopMs;
      const within = limit !== undefined && Number.isFinite(limit) ? ` within ${formatTimespan(limit)}` : '';
      // a requested stop that hung is still a requested stop: this is its detail, not the headline
      const explains = RECORD_EXPLAINS.filter((k) => k !== 'requested_stop');
      out.push(record('stop_timeout', `did not stop${within} (TimeoutStopSec=): systemd killed it`, l.at, [journalQuote(l)], { explains }));
    } else if (t.kind === 'runtime-max') {
      out.push(record('runtime_max', 'reached its runtime limit (RuntimeMaxSec=): systemd stopped it', l.at, [journalQuote(l)]));
    }
    if (out.length > 0) break;
  }
  return out;
}

/** A control process (ExecStartPre=, ExecStartPost=, ExecStop=, ...) that failed: a mechanism of a failed start. */
function controlExit(ctx: Ctx, lines: readonly SnapshotJournalLine[]): Evidence[] {
  const l = [...lines].reverse().find((x) => CONTROL_EXIT.test(x.message.trim()) && timeClass(ctx, x.at) === 'near');
  if (!l) return [];
  const m = CONTROL_EXIT.exec(l.message.trim())!;
  const what = m[1] === 'exited' ? `exited with status ${m[2]}` : `was killed by signal ${m[3]}`;
  return [
    {
      kind: 'control_exit',
      cause: `a control process (ExecStartPre=, ExecStop=, ...) ${what}`,
      source: 'systemd',
      scope: 'invocation',
      at: l.at,
      strength: 'proves',
      role: 'mechanism',
      quotes: [journalQuote(l)],
      explains: [...ENDINGS, ...SYMPTOMS],
    },
  ];
}

/** systemd-coredump's entry for the unit: the first frames it logged, with the crash it explains. */
function coredump(ctx: Ctx): Evidence[] {
  for (const o of [...ctx.own, ...ctx.manager.map((line) => ({ line }))].reverse()) {
    const c = parseCoredump({ message: o.line.message });
    if (!c || c.frames.length === 0 || timeClass(ctx, o.line.at) !== 'near') continue;
    const who = c.comm ? `${c.comm}${c.pid === undefined ? '' : ` (pid ${c.pid})`}` : 'the process';
    return [
      {
        kind: 'coredump',
        cause: `${who} dumped core${c.signalName ? ` on ${c.signalName}` : ''}`,
        source: 'systemd',
        scope: 'invocation',
        at: o.line.at,
        strength: 'proves',
        role: 'mechanism',
        quotes: [`${o.line.at} systemd-coredump: ${c.frames.slice(0, 3).join(' | ')}`],
      },
    ];
  }
  return [];
}

/**
 * A Requires=, Requisite= or BindsTo= unit that failed: "Dependency failed for x." (a start that could
 * not run), or x stopped by systemd right after a BindsTo= unit went down (logged exactly like a
 * `systemctl stop`: only the dependency's fall tells them apart).
 */
function dependencies(ctx: Ctx, lines: readonly SnapshotJournalLine[]): Evidence[] {
  const deps = ctx.input.dependencies ?? [];
  const failed = deps.filter((d) => d.active_state === 'failed' || (d.active_state === 'inactive' && d.result !== undefined && d.result !== 'success'));
  const depLine = [...lines].reverse().find((l) => {
    const j = jobOf(l);
    return j?.type === 'start' && j.result === 'dependency' && timeClass(ctx, l.at) === 'near';
  });
  const out: Evidence[] = [];
  const describe = (d: (typeof deps)[number]): string => `${d.unit}${d.result && d.result !== 'success' ? ` failed (${d.result})` : ' failed'}`;
  const depQuote = (d: (typeof deps)[number]): string =>
    `systemctl show ${d.unit}: ActiveState=${d.active_state} Result=${d.result ?? '?'}${d.inactive_at ? ` InactiveEnterTimestamp=${d.inactive_at}` : ''} (${d.relation}=)`;
  if (depLine) {
    const d = failed.find((x) => x.relation !== 'BindsTo') ?? failed[0];
    out.push(
      record('dependency_failed', d ? `dependency ${describe(d)}` : 'a dependency failed to start', depLine.at, [journalQuote(depLine), ...(d ? [depQuote(d)] : [])], {
        scope: 'dependency',
        specificity: 9,
      }),
    );
    return out;
  }
  // a stop this unit did not ask for: a BindsTo= unit went down at that moment
  const stop = [...lines].reverse().find((l) => l.job?.type === 'stop' && l.job.result === undefined && /^Stopping /.test(l.message.trim()) && timeClass(ctx, l.at) === 'near');
  if (!stop) return out;
  const at = Date.parse(stop.at);
  for (const d of deps) {
    if (d.relation !== 'BindsTo' || d.active_state === 'active' || !d.inactive_at) continue;
    const fell = Date.parse(d.inactive_at);
    // systemctl prints whole seconds: the fall may read up to a second before the stop
    if (at - fell > SAME_MOMENT_MS || fell - at > 1000) continue;
    out.push(
      record('dependency_stopped', `stopped because ${d.unit} (BindsTo=) ${d.result && d.result !== 'success' ? `failed (${d.result})` : 'stopped'}`, stop.at, [depQuote(d), journalQuote(stop)], {
        scope: 'dependency',
        specificity: 9,
      }),
    );
    break;
  }
  return out;
}

/** systemd's record of the unit; `runCause` is the best of the last run's own words (for a crash loop). */
export function recordsRule(ctx: Ctx, runCause: RunCause | undefined): Evidence[] {
  const lines = current(ctx);
  return [...startLimit(ctx, lines, runCause), ...setupFailure(ctx, lines), ...timeouts(ctx, lines), ...controlExit(ctx, lines), ...coredump(ctx), ...dependencies(ctx, lines)];
}


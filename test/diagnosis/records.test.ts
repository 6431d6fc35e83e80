// systemd's own record through the whole diagnosis, on the real captures of fixtures/systemd (systemd
// 252 in the sandbox): each case's journal as the capture reads it (the unit's lines and root's lines with
// UNIT=, which hold the forked child's "Failed at step EXEC" too), its `systemctl show` after, and the
// FIRST finding with its scope and confidence.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import type { DependencyState } from '../../src/diagnosis/input';
import { journalLine } from '../../src/incident/capture';
import type { SnapshotExit, SnapshotJournalLine } from '../../src/incident/snapshot';
import { findDeadRunExit } from '../../src/systemd/exit';
import { parseJournalJson } from '../../src/systemd/journal';
import { parseSystemctlShow } from '../../src/systemd/unit';
import { FIXTURES, REFUSED, check, input, type Case } from './_input';

const dir = (c: string): string => path.join(FIXTURES, 'systemd', c);

/** The journal a capture takes of `unit` in case `c`: its own lines and root's lines about it, once each, in time order. */
function journalOf(c: string, unit: string): SnapshotJournalLine[] {
  const seen = new Set<string>();
  const entries = [`${unit}.journal.json`, `${unit}.unit-field.json`].flatMap((f) => {
    const file = path.join(dir(c), f);
    return fs.existsSync(file) ? parseJournalJson(fs.readFileSync(file, 'utf8'), { maxMessageChars: 2000 }).entries : [];
  });
  return entries
    .filter((e) => (e.cursor === undefined || !seen.has(e.cursor)) && (e.cursor === undefined || seen.add(e.cursor)))
    .sort((a, b) => a.at.localeCompare(b.at))
    .map(journalLine);
}
const showOf = (c: string, unit: string, when = 'after'): Record<string, string> =>
  parseSystemctlShow(fs.readFileSync(path.join(dir(c), `${unit}.show-${when}.txt`), 'utf8'))[0]!.properties;
/** The time of the first line matching `re`: the failure is placed there. */
const when = (j: SnapshotJournalLine[], re: RegExp): string => j.find((l) => re.test(l.message))!.at;

/** One case as the daemon would build it: a health check refused once the unit went down at `at`. */
function caseOf(c: string, unit: string, at: RegExp, edit: Parameters<typeof input>[0] = {}): Parameters<typeof check>[0] {
  const journal = journalOf(c, unit);
  const ff = when(journal, at);
  const exit: SnapshotExit | null = findDeadRunExit(journal.filter((l) => l.at <= new Date(Date.parse(ff) + 2000).toISOString()));
  return input({ unit: showOf(c, unit), journal, exit, error: REFUSED, firstFailureAt: ff, confirmedAt: ff, samples: [], intervalSeconds: 1, ...edit });
}

const run = (cases: Case[]): void => {
  for (const c of cases) test(c.name, () => void check(c.input, c.want));
};

describe("systemd's record of the unit", () => {
  run([
    {
      name: 'start-limit-hit: a crash loop systemd gave up on, with what the last run said',
      input: caseOf('start-limit-hit', 'startlimit-app.service', /Start request repeated too quickly/),
      want: { first: { cause: /^crash loop: systemd gave up after 3 restarts \(start-limit-hit\); last run: /, scope: 'unit', confidence: 'certain' }, never: ['exited with status 1'] },
    },
    {
      name: 'exec-203: the program does not exist, in the forked child\'s words',
      input: caseOf('exec-203', 'exec-app.service', /status=203\/EXEC/),
      want: { first: { cause: 'could not execute /nonexistent/bin/app: No such file or directory (status 203/EXEC)', scope: 'invocation', confidence: 'certain' }, causes: [/^could not execute/] },
    },
    {
      name: 'exec-203 without the child\'s lines (journald lost them): the status in words',
      input: caseOf('exec-203', 'exec-app.service', /status=203\/EXEC/, { journal: journalOf('exec-203', 'exec-app.service').filter((l) => !/Failed (at step|to locate)/.test(l.message)) }),
      want: { first: { cause: 'could not execute the program (status 203/EXEC)', scope: 'invocation', confidence: 'certain' } },
    },
    {
      name: '217/USER: the user it should run as does not exist',
      input: caseOf('exec-203', 'exec-user.service', /status=217\/USER/),
      want: { first: { cause: 'could not switch to the user nosuchuser (status 217/USER)', scope: 'invocation', confidence: 'certain' } },
    },
    {
      name: '200/CHDIR: its working directory does not exist',
      input: caseOf('exec-203', 'exec-chdir.service', /status=200\/CHDIR/),
      want: { first: { cause: /^could not change to the working directory \/nonexistent\S* \(status 200\/CHDIR\)$/, scope: 'invocation', confidence: 'certain' } },
    },
    {
      name: 'watchdog: no keep-alive, then SIGABRT: the watchdog, which explains the signal',
      input: caseOf('watchdog', 'watchdog-app.service', /Watchdog timeout/),
      want: { first: { cause: 'watchdog timeout: no keep-alive within 1s (WatchdogSec=)', scope: 'unit', confidence: 'certain' }, causes: [/^watchdog timeout/], evidence: ['status=6/ABRT'] },
    },
    {
      name: 'start timeout: a Type=notify service that never said READY=1',
      input: caseOf('start-timeout', 'starttimeout-app.service', /start operation timed out/),
      want: { first: { cause: 'did not finish starting within 2s (TimeoutStartSec=)', scope: 'unit', confidence: 'certain' } },
    },
    {
      name: 'a requested restart whose start timed out: the timeout, which explains the request',
      input: caseOf('restart-start-timeout', 'restarttimeout-app.service', /start-pre operation timed out/, { unit: showOf('restart-start-timeout', 'restarttimeout-app.service', 'timed-out') }),
      want: { first: { cause: 'did not finish starting within 2s (TimeoutStartSec=)', scope: 'unit', confidence: 'certain' }, never: ['on request'] },
    },
    {
      name: 'a requested stop',
      input: caseOf('requested-stop', 'stop-app.service', /^Stopping /),
      want: { first: { cause: /^stopped on request at \d\d:\d\d:\d\d$/, scope: 'unit', confidence: 'certain' }, causes: [/^stopped on request/] },
    },
    {
      name: 'a requested stop that hung until systemd killed it: still a requested stop',
      input: caseOf('stop-timeout', 'stoptimeout-app.service', /^Stopping /),
      want: { first: { cause: /^stopped on request at \d\d:\d\d:\d\d$/, scope: 'unit', confidence: 'certain' }, evidence: ["State 'stop-sigterm' timed out. Killing."] },
    },
    {
      name: 'a SIGSEGV with a core',
      input: caseOf('segv', 'segv-core.service', /status=11\/SEGV/),
      want: { first: { cause: 'crashed on signal 11 (SIGSEGV), core dumped', scope: 'invocation', confidence: 'certain' } },
    },
    {
      name: "a timer's oneshot job that failed",
      input: caseOf('oneshot-fail', 'oneshot-app.service', /status=2\/INVALIDARGUMENT/, { error: null, trigger: 'unit_restart' }),
      want: { first: { cause: 'exited with status 2', scope: 'invocation', confidence: 'certain' } },
    },
  ]);
});

describe('dependencies', () => {
  const depFailed: DependencyState = { unit: 'dep-db.service', relation: 'Requires', active_state: 'failed', sub_state: 'failed', result: 'exit-code' };
  const bindJournal = journalOf('bindsto-stopped', 'bind-app.service');
  const stoppedAt = when(bindJournal, /^Stopping /);
  // what `systemctl show bind-db.service` said at capture (whole seconds, as systemctl prints them)
  const bindDb: DependencyState = { unit: 'bind-db.service', relation: 'BindsTo', active_state: 'failed', sub_state: 'failed', result: 'exit-code', inactive_at: `${stoppedAt.slice(0, 19)}.000Z` };
  run([
    {
      name: 'Dependency failed for app: the Requires= unit that failed, with its result',
      input: caseOf('dependency-failed', 'dep-app.service', /^Dependency failed/, { dependencies: [depFailed] }),
      want: { first: { cause: 'dependency dep-db.service failed (exit-code)', scope: 'dependency', confidence: 'certain' }, evidence: ['Dependency failed for dep-app.service'] },
    },
    {
      name: 'Dependency failed, the dependency unread: said as systemd said it',
      input: caseOf('dependency-failed', 'dep-app.service', /^Dependency failed/),
      want: { first: { cause: 'a dependency failed to start', scope: 'dependency', confidence: 'certain' } },
    },
    {
      name: 'stopped by systemd because its BindsTo= unit failed (logged exactly like a systemctl stop)',
      input: caseOf('bindsto-stopped', 'bind-app.service', /^Stopping /, { dependencies: [bindDb] }),
      want: { first: { cause: 'stopped because bind-db.service (BindsTo=) failed (exit-code)', scope: 'dependency', confidence: 'certain' }, causes: [/^stopped because bind-db/] },
    },
    {
      name: 'the same stop with the BindsTo= unit still up is a stop on request',
      input: caseOf('bindsto-stopped', 'bind-app.service', /^Stopping /),
      want: { first: { cause: /^stopped on request at /, scope: 'unit', confidence: 'certain' } },
    },
  ]);
});

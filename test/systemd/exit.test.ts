import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import type { SnapshotExit, SnapshotJournalLine } from '../../src/incident/snapshot';
import {
  exitStatusName,
  findDeadRunExit,
  isUnitOomKillLine,
  parseFailedResult,
  parseMainProcessExit,
  parseRestartScheduled,
  signalName,
  signalNumber,
} from '../../src/systemd/exit';
import { parseJournalJson } from '../../src/systemd/journal';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'cmd');

/** A journal fixture as a snapshot holds it: time order (the fixtures are `-r`, newest first). */
function journal(name: string): SnapshotJournalLine[] {
  const { entries } = parseJournalJson(fs.readFileSync(path.join(FIXTURES, name), 'utf8'), { maxMessageChars: 2000 });
  return entries.reverse().map((e) => ({ at: e.at, priority: e.priority ?? null, pid: e.pid ?? null, message: e.message }));
}

const crash = journal('journalctl-unit-flaky-crash.json');
const dead = journal('journalctl-unit-flaky-dead-invocation.json');
const line = (lines: SnapshotJournalLine[], has: string): SnapshotJournalLine => {
  const l = lines.find((x) => x.message.includes(has));
  assert.ok(l, `fixture has a line with ${has}`);
  return l;
};

// systemd's lines for the cgroup v2 OOM kill of the published measurement (fixtures/README-systemd.md)
const V2_UNIT_OOM = 'lab08-oom.service: A process of this unit has been killed by the OOM killer.';
const V2_EXIT = 'lab08-oom.service: Main process exited, code=killed, status=9/KILL';
const V2_FAILED = "lab08-oom.service: Failed with result 'oom-kill'.";
const AT = '2026-11-25T16:37:17.732Z';

describe('parseMainProcessExit', () => {
  const exitLine = line(crash, 'Main process exited');
  const cases: Array<{ name: string; input: string; want: SnapshotExit | null }> = [
    { name: 'systemd 252, real fixture: exit 3', input: exitLine.message, want: { code: 'exited', status: 3, at: AT } },
    { name: 'killed by SIGKILL (published v2 OOM kill)', input: V2_EXIT, want: { code: 'killed', status: 'KILL', at: AT } },
    { name: 'core dump on SIGSEGV', input: 'app.service: Main process exited, code=dumped, status=11/SEGV', want: { code: 'dumped', status: 'SEGV', at: AT } },
    { name: 'SIGABRT', input: 'app.service: Main process exited, code=killed, status=6/ABRT', want: { code: 'killed', status: 'ABRT', at: AT } },
    { name: 'an exit status without a name is n/a', input: 'app.service: Main process exited, code=exited, status=42/n/a', want: { code: 'exited', status: 42, at: AT } },
    { name: 'shell-style 137 stays an exit status', input: 'app.service: Main process exited, code=exited, status=137/n/a', want: { code: 'exited', status: 137, at: AT } },
    { name: 'a signal without a fixed number keeps the number', input: 'app.service: Main process exited, code=killed, status=50/RTMIN+16', want: { code: 'killed', status: 50, at: AT } },
    { name: 'without the unit prefix', input: 'Main process exited, code=killed, status=15/TERM', want: { code: 'killed', status: 'TERM', at: AT } },
    { name: 'trailing whitespace', input: `${V2_EXIT}  `, want: { code: 'killed', status: 'KILL', at: AT } },
    { name: 'a control process is not the main process', input: 'app.service: Control process exited, code=exited, status=1/FAILURE', want: null },
    { name: 'the failure line', input: V2_FAILED, want: null },
    { name: 'a code systemd does not give a main process', input: 'app.service: Main process exited, code=trapped, status=5/TRAP', want: null },
    { name: 'cut before the status', input: 'app.service: Main process exited, code=exited, status=', want: null },
    { name: 'empty', input: '', want: null },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(parseMainProcessExit(c.input, AT), c.want));
});

describe('findDeadRunExit', () => {
  const l = (at: string, message: string, pid: number | null = 1): SnapshotJournalLine => ({ at, priority: 5, pid, message });
  const cases: Array<{ name: string; input: SnapshotJournalLine[]; want: SnapshotExit | null }> = [
    { name: 'crash fixture: both runs, the dead one exited 3', input: crash, want: { code: 'exited', status: 3, at: AT } },
    { name: 'dead-invocation fixture', input: dead, want: { code: 'exited', status: 3, at: AT } },
    { name: 'only the new run: none', input: crash.filter((x) => x.pid === 107), want: null },
    {
      name: 'two exits in the window: the last one',
      input: [l('2026-01-01T00:00:01.000Z', 'a.service: Main process exited, code=exited, status=1/FAILURE'), l('2026-01-01T00:00:05.000Z', V2_EXIT)],
      want: { code: 'killed', status: 'KILL', at: '2026-01-01T00:00:05.000Z' },
    },
    { name: 'empty', input: [], want: null },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(findDeadRunExit(c.input), c.want));
});

describe('systemd manager lines', () => {
  const failed: Array<{ name: string; input: string; want: string | null }> = [
    { name: 'real fixture: exit-code', input: line(dead, 'Failed with result').message, want: 'exit-code' },
    { name: 'published v2: oom-kill', input: V2_FAILED, want: 'oom-kill' },
    { name: 'core-dump', input: "app.service: Failed with result 'core-dump'.", want: 'core-dump' },
    { name: 'exit line is not a result', input: V2_EXIT, want: null },
    { name: 'empty', input: '', want: null },
  ];
  for (const c of failed) test(`parseFailedResult: ${c.name}`, () => assert.equal(parseFailedResult(c.input), c.want));

  const restart: Array<{ name: string; input: string; want: number | null }> = [
    { name: 'real fixture: counter 1', input: line(dead, 'Scheduled restart job').message, want: 1 },
    { name: 'counter 12', input: 'app.service: Scheduled restart job, restart counter is at 12.', want: 12 },
    { name: 'Stopped line', input: line(dead, 'Stopped').message, want: null },
  ];
  for (const c of restart) test(`parseRestartScheduled: ${c.name}`, () => assert.equal(parseRestartScheduled(c.input), c.want));

  const oom: Array<{ name: string; input: string; want: boolean }> = [
    { name: 'published v2 line', input: V2_UNIT_OOM, want: true },
    { name: 'the kernel kill line is not systemd', input: 'Memory cgroup out of memory: Killed process 27501 (python3) total-vm:79664kB', want: false },
    { name: 'failure line', input: V2_FAILED, want: false },
  ];
  for (const c of oom) test(`isUnitOomKillLine: ${c.name}`, () => assert.equal(isUnitOomKillLine(c.input), c.want));
});

describe('signal and exit status names', () => {
  const names: Array<{ name: string; input: number; want: string | undefined }> = [
    { name: '9', input: 9, want: 'KILL' },
    { name: '11', input: 11, want: 'SEGV' },
    { name: '6', input: 6, want: 'ABRT' },
    { name: '15', input: 15, want: 'TERM' },
    { name: '31', input: 31, want: 'SYS' },
    { name: '0 is no signal', input: 0, want: undefined },
    { name: 'real-time 34', input: 34, want: undefined },
    { name: 'negative', input: -9, want: undefined },
  ];
  for (const c of names) test(`signalName ${c.name}`, () => assert.equal(signalName(c.input), c.want));

  const numbers: Array<{ name: string; input: string; want: number | undefined }> = [
    { name: 'systemd spelling', input: 'KILL', want: 9 },
    { name: 'with SIG', input: 'SIGSEGV', want: 11 },
    { name: 'lower case', input: 'abrt', want: 6 },
    { name: 'a number', input: '15', want: 15 },
    { name: 'real-time name', input: 'RTMIN+3', want: undefined },
    { name: 'unknown number', input: '64', want: undefined },
    { name: 'empty', input: '', want: undefined },
  ];
  for (const c of numbers) test(`signalNumber ${c.name}`, () => assert.equal(signalNumber(c.input), c.want));

  const statuses: Array<{ name: string; input: number; want: string | undefined }> = [
    { name: '3 (the fixture)', input: 3, want: 'NOTIMPLEMENTED' },
    { name: '203', input: 203, want: 'EXEC' },
    { name: '42', input: 42, want: undefined },
  ];
  for (const c of statuses) test(`exitStatusName ${c.name}`, () => assert.equal(exitStatusName(c.input), c.want));
});

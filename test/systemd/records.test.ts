// systemd's record of a unit, read from the real captures in fixtures/systemd/ (capture.ts, systemd 252).
// The expectations say what the lines mean; the lines themselves are only ever read from the files.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { parseMainProcessExit } from '../../src/systemd/exit';
import { parseJournalJson, type JournalEntry } from '../../src/systemd/journal';
import {
  findFailedDependency,
  findStartLimit,
  findStopCause,
  isStartLimitLine,
  JOB_MESSAGE_IDS,
  parseJobFailed,
  parseJobLine,
  type JobLine,
  type TimedRecord,
} from '../../src/systemd/records';
import { parseCoredump, parseKillLine, parseSpawnFailure, parseTimeoutLine, setupStatusWords } from '../../src/systemd/records-failures';
import { parseTimespan, unitSettings } from '../../src/systemd/timespan';
import { parseSystemctlShow } from '../../src/systemd/unit';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'systemd');

function read(file: string): string {
  return fs.readFileSync(path.join(FIXTURES, file), 'utf8');
}

function entries(file: string): JournalEntry[] {
  return parseJournalJson(read(file), { maxMessageChars: 2000 }).entries;
}

/** Several files' entries in time order, once each (a line can be in more than one query's answer). */
function merged(...files: string[]): JournalEntry[] {
  const seen = new Map<string, JournalEntry>();
  for (const f of files) for (const e of entries(f)) seen.set(e.cursor ?? `${e.at}${e.message}`, e);
  return [...seen.values()].sort((a, b) => a.at.localeCompare(b.at));
}

function show(file: string): Record<string, string> {
  const u = parseSystemctlShow(read(file))[0];
  assert.ok(u, `${file} has a unit block`);
  return u.properties;
}

type Job = [type: string, phase: 'begin' | 'end', result?: string];

function jobs(lines: readonly JournalEntry[]): Job[] {
  return lines
    .map((e) => parseJobLine(e))
    .filter((j): j is JobLine => j !== null)
    .map((j) => (j.result === undefined ? [j.type, j.phase] : [j.type, j.phase, j.result]));
}

describe('parseJobLine: the job sequences of the captured cases', () => {
  const cases: Array<{ name: string; input: string; want: Job[] }> = [
    {
      name: 'systemctl stop: stop begins and ends done',
      input: 'requested-stop/stop-app.service.pid1.json',
      want: [['start', 'end', 'done'], ['stop', 'begin'], ['stop', 'end', 'done']],
    },
    {
      name: 'systemctl restart: the stop half begins as "stop", ends as "restart", then a start job',
      input: 'requested-restart/restart-app.service.pid1.json',
      want: [['start', 'end', 'done'], ['stop', 'begin'], ['restart', 'end', 'done'], ['start', 'end', 'done']],
    },
    {
      name: 'a slow start (ExecStartPre=) has a "Starting" line; a plain Type=simple start has none',
      input: 'slow-restart/slowrestart-app.service.pid1.json',
      want: [['start', 'begin'], ['start', 'end', 'done'], ['stop', 'begin'], ['restart', 'end', 'done'], ['start', 'begin'], ['start', 'end', 'done']],
    },
    {
      name: 'a restart whose start times out: the start job fails, then systemd restarts it itself',
      input: 'restart-start-timeout/restarttimeout-app.service.pid1.json',
      want: [
        ['start', 'begin'], ['start', 'end', 'done'], ['stop', 'begin'], ['restart', 'end', 'done'], ['start', 'begin'],
        ['start', 'end', 'failed'], ['restart', 'end', 'done'], ['start', 'begin'], ['start', 'end', 'done'],
      ],
    },
    {
      name: 'a failed Requires=: one job line (the "Job .../start failed" line is not counted twice)',
      input: 'dependency-failed/dep-app.service.pid1.json',
      want: [['start', 'end', 'dependency']],
    },
    {
      name: "a timer's oneshot that exits 2: its start job fails",
      input: 'oneshot-fail/oneshot-app.service.pid1.json',
      want: [['start', 'begin'], ['start', 'end', 'failed']],
    },
    {
      name: 'a stop that runs into TimeoutStopSec=: the stop job still ends done (the unit result says timeout)',
      input: 'stop-timeout/stoptimeout-app.service.pid1.json',
      want: [['start', 'end', 'done'], ['stop', 'begin'], ['stop', 'end', 'done']],
    },
    { name: 'no lines', input: 'alias/alias-name.service.pid1.json', want: [] },
  ];
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(jobs(entries(c.input)), c.want));
  }

  test('the MESSAGE_IDs are the catalogue ones, and every job line carries one', () => {
    const all = merged(...['requested-restart/restart-app.service.pid1.json', 'restart-start-timeout/restarttimeout-app.service.pid1.json', 'dependency-failed/dep-app.service.pid1.json']);
    const ids = new Set<string>(Object.values(JOB_MESSAGE_IDS));
    for (const e of all) {
      if (parseJobLine(e)) assert.ok(e.messageId && ids.has(e.messageId), `${e.message}: ${e.messageId}`);
    }
  });

  test('the wording alone gives the same reading (only a restart\'s "Stopped" reads as a stop)', () => {
    for (const dir of ['requested-restart/restart-app', 'restart-start-timeout/restarttimeout-app', 'dependency-failed/dep-app', 'oneshot-fail/oneshot-app', 'stop-timeout/stoptimeout-app']) {
      for (const e of entries(`${dir}.service.pid1.json`)) {
        const withFields = parseJobLine(e);
        const bare = parseJobLine({ message: e.message });
        if (withFields === null) {
          assert.equal(bare, null, e.message);
          continue;
        }
        assert.ok(bare, e.message);
        assert.equal(bare.type, withFields.type === 'restart' ? 'stop' : withFields.type, e.message);
        assert.equal(bare.phase, withFields.phase, e.message);
        assert.equal(bare.result, withFields.result, e.message);
      }
    }
  });

  test('the unit is named "ID - Description"', () => {
    const first = entries('requested-stop/stop-app.service.pid1.json')[0];
    assert.ok(first);
    const j = parseJobLine(first);
    assert.equal(j?.unitName, first.unit);
    assert.equal(j?.description, show('requested-stop/stop-app.service.show-after.txt').Description);
  });

  const edge: Array<{ name: string; input: Parameters<typeof parseJobLine>[0]; want: JobLine | null }> = [
    { name: 'empty message', input: { message: '' }, want: null },
    { name: 'a service line', input: { message: 'listening on 127.0.0.1:19201' }, want: null },
    { name: 'a cut "Stopping" line (capMessage)', input: { message: 'Stopping stop-app.service - app st…' }, want: null },
    {
      name: 'a cut line with its fields still reads by the fields',
      input: { message: 'Stopping stop-app.service - app st…', jobType: 'stop', messageId: JOB_MESSAGE_IDS.stopping },
      want: { type: 'stop', phase: 'begin' },
    },
    { name: 'JOB_TYPE= with another catalogue id is not a job line', input: { message: 'x', jobType: 'start', messageId: '98e322203f7a4ed290d09fe03c09fe15' }, want: null },
    // job.c wordings the captures did not produce (systemd 252 format strings)
    { name: 'condition skipped', input: { message: 'Condition check resulted in x.service - X being skipped.' }, want: { type: 'start', phase: 'end', result: 'done', conditionSkipped: true, unitName: 'x.service', description: 'X' } },
    { name: 'stop with error (newer wording)', input: { message: 'Stopped x.service with error.' }, want: { type: 'stop', phase: 'end', result: 'failed', unitName: 'x.service' } },
    { name: 'reload failed', input: { message: 'Reload failed for Some Daemon.' }, want: { type: 'reload', phase: 'end', result: 'failed', description: 'Some Daemon' } },
  ];
  for (const c of edge) test(c.name, () => assert.deepEqual(parseJobLine(c.input), c.want));

  test('a truncated capture keeps the first lines of the sequence', () => {
    const text = read('restart-start-timeout/restarttimeout-app.service.pid1.json');
    const full = jobs(parseJournalJson(text, { maxMessageChars: 2000 }).entries);
    const cut = parseJournalJson(text.slice(0, Math.floor(text.length / 2)), { maxMessageChars: 2000 });
    assert.equal(cut.skipped, 1);
    const part = jobs(cut.entries);
    assert.ok(part.length > 0 && part.length < full.length);
    assert.deepEqual(part, full.slice(0, part.length));
  });
});

describe('parseJobFailed', () => {
  test('the second line of a dependency failure names the unit, job type and result', () => {
    const found = entries('dependency-failed/dep-app.service.pid1.json').map((e) => parseJobFailed(e.message)).filter(Boolean);
    assert.deepEqual(found, [{ unit: 'dep-app.service', type: 'start', result: 'dependency' }]);
  });
  test('other lines and empty input', () => {
    assert.equal(parseJobFailed(''), null);
    assert.equal(parseJobFailed("dep-app.service: Job dep-app.service/start failed with result 'depen"), null);
  });
});

describe('findFailedDependency', () => {
  const lines = merged('dependency-failed/dep-app.service.pid1.json', 'dependency-failed/dep-db.service.pid1.json');
  const requires = unitSettings(show('dependency-failed/dep-app.service.show-after.txt')).requires;
  const cases: Array<{ name: string; input: [TimedRecord[], string[]]; want: unknown }> = [
    {
      name: "the app's Requires= unit whose start failed just before, with its own result",
      input: [lines, requires],
      want: { dependency: 'dep-db.service', jobResult: 'failed', unitResult: 'exit-code' },
    },
    { name: 'the dependency is not one of the units named', input: [lines, ['other.service']], want: null },
    { name: "only the app's lines (journalctl -u app): nothing names the dependency", input: [entries('dependency-failed/dep-app.service.pid1.json'), requires], want: null },
    { name: 'no lines', input: [[], requires], want: null },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = findFailedDependency(c.input[0], 'dep-app.service', c.input[1]);
      if (got) {
        const { at, ...rest } = got;
        assert.ok(Date.parse(at) > 0);
        assert.deepEqual(rest, c.want);
      } else assert.equal(got, c.want);
    });
  }
});

describe('findStartLimit', () => {
  const cases = [
    { name: 'a loop of runs that exit 1: the result stays exit-code', unit: 'startlimit-app.service', wantResult: 'exit-code' },
    { name: 'a loop of runs that exit 0: the result is start-limit-hit', unit: 'startlimit-ok.service', wantResult: 'start-limit-hit' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const hit = findStartLimit(entries(`start-limit-hit/${c.unit}.pid1.json`), c.unit);
      assert.ok(hit);
      assert.equal(hit.unitResult, c.wantResult);
      // the counter is the restarts systemd made: NRestarts= and StartLimitBurst= agree
      const after = show(`start-limit-hit/${c.unit}.show-after.txt`);
      assert.equal(hit.restartCounter, Number(after.NRestarts));
      assert.equal(hit.restartCounter, unitSettings(after).startLimitBurst);
      assert.equal(after.Result, c.wantResult);
    });
  }
  test('no start limit in a plain stop, none in no lines, and a cut line is not one', () => {
    assert.equal(findStartLimit(entries('requested-stop/stop-app.service.pid1.json'), 'stop-app.service'), null);
    assert.equal(findStartLimit([], 'x.service'), null);
    assert.equal(isStartLimitLine('x.service: Start request repeated too quick…'), false);
    assert.equal(isStartLimitLine(''), false);
  });
});

describe('findStopCause', () => {
  const bound = merged('bindsto-stopped/bind-app.service.pid1.json', 'bindsto-stopped/bind-db.service.pid1.json');
  const bindsTo = unitSettings(show('bindsto-stopped/bind-app.service.show-after.txt')).bindsTo;
  const cases: Array<{ name: string; lines: TimedRecord[]; unit: string; boundTo: string[]; want: string | null }> = [
    { name: 'BindsTo= unit crashed 1 ms before: stopped by systemd', lines: bound, unit: 'bind-app.service', boundTo: bindsTo, want: 'bound-unit' },
    { name: 'the same lines without knowing BindsTo=: looks like a systemctl stop', lines: bound, unit: 'bind-app.service', boundTo: [], want: 'unexplained' },
    { name: 'systemctl stop', lines: entries('requested-stop/stop-app.service.pid1.json'), unit: 'stop-app.service', boundTo: [], want: 'unexplained' },
    { name: 'systemctl restart: its stop half', lines: entries('requested-restart/restart-app.service.pid1.json'), unit: 'restart-app.service', boundTo: [], want: 'unexplained' },
    { name: 'Restart=always: the stop half of the scheduled restart', lines: entries('start-limit-hit/startlimit-ok.service.pid1.json'), unit: 'startlimit-ok.service', boundTo: [], want: 'auto-restart' },
    { name: 'no stop at all', lines: entries('dependency-failed/dep-app.service.pid1.json'), unit: 'dep-app.service', boundTo: [], want: null },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(findStopCause(c.lines, c.unit, c.boundTo)?.kind ?? null, c.want));
  }
  test('the bound unit is named, with its line', () => {
    const cause = findStopCause(bound, 'bind-app.service', bindsTo);
    assert.ok(cause?.kind === 'bound-unit');
    assert.equal(cause.boundUnit, 'bind-db.service');
    assert.ok(bound.some((l) => l.unit === 'bind-db.service' && l.message === cause.evidence));
  });
});

describe('parseSpawnFailure and setupStatusWords on the 2xx setup failures', () => {
  // UNIT=x from any sender: the forked child's lines are not always in -u (README: the race)
  const cases = [
    { unit: 'exec-app', step: 'EXEC', command: '/nonexistent/bin/app', error: 'No such file or directory', status: 203 },
    { unit: 'exec-noexec', step: 'EXEC', command: '/not-a-program', error: 'Exec format error', status: 203 },
    { unit: 'exec-noperm', step: 'EXEC', command: '/not-executable', error: 'Permission denied', status: 203 },
    { unit: 'exec-user', step: 'USER', command: '/bin/sleep', error: 'No such process', status: 217 },
    { unit: 'exec-chdir', step: 'CHDIR', command: '/bin/sleep', error: 'No such file or directory', status: 200 },
  ];
  for (const c of cases) {
    test(`${c.unit}: status ${c.status}/${c.step}`, () => {
      const lines = entries(`exec-203/${c.unit}.service.unit-field.json`);
      const failures = lines.map((e) => parseSpawnFailure(e.message)).filter((f) => f !== null);
      assert.ok(failures.length >= 1);
      for (const f of failures) {
        assert.equal(f.step, c.step);
        assert.ok(f.command.endsWith(c.command), f.command);
        assert.equal(f.error, c.error);
      }
      // the exit status PID 1 logged is the step's code, and the words name it
      const exit = lines.map((e) => parseMainProcessExit(e.message, e.at)).find((x) => x !== null);
      assert.equal(exit?.status, c.status);
      assert.equal(setupStatusWords(c.status)?.name, c.step);
      // these lines come from systemd's forked child, not PID 1: `_PID=1 UNIT=x` never sees them
      for (const e of lines) if (parseSpawnFailure(e.message)) assert.notEqual(e.pid, 1);
    });
  }
  const words: Array<{ name: string; input: number; want: ReturnType<typeof setupStatusWords> }> = [
    { name: '203', input: 203, want: { name: 'EXEC', words: 'could not execute the program' } },
    { name: '217', input: 217, want: { name: 'USER', words: 'could not switch to the user' } },
    { name: '200', input: 200, want: { name: 'CHDIR', words: 'could not change to the working directory' } },
    { name: '245 (the last one)', input: 245, want: { name: 'BPF', words: 'could not apply the BPF restrictions (RestrictFileSystems=)' } },
    { name: '223 is unused', input: 223, want: undefined },
    { name: '199 is not systemd\'s', input: 199, want: undefined },
    { name: '3 is the program\'s own', input: 3, want: undefined },
    { name: 'NaN', input: Number.NaN, want: undefined },
  ];
  for (const c of words) test(`setupStatusWords(${c.name})`, () => assert.deepEqual(setupStatusWords(c.input), c.want));

  test('cut and empty lines', () => {
    assert.equal(parseSpawnFailure(''), null);
    assert.equal(parseSpawnFailure('exec-app.service: Failed at step EXEC spawning /nonexistent/bin/app'), null);
    const full = entries('exec-203/exec-app.service.unit-field.json').map((e) => e.message).find((m) => m.includes('Failed at step'));
    assert.ok(full);
    for (let n = 0; n < full.length; n++) {
      const got = parseSpawnFailure(full.slice(0, n));
      if (got) assert.equal(got.step, 'EXEC');
    }
  });
});

describe('parseTimeoutLine', () => {
  const firstTimeout = (file: string) => entries(file).map((e) => parseTimeoutLine(e.message)).find((t) => t !== null) ?? null;
  const cases: Array<{ name: string; input: string; want: ReturnType<typeof parseTimeoutLine> }> = [
    { name: 'watchdog (WatchdogSec=1)', input: 'watchdog/watchdog-app.service.pid1.json', want: { kind: 'watchdog', limitMs: 1000 } },
    { name: 'Type=notify never ready (TimeoutStartSec=2)', input: 'start-timeout/starttimeout-app.service.pid1.json', want: { kind: 'timeout', state: 'start', action: 'terminating' } },
    { name: 'ExecStartPre= past TimeoutStartSec=2', input: 'restart-start-timeout/restarttimeout-app.service.pid1.json', want: { kind: 'timeout', state: 'start-pre', action: 'terminating' } },
    { name: 'SIGTERM ignored past TimeoutStopSec=2', input: 'stop-timeout/stoptimeout-app.service.pid1.json', want: { kind: 'timeout', state: 'stop-sigterm', action: 'killing' } },
    { name: 'a plain stop has none', input: 'requested-stop/stop-app.service.pid1.json', want: null },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(firstTimeout(c.input), c.want));

  test("the watchdog line's limit is the run's WatchdogUSec=", () => {
    assert.equal(parseTimespan(show('watchdog/watchdog-app.service.show-during.txt').WatchdogUSec), 1000);
  });

  // service.c / job.c format strings the captures did not hit (systemd 252)
  const inline: Array<{ name: string; input: string; want: ReturnType<typeof parseTimeoutLine> }> = [
    { name: 'RuntimeMaxSec=', input: 'x.service: Service reached runtime time limit. Stopping.', want: { kind: 'runtime-max', action: 'stopping' } },
    { name: 'JobTimeoutSec=', input: 'x.service: Job x.service/start timed out.', want: { kind: 'job-timeout', jobType: 'start' } },
    { name: 'reload', input: 'x.service: Reload operation timed out. Killing reload process.', want: { kind: 'timeout', state: 'reload', action: 'killing reload process' } },
    { name: 'ExecStop=', input: 'x.service: Stopping timed out. Terminating.', want: { kind: 'timeout', state: 'stop', action: 'terminating' } },
    { name: 'watchdog with a limit of two units', input: 'x.service: Watchdog timeout (limit 1min 30s)!', want: { kind: 'watchdog', limitMs: 90_000 } },
    { name: 'watchdog with an unreadable limit', input: 'x.service: Watchdog timeout (limit soon)!', want: { kind: 'watchdog' } },
    { name: 'cut', input: "x.service: State 'stop-sigterm' timed out. Kil", want: null },
    { name: 'empty', input: '', want: null },
  ];
  for (const c of inline) test(c.name, () => assert.deepEqual(parseTimeoutLine(c.input), c.want));
});

describe('parseKillLine', () => {
  const kills = (file: string) => entries(file).map((e) => parseKillLine(e.message)).filter((k) => k !== null);
  test("the watchdog's SIGABRT to the main process", () => {
    const k = kills('watchdog/watchdog-app.service.pid1.json');
    assert.deepEqual(k.map((x) => [x.comm, x.signal, x.signo]), [['sh', 'SIGABRT', 6]]);
    assert.equal(k[0]?.pid, Number(show('watchdog/watchdog-app.service.show-after.txt').ExecMainPID));
  });
  test("the stop timeout's SIGKILL to every process left", () => {
    assert.deepEqual(kills('stop-timeout/stoptimeout-app.service.pid1.json').map((x) => [x.comm, x.signal, x.signo]), [['sh', 'SIGKILL', 9], ['sleep', 'SIGKILL', 9]]);
  });
  test('cut and empty', () => {
    assert.equal(parseKillLine(''), null);
    assert.equal(parseKillLine('x.service: Killing process 494 (sh) with signal SIGKI'), null);
  });
});

describe('parseCoredump (published samples: fixtures/systemd/coredump-published/)', () => {
  test('the systemd-coredump(8) example entry: fields only', () => {
    const fields: Record<string, string> = {};
    for (const line of read('coredump-published/systemd-coredump.8-example.txt').split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) fields[line.slice(0, eq)] = line.slice(eq + 1);
    }
    const got = parseCoredump({
      message: '',
      coredumpSignal: Number(fields.COREDUMP_SIGNAL),
      coredumpSignalName: fields.COREDUMP_SIGNAL_NAME,
      coredumpPid: Number(fields.COREDUMP_PID),
      coredumpComm: fields.COREDUMP_COMM,
    });
    // a user's process: COREDUMP_USER_UNIT=, no COREDUMP_UNIT=
    assert.deepEqual(got, { signal: 11, signalName: 'SIGSEGV', pid: 552351, comm: 'Web Content', frames: [] });
  });

  // journalctl's short output of one entry: the first line after "host systemd-coredump[pid]: [🡕] " (the
  // link mark is journalctl's, from the catalogue), the rest indented to line up under it
  const hypr = read('coredump-published/hyprv3-issue-18.txt').split('\n');
  const first = hypr[0] ?? '';
  const message = [first.slice(first.indexOf('Process ')), ...hypr.slice(1).map((l) => l.trim())].join('\n').trimEnd();
  const cases: Array<{ name: string; input: Parameters<typeof parseCoredump>[0]; want: ReturnType<typeof parseCoredump> }> = [
    {
      name: 'HyprV3 issue 18 (Arch): the MESSAGE gives the process and the first frames',
      input: { message },
      want: {
        pid: 797,
        comm: 'swww',
        frames: hypr.slice(3, 6).map((l) => l.trim().replace(/^#\d+\s+/, '')),
      },
    },
    { name: 'not a coredump entry', input: { message: 'flaky starting pid=86 port=19201' }, want: null },
    { name: 'empty', input: { message: '' }, want: null },
    { name: 'cut before the stack trace', input: { message: message.slice(0, message.indexOf('Stack')) }, want: { pid: 797, comm: 'swww', frames: [] } },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(parseCoredump(c.input, 3), c.want));

  test('the frames stop at the first thread', () => {
    const two = `${message}\n\nStack trace of thread 798:\n#0  0x1 n/a (x + 0x1)`;
    assert.equal(parseCoredump({ message: two }, 20)?.frames.length, hypr.filter((l) => /^\s*#\d+ /.test(l)).length);
  });
});

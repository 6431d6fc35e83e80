// The values systemctl show prints, read from the real captures in fixtures/systemd/ (systemd 252): each
// case names a file and a property; the value is read from the file, never copied here.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import {
  formatSize,
  formatTimespan,
  parseBytesLimit,
  parseCountLimit,
  parseTimespan,
  parseUnitList,
  unitSettings,
} from '../../src/systemd/timespan';
import { parseSystemctlShow } from '../../src/systemd/unit';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'systemd');

function show(file: string): Record<string, string> {
  const u = parseSystemctlShow(fs.readFileSync(path.join(FIXTURES, file), 'utf8'))[0];
  assert.ok(u, `${file} has a unit block`);
  return u.properties;
}

const FORMATS = 'limits/limits-formats.service.show-after.txt';
const LIMITS = 'limits/limits-app.service.show-after.txt';
const PLAIN = 'requested-stop/stop-app.service.show-initial.txt';

/** [file, property, what the unit file said → what it means] */
type Case = { name: string; file: string; property: string; want: number | undefined };

describe('parseTimespan on systemctl show values', () => {
  const cases: Case[] = [
    { name: 'RestartSec=1.5s', file: FORMATS, property: 'RestartUSec', want: 1500 },
    { name: 'TimeoutStartSec=61.5 (minutes and a fraction of seconds)', file: FORMATS, property: 'TimeoutStartUSec', want: 61_500 },
    { name: 'TimeoutStopSec=1500us (fraction of a millisecond)', file: FORMATS, property: 'TimeoutStopUSec', want: 1.5 },
    { name: 'RuntimeMaxSec=2w 3d', file: FORMATS, property: 'RuntimeMaxUSec', want: 17 * 86_400_000 },
    { name: 'TimeoutAbortSec=infinity', file: FORMATS, property: 'TimeoutAbortUSec', want: Infinity },
    { name: 'StartLimitIntervalSec=infinity', file: FORMATS, property: 'StartLimitIntervalUSec', want: Infinity },
    { name: 'TimeoutStartSec=1min 30s', file: LIMITS, property: 'TimeoutStartUSec', want: 90_000 },
    { name: 'TimeoutStopSec=45s', file: LIMITS, property: 'TimeoutStopUSec', want: 45_000 },
    { name: 'WatchdogSec=30min (running)', file: LIMITS, property: 'WatchdogUSec', want: 1_800_000 },
    { name: 'RuntimeMaxSec=2h 5min', file: LIMITS, property: 'RuntimeMaxUSec', want: 7_500_000 },
    { name: 'StartLimitIntervalSec=1min', file: LIMITS, property: 'StartLimitIntervalUSec', want: 60_000 },
    { name: 'RestartSec=100ms', file: 'start-limit-hit/startlimit-app.service.show-after.txt', property: 'RestartUSec', want: 100 },
    { name: 'the default start timeout', file: PLAIN, property: 'TimeoutStartUSec', want: 90_000 },
    { name: 'the default start limit interval', file: PLAIN, property: 'StartLimitIntervalUSec', want: 10_000 },
    { name: 'WatchdogUSec of a unit never started', file: PLAIN, property: 'WatchdogUSec', want: Infinity },
    { name: 'WatchdogUSec of a run without a watchdog', file: 'requested-restart/restart-app.service.show-after.txt', property: 'WatchdogUSec', want: 0 },
    { name: 'a property that is not there', file: PLAIN, property: 'NoSuchUSec', want: undefined },
  ];
  for (const c of cases) test(c.name, () => assert.equal(parseTimespan(show(c.file)[c.property]), c.want));

  const inline: Array<{ name: string; input: string | undefined; want: number | undefined }> = [
    { name: 'empty', input: '', want: undefined },
    { name: 'undefined', input: undefined, want: undefined },
    { name: '[not set]', input: '[not set]', want: undefined },
    { name: '0', input: '0', want: 0 },
    { name: 'a year is 365.25 days', input: '1y', want: 31_557_600_000 },
    { name: 'a month is 30.44 days', input: '1month', want: 2_629_800_000 },
    { name: '1d', input: '1d', want: 86_400_000 },
    { name: 'microseconds (what 500us prints as)', input: '500us', want: 0.5 },
    { name: 'a bare number is seconds (unit files)', input: '90', want: 90_000 },
    { name: 'cut after a number', input: '1min 3', want: undefined },
    { name: 'cut inside a unit', input: '1mi', want: undefined },
    { name: 'not a timespan', input: 'soon', want: undefined },
    { name: '2^64-1', input: '18446744073709551615', want: Infinity },
  ];
  for (const c of inline) test(`inline: ${c.name}`, () => assert.equal(parseTimespan(c.input), c.want));
});

describe('parseBytesLimit, parseCountLimit', () => {
  const bytes: Case[] = [
    { name: 'MemoryMax=200M prints as bytes', file: LIMITS, property: 'MemoryMax', want: 200 * 2 ** 20 },
    { name: 'MemoryMax=1G', file: FORMATS, property: 'MemoryMax', want: 2 ** 30 },
    { name: 'MemoryHigh=1536M', file: FORMATS, property: 'MemoryHigh', want: 1536 * 2 ** 20 },
    { name: 'MemorySwapMax=0', file: FORMATS, property: 'MemorySwapMax', want: 0 },
    { name: 'no MemoryMax= is infinity', file: PLAIN, property: 'MemoryMax', want: Infinity },
    { name: 'MemoryCurrent of a running unit', file: LIMITS, property: 'MemoryCurrent', want: Number(show(LIMITS).MemoryCurrent) },
    { name: 'MemoryCurrent of a unit never started is [not set]', file: FORMATS, property: 'MemoryCurrent', want: undefined },
  ];
  for (const c of bytes) test(c.name, () => assert.equal(parseBytesLimit(show(c.file)[c.property]), c.want));
  test('a running unit uses memory', () => assert.ok((parseBytesLimit(show(LIMITS).MemoryCurrent) ?? 0) > 0));

  const inlineBytes: Array<{ name: string; input: string; want: number | undefined }> = [
    { name: 'unit-file form 200M', input: '200M', want: 209_715_200 },
    { name: 'unit-file form 1.5G', input: '1.5G', want: 1_610_612_736 },
    { name: 'unit-file form 512K', input: '512K', want: 524_288 },
    { name: 'a percentage needs the host memory', input: '50%', want: undefined },
    { name: 'infinity', input: 'infinity', want: Infinity },
    { name: '2^64-1', input: '18446744073709551615', want: Infinity },
    { name: 'empty', input: '', want: undefined },
    { name: 'cut suffix', input: '200Mi', want: undefined },
    { name: 'past 2^53', input: '9007199254740993', want: undefined },
  ];
  for (const c of inlineBytes) test(`inline: ${c.name}`, () => assert.equal(parseBytesLimit(c.input), c.want));

  const counts: Case[] = [
    { name: 'TasksMax=16', file: LIMITS, property: 'TasksMax', want: 16 },
    { name: 'TasksMax=infinity', file: FORMATS, property: 'TasksMax', want: Infinity },
    { name: 'the default TasksMax is a number (15% of pid_max)', file: PLAIN, property: 'TasksMax', want: Number(show(PLAIN).TasksMax) },
    { name: 'LimitNOFILE=64', file: LIMITS, property: 'LimitNOFILE', want: 64 },
    { name: 'LimitNOFILESoft=64', file: LIMITS, property: 'LimitNOFILESoft', want: 64 },
    { name: 'LimitNOFILE=infinity', file: FORMATS, property: 'LimitNOFILE', want: Infinity },
    { name: 'the default soft LimitNOFILE', file: PLAIN, property: 'LimitNOFILESoft', want: 1024 },
    { name: 'StartLimitBurst=5', file: LIMITS, property: 'StartLimitBurst', want: 5 },
    { name: 'TasksCurrent [not set]', file: FORMATS, property: 'TasksCurrent', want: undefined },
  ];
  for (const c of counts) test(c.name, () => assert.equal(parseCountLimit(show(c.file)[c.property]), c.want));
  test('inline: cut, negative, empty', () => {
    assert.equal(parseCountLimit('1 6'), undefined);
    assert.equal(parseCountLimit('-1'), undefined);
    assert.equal(parseCountLimit(''), undefined);
    assert.equal(parseCountLimit(undefined), undefined);
  });
});

describe('parseUnitList', () => {
  const cases: Array<{ name: string; input: string | undefined; want: (list: string[]) => void }> = [
    { name: 'Requires= holds the unit file\'s and the default dependencies', input: show(LIMITS).Requires, want: (l) => assert.ok(l.includes('limits-db.service') && l.includes('sysinit.target')) },
    { name: 'BindsTo=', input: show(LIMITS).BindsTo, want: (l) => assert.deepEqual(l, ['limits-bound.service']) },
    { name: 'Wants=', input: show(LIMITS).Wants, want: (l) => assert.deepEqual(l, ['limits-side.service']) },
    { name: 'Names= of an alias: Id first', input: show('alias/alias-name.service.show-after.txt').Names, want: (l) => assert.deepEqual(l, [show('alias/alias-name.service.show-after.txt').Id, 'alias-name.service']) },
    { name: 'an empty list', input: show(PLAIN).BindsTo, want: (l) => assert.deepEqual(l, []) },
    { name: 'absent', input: undefined, want: (l) => assert.deepEqual(l, []) },
  ];
  for (const c of cases) test(c.name, () => c.want(parseUnitList(c.input)));
});

describe('formatSize, formatTimespan', () => {
  const bytes: Array<{ input: number; want: string }> = [
    { input: 209_715_200, want: '200M' },
    { input: 2 ** 30, want: '1G' },
    { input: 1_610_612_736, want: '1.5G' },
    { input: 512, want: '512B' },
    { input: 64 * 1024, want: '64K' },
    { input: Infinity, want: 'infinity' },
  ];
  for (const c of bytes) test(`formatSize(${c.input})`, () => assert.equal(formatSize(c.input), c.want));
  test('formatSize reads back', () => assert.equal(parseBytesLimit(formatSize(parseBytesLimit(show(LIMITS).MemoryMax) ?? 0)), 209_715_200));

  const durations: Array<{ input: number; want: string }> = [
    { input: 90_000, want: '90s' },
    { input: 2000, want: '2s' },
    { input: 1500, want: '1.5s' },
    { input: 500, want: '500ms' },
    { input: 1.5, want: '1.5ms' },
    { input: 0, want: '0ms' },
    { input: 1_800_000, want: '1800s' },
    { input: 7_500_000, want: '2h 5min' },
    { input: 17 * 86_400_000, want: '17d' },
    { input: Infinity, want: 'infinity' },
  ];
  for (const c of durations) test(`formatTimespan(${c.input})`, () => assert.equal(formatTimespan(c.input), c.want));
});

describe('unitSettings', () => {
  test('a running unit with limits', () => {
    const p = show(LIMITS);
    assert.deepEqual(unitSettings(p), {
      names: ['limits-app.service'],
      requires: parseUnitList(p.Requires),
      requisite: [],
      bindsTo: ['limits-bound.service'],
      partOf: [],
      wants: ['limits-side.service'],
      after: parseUnitList(p.After),
      memoryMaxBytes: 209_715_200,
      memoryHighBytes: Infinity,
      memoryCurrentBytes: Number(p.MemoryCurrent),
      tasksMax: 16,
      tasksCurrent: Number(p.TasksCurrent),
      limitNofile: 64,
      limitNofileSoft: 64,
      timeoutStartMs: 90_000,
      timeoutStopMs: 45_000,
      runtimeMaxMs: 7_500_000,
      restartMs: 1000,
      watchdogMs: 1_800_000,
      startLimitBurst: 5,
      startLimitIntervalMs: 60_000,
    });
  });
  test('Job= only while a job runs', () => {
    const during = unitSettings(show('slow-restart/slowrestart-app.service.show-during.txt'));
    assert.equal(during.jobId, Number(show('slow-restart/slowrestart-app.service.show-during.txt').Job));
    assert.equal(unitSettings(show('slow-restart/slowrestart-app.service.show-after.txt')).jobId, undefined);
  });
  test('no properties', () => {
    assert.deepEqual(unitSettings({}), { names: [], requires: [], requisite: [], bindsTo: [], partOf: [], wants: [], after: [] });
  });
});

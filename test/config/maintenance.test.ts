// `maintenance:` in preflight.yaml (src/config/maintenance.ts): weekly and one-off windows parsed,
// every bad, empty or truncated value pointed at by file:line:column with a hint; windows evaluated
// across midnight and the week's end, in UTC; the effective config read back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatConfig, parseConfig } from '../../src/config/config';
import { windowEnd, describeWindow, type MaintenanceWindow } from '../../src/config/maintenance';
import { ConfigError } from '../../src/util/errors';

const ENV = { HOME: '/home/op' };
const TOP = 'services:\n  - name: web\n    health_url: http://127.0.0.1:8080/health\n  - name: api\n    health_url: http://127.0.0.1:8081/health\nmaintenance:\n';
const windows = (yaml: string): MaintenanceWindow[] => parseConfig(TOP + yaml, 'p.yaml', ENV).maintenance ?? [];

describe('maintenance windows parse', () => {
  it('weekly, one-off, per service or all', () => {
    const w = windows(
      [
        '  - services: all',
        '    days: [sun]',
        '    time: 02:00-04:00',
        '    timezone: UTC',
        '    reason: weekly backup',
        '  - services: [web]',
        '    days: [mon-fri, Saturday]',
        '    time: "22:30-01:00"',
        '    timezone: local',
        '  - services: api',
        '    from: 2026-12-24T22:00:00Z',
        '    to: 2026-12-25T02:00:00+01:00',
        '  - services: all',
        '    days: daily',
        '    time: 00:00-24:00',
        '    timezone: utc',
      ].join('\n'),
    );
    assert.deepEqual(w, [
      { kind: 'weekly', days: [0], start: 120, end: 240, timezone: 'UTC', services: null, reason: 'weekly backup', line: 7 },
      { kind: 'weekly', days: [1, 2, 3, 4, 5, 6], start: 1350, end: 60, timezone: 'local', services: ['web'], reason: null, line: 12 },
      { kind: 'once', from: Date.parse('2026-12-24T22:00:00Z'), to: Date.parse('2026-12-25T01:00:00Z'), services: ['api'], reason: null, line: 16 },
      { kind: 'weekly', days: [0, 1, 2, 3, 4, 5, 6], start: 0, end: 1440, timezone: 'UTC', services: null, reason: null, line: 19 },
    ]);
    assert.deepEqual(w.map(describeWindow), ['sun 02:00-04:00 UTC', 'mon,tue,wed,thu,fri,sat 22:30-01:00 local', '2026-12-24T22:00:00.000Z to 2026-12-25T01:00:00.000Z', 'daily 00:00-24:00 UTC']);
  });

  it('fri-mon wraps across the weekend', () => {
    const [w] = windows('  - services: all\n    days: [fri-mon]\n    time: 01:00-02:00\n    timezone: UTC\n');
    assert.deepEqual(w?.kind === 'weekly' ? w.days : null, [0, 1, 5, 6]);
  });

  it('the effective config reads back as the same windows', () => {
    const yaml = '  - services: [web, api]\n    days: [sat, sun]\n    time: 23:00-01:30\n    timezone: local\n    reason: "patch: kernel"\n  - services: all\n    from: 2026-03-01T10:00:00Z\n    to: 2026-03-01T11:00:00Z\n';
    const c = parseConfig(TOP + yaml, 'p.yaml', ENV);
    const printed = formatConfig(c);
    assert.match(printed, /^maintenance:\n {2}- services: \[web, api\]\n {4}days: \[sun, sat\]\n {4}time: 23:00-01:30\n {4}timezone: local\n {4}reason: "patch: kernel"\n/m);
    const back = parseConfig(printed, 'p.yaml', ENV).maintenance?.map(({ line: _l, ...w }) => w);
    assert.deepEqual(back, c.maintenance?.map(({ line: _l, ...w }) => w));
  });
});

describe('maintenance errors point at file:line:col with a hint', () => {
  const cases: Array<{ name: string; yaml: string; at: [number, number]; reason: RegExp; hint: RegExp }> = [
    { name: 'not a list', yaml: '  services: all\n', at: [7, 3], reason: /^maintenance: expected a list of windows$/, hint: /a list of windows/ },
    { name: 'empty value', yaml: '', at: [6, 1], reason: /^maintenance: expected a list of windows$/, hint: /services: all/ },
    { name: 'an item that is not a map', yaml: '  - sun 02:00\n', at: [7, 5], reason: /^maintenance\[0\]: expected a map/, hint: /a list of windows/ },
    { name: 'no services', yaml: '  - days: [sun]\n    time: 02:00-04:00\n    timezone: UTC\n', at: [7, 5], reason: /^maintenance\[0\]: missing services$/, hint: /services: all/ },
    { name: 'unknown service', yaml: '  - services: [wbe]\n    days: [sun]\n    time: 02:00-04:00\n    timezone: UTC\n', at: [7, 16], reason: /^maintenance\[0\]\.services\[0\]: no service is named "wbe"$/, hint: /names web, api; or write all/ },
    { name: 'unknown key', yaml: '  - services: all\n    dayz: [sun]\n', at: [8, 5], reason: /^unknown key 'dayz' in maintenance\[0\]$/, hint: /did you mean days\?/ },
    { name: 'no window', yaml: '  - services: all\n', at: [7, 5], reason: /no days\/time or from\/to$/, hint: /weekly window.*one-off/ },
    { name: 'no timezone', yaml: '  - services: all\n    days: [sun]\n    time: 02:00-04:00\n', at: [7, 5], reason: /missing timezone$/, hint: /timezone: UTC, or local/ },
    { name: 'named timezone', yaml: '  - services: all\n    days: [sun]\n    time: 02:00-04:00\n    timezone: Europe/Berlin\n', at: [10, 15], reason: /timezone: expected UTC or local, got "Europe\/Berlin"$/, hint: /named zones are not supported/ },
    { name: 'no time', yaml: '  - services: all\n    days: [sun]\n    timezone: UTC\n', at: [7, 5], reason: /missing time$/, hint: /HH:MM-HH:MM/ },
    { name: 'empty time', yaml: '  - services: all\n    days: [sun]\n    time:\n    timezone: UTC\n', at: [9, 5], reason: /time: expected a time range, got nothing$/, hint: /HH:MM-HH:MM/ },
    { name: 'truncated time', yaml: '  - services: all\n    days: [sun]\n    time: 02:00-\n    timezone: UTC\n', at: [9, 11], reason: /time: expected HH:MM-HH:MM, got "02:00-"$/, hint: /24-hour/ },
    { name: 'truncated minute', yaml: '  - services: all\n    days: [sun]\n    time: 02:0-04:00\n    timezone: UTC\n', at: [9, 11], reason: /time: "02:0" is not a time of day$/, hint: /HH:MM/ },
    { name: 'hour 25', yaml: '  - services: all\n    days: [sun]\n    time: 22:00-25:00\n    timezone: UTC\n', at: [9, 11], reason: /time: "25:00" is not a time of day$/, hint: /HH:MM/ },
    { name: '24:00 as a start', yaml: '  - services: all\n    days: [sun]\n    time: 24:00-02:00\n    timezone: UTC\n', at: [9, 11], reason: /time: "24:00" is not a time of day$/, hint: /HH:MM/ },
    { name: 'zero length', yaml: '  - services: all\n    days: [sun]\n    time: 03:00-03:00\n    timezone: UTC\n', at: [9, 11], reason: /starts and ends at the same time$/, hint: /00:00-24:00/ },
    { name: 'bad day', yaml: '  - services: all\n    days: [sun, funday]\n    time: 02:00-04:00\n    timezone: UTC\n', at: [8, 17], reason: /days\[1\]: "funday" is not a day$/, hint: /mon-fri/ },
    { name: 'empty days', yaml: '  - services: all\n    days: []\n    time: 02:00-04:00\n    timezone: UTC\n', at: [8, 11], reason: /days: the list is empty$/, hint: /daily/ },
    { name: 'weekly and one-off', yaml: '  - services: all\n    days: [sun]\n    from: 2026-01-01T00:00:00Z\n', at: [9, 5], reason: /weekly \(days, time, timezone\) or one-off \(from, to\), not both$/, hint: /two entries/ },
    { name: 'from without to', yaml: '  - services: all\n    from: 2026-01-01T00:00:00Z\n', at: [7, 5], reason: /from: without to:$/, hint: /add to:/ },
    { name: 'no offset', yaml: '  - services: all\n    from: 2026-01-01T00:00:00\n    to: 2026-01-01T01:00:00Z\n', at: [8, 11], reason: /from: "2026-01-01T00:00:00" has no time zone offset$/, hint: /add Z for UTC/ },
    { name: 'truncated date', yaml: '  - services: all\n    from: 2026-01-01T00\n    to: 2026-01-01T01:00:00Z\n', at: [8, 11], reason: /from: expected a date and time like/, hint: /offset/ },
    { name: 'not on the calendar', yaml: '  - services: all\n    from: 2026-02-30T00:00:00Z\n    to: 2026-03-01T01:00:00Z\n', at: [8, 11], reason: /not a date and time on the calendar$/, hint: /offset/ },
    { name: 'ends before it starts', yaml: '  - services: all\n    from: 2026-01-02T00:00:00Z\n    to: 2026-01-01T00:00:00Z\n', at: [9, 9], reason: /to: the window ends before it starts \(from: is on line 8\)$/, hint: /after the start/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.throws(
        () => windows(c.yaml),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err));
          assert.deepEqual([err.file, err.line, err.column], ['p.yaml', ...c.at], err.message);
          const reason = err.message.replace(/^p\.yaml:\d+:\d+: /, '');
          assert.match(err.hint ? reason.slice(0, -(err.hint.length + 3)) : reason, c.reason);
          assert.match(err.hint ?? '', c.hint);
          return true;
        },
      );
    });
  }
});

describe('windowEnd: when the window a time falls in ends (UTC: no DST)', () => {
  const weekly = (days: number[], start: string, end: string): MaintenanceWindow => {
    const m = (s: string): number => Number(s.slice(0, 2)) * 60 + Number(s.slice(3));
    return { kind: 'weekly', days, start: m(start), end: m(end), timezone: 'UTC', services: null, reason: null, line: 1 };
  };
  const t = (s: string): number => Date.parse(s);
  // 2026-12-06 is a Sunday, 2026-12-07 a Monday, 2026-12-05 a Saturday
  const cases: Array<[string, MaintenanceWindow, string, string | null]> = [
    ['inside', weekly([0], '02:00', '04:00'), '2026-12-06T03:00:00Z', '2026-12-06T04:00:00.000Z'],
    ['at the start (inclusive)', weekly([0], '02:00', '04:00'), '2026-12-06T02:00:00Z', '2026-12-06T04:00:00.000Z'],
    ['at the end (exclusive)', weekly([0], '02:00', '04:00'), '2026-12-06T04:00:00Z', null],
    ['a second before the start', weekly([0], '02:00', '04:00'), '2026-12-06T01:59:59Z', null],
    ['another day', weekly([0], '02:00', '04:00'), '2026-12-07T03:00:00Z', null],
    ['past midnight, before it', weekly([6], '22:00', '02:00'), '2026-12-05T23:30:00Z', '2026-12-06T02:00:00.000Z'],
    ['past midnight, after it', weekly([6], '22:00', '02:00'), '2026-12-06T01:00:00Z', '2026-12-06T02:00:00.000Z'],
    ['past midnight, the next day is not listed itself', weekly([6], '22:00', '02:00'), '2026-12-06T22:30:00Z', null],
    ['across the week boundary: sun 23:00 into mon', weekly([0], '23:00', '01:00'), '2026-12-07T00:30:00Z', '2026-12-07T01:00:00.000Z'],
    ['across the week boundary: sat 23:00 into sun', weekly([6], '23:00', '01:00'), '2026-12-06T00:59:59Z', '2026-12-06T01:00:00.000Z'],
    ['whole day to 24:00', weekly([0], '00:00', '24:00'), '2026-12-06T23:59:00Z', '2026-12-07T00:00:00.000Z'],
    ['whole day, the next one', weekly([0], '00:00', '24:00'), '2026-12-07T00:00:00Z', null],
    ['one-off inside', { kind: 'once', from: t('2026-12-24T22:00:00Z'), to: t('2026-12-25T02:00:00Z'), services: null, reason: null, line: 1 }, '2026-12-25T01:00:00Z', '2026-12-25T02:00:00.000Z'],
    ['one-off after', { kind: 'once', from: t('2026-12-24T22:00:00Z'), to: t('2026-12-25T02:00:00Z'), services: null, reason: null, line: 1 }, '2026-12-25T02:00:00Z', null],
  ];
  for (const [name, w, at, end] of cases) {
    it(name, () => {
      const e = windowEnd(w, t(at));
      assert.equal(e === null ? null : new Date(e).toISOString(), end);
    });
  }

  it('local time: a window is read on the host clock (TZ of this process)', () => {
    const w: MaintenanceWindow = { kind: 'weekly', days: [0, 1, 2, 3, 4, 5, 6], start: 120, end: 240, timezone: 'local', services: null, reason: null, line: 1 };
    const at = new Date(2026, 11, 6, 3, 0).getTime();
    assert.equal(windowEnd(w, at), new Date(2026, 11, 6, 4, 0).getTime());
    assert.equal(windowEnd(w, new Date(2026, 11, 6, 4, 0).getTime()), null);
  });
});

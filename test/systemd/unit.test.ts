import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { parseSystemctlShow, parseSystemdTimestamp, showUnits, systemctlShowArgs, UNIT_PROPERTIES, type UnitState } from '../../src/systemd/unit';
import { unavailableFrom } from '../../src/systemd/unavailable';
import { CommandError } from '../../src/util/errors';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'cmd');
const fixture = (name: string): string => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

/** The typed fields of a unit (everything but the raw properties), for exact comparison. */
function typed(u: UnitState | undefined): Omit<UnitState, 'properties'> | undefined {
  if (!u) return undefined;
  const { properties: _raw, ...rest } = u;
  return rest;
}

describe('parseSystemctlShow on real systemctl 252 output', () => {
  const cases: Array<{ name: string; input: string; want: Array<Omit<UnitState, 'properties'>> }> = [
    {
      name: 'healthy unit',
      input: 'systemctl-show-healthy.txt',
      want: [
        {
          id: 'flaky.service',
          loadState: 'loaded',
          activeState: 'active',
          subState: 'running',
          result: 'success',
          nRestarts: 0,
          execMainStatus: 0,
          execMainCode: 0,
          execMainPid: 63,
          mainPid: 63,
          invocationId: 'c32224f002cf4b2e907470c4a9a57cf7',
          memoryCurrentBytes: 7319552,
          tasksCurrent: 7,
          activeEnterAt: '2026-11-25T16:37:17.000Z',
          controlGroup: '/preflight-e2e-capture/system.slice/flaky.service',
        },
      ],
    },
    {
      name: 'right after a crash, waiting to restart',
      input: 'systemctl-show-auto-restart.txt',
      want: [
        {
          id: 'flaky.service',
          loadState: 'loaded',
          activeState: 'activating',
          subState: 'auto-restart',
          result: 'exit-code',
          nRestarts: 0,
          execMainStatus: 3,
          execMainCode: 1,
          execMainPid: 63,
          invocationId: 'c32224f002cf4b2e907470c4a9a57cf7',
          activeEnterAt: '2026-11-25T16:37:17.000Z',
          inactiveEnterAt: '2026-11-25T16:37:17.000Z',
        },
      ],
    },
    {
      name: 'restarted once: NRestarts=1, new invocation and main pid',
      input: 'systemctl-show-restarted.txt',
      want: [
        {
          id: 'flaky.service',
          loadState: 'loaded',
          activeState: 'active',
          subState: 'running',
          result: 'success',
          nRestarts: 1,
          execMainStatus: 0,
          execMainCode: 0,
          execMainPid: 107,
          mainPid: 107,
          invocationId: '285b4d8800ca4e15a07abfd0279abf5a',
          memoryCurrentBytes: 6266880,
          tasksCurrent: 7,
          activeEnterAt: '2026-11-25T16:37:18.000Z',
          inactiveEnterAt: '2026-11-25T16:37:18.000Z',
          controlGroup: '/preflight-e2e-capture/system.slice/flaky.service',
        },
      ],
    },
    {
      name: 'OOM-killed on cgroup v1: killed by signal 9, Result=signal',
      input: 'systemctl-show-oom-killed-cgroup-v1.txt',
      want: [
        {
          id: 'hog.service',
          loadState: 'loaded',
          activeState: 'activating',
          subState: 'auto-restart',
          result: 'signal',
          nRestarts: 0,
          execMainStatus: 9,
          execMainCode: 2,
          execMainPid: 64,
          invocationId: 'b12c7d35b34c49bb9d7937ba44e8b5f5',
          activeEnterAt: '2026-11-25T16:37:17.000Z',
          inactiveEnterAt: '2026-11-25T16:37:18.000Z',
        },
      ],
    },
    {
      name: 'a unit that does not exist: loaded nothing, no values',
      input: 'systemctl-show-not-found.txt',
      want: [{ id: 'nope.service', loadState: 'not-found', activeState: 'inactive', subState: 'dead', result: 'success', nRestarts: 0, execMainStatus: 0, execMainCode: 0 }],
    },
    {
      name: 'cgroup v2 host (published sample, see fixtures/README-systemd.md): Result=oom-kill, no Id asked',
      input: 'systemctl-show-oom-kill-cgroup-v2.txt',
      want: [{ id: '', activeState: 'failed', result: 'oom-kill', execMainStatus: 9 }],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(parseSystemctlShow(fixture(c.input)).map(typed), c.want);
    });
  }

  test('several units in one call come back in the order asked, raw values kept', () => {
    const units = parseSystemctlShow(fixture('systemctl-show-multi.txt'));
    assert.deepEqual(
      units.map((u) => [u.id, u.loadState, u.subState, u.mainPid]),
      [
        ['flaky.service', 'loaded', 'running', 63],
        ['hog.service', 'loaded', 'running', 64],
        ['nope.service', 'not-found', 'dead', undefined],
      ],
    );
    const nope = units[2];
    assert.equal(nope?.properties.MemoryCurrent, '[not set]');
    assert.equal(nope?.properties.InvocationID, '');
    assert.equal(nope?.properties.FragmentPath, '');
    assert.equal(units[0]?.properties.FragmentPath?.endsWith('/units/flaky.service'), true);
    // every block holds only properties asked for (captured before the diagnosis asked for Names,
    // Requires, BindsTo and the limits, which fixtures/systemd/ shows as systemd prints them)
    for (const u of units) {
      for (const k of Object.keys(u.properties)) assert.ok((UNIT_PROPERTIES as readonly string[]).includes(k), `${k} was not asked for`);
      assert.equal(Object.keys(u.properties).length, 17);
    }
  });
});

describe('parseSystemctlShow edge cases', () => {
  const cases: Array<{ name: string; input: string; want: Array<Omit<UnitState, 'properties'>> }> = [
    { name: 'empty output', input: '', want: [] },
    { name: 'only blank lines', input: '\n\n\n', want: [] },
    {
      name: '2^64-1, [not set], empty and junk numbers are undefined',
      input: 'Id=a.service\nMemoryCurrent=18446744073709551615\nTasksCurrent=[not set]\nNRestarts=\nMainPID=12x\nExecMainStatus=-1\n',
      want: [{ id: 'a.service', execMainStatus: -1 }],
    },
    {
      name: '[not set] in a text property is undefined too',
      input: 'Id=a.service\nInvocationID=[not set]\nControlGroup=[not set]\nResult=\n',
      want: [{ id: 'a.service' }],
    },
    {
      name: 'a cut last line (output cap) is ignored, the rest kept',
      input: 'Id=a.service\nNRestarts=2\nActiveSt',
      want: [{ id: 'a.service', nRestarts: 2 }],
    },
    {
      name: 'no trailing newline, blank lines between blocks, CR-free values with = inside',
      input: 'Id=a.service\nResult=exit-code\n\n\nId=b.service\nControlGroup=/system.slice/b=c.service',
      want: [
        { id: 'a.service', result: 'exit-code' },
        { id: 'b.service', controlGroup: '/system.slice/b=c.service' },
      ],
    },
    {
      name: 'MainPID=0 means no main process',
      input: 'Id=a.service\nMainPID=0\nExecMainPID=0\n',
      want: [{ id: 'a.service' }],
    },
    {
      name: 'timestamp in a non-UTC zone: not guessed',
      input: 'Id=a.service\nActiveEnterTimestamp=Wed 2026-11-25 04:04:05 CET\n',
      want: [{ id: 'a.service' }],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(parseSystemctlShow(c.input).map(typed), c.want);
    });
  }

  test('a value a unit can not have keeps its raw text', () => {
    const [u] = parseSystemctlShow('Id=a.service\nActiveEnterTimestamp=Wed 2026-11-25 04:04:05 CET\n');
    assert.equal(u?.properties.ActiveEnterTimestamp, 'Wed 2026-11-25 04:04:05 CET');
  });
});

describe('parseSystemdTimestamp', () => {
  const cases: Array<{ name: string; input: string | undefined; want: string | undefined }> = [
    { name: 'format_timestamp in UTC', input: 'Wed 2026-11-25 03:04:05 UTC', want: '2026-11-25T03:04:05.000Z' },
    { name: 'with microseconds (--timestamp=us+utc)', input: 'Wed 2026-11-25 03:04:05.123456 UTC', want: '2026-11-25T03:04:05.123Z' },
    { name: 'GMT', input: 'Thu 1970-01-01 00:00:01 GMT', want: '1970-01-01T00:00:01.000Z' },
    { name: 'unix seconds (--timestamp=unix)', input: '@1795624637', want: '2026-11-25T16:37:17.000Z' },
    { name: 'unix with fraction', input: '@1795624637.5', want: '2026-11-25T16:37:17.500Z' },
    { name: 'other zone', input: 'Wed 2026-11-25 03:04:05 CET', want: undefined },
    { name: 'empty', input: '', want: undefined },
    { name: 'n/a', input: 'n/a', want: undefined },
    { name: 'absent', input: undefined, want: undefined },
    { name: 'impossible date', input: 'Wed 2026-13-45 03:04:05 UTC', want: '2027-02-14T03:04:05.000Z' },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(parseSystemdTimestamp(c.input), c.want));
  }
});

describe('showUnits', () => {
  test('asks systemctl once, with -- before the names', () => {
    assert.deepEqual(systemctlShowArgs(['a.service', '-x.service']), [
      'show',
      '-p',
      UNIT_PROPERTIES.join(','),
      '--no-pager',
      '--',
      'a.service',
      '-x.service',
    ]);
  });

  test('no units: an empty answer without running anything', async () => {
    const r = await showUnits([], { timeoutMs: 1000, systemctl: '/nonexistent/systemctl' });
    assert.equal(r.ok, true);
    assert.deepEqual(r.ok && r.units, []);
  });

  test('no systemctl: a typed unavailable answer, not an exception', async () => {
    const r = await showUnits(['a.service'], { timeoutMs: 1000, systemctl: '/nonexistent/systemctl' });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.kind, 'not-installed');
    assert.match(!r.ok ? r.reason : '', /systemctl not found/);
  });

  test('a hung systemctl: timeout', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-unit-test-'));
    try {
      const slow = path.join(dir, 'systemctl');
      fs.writeFileSync(slow, '#!/bin/sh\nexec sleep 5\n', { mode: 0o755 });
      const r = await showUnits(['a.service'], { timeoutMs: 100, systemctl: slow });
      assert.equal(!r.ok && r.kind, 'timeout');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a host without systemd (real stderr from this machine): no-systemd', () => {
    const stderr = fixture('systemctl-show-no-systemd.stderr.txt').replace(/^#.*\n/, '');
    const r = unavailableFrom(new CommandError({ command: 'systemctl show', exitCode: 1, stderr }, 'exited with status 1'), 'systemctl show', 'systemctl');
    assert.equal(r.kind, 'no-systemd');
    assert.match(r.reason, /System has not been booted with systemd/);
  });

  test('a DynamicUser= service refused by the system bus: permission, naming the fix', () => {
    // what systemctl printed inside a DynamicUser=yes unit in the sandbox (systemd 252, dbus 1.14)
    const stderr = 'Failed to connect to bus: Transport endpoint is not connected\n';
    const r = unavailableFrom(new CommandError({ command: 'systemctl show', exitCode: 1, stderr }, 'exited with status 1'), 'systemctl show', 'systemctl');
    assert.equal(r.kind, 'permission');
    assert.match(r.reason, /DynamicUser=.*run preflight as a system user/);
  });
});

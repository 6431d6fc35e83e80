// doctor's verdicts on real inputs: config files written to a temp folder, real folders (probed and
// left as they were), real captured systemctl/journalctl output, fixture /proc roots, a real HTTP
// server on 127.0.0.1. A stand-in journalctl replays a captured stderr so the reader's own wording
// (journal.ts) is what the verdict is built from.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ServiceConfig } from '../../src/config/config';
import {
  checkSnapshotDir,
  configCheck,
  describeUser,
  journalCheck,
  journalctlCheck,
  probeCheck,
  psiCheck,
  runDoctor,
  systemctlCheck,
  unitChecks,
} from '../../src/doctor/checks';
import { probe } from '../../src/probe/http';
import { readAllPressure } from '../../src/proc/pressure';
import { readUnitJournal, type JournalRead } from '../../src/systemd/journal';
import { parseSystemctlShow, type UnitsRead } from '../../src/systemd/unit';

const ROOT = path.join(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'fixtures');
const fixture = (name: string): string => fs.readFileSync(path.join(FIXTURES, 'cmd', name), 'utf8');

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-doctor-test-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string, mode = 0o644): string {
  const file = path.join(tmp, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text, { mode });
  return file;
}

describe('configCheck', () => {
  const ok = 'snapshot_dir: /var/lib/preflight\nservices:\n  - name: web\n    health_url: http://127.0.0.1:8080/health\n  - name: api\n    health_url: http://127.0.0.1:8081/health\n';
  const cases: Array<{ name: string; input: string | null; want: { ok: boolean; detail: RegExp; fix?: RegExp } }> = [
    { name: 'a valid config: its file and service count', input: ok, want: { ok: true, detail: /^\/.*\/c\.yaml, 2 services$/ } },
    {
      name: 'an unknown key: line and column, the suggestion on the fix line',
      input: 'snapshot_dir: /x\nintreval_seconds: 3\nservices:\n  - name: web\n    health_url: http://127.0.0.1:1/\n',
      want: { ok: false, detail: /c\.yaml:2:1: unknown key 'intreval_seconds'$/, fix: /^did you mean interval_seconds\?$/ },
    },
    {
      name: 'a bad value deep inside',
      input: 'services:\n  - name: web\n    health_url: ftp://x/\n',
      want: { ok: false, detail: /c\.yaml:3:17: services\.web\.health_url: expected an http:\/\/ or https:\/\/ URL, got "ftp:\/\/x\/"$/, fix: /use http:\/\/ or https:\/\// },
    },
    { name: 'an empty file', input: '', want: { ok: false, detail: /c\.yaml: the config is empty$/, fix: /services:/ } },
    { name: 'a missing file named by --config', input: null, want: { ok: false, detail: /does not exist/, fix: /check the path/ } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const file = c.input === null ? path.join(tmp, 'missing.yaml') : write('c.yaml', c.input);
      const { check, config } = configCheck(file, { HOME: '/root' });
      assert.equal(check.name, 'config valid');
      assert.equal(check.ok, c.want.ok, JSON.stringify(check));
      assert.match(check.detail, c.want.detail);
      if (c.want.fix) assert.match(check.fix ?? '', c.want.fix);
      assert.equal(config === null, !c.want.ok);
    });
  }

  test('no config anywhere: a failed check, not an exception', () => {
    const empty = fs.mkdtempSync(path.join(tmp, 'cwd-'));
    const { check } = configCheck(undefined, {}, empty);
    if (fs.existsSync('/etc/preflight.yaml')) return; // this machine has one: nothing to test
    assert.equal(check.ok, false);
    assert.match(check.detail, /no config file found/);
    assert.match(check.fix ?? '', /--config FILE/);
  });
});

describe('checkSnapshotDir', () => {
  const listing = (dir: string): string[] => fs.readdirSync(dir).sort();

  test('an existing folder: writable, and left exactly as it was', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'snap-'));
    fs.writeFileSync(path.join(dir, 'keep.json'), '{}');
    const c = await checkSnapshotDir(dir);
    assert.equal(c.ok, true, JSON.stringify(c));
    assert.match(c.detail, new RegExp(`^${dir}, as ${describeUser()}, [0-9.]+ [KMGT]?i?B free$`));
    assert.deepEqual(listing(dir), ['keep.json']);
  });

  test('a folder that does not exist yet: probed in the nearest parent, nothing created', async () => {
    const base = fs.mkdtempSync(path.join(tmp, 'snap-'));
    const dir = path.join(base, 'a', 'b');
    const c = await checkSnapshotDir(dir);
    assert.equal(c.ok, true, JSON.stringify(c));
    assert.match(c.detail, new RegExp(`^${dir} will be created in ${base}, as `));
    assert.deepEqual(listing(base), []);
  });

  test('a file where the folder should be', async () => {
    const file = write('snapfile', 'x');
    const c = await checkSnapshotDir(file);
    assert.equal(c.ok, false);
    assert.equal(c.detail, `${file} is not a folder`);
    assert.match(c.fix ?? '', /set snapshot_dir to a folder/);
  });

  test('a file in the way of a folder to create', async () => {
    const file = write('blocker', 'x');
    const c = await checkSnapshotDir(path.join(file, 'snaps'));
    assert.equal(c.ok, false);
    assert.match(c.detail, /cannot be created: .*blocker is a file, not a folder/);
  });

  test('a parent that cannot take a folder (procfs): failed with the errno and a fix', async () => {
    const c = await checkSnapshotDir('/proc/self/preflight-snapshots');
    assert.equal(c.ok, false, JSON.stringify(c));
    assert.match(c.detail, /\/proc\/self\/preflight-snapshots does not exist and cannot be created in \/proc\/self as .* \([A-Z]+\)$/);
    assert.ok(c.fix);
  });
});

describe('journal verdicts', () => {
  const nobody = { uid: 65534, name: 'nobody' };
  const okRead = (n: number): JournalRead => ({
    ok: true,
    entries: Array.from({ length: n }, () => ({ at: '2026-11-25T03:04:05.000Z', message: 'x' })),
    skipped: 0,
    truncated: false,
    command: 'journalctl',
    durationMs: 1,
  });
  const cases: Array<{ name: string; input: JournalRead; want: { ok: boolean; detail: RegExp; fix?: RegExp } }> = [
    { name: 'lines read', input: okRead(1), want: { ok: true, detail: /^as nobody \(uid 65534\)$/ } },
    { name: 'readable, no lines', input: okRead(0), want: { ok: true, detail: /no lines from web\.service in the last 24 h/ } },
    {
      name: 'no journal files',
      input: { ok: false, kind: 'no-journal', reason: 'journalctl: No journal files were found', command: 'journalctl' },
      want: { ok: false, detail: /No journal files/, fix: /Storage=persistent/ },
    },
    {
      name: 'a timeout',
      input: { ok: false, kind: 'timeout', reason: 'journalctl: timed out after 5000 ms', command: 'journalctl' },
      want: { ok: false, detail: /timed out/, fix: /journalctl -u web\.service -n 1/ },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = journalCheck('web.service', c.input, nobody);
      assert.equal(got.name, 'journal readable for web.service');
      assert.equal(got.ok, c.want.ok);
      assert.match(got.detail, c.want.detail);
      if (c.want.fix) assert.match(got.fix ?? '', c.want.fix);
    });
  }

  for (const captured of ['journalctl-nonroot-denied.stderr.txt', 'journalctl-nonroot-hint.stderr.txt']) {
    test(`denied (real stderr ${captured}): names the group and SupplementaryGroups=, once`, async () => {
      const stderr = fixture(captured).replace(/^#.*\n/, '');
      const stub = write(`bin-${captured}/journalctl`, `#!/bin/sh\ncat >&2 <<'EOF'\n${stderr}EOF\nexit 1\n`, 0o755);
      const read = await readUnitJournal('web.service', { since: new Date(0), lines: 1, timeoutMs: 5000, maxBytes: 4096, journalctl: stub });
      assert.equal(!read.ok && read.kind, 'permission');
      const got = journalCheck('web.service', read, nobody);
      assert.equal(got.ok, false);
      assert.match(got.detail, /^journalctl: No journal files were opened due to insufficient permissions: nobody \(uid 65534\) is not seeing messages from other users/);
      assert.doesNotMatch(got.detail, /usermod/, 'the fix belongs on the fix line only');
      assert.match(got.fix ?? '', /usermod -aG systemd-journal nobody/);
      assert.match(got.fix ?? '', /SupplementaryGroups=systemd-journal/);
    });
  }

  test('journalctl present / missing', () => {
    assert.deepEqual(journalctlCheck({ ok: true, version: 'systemd 252 (252.38-1~deb12u1)' }), { name: 'journalctl present', ok: true, detail: 'systemd 252 (252.38-1~deb12u1)' });
    const missing = journalctlCheck({ ok: false, kind: 'not-installed', reason: 'journalctl not found on PATH: is this a systemd host?', command: 'journalctl --version' });
    assert.equal(missing.ok, false);
    assert.match(missing.fix ?? '', /install/);
  });
});

describe('unit and systemctl verdicts (real systemctl show output)', () => {
  const read = (text: string): UnitsRead => ({ ok: true, units: parseSystemctlShow(text), command: 'systemctl show', durationMs: 1, truncated: false });

  test('a running unit and one that does not exist', () => {
    const [ok, missing] = unitChecks(['flaky.service', 'nope.service'], read(`${fixture('systemctl-show-healthy.txt')}\n\n${fixture('systemctl-show-not-found.txt')}`));
    assert.ok(ok && missing);
    assert.equal(ok.ok, true, JSON.stringify(ok));
    assert.equal(ok.name, 'unit flaky.service exists');
    assert.match(ok.detail, /active\/running/);
    assert.equal(missing.ok, false);
    assert.equal(missing.name, 'unit nope.service exists');
    assert.match(missing.detail, /no unit named nope\.service/);
    assert.match(missing.fix ?? '', /systemctl list-units --type=service/);
  });

  const states: Array<{ name: string; input: string; want: RegExp }> = [
    { name: 'masked', input: 'Id=a.service\nLoadState=masked\n', want: /masked/ },
    { name: 'bad-setting', input: 'Id=a.service\nLoadState=bad-setting\nFragmentPath=/etc/systemd/system/a.service\n', want: /LoadState=bad-setting/ },
    { name: 'nothing said', input: '', want: /said nothing/ },
  ];
  for (const c of states) {
    test(`a unit that is ${c.name}`, () => {
      const [u] = unitChecks(['a.service'], read(c.input));
      assert.equal(u?.ok, false);
      assert.match(u?.detail ?? '', c.want);
    });
  }

  test('systemctl unreachable: the reason and a fix per kind', () => {
    const c = systemctlCheck({ ok: false, kind: 'no-systemd', reason: 'systemctl: System has not been booted with systemd', command: 'systemctl show' });
    assert.equal(c.ok, false);
    assert.match(c.fix ?? '', /systemd is not running here/);
    assert.deepEqual(systemctlCheck({ ok: true, version: '252.38-1~deb12u1' }), { name: 'systemctl reachable', ok: true, detail: 'systemd 252.38-1~deb12u1' });
  });
});

describe('psiCheck (fixture /proc roots)', () => {
  const cases: Array<{ name: string; input: string; want: { warning: boolean; detail: RegExp } }> = [
    { name: 'all three', input: path.join(FIXTURES, 'proc'), want: { warning: false, detail: /pressure: cpu, memory, io$/ } },
    { name: 'no PSI: a warning, still ok', input: path.join(FIXTURES, 'edge', 'no-psi', 'proc'), want: { warning: true, detail: /no .*\/pressure: this kernel has no Pressure Stall Information/ } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = psiCheck(readAllPressure(c.input), c.input);
      assert.equal(got.ok, true);
      assert.equal(got.warning === true, c.want.warning);
      assert.match(got.detail, c.want.detail);
      if (c.want.warning) assert.match(got.fix ?? '', /stall rule/);
    });
  }
  test('unreadable: a warning naming the error', () => {
    const got = psiCheck(new Error('/proc/pressure/cpu: bad line'));
    assert.equal(got.ok, true);
    assert.equal(got.warning, true);
    assert.match(got.detail, /bad line/);
  });
});

describe('probeCheck (a real server on 127.0.0.1)', () => {
  let server: http.Server;
  let port: number;
  let closedPort: number;
  before(async () => {
    server = http.createServer((req, res) => {
      res.statusCode = req.url === '/health' ? 200 : 503;
      res.end(req.url === '/health' ? 'ok' : 'down');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    const spare = http.createServer();
    await new Promise<void>((r) => spare.listen(0, '127.0.0.1', r));
    closedPort = (spare.address() as AddressInfo).port;
    await new Promise<void>((r) => spare.close(() => r()));
  });
  after(() => server.close());

  const svc = (url: string): ServiceConfig => ({ name: 'web', healthUrl: url, unit: 'web.service', expectStatus: [{ min: 200, max: 399 }], intervalSeconds: 30, timeoutSeconds: 2, bufferSamples: 30 });
  const cases: Array<{ name: string; input: () => string; want: { ok: boolean; detail: RegExp; fix?: RegExp } }> = [
    { name: 'healthy', input: () => `http://127.0.0.1:${port}/health`, want: { ok: true, detail: /: HTTP 200 in \d+ ms$/ } },
    { name: 'a 503', input: () => `http://127.0.0.1:${port}/x`, want: { ok: false, detail: /HTTP 503/, fix: /answered but with 503.*expect_status/ } },
    { name: 'nothing listening', input: () => `http://127.0.0.1:${closedPort}/health`, want: { ok: false, detail: /ECONNREFUSED/, fix: /is web running \(systemctl status web\.service\)/ } },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const s = svc(c.input());
      const got = probeCheck(s, await probe({ url: s.healthUrl ?? '', timeoutMs: 2000, expectStatus: s.expectStatus }));
      assert.equal(got.name, 'health URL for web answers');
      assert.equal(got.ok, c.want.ok, JSON.stringify(got));
      assert.match(got.detail, c.want.detail);
      if (c.want.fix) assert.match(got.fix ?? '', c.want.fix);
    });
  }
});

describe('runDoctor', () => {
  test('every check in order; missing tools fail, PSI and the URL pass, nothing is thrown', async () => {
    const server = http.createServer((_, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const snaps = fs.mkdtempSync(path.join(tmp, 'run-'));
      const file = write('run.yaml', `snapshot_dir: ${snaps}\nservices:\n  - name: web\n    health_url: http://127.0.0.1:${port}/\n    unit: web.service\n`);
      const report = await runDoctor({
        configFlag: file,
        env: {},
        journalctl: '/nonexistent/journalctl',
        systemctl: '/nonexistent/systemctl',
        procRoot: path.join(FIXTURES, 'proc'),
      });
      assert.deepEqual(
        report.checks.map((c) => [c.name, c.ok]),
        [
          ['config valid', true],
          ['snapshot folder writable', true],
          ['journalctl present', false],
          ['systemctl reachable', false],
          ['PSI available', true],
          ['health URL for web answers', true],
        ],
      );
      assert.equal(report.ok, false);
      assert.deepEqual(fs.readdirSync(snaps), []);
    } finally {
      server.close();
    }
  });

  test('an invalid config: one failed check, the host checks still run', async () => {
    const file = write('bad.yaml', 'services: 3\n');
    const report = await runDoctor({ configFlag: file, env: { HOME: '/root' }, journalctl: '/nonexistent/journalctl', systemctl: '/nonexistent/systemctl', procRoot: path.join(FIXTURES, 'proc') });
    assert.deepEqual(report.checks.map((c) => c.name), ['config valid', 'journalctl present', 'systemctl reachable', 'PSI available']);
    assert.match(report.checks[0]?.detail ?? '', /bad\.yaml:1:11: services: expected a list or a map of services, got 3/);
  });
});

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import {
  capMessage,
  classifyJournalStderr,
  journalctlKernelArgs,
  journalctlUnitArgs,
  journalFilesPresent,
  parseJournalJson,
  readKernelJournal,
  readUnitJournal,
  type JournalEntry,
} from '../../src/systemd/journal';
import { KERNEL_GREP } from '../../src/systemd/kernel';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'cmd');
const fixture = (name: string): string => fs.readFileSync(path.join(FIXTURES, name), 'utf8');
const DEAD = 'c32224f002cf4b2e907470c4a9a57cf7';
const NEXT = '285b4d8800ca4e15a07abfd0279abf5a';

describe('parseJournalJson on real journalctl 252 output', () => {
  test('a unit across a crash: the app lines and systemd lines about the unit', () => {
    const { entries, skipped } = parseJournalJson(fixture('journalctl-unit-flaky-crash.json'), { maxMessageChars: 2000 });
    assert.equal(skipped, 0);
    assert.equal(entries.length, 11);
    // -r: newest first, as journalctl printed it
    assert.deepEqual(entries[0], {
      at: '2026-11-25T16:37:18.790Z',
      priority: 6,
      pid: 107,
      message: 'listening on 127.0.0.1:18170',
      unit: 'flaky.service',
      invocationId: NEXT,
      cursor: entries[0]?.cursor,
      identifier: 'node',
      transport: 'stdout',
    });
    assert.match(entries[0]?.cursor ?? '', /^s=[0-9a-f]{32};i=[0-9a-f]+;b=/);
    const exit = entries.find((e) => e.message.includes('Main process exited'));
    assert.deepEqual(
      exit && { ...exit, cursor: undefined },
      {
        at: '2026-11-25T16:37:17.732Z',
        priority: 5,
        pid: 1,
        message: 'flaky.service: Main process exited, code=exited, status=3/NOTIMPLEMENTED',
        // sent by PID 1 (_SYSTEMD_UNIT=init.scope) about the unit (UNIT=) and its dead run (INVOCATION_ID=)
        unit: 'flaky.service',
        fromManager: true,
        invocationId: DEAD,
        cursor: undefined,
        identifier: 'systemd',
        transport: 'journal',
        messageId: exit?.messageId,
      },
    );
    // systemd's job lines keep JOB_TYPE and JOB_RESULT: the automatic restart's "Stopped" is JOB_TYPE=restart
    const stopped = entries.find((e) => e.message.startsWith('Stopped flaky.service'));
    assert.deepEqual([stopped?.jobType, stopped?.jobResult, stopped?.fromManager], ['restart', 'done', true]);
    const last = entries.find((e) => e.pid === 63 && e.invocationId === DEAD);
    assert.equal(last?.message, 'about to crash with exit 3');
    assert.deepEqual([...new Set(entries.map((e) => e.unit))], ['flaky.service']);
    assert.deepEqual(
      entries.map((e) => e.invocationId === DEAD),
      [false, false, false, true, true, true, true, true, true, true, true],
    );
  });

  test("the dead run's own lines, chosen by invocation ID", () => {
    const { entries } = parseJournalJson(fixture('journalctl-unit-flaky-dead-invocation.json'), { maxMessageChars: 2000 });
    assert.equal(entries.length, 8);
    assert.ok(entries.every((e) => e.invocationId === DEAD));
    assert.deepEqual(
      entries.map((e) => e.pid),
      [1, 1, 1, 1, 63, 63, 63, 1],
    );
  });

  test('kernel lines: no unit, identifier kernel, priorities as the kernel logged them', () => {
    const { entries } = parseJournalJson(fixture('journalctl-kernel-oom.json'), { maxMessageChars: 2000 });
    assert.equal(entries.length, 8);
    assert.ok(entries.every((e) => e.identifier === 'kernel' && e.unit === undefined && e.pid === undefined));
    assert.deepEqual(
      entries.map((e) => e.priority),
      [3, 6, 6, 6, 6, 4, 4, 4],
    );
  });
});

const line = (fields: Record<string, unknown>): string => JSON.stringify({ __REALTIME_TIMESTAMP: '1795624637732226', ...fields });

describe('parseJournalJson edge cases', () => {
  const cases: Array<{ name: string; input: string; max?: number; want: { entries: JournalEntry[]; skipped: number } }> = [
    { name: 'empty', input: '', want: { entries: [], skipped: 0 } },
    { name: 'blank lines only', input: '\n \n', want: { entries: [], skipped: 0 } },
    {
      name: 'missing fields: only a time',
      input: line({}),
      want: { entries: [{ at: '2026-11-25T16:37:17.732Z', message: '', messageOmitted: true }], skipped: 0 },
    },
    {
      name: 'MESSAGE as bytes (not UTF-8): decoded with a replacement character',
      input: line({ MESSAGE: [104, 105, 32, 255, 33] }),
      want: { entries: [{ at: '2026-11-25T16:37:17.732Z', message: 'hi \ufffd!' }], skipped: 0 },
    },
    {
      name: 'MESSAGE null (over 4096 bytes without --all)',
      input: line({ MESSAGE: null, PRIORITY: '3' }),
      want: { entries: [{ at: '2026-11-25T16:37:17.732Z', message: '', messageOmitted: true, priority: 3 }], skipped: 0 },
    },
    {
      name: 'repeated MESSAGE field: the first value',
      input: line({ MESSAGE: ['first', 'second'] }),
      want: { entries: [{ at: '2026-11-25T16:37:17.732Z', message: 'first' }], skipped: 0 },
    },
    {
      name: 'repeated MESSAGE as byte arrays',
      input: line({ MESSAGE: [[111, 107], [110, 111]] }),
      want: { entries: [{ at: '2026-11-25T16:37:17.732Z', message: 'ok' }], skipped: 0 },
    },
    {
      name: 'SYSLOG_PID when there is no _PID; junk priority ignored',
      input: line({ MESSAGE: 'x', SYSLOG_PID: '42', PRIORITY: 'high' }),
      want: { entries: [{ at: '2026-11-25T16:37:17.732Z', message: 'x', pid: 42 }], skipped: 0 },
    },
    {
      name: 'a service line: its own unit and invocation',
      input: line({ MESSAGE: 'x', _SYSTEMD_UNIT: 'a.service', _SYSTEMD_INVOCATION_ID: NEXT, INVOCATION_ID: DEAD }),
      want: { entries: [{ at: '2026-11-25T16:37:17.732Z', message: 'x', unit: 'a.service', invocationId: NEXT }], skipped: 0 },
    },
    {
      name: 'message capped with an ellipsis',
      input: line({ MESSAGE: 'abcdefgh' }),
      max: 5,
      want: { entries: [{ at: '2026-11-25T16:37:17.732Z', message: 'abcde…' }], skipped: 0 },
    },
    {
      name: 'a cut last line (output cap) is skipped and counted',
      input: `${line({ MESSAGE: 'kept' })}\n{"__REALTIME_TIMESTAMP":"17956246377`,
      want: { entries: [{ at: '2026-11-25T16:37:17.732Z', message: 'kept' }], skipped: 1 },
    },
    {
      name: 'JSON that is not an entry, and an entry without a time',
      input: `[1,2]\n42\nnull\n${JSON.stringify({ MESSAGE: 'no time' })}\n${line({ MESSAGE: 'ok', __REALTIME_TIMESTAMP: 'soon' })}`,
      want: { entries: [], skipped: 5 },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { entries, skipped } = parseJournalJson(c.input, { maxMessageChars: c.max ?? 100 });
      assert.deepEqual({ entries, skipped }, c.want);
    });
  }

  test('the first skipped line is quoted with its line number', () => {
    const r = parseJournalJson(`${line({ MESSAGE: 'a' })}\n{broken`, { maxMessageChars: 100 });
    assert.deepEqual(r.firstSkipped, { line: 2, reason: 'not JSON (a cut line?)', input: '"{broken"' });
  });
});

describe('capMessage', () => {
  const cases = [
    { name: 'short', input: 'abc', max: 5, want: 'abc' },
    { name: 'exact', input: 'abcde', max: 5, want: 'abcde' },
    { name: 'long', input: 'abcdef', max: 5, want: 'abcde…' },
    { name: 'never splits a surrogate pair', input: 'ab😀cd', max: 3, want: 'ab…' },
    { name: 'zero', input: 'abc', max: 0, want: '…' },
  ];
  for (const c of cases) test(c.name, () => assert.equal(capMessage(c.input, c.max), c.want));
});

describe('journalctl stderr (real messages, fixtures/cmd/journalctl-nonroot-*)', () => {
  const cases = [
    { name: 'json as a user without the journal group', input: fixture('journalctl-nonroot-denied.stderr.txt'), want: 'permission' },
    { name: 'text output: the "not seeing messages" hint', input: fixture('journalctl-nonroot-hint.stderr.txt'), want: 'permission' },
    { name: 'no journal files (text output)', input: 'No journal files were found.\n-- No entries --\n', want: 'no-journal' },
    { name: 'nothing to say', input: '', want: undefined },
  ];
  for (const c of cases) test(c.name, () => assert.equal(classifyJournalStderr(c.input), c.want));
});

describe('journalctl argv', () => {
  const since = new Date('2026-11-25T16:37:17.900Z');
  test('a unit: -u, newest first, json, UTC, since in whole seconds', () => {
    assert.deepEqual(journalctlUnitArgs('flaky.service', { since, lines: 100 }), [
      '-o', 'json', '--no-pager', '--utc', '-q', '--since', '@1795624637', '-r', '-n', '100',
      '_SYSTEMD_UNIT=flaky.service', '+', 'UNIT=flaky.service', '_UID=0', '+', 'COREDUMP_UNIT=flaky.service', '_UID=0', '+', 'OBJECT_SYSTEMD_UNIT=flaky.service', '_UID=0',
    ]);
  });
  test('a name without a type is a service, as journalctl -u reads it', () => {
    assert.equal(journalctlUnitArgs('sshd', { since, lines: 1 }).at(-10), '_SYSTEMD_UNIT=sshd.service');
    assert.equal(journalctlUnitArgs('backup.timer', { since, lines: 1 }).at(-10), '_SYSTEMD_UNIT=backup.timer');
  });
  test("a dead run: its own lines or root's lines about it (PID 1, and the child that failed to exec it)", () => {
    assert.deepEqual(journalctlUnitArgs('flaky.service', { since, lines: 100, invocationId: DEAD }).slice(-4), [
      `_SYSTEMD_INVOCATION_ID=${DEAD}`, '+', `INVOCATION_ID=${DEAD}`, '_UID=0',
    ]);
  });
  test('the kernel', () => {
    assert.deepEqual(journalctlKernelArgs({ since, lines: 5 }).slice(0, 2), ['-k', '-o']);
  });
});

describe('readers never throw', () => {
  const since = new Date(0);
  test('no journalctl', async () => {
    const r = await readUnitJournal('a.service', { since, lines: 5, timeoutMs: 1000, maxBytes: 1000, journalctl: '/nonexistent/journalctl' });
    assert.equal(!r.ok && r.kind, 'not-installed');
  });
  test('a bad invocation ID', async () => {
    const r = await readUnitJournal('a.service', { since, lines: 5, timeoutMs: 1000, maxBytes: 1000, invocationId: "x' OR 1" });
    assert.equal(!r.ok && r.kind, 'failed');
    assert.match(!r.ok ? r.reason : '', /not 32 hex digits/);
  });
  test('an invalid since', async () => {
    const r = await readKernelJournal({ since: new Date('nope'), timeoutMs: 1000, maxBytes: 1000 });
    assert.equal(!r.ok && r.kind, 'failed');
  });
});

describe('journalFilesPresent', () => {
  test('finds journal files one level down, and none in empty or missing roots', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-journal-test-'));
    try {
      const empty = path.join(dir, 'empty');
      fs.mkdirSync(path.join(empty, 'machine-id'), { recursive: true });
      const full = path.join(dir, 'full');
      fs.mkdirSync(path.join(full, 'machine-id'), { recursive: true });
      fs.writeFileSync(path.join(full, 'machine-id', 'system.journal'), '');
      assert.equal(journalFilesPresent([empty, path.join(dir, 'missing')]), false);
      assert.equal(journalFilesPresent([empty, full]), true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('readKernelJournal with --grep (fake journalctl scripts, the real exit codes of journalctl 252)', () => {
  const since = new Date(0);
  const line = JSON.stringify({ __REALTIME_TIMESTAMP: '1764041000000000', PRIORITY: '3', MESSAGE: 'Out of memory: Killed process 7 (x) total-vm:1kB, anon-rss:1kB, file-rss:0kB' });
  const cases = [
    {
      name: 'no match: exit 1, nothing on stderr, is an empty answer',
      script: `case "$*" in *--grep*) exit 1;; esac; echo '${line}'`,
      want: { ok: true, entries: 0 },
    },
    {
      name: 'a journalctl without pattern support is asked again without --grep',
      script: `case "$*" in *--grep*) echo 'Compiled without pattern matching support' >&2; exit 1;; esac; echo '${line}'`,
      want: { ok: true, entries: 1 },
    },
    {
      name: 'a match',
      script: `case "$*" in *--grep*) echo '${line}';; esac`,
      want: { ok: true, entries: 1 },
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-grep-test-'));
      try {
        const bin = path.join(dir, 'journalctl');
        fs.writeFileSync(bin, `#!/bin/sh\n${c.script}\n`, { mode: 0o755 });
        fs.mkdirSync(path.join(dir, 'journal', 'm'), { recursive: true });
        fs.writeFileSync(path.join(dir, 'journal', 'm', 'system.journal'), '');
        const r = await readKernelJournal({ since, timeoutMs: 5000, maxBytes: 1 << 16, grep: KERNEL_GREP, journalctl: bin, journalRoots: [path.join(dir, 'journal')] });
        assert.equal(r.ok, c.want.ok, r.ok ? '' : r.reason);
        assert.equal(r.ok ? r.entries.length : -1, c.want.entries);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('journal reads parse the output as it arrives (a journalctl that floods, ignoring -n)', () => {
  const since = new Date(0);
  // newest first, as `-r` prints: entry i has timestamp 2000 - i seconds; every 10th is an OOM kill
  const flood = `i=0; while :; do i=$((i+1)); t=$((2000-i)); m=chatter; [ $((i%10)) -eq 0 ] && m="Out of memory: Killed process $i (x) total-vm:1kB, anon-rss:1kB"; printf '{"__REALTIME_TIMESTAMP":"%s000000","MESSAGE":"%s"}\\n' $t "$m"; done`;
  const cases = [
    {
      name: 'a unit read keeps the newest `lines` and stops the command there (no error)',
      read: (bin: string) => readUnitJournal('a.service', { since, lines: 5, timeoutMs: 5000, maxBytes: 4 << 20, journalctl: bin }),
      want: { ok: true, count: 5, first: 'chatter', truncated: false, at: '1970-01-01T00:33:15.000Z' },
    },
    {
      name: 'a kernel read with `keep` holds only the lines it accepts, the newest keepLines of them',
      read: (bin: string) =>
        readKernelJournal({ since, timeoutMs: 5000, maxBytes: 4 << 20, journalctl: bin, keep: (e: JournalEntry) => e.message.startsWith('Out of memory'), keepLines: 3 }),
      want: { ok: true, count: 3, first: 'Out of memory: Killed process 30 (x) total-vm:1kB, anon-rss:1kB', truncated: false, at: '1970-01-01T00:32:50.000Z' },
    },
    {
      name: 'no accepted line before the byte cap: the cap ends the command, nothing kept',
      read: (bin: string) =>
        readKernelJournal({ since, timeoutMs: 5000, maxBytes: 1 << 16, journalctl: bin, keep: () => false, keepLines: 3, journalRoots: [path.join(path.dirname(bin), 'journal')] }),
      want: { ok: true, count: 0, first: undefined, truncated: true, at: undefined },
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-flood-test-'));
      try {
        const bin = path.join(dir, 'journalctl');
        fs.writeFileSync(bin, `#!/bin/sh\n${flood}\n`, { mode: 0o755 });
        // journald keeps files here: an empty answer is an answer, not "no journal"
        fs.mkdirSync(path.join(dir, 'journal', 'm'), { recursive: true });
        fs.writeFileSync(path.join(dir, 'journal', 'm', 'system.journal'), '');
        const r = await c.read(bin);
        const got = r.ok ? { ok: true, count: r.entries.length, first: r.entries[0]?.message, truncated: r.truncated, at: r.entries[0]?.at } : { ok: false, count: -1, first: undefined, truncated: undefined, at: undefined };
        assert.deepEqual(got, c.want, r.ok ? '' : r.reason);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

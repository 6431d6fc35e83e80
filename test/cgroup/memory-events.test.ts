import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { parseMemoryEvents, readUnitMemoryEvents, type MemoryEvents } from '../../src/cgroup/memory-events';
import { assertParseError } from '../proc/_helpers';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures');
const V2_ROOT = path.join(FIXTURES, 'sys', 'fs', 'cgroup');
const HYBRID_ROOT = path.join(FIXTURES, 'edge', 'cgroup-hybrid', 'sys', 'fs', 'cgroup');
const V2_UNIT = '/system.slice/lab08-oom2.service';
const v2Text = fs.readFileSync(path.join(V2_ROOT, V2_UNIT, 'memory.events'), 'utf8');

describe('parseMemoryEvents', () => {
  const cases: Array<{ name: string; input: string; want: MemoryEvents }> = [
    {
      name: 'published v2 capture (fixtures/README-cgroup.md): one OOM kill',
      input: v2Text,
      want: { low: 0, high: 0, max: 38, oom: 1, oomKill: 1, oomGroupKill: 0, other: {} },
    },
    {
      // a published `systemd-run --user --scope` capture on a newer kernel (README-cgroup.md)
      name: 'an unknown key is kept',
      input: 'low 0\nhigh 0\nmax 51\noom 1\noom_kill 1\noom_group_kill 0\nsock_throttled 0\n',
      want: { low: 0, high: 0, max: 51, oom: 1, oomKill: 1, oomGroupKill: 0, other: { sock_throttled: 0 } },
    },
    {
      name: 'an older kernel without oom_kill and oom_group_kill: undefined, not 0',
      input: 'low 0\nhigh 4\nmax 2\noom 1\n',
      want: { low: 0, high: 4, max: 2, oom: 1, other: {} },
    },
    {
      // v1's memory.oom_control has the same shape: its keys land in `other` and there is no oom count,
      // so readUnitMemoryEvents pointed at the wrong file gives null, not a wrong count
      name: 'a v1 memory.oom_control by mistake',
      input: 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
      want: { oomKill: 0, other: { oom_kill_disable: 0, under_oom: 0 } },
    },
    { name: 'no final newline', input: 'oom 2\noom_kill 2', want: { oom: 2, oomKill: 2, other: {} } },
    {
      name: 'a counter past 2^53 is kept as the nearest double',
      input: 'max 18446744073709551615\n',
      want: { max: 18446744073709551615, other: {} },
    },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(parseMemoryEvents(c.input), c.want));

  const bad: Array<{ name: string; input: string; want: { line?: number; input?: string } }> = [
    { name: 'empty file', input: '', want: {} },
    { name: 'a value that is not a number', input: 'low 0\noom x\n', want: { line: 2, input: 'oom x' } },
    { name: 'cut after the key (truncated read)', input: 'low 0\nhigh 0\noom_kill', want: { line: 3, input: 'oom_kill' } },
    { name: 'negative', input: 'oom -1\n', want: { line: 1, input: 'oom -1' } },
  ];
  for (const c of bad) {
    test(`ParseError: ${c.name}`, () => assertParseError(() => parseMemoryEvents(c.input, '/x/memory.events'), { file: '/x/memory.events', ...c.want }));
  }
});

describe('readUnitMemoryEvents', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-memevents-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const write = (rel: string, text: string): void => {
    fs.mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
    fs.writeFileSync(path.join(tmp, rel), text);
  };
  // a hybrid host with the memory controller moved to the v2 tree (cgroup_no_v1=memory)
  write('hybrid-memory/unified/system.slice/app.service/memory.events', v2Text);
  write('old-kernel/system.slice/app.service/memory.events', 'low 0\nhigh 0\nmax 0\noom 0\n');
  write('broken/system.slice/app.service/memory.events', 'oom one\n');

  const cases: Array<{ name: string; cg: string; root: string; want: { oom: number; oomKill: number } | null }> = [
    { name: 'cgroup v2 (published capture)', cg: V2_UNIT, root: V2_ROOT, want: { oom: 1, oomKill: 1 } },
    { name: 'trailing slash', cg: `${V2_UNIT}/`, root: V2_ROOT, want: { oom: 1, oomKill: 1 } },
    { name: 'hybrid, this VM: no memory controller on the v2 tree', cg: '/preflight-e2e-capture/system.slice/flaky.service', root: HYBRID_ROOT, want: null },
    { name: 'hybrid with the memory controller on unified/', cg: '/system.slice/app.service', root: path.join(tmp, 'hybrid-memory'), want: { oom: 1, oomKill: 1 } },
    { name: 'a kernel without oom_kill', cg: '/system.slice/app.service', root: path.join(tmp, 'old-kernel'), want: null },
    { name: 'the cgroup is gone (unit stopped)', cg: '/system.slice/gone.service', root: V2_ROOT, want: null },
    { name: 'empty ControlGroup (no processes)', cg: '', root: V2_ROOT, want: null },
    { name: 'the root cgroup has no memory.events', cg: '/', root: V2_ROOT, want: null },
    { name: 'relative path', cg: 'system.slice/lab08-oom2.service', root: V2_ROOT, want: null },
    { name: 'dot-dot cannot leave the root', cg: '/system.slice/../../../../etc', root: V2_ROOT, want: null },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(readUnitMemoryEvents(c.cg, c.root), c.want));

  test('a malformed file throws ParseError naming it', () =>
    assertParseError(() => readUnitMemoryEvents('/system.slice/app.service', path.join(tmp, 'broken')), {
      file: path.join(tmp, 'broken', 'system.slice', 'app.service', 'memory.events'),
      line: 1,
    }));
});

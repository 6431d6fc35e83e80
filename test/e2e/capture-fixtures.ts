// Regenerates the systemd fixtures in fixtures/cmd/ from a real sandboxed systemd (needs root; see
// test/e2e/sandbox.ts). Each file is the verbatim output of the exact command the readers run.
//   node --import tsx test/e2e/capture-fixtures.ts [OUTDIR]      (default: fixtures/cmd)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { journalctlKernelArgs, journalctlUnitArgs } from '../../src/systemd/journal';
import { classifyKernelLine } from '../../src/systemd/kernel';
import { parseSystemctlShow, systemctlShowArgs, type UnitState } from '../../src/systemd/unit';
import { run } from '../../src/util/exec';
import { Sandbox, flakyUnit, groupId, httpGet as get, sandboxUnavailable, untilHealthy } from './sandbox';
import { waitFor } from './wait';

const FLAKY_PORT = 18170;
const HOG_PORT = 18171;
const UTC = { TZ: 'UTC', LC_ALL: 'C' };

async function main(): Promise<void> {
  const why = sandboxUnavailable();
  if (why !== null) throw new Error(`cannot capture: ${why}`);
  const outDir = path.resolve(process.argv[2] ?? path.join(__dirname, '..', '..', 'fixtures', 'cmd'));
  fs.mkdirSync(outDir, { recursive: true });
  const write = (name: string, text: string): void => {
    fs.writeFileSync(path.join(outDir, name), text);
    console.log(`wrote ${name} (${text.length} bytes)`);
  };

  const t0 = new Date(Date.now() - 1000);
  const sb = await Sandbox.up('capture', {
    units: {
      'flaky.service': flakyUnit({ port: FLAKY_PORT, description: 'Flaky HTTP test service', restartSec: 1 }),
      'hog.service': flakyUnit({ port: HOG_PORT, description: 'Memory-limited test service', restartSec: 2, service: ['MemoryMax=64M'] }),
    },
  });
  try {
    const show = async (...units: string[]): Promise<string> => {
      const r = await sb.exec(['systemctl', ...systemctlShowArgs(units)], { env: UTC });
      if (r.exitCode !== 0) throw new Error(`${r.command}: ${r.stderr}`);
      return r.stdout;
    };
    const state = async (unit: string): Promise<UnitState> => {
      const u = parseSystemctlShow(await show(unit))[0];
      if (!u) throw new Error(`no state for ${unit}`);
      return u;
    };
    await sb.exec(['systemctl', 'start', 'flaky.service', 'hog.service']);
    await untilHealthy(FLAKY_PORT, 10_000);
    await untilHealthy(HOG_PORT, 10_000);

    write('systemctl-show-healthy.txt', await show('flaky.service'));
    write('systemctl-show-multi.txt', await show('flaky.service', 'hog.service', 'nope.service'));
    write('systemctl-show-not-found.txt', await show('nope.service'));

    const before = await state('flaky.service');
    await get(FLAKY_PORT, '/crash');
    const crashed = await waitFor('flaky in auto-restart', 5000, async () => {
      const text = await show('flaky.service');
      return parseSystemctlShow(text)[0]?.subState === 'auto-restart' ? text : undefined;
    });
    write('systemctl-show-auto-restart.txt', crashed);
    const restarted = await waitFor('flaky restarted', 10_000, async () => {
      const text = await show('flaky.service');
      const u = parseSystemctlShow(text)[0];
      return u?.nRestarts === 1 && u.subState === 'running' ? text : undefined;
    });
    write('systemctl-show-restarted.txt', restarted);
    await untilHealthy(FLAKY_PORT, 10_000);

    const unitJournal = await sb.exec(['journalctl', ...journalctlUnitArgs('flaky.service', { since: t0, lines: 200 })]);
    write('journalctl-unit-flaky-crash.json', unitJournal.stdout);
    if (!before.invocationId) throw new Error('flaky had no InvocationID');
    const deadRun = await sb.exec(['journalctl', ...journalctlUnitArgs('flaky.service', { since: t0, lines: 200, invocationId: before.invocationId })]);
    write('journalctl-unit-flaky-dead-invocation.json', deadRun.stdout);

    await get(HOG_PORT, '/hog');
    const oom = await waitFor('hog OOM-killed', 15_000, async () => {
      const text = await show('hog.service');
      return parseSystemctlShow(text)[0]?.execMainCode === 2 ? text : undefined;
    });
    write('systemctl-show-oom-killed-cgroup-v1.txt', oom);
    // the kernel log holds the whole machine's history: keep this OOM's lines (the ones the classifier knows,
    // plus three it must ignore), from "invoked oom-killer" to the "Killed process" line of our hog
    const kernel = await sb.exec(['journalctl', ...journalctlKernelArgs({ since: t0, lines: 5000 })]);
    const lines = kernel.stdout.split('\n').filter((l) => l.trim() !== '').reverse();
    const message = (l: string | undefined): string => {
      const m = (JSON.parse(l ?? '{}') as { MESSAGE?: unknown }).MESSAGE;
      return typeof m === 'string' ? m : '';
    };
    // the newest one: a sandbox's journald imports the whole kernel ring buffer when it starts, so older
    // runs' OOM lines (same cgroup name) are in there too, stamped with the import time
    let summaryAt = -1;
    for (let i = lines.length - 1; i >= 0 && summaryAt < 0; i--) {
      const m = message(lines[i]);
      if (classifyKernelLine(m) === 'oom_kill_summary' && m.includes(`/${sb.cgroup}/system.slice/hog.service`)) summaryAt = i;
    }
    if (summaryAt < 0) throw new Error('no OOM summary line for the hog in the kernel log');
    let start = summaryAt;
    while (start > 0 && !message(lines[start]).includes('invoked oom-killer')) start--;
    let end = summaryAt;
    while (end < lines.length - 1 && !message(lines[end]).includes('Killed process')) end++;
    const context = /^(?:CPU: \d+ |Call Trace:|Tasks state )/;
    const kept = lines.slice(start, end + 1).filter((l) => classifyKernelLine(message(l)) !== null || context.test(message(l)));
    // newest first, as journalctl -r prints it
    write('journalctl-kernel-oom.json', `${kept.reverse().join('\n')}\n`);

    // what a user without the journal group gets: json (journalctl implies -q there) and the text hint
    const nobody = { uid: 65534, gid: 65534 };
    const denied = await sb.exec(['journalctl', ...journalctlUnitArgs('flaky.service', { since: t0, lines: 10 })], nobody);
    write('journalctl-nonroot-denied.stderr.txt', `# exit status ${denied.exitCode}\n${denied.stderr}`);
    const hint = await sb.exec(['journalctl', '-u', 'flaky.service', '--no-pager', '-n', '3'], nobody);
    write('journalctl-nonroot-hint.stderr.txt', `# exit status ${hint.exitCode}\n${hint.stderr}`);
    const journalGid = groupId('systemd-journal');
    if (journalGid !== undefined) {
      const allowed = await sb.exec(['journalctl', ...journalctlUnitArgs('flaky.service', { since: t0, lines: 1 })], { ...nobody, groups: [journalGid] });
      console.log(`nobody + systemd-journal: exit ${allowed.exitCode}, ${allowed.stdout.length} bytes`);
    }
  } finally {
    await sb.down();
  }
  // this host's PID 1 is not systemd: the real answer of systemctl on such a host
  const host = await run('systemctl', systemctlShowArgs(['flaky.service']), { timeoutMs: 5000, maxBytes: 1 << 16, env: { ...process.env, ...UTC } });
  write('systemctl-show-no-systemd.stderr.txt', `# exit status ${host.exitCode}\n${host.stderr}`);
  console.log(`boot ${sb.bootMs.toFixed(0)} ms, teardown ${sb.teardownMs.toFixed(0)} ms`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});

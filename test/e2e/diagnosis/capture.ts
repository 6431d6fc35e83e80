// PREFLIGHT_CAPTURE_SCENARIOS=<dir>: what the corpus saves for the ranker's unit tests. Per scenario:
//   <name>.snapshot.json          the judged snapshot file as preflight wrote it (schema of this build)
//   <name>.earlier.snapshot.json  the incident before it, where the judged one is a later one
//   <name>.journal.json           `journalctl -o json` of the scenario's units (the raw input: JOB_TYPE,
//                                 MESSAGE_ID, INVOCATION_ID and all), as journald holds it at the end
//   <name>.show.txt               `systemctl show` of each of its units (every property)
// and README.md: how and with what versions they were made.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Sandbox } from '../sandbox';
import { run } from '../../../src/util/exec';
import { readSnapshots, type Prepared } from './harness';
import type { Scenario, Tool } from './scenario';

export async function capture(dir: string, sc: Scenario, sb: Sandbox, hostSnapshotDir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const snaps = readSnapshots(hostSnapshotDir, sc.services[0]!.name);
  const judged = snaps[sc.judge ?? 0];
  if (judged) fs.copyFileSync(judged.file, path.join(dir, `${sc.name}.snapshot.json`));
  const earlier = (sc.judge ?? 0) > 0 ? snaps[(sc.judge ?? 0) - 1] : undefined;
  if (earlier) fs.copyFileSync(earlier.file, path.join(dir, `${sc.name}.earlier.snapshot.json`));
  const units = [...new Set([...Object.keys(sc.units), ...Object.keys(sc.links ?? {}), ...sc.services.map((s) => s.unit)])];
  const journal = await sb.exec(['journalctl', '-o', 'json', '--no-pager', ...units.flatMap((u) => ['-u', u])], { maxBytes: 4 << 20, timeoutMs: 30_000 });
  fs.writeFileSync(path.join(dir, `${sc.name}.journal.json`), journal.stdout);
  const shown = await sb.exec(['systemctl', 'show', '--no-pager', '--', ...units], { env: { TZ: 'UTC', LC_ALL: 'C' } });
  fs.writeFileSync(path.join(dir, `${sc.name}.show.txt`), shown.stdout);
}

async function version(file: string, args: string[]): Promise<string> {
  const r = await run(file, args, { timeoutMs: 30_000, maxBytes: 1 << 16, env: process.env }).catch(() => null);
  return r ? (r.stdout + r.stderr).split('\n')[0]!.trim() : `(${file} not run)`;
}

export async function writeCaptureReadme(dir: string, p: Prepared, tools: Partial<Record<Tool, string>>, summary: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const versions = [
    `- kernel ${os.release()}; ${await version('systemctl', ['--version'])}`,
    `- node ${process.version}; ${await version(p.python, ['--version'])}; ${await version(p.java, ['-version'])}`,
    `- ${await version(tools.rustc ?? 'rustc', ['--version'])}; ${await version(tools.go ?? 'go', ['version'])}; ${await version(tools.gcc ?? 'gcc', ['--version'])}`,
  ];
  fs.writeFileSync(
    path.join(dir, 'README.md'),
    [
      '# Diagnosis corpus captures',
      '',
      `Captured ${new Date().toISOString()} by test/e2e/diagnosis/diagnosis.test.ts with`,
      '`PREFLIGHT_CAPTURE_SCENARIOS=<this folder>`: every scenario of test/e2e/diagnosis/scenarios.ts run for',
      'real (its program in test/e2e/diagnosis/programs/) under systemd 252 booted as PID 1 of private',
      'namespaces (test/e2e/sandbox.ts; cgroup v1 hybrid: no Result=oom-kill, namespace PIDs in the journal,',
      'host PIDs in kernel lines), all at once, watched by ONE preflight (the built bundle) as a systemd unit.',
      'Not hand-written. See capture.ts for what each file is. The findings in them are those of the',
      'engine of that build; the journal holds at most journal_lines (200) lines.',
      '',
      ...versions,
      '',
      'What the run saw (happened: the sandbox\'s own record; recorded: the snapshot holds the proof;',
      'verdict: findings[0] as scenarios.ts wants it):',
      '',
      '```',
      summary,
      '```',
      '',
    ].join('\n'),
  );
}

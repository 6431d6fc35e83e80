// Shared by the end-to-end tests: where the built bundle is and how to run it as a user would.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..');
export const BUNDLE = path.join(REPO, 'dist', 'preflight.js');

export function requireBundle(): string {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`make build\` first (make e2e does)`);
  return BUNDLE;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `node <bundle> args...` to completion (killed after timeoutMs). */
export function runCli(
  args: string[],
  opts: { bundle?: string; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; node?: string } = {},
): Promise<CliResult> {
  const bundle = opts.bundle ?? requireBundle();
  return new Promise((resolve, reject) => {
    const child = spawn(opts.node ?? process.execPath, [bundle, ...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

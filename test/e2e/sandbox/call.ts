// Runs one systemd reader INSIDE the sandbox (through Sandbox.exec, so systemctl and journalctl talk to the
// sandboxed systemd) and prints its result as JSON: the readers are tested as they run in production.
//   node --import tsx call.ts showUnits '{"units":["a.service"],"timeoutMs":5000}'
//   node --import tsx call.ts readUnitJournal '{"unit":"a.service","since":"<ISO>","lines":100,...}'
//   node --import tsx call.ts readKernelJournal '{"since":"<ISO>",...}'
import { readKernelJournal, readUnitJournal } from '../../../src/systemd/journal';
import { showUnits } from '../../../src/systemd/unit';

async function main(): Promise<void> {
  const [fn, json] = process.argv.slice(2);
  const a = JSON.parse(json ?? '{}') as Record<string, unknown>;
  const since = new Date(String(a.since));
  const common = { timeoutMs: Number(a.timeoutMs ?? 10_000), maxBytes: Number(a.maxBytes ?? 1 << 20) };
  let out: unknown;
  if (fn === 'showUnits') {
    out = await showUnits(a.units as string[], common);
  } else if (fn === 'readUnitJournal') {
    const opts = { ...common, since, lines: Number(a.lines ?? 100) };
    out = await readUnitJournal(String(a.unit), typeof a.invocationId === 'string' ? { ...opts, invocationId: a.invocationId } : opts);
  } else if (fn === 'readKernelJournal') {
    out = await readKernelJournal({ ...common, since, ...(typeof a.grep === 'string' ? { grep: a.grep } : {}) });
  } else {
    throw new Error(`call.ts: unknown function ${String(fn)}`);
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});

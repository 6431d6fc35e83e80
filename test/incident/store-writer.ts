// Child process for the atomicity test: saves and rewrites large snapshots in a loop until it is
// SIGKILLed. Prints "ready" once the first snapshot is on disk. Usage: store-writer.ts <dir> <padBytes>
import { SnapshotStore, type StoredSnapshot } from '../../src/incident/store';

async function main(): Promise<void> {
  const [dir, padArg] = process.argv.slice(2);
  if (dir === undefined || padArg === undefined) throw new Error('usage: store-writer.ts <dir> <padBytes>');
  const pad = Number(padArg);
  const store = new SnapshotStore({ dir, retention: 3, fallbackDir: `${dir}.fallback` });
  const make = (id: string, seq: number): StoredSnapshot & { seq: number; pad: string } => ({
    schema: 'preflight.snapshot/1',
    id,
    service: 'web',
    trigger: 'health_check',
    summary: `seq ${seq}`,
    transition: { first_failure_at: new Date().toISOString() },
    seq,
    pad: String(seq % 10).repeat(pad),
  });
  // Alternate a new snapshot with a rewrite of the newest one (retention never deletes the newest).
  let current = make(store.newId('web', new Date()), 0);
  await store.save(current);
  process.stdout.write('ready\n');
  for (let seq = 1; ; seq++) {
    if (seq % 2 === 0) {
      current = make(store.newId('web', new Date()), seq);
      await store.save(current);
    } else {
      await store.rewrite(make(current.id, seq));
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});

// Run by statfs.test.ts inside a private mount namespace, with fd 3 open on /dev/fuse and a FUSE
// filesystem mounted at argv[2] that nobody serves: every statfs on it blocks in the kernel. Runs with
// UV_THREADPOOL_SIZE=2 so that two stuck calls would starve all of Node's fs I/O. Prints one JSON line.
import { closeSync, promises as fsp } from 'node:fs';
import { DiskReader } from '../../src/proc/statfs';
import { withTimeout } from '../../src/util/exec';
import { errorMessage } from '../../src/util/errors';

async function outcome(p: Promise<unknown>): Promise<{ ok: boolean; error?: string; name?: string; ms: number }> {
  const t = performance.now();
  try {
    await p;
    return { ok: true, ms: performance.now() - t };
  } catch (err) {
    return { ok: false, error: errorMessage(err), name: err instanceof Error ? err.name : '', ms: performance.now() - t };
  }
}

async function main(): Promise<void> {
  const hung = process.argv[2] ?? '';
  const reader = new DiskReader({ timeoutMs: 300 });
  const first = await outcome(reader.read(hung));
  const repeats = await Promise.all(Array.from({ length: 10 }, () => outcome(reader.read(hung))));
  const pendingAfter = reader.pendingPaths;
  const root = await outcome(reader.read('/'));
  // Control: the same calls without DiskReader pile up a second thread, and then nothing answers.
  void fsp.statfs(hung).catch(() => undefined);
  const starved = await outcome(withTimeout(fsp.statfs('/'), 500, 'statfs / with the pool full'));
  process.stdout.write(`${JSON.stringify({ first, repeats, pendingAfter, root, starved })}\n`);
  // Closing the last /dev/fuse descriptor aborts the connection: the stuck calls fail with ENOTCONN
  // and the process can exit (process.exit would otherwise wait forever to join their threads).
  closeSync(3);
  setTimeout(() => process.exit(0), 200);
}

void main();

// The one poll helper of the end-to-end tests and benches. No side effects on import (daemon.ts probes
// for setpriv and installs exit hooks), so the sandbox harness and the benches can use it too.

type Nothing = undefined | null | false;

/** Poll `probe` every 50 ms until it returns something other than undefined, null or false; fail after `ms`. */
export async function waitFor<T>(what: string, ms: number, probe: () => T | Nothing | Promise<T | Nothing>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

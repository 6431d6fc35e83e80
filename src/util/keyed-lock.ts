// One operation at a time per key, in call order; different keys run concurrently. The store uses it
// so a flush moving a parked snapshot back and a rewrite of the same snapshot never interleave (a flush
// that read the parked bytes before a recovery was added would otherwise write them over the newer file).
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Run `fn` once every earlier `run` with this key has settled; settles as `fn` does. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const result = prev.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    // forget the key once nothing waits on it, so the map stays as small as the work in flight
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with an operation running or waiting. */
  get size(): number {
    return this.tails.size;
  }
}

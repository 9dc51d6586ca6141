/**
 * One holder per key at a time, in the order they asked; different keys do not wait for each
 * other. The layouts hold a commit's destination with it while they check and publish, so two
 * rows of one processor that publish the same commit (two branches at one commit) cannot
 * interleave their uploads: the second finds the first's manifest (DESIGN §6).
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async hold<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => done);
    this.tails.set(key, tail);
    try {
      await previous;
      return await work();
    } finally {
      release();
      // The last holder forgets the key, so the map holds only destinations in use.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys held or waited for (tests). */
  get size(): number {
    return this.tails.size;
  }
}

// The bounds a repository waits for (src/pipeline/run-partition.ts sets them): slots for checking,
// working, cloning and building, and its turn in the work queue.

/** Runs `work` when a slot is free (a p-limit). */
export type Slot = <T>(work: () => Promise<T>) => Promise<T>;

export interface Slots {
  readonly check: Slot;
  readonly work: Slot;
  readonly clone?: Slot;
  readonly build?: Slot;
  readonly turn?: Turn;
}

/**
 * A row's place in the queue for work slots: it joins the queue after the row before it did (or
 * needed no work, or waits for the database only to confirm that it needs none), so changed
 * repositories are built in inventory order whatever order their checks end in. An unchanged
 * repository never waits for its turn.
 */
export interface Turn {
  readonly previous: Promise<void>;
  taken(): void;
}

export const NO_WAIT: Slot = (work) => work();

/**
 * When the repository's first step began, and how long it then waited for slots; and the commit
 * its clone checked out, once known, for an outcome that ends by an error (aborted, crashed,
 * publish_failed) rather than by a step's result.
 */
export interface Clock {
  startedAt: Date | undefined;
  waitedMs: number;
  commitSha?: string;
}

/** Runs `work` in `slot` (at once without one); the time spent waiting for the slot is not the repository's. */
export function inSlot<T>(slot: Slot | undefined, clock: Clock, work: () => Promise<T>): Promise<T> {
  const queued = Date.now();
  return (slot ?? NO_WAIT)(() => {
    clock.waitedMs += Date.now() - queued;
    return work();
  });
}

/**
 * Keeps call starts to `perSecond` on average (AWS Batch allows 50 SubmitJob calls per second
 * per account, AWS Batch service quotas) with the generic cell rate algorithm: each call has an
 * ideal slot `1000 / perSecond` ms after the previous one, and may start up to one interval
 * early. A timer that fires late therefore costs no throughput, and no more than two calls ever
 * start together (at most perSecond + 2 in any one-second window), even after the event loop
 * stalled.
 */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class RateLimiter {
  private readonly intervalMs: number;
  /** Theoretical arrival time of the next call. */
  private nextSlot = Number.NEGATIVE_INFINITY;
  private turn: Promise<void> = Promise.resolve();

  constructor(perSecond: number, private readonly clock: Clock = systemClock) {
    if (!(perSecond > 0)) throw new RangeError(`perSecond must be > 0, got ${perSecond}`);
    this.intervalMs = 1000 / perSecond;
  }

  /** Resolves when the caller may start one call. */
  take(): Promise<void> {
    const granted = this.turn.then(async () => {
      const wait = this.nextSlot - this.intervalMs - this.clock.now();
      if (wait > 0) await this.clock.sleep(wait);
      this.nextSlot = Math.max(this.nextSlot, this.clock.now()) + this.intervalMs;
    });
    // The next caller waits for this one's turn, not for its success: a chain left rejected would
    // refuse every later call.
    this.turn = granted.catch(() => undefined);
    return granted;
  }
}

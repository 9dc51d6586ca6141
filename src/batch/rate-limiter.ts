/**
 * Spaces call starts at least `1000 / perSecond` ms apart (a token bucket holding one token).
 * AWS Batch allows 50 SubmitJob calls per second per account (service quotas); a burst of
 * queued callers never starts together, even after the event loop stalled, because each grant
 * waits for the previous one and counts from the time it was actually given.
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
  private nextAt = Number.NEGATIVE_INFINITY;
  private turn: Promise<void> = Promise.resolve();

  constructor(perSecond: number, private readonly clock: Clock = systemClock) {
    if (!(perSecond > 0)) throw new RangeError(`perSecond must be > 0, got ${perSecond}`);
    this.intervalMs = 1000 / perSecond;
  }

  /** Resolves when the caller may start one call. */
  take(): Promise<void> {
    const granted = this.turn.then(async () => {
      const wait = this.nextAt - this.clock.now();
      if (wait > 0) await this.clock.sleep(wait);
      this.nextAt = this.clock.now() + this.intervalMs;
    });
    this.turn = granted;
    return granted;
  }
}

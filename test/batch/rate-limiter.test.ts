import { describe, expect, it } from 'vitest';
import { RateLimiter, type Clock } from '../../src/batch/rate-limiter.js';

/** A clock that only moves when someone sleeps, so grant times are exact. */
function manualClock(): Clock & { stall(ms: number): void } {
  let now = 0;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
    stall: (ms) => {
      now += ms;
    },
  };
}

describe('RateLimiter', () => {
  it('spaces grants 20 ms apart at 50 per second, however many callers queue at once', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter(50, clock);
    const granted: number[] = [];

    await Promise.all(Array.from({ length: 6 }, () => limiter.take().then(() => granted.push(clock.now()))));

    expect(granted).toEqual([0, 20, 40, 60, 80, 100]);
  });

  it('never lets more than 51 calls start within one second (both ends included)', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter(50, clock);
    const granted: number[] = [];

    await Promise.all(Array.from({ length: 200 }, () => limiter.take().then(() => granted.push(clock.now()))));

    const busiest = Math.max(...granted.map((start) => granted.filter((t) => t >= start && t <= start + 1000).length));
    expect(busiest).toBe(51);
  });

  it('does not burst after a stall: the next grant counts from the last one actually given', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter(50, clock);
    await limiter.take();
    clock.stall(500);
    const granted: number[] = [];

    await Promise.all(Array.from({ length: 3 }, () => limiter.take().then(() => granted.push(clock.now()))));

    expect(granted).toEqual([500, 520, 540]);
  });

  it('rejects a rate that is not positive', () => {
    expect(() => new RateLimiter(0)).toThrow(RangeError);
  });
});

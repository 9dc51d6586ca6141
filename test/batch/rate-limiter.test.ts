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
  it('gives 50 calls per second at 50 per second, however many callers queue at once', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter(50, clock);
    const granted: number[] = [];

    await Promise.all(Array.from({ length: 501 }, () => limiter.take().then(() => granted.push(clock.now()))));

    expect(granted.slice(0, 5)).toEqual([0, 0, 20, 40, 60]);
    expect(granted.at(-1)).toBe(9980);
  });

  it('never lets more than 52 calls start within one second (both ends included)', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter(50, clock);
    const granted: number[] = [];

    await Promise.all(Array.from({ length: 200 }, () => limiter.take().then(() => granted.push(clock.now()))));

    const busiest = Math.max(...granted.map((start) => granted.filter((t) => t >= start && t <= start + 1000).length));
    expect(busiest).toBe(52);
  });

  it('makes up for a late timer without bursting: at most two calls start together after a stall', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter(50, clock);
    await limiter.take();
    clock.stall(500);
    const granted: number[] = [];

    await Promise.all(Array.from({ length: 4 }, () => limiter.take().then(() => granted.push(clock.now()))));

    expect(granted).toEqual([500, 500, 520, 540]);
  });

  it('keeps the average rate when every timer fires 5 ms late', async () => {
    let now = 0;
    const lateClock: Clock = { now: () => now, sleep: async (ms) => void (now += ms + 5) };
    const limiter = new RateLimiter(50, lateClock);
    const granted: number[] = [];

    await Promise.all(Array.from({ length: 101 }, () => limiter.take().then(() => granted.push(now))));

    // Strict 20 ms spacing counted from each late grant would need 100 × 25 ms = 2.5 s.
    expect(granted.at(-1)).toBeLessThanOrEqual(2005);
  });

  it('rejects a rate that is not positive', () => {
    expect(() => new RateLimiter(0)).toThrow(RangeError);
  });

  it('keeps granting calls after one caller\'s wait failed', async () => {
    let now = 0;
    let failNext = false;
    const clock: Clock = {
      now: () => now,
      sleep: async (ms) => {
        if (failNext) {
          failNext = false;
          throw new Error('timer failed');
        }
        now += ms;
      },
    };
    const limiter = new RateLimiter(50, clock);
    await limiter.take();
    await limiter.take();
    failNext = true;

    const failed = await limiter.take().then(() => 'granted', (err: Error) => err.message);
    const later = await Promise.all([limiter.take(), limiter.take()]).then(() => 'granted', (err: Error) => err.message);

    expect([failed, later]).toEqual(['timer failed', 'granted']);
  });
});

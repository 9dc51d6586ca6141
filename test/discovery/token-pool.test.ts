import { describe, expect, it } from 'vitest';
import { TokenPool } from '../../src/discovery/token-pool.js';

const signal = new AbortController().signal;
const inAMinute = () => new Date(Date.now() + 60_000).toISOString();

describe('TokenPool', () => {
  it('spreads requests over the tokens with the most points left, at most two in flight per token', async () => {
    const pool = new TokenPool(['a', 'b'], { perToken: 2, maxWaitMs: undefined });
    pool.record(1, { cost: 1, remaining: 100, resetAt: inAMinute() });
    pool.record(2, { cost: 1, remaining: 4000, resetAt: inAMinute() });

    const leases = [await pool.acquire(signal), await pool.acquire(signal), await pool.acquire(signal), await pool.acquire(signal)];
    const fifth = Promise.race([pool.acquire(signal).then(() => 'leased'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 50))]);

    expect(leases.map((lease) => lease.number)).toEqual([2, 2, 1, 1]);
    expect(await fifth).toBe('waiting');
  });

  it('rests a token whose budget is spent while the others work', async () => {
    const pool = new TokenPool(['a', 'b'], { perToken: 2, maxWaitMs: undefined });
    pool.record(1, { cost: 1, remaining: 0, resetAt: inAMinute() });

    const leases = [await pool.acquire(signal), await pool.acquire(signal)];

    expect(leases.map((lease) => lease.number)).toEqual([2, 2]);
    expect(pool.budgets()[0]).toEqual({ number: 1, remaining: 0, restingUntil: expect.any(Number) });
  });

  it('waits for the first reset when every token rests, reporting when work resumes', async () => {
    const waits: number[] = [];
    const pool = new TokenPool(['a'], { perToken: 2, maxWaitMs: 5000, onWait: (at) => waits.push(at) });
    const resetAt = Date.now() + 150;
    pool.exhausted(1, resetAt);

    const lease = await pool.acquire(signal);

    expect(lease.number).toBe(1);
    expect(Date.now()).toBeGreaterThanOrEqual(resetAt);
    expect(waits[0]).toBe(resetAt);
  });

  it('gives up with an infrastructure error (exit 3) when the reset is further away than --max-wait', async () => {
    const pool = new TokenPool(['a', 'b'], { perToken: 2, maxWaitMs: 1000 });
    pool.exhausted(1, Date.now() + 3_600_000);
    pool.exhausted(2, Date.now() + 7_200_000);

    await expect(pool.acquire(signal)).rejects.toMatchObject({ code: 'github_rate_limited', exitCode: 3 });
  });

  it('rests a spent token a minute when its reset time is already past (our clock ahead of GitHub’s), instead of asking again at once', async () => {
    const now = 1_800_000_000_000;
    const pool = new TokenPool(['a'], { perToken: 2, maxWaitMs: 0, now: () => now });

    pool.exhausted(1, now - 600_000);

    await expect(pool.acquire(signal)).rejects.toMatchObject({ code: 'github_rate_limited', exitCode: 3 });
    expect(pool.budgets()).toEqual([{ number: 1, remaining: 0, restingUntil: now + 60_000 }]);
  });

  it('rests a RATE_LIMITED token until the reset its last answer reported when the error carries none', () => {
    const now = 1_800_000_000_000;
    const pool = new TokenPool(['a'], { perToken: 2, maxWaitMs: undefined, now: () => now });
    pool.record(1, { cost: 1, remaining: 3, resetAt: new Date(now + 1_200_000).toISOString() });

    const until = pool.exhausted(1, undefined);

    expect(until).toBe(now + 1_200_000);
    expect(pool.budgets()).toEqual([{ number: 1, remaining: 0, restingUntil: now + 1_200_000 }]);
  });

  it('keeps a token out for the retry-after of a secondary limit', async () => {
    const pool = new TokenPool(['a', 'b'], { perToken: 1, maxWaitMs: undefined });

    pool.rest(1, 60_000);
    const lease = await pool.acquire(signal);

    expect(lease.number).toBe(2);
  });

  it('sends one request at a time on a token once GitHub answered it with a secondary limit', async () => {
    let now = 1_800_000_000_000;
    const pool = new TokenPool(['a'], { perToken: 2, maxWaitMs: undefined, now: () => now });
    const stop = new AbortController();
    pool.rest(1, 1000);
    now += 1000;

    const first = await pool.acquire(signal);
    const second = await Promise.race([pool.acquire(stop.signal).then(() => 'leased', () => 'stopped'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 50))]);
    stop.abort();

    expect(first.number).toBe(1);
    expect(second).toBe('waiting');
  });

  it('stops waiting when the run is stopped', async () => {
    const controller = new AbortController();
    const pool = new TokenPool(['a'], { perToken: 2, maxWaitMs: undefined });
    pool.exhausted(1, Date.now() + 60_000);

    const waiting = pool.acquire(controller.signal);
    controller.abort();

    await expect(waiting).rejects.toThrow();
  });

  it('fails a request refused to the only token left instead of waiting for one forever', async () => {
    const pool = new TokenPool(['a', 'b'], { perToken: 1, maxWaitMs: undefined });
    const busy = await pool.acquire(signal);

    const waiting = pool.acquire(signal, new Set([2]));
    pool.retire(busy.number);
    busy.release();

    await expect(waiting).rejects.toMatchObject({ code: 'github_forbidden', exitCode: 2 });
  });
});

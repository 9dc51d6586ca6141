import { afterEach, describe, expect, it, vi } from 'vitest';
import { DATABASE_RETRY, GIT_RETRY, retryDelays, withRetry, type RetryPolicy } from '../src/retry.js';
import { InfrastructureError, StepError } from '../src/errors.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('retry schedule', () => {
  it('grows geometrically and is capped', () => {
    expect(retryDelays({ retries: 5, minTimeout: 1000, maxTimeout: 15_000, factor: 3, randomize: false })).toEqual([1000, 3000, 9000, 15_000, 15_000]);
  });

  it('gives git three retries: 1 s, 3 s and 9 s before jitter', () => {
    expect(retryDelays({ ...GIT_RETRY, randomize: false })).toEqual([1000, 3000, 9000]);
  });

  it('gives a database query four retries: 1, 2, 4 and 5 s before jitter, 12 s in all and at most 16 s with it', () => {
    const sum = (delays: number[]) => delays.reduce((total, delay) => total + delay, 0);

    const delays = retryDelays({ ...DATABASE_RETRY, randomize: false });
    // Jitter multiplies each delay by 1 to 2 before the cap.
    const longest = retryDelays({ ...DATABASE_RETRY, minTimeout: DATABASE_RETRY.minTimeout * 2, randomize: false });

    expect([delays, sum(delays)]).toEqual([[1000, 2000, 4000, 5000], 12_000]);
    expect([longest, sum(longest)]).toEqual([[2000, 4000, 5000, 5000], 16_000]);
  });

  it('waits exactly the scheduled delays between attempts (fake clock)', async () => {
    vi.useFakeTimers();
    const policy: RetryPolicy = { retries: 3, minTimeout: 1000, maxTimeout: 15_000, factor: 3, randomize: false };
    const attempts: number[] = [];
    const start = Date.now();

    const running = withRetry(policy, async (attempt) => {
      attempts.push(Date.now() - start);
      if (attempt < 4) throw new StepError('git_network', 'flaky', { retryable: true });
      return 'done';
    });
    await vi.runAllTimersAsync();

    await expect(running).resolves.toBe('done');
    expect(attempts).toEqual([0, 1000, 4000, 13_000]);
  });

  it('does not retry a permanent error', async () => {
    let calls = 0;

    const result = withRetry(GIT_RETRY, async () => {
      calls += 1;
      throw new StepError('git_auth_failed', 'no', { retryable: false });
    });

    await expect(result).rejects.toMatchObject({ code: 'git_auth_failed' });
    expect(calls).toBe(1);
  });

  it('retries only the errors retryIf accepts, when it is given', async () => {
    const unreachable = (err: unknown) => err instanceof InfrastructureError && err.code === 'db_unreachable';
    const failures = [new InfrastructureError('db_unreachable', 'down'), new InfrastructureError('db_disk_full', 'full')];
    let calls = 0;

    const result = withRetry({ retries: 5, minTimeout: 1, maxTimeout: 1, factor: 1, randomize: false }, async () => {
      throw failures[calls++];
    }, { retryIf: unreachable });

    await expect(result).rejects.toMatchObject({ code: 'db_disk_full' });
    expect(calls).toBe(2);
  });

  it('gives up after the last retry with the last error', async () => {
    vi.useFakeTimers();
    let calls = 0;

    const running = withRetry({ retries: 2, minTimeout: 10, maxTimeout: 10, factor: 1, randomize: false }, async () => {
      calls += 1;
      throw new StepError('git_network', `attempt ${calls}`, { retryable: true });
    });
    const outcome = running.catch((err: unknown) => err);
    await vi.runAllTimersAsync();

    expect(await outcome).toMatchObject({ message: 'attempt 3' });
    expect(calls).toBe(3);
  });

  it('does not announce a retry when the signal stopped the attempt', async () => {
    const stop = new AbortController();
    const retries: number[] = [];

    const result = withRetry(
      GIT_RETRY,
      async () => {
        stop.abort();
        return 'cloned';
      },
      { signal: stop.signal, onRetry: (_err, attempt) => retries.push(attempt) },
    );

    await expect(result).rejects.toMatchObject({ name: 'AbortError' });
    expect(retries).toEqual([]);
  });
});

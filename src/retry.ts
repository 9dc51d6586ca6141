import pRetry, { AbortError } from 'p-retry';

/**
 * Retry policies in one place, with the schedule they produce tested in test/retry.test.ts
 * (STYLE 11: a hand-written backoff once used `^` as power and nobody noticed).
 */
export interface RetryPolicy {
  readonly retries: number;
  readonly minTimeout: number;
  readonly maxTimeout: number;
  readonly factor: number;
  readonly randomize: boolean;
}

export const GIT_RETRY: RetryPolicy = Object.freeze({ retries: 3, minTimeout: 1000, maxTimeout: 15_000, factor: 3, randomize: true });

/**
 * A database query that lost its connection (a PostgreSQL restart or failover lasts seconds):
 * 1, 2, 4 and 5 s before jitter, 12 to 16 s in all, after which the caller gives up and Batch
 * retries the partition. The jitter spreads the reconnections of many processors.
 */
export const DATABASE_RETRY: RetryPolicy = Object.freeze({ retries: 4, minTimeout: 1000, maxTimeout: 5000, factor: 2, randomize: true });

/** The delays (ms) before each retry when `randomize` is off: min·factor^n, capped. */
export function retryDelays(policy: RetryPolicy): number[] {
  return Array.from({ length: policy.retries }, (_, attempt) => Math.min(policy.maxTimeout, Math.round(policy.minTimeout * policy.factor ** attempt)));
}

export interface RetryOptions {
  signal?: AbortSignal;
  onRetry?: (error: Error, attempt: number) => void;
  /** The errors worth another attempt; by default those whose `retryable` is true. */
  retryIf?: (error: unknown) => boolean;
}

const isRetryable = (err: unknown): boolean => (err as { retryable?: boolean } | undefined)?.retryable === true;

/** Runs `task`, retrying the errors `retryIf` accepts; the signal ends a wait between attempts at once. */
export async function withRetry<T>(policy: RetryPolicy, task: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  return pRetry(
    async (attempt) => {
      try {
        return await task(attempt);
      } catch (err) {
        if (!(options.retryIf ?? isRetryable)(err)) throw new AbortError(err as Error);
        throw err;
      }
    },
    {
      ...policy,
      signal: options.signal,
      onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
        // p-retry reports its own stop on the signal as a failed attempt; nothing is retried then.
        if (retriesLeft > 0 && !options.signal?.aborted) options.onRetry?.(error, attemptNumber);
      },
    },
  );
}

import pLimit, { type LimitFunction } from 'p-limit';
import { AbortedError, UsageError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { withRetry, type RetryPolicy } from '../retry.js';
import type { BatchApi } from './batch-client.js';
import { MAX_SUBMIT_PAYLOAD_BYTES, payloadBytes, type JobRequest, type SubmittedJob } from './job-request.js';
import { AMBIGUOUS_CODES } from './batch-errors.js';
import { RateLimiter, type Clock } from './rate-limiter.js';

/**
 * Throttling (429), 5xx and network failures are retried with this schedule (pinned in
 * test/batch/submitter.test.ts): 200 ms, 400 ms, 800 ms, 1.6 s, 3.2 s, each up to twice as
 * long with jitter; then the chunk job exits 3 and Batch's retry continues where it stopped.
 * A SubmitJob that ended in a 5xx or a lost connection may have created its job: the retry
 * first looks the name up (ListJobs), so that no partition runs twice.
 */
export const BATCH_RETRY: RetryPolicy = Object.freeze({ retries: 5, minTimeout: 200, maxTimeout: 4000, factor: 2, randomize: true });

/** AWS Batch's SubmitJob quota per account (AWS Batch service quotas). */
export const SUBMIT_JOBS_PER_SECOND = 50;

export interface SubmitterOptions {
  readonly ratePerSecond?: number;
  /** Calls in flight at once; the rate limiter, not this, bounds calls per second. */
  readonly concurrency?: number;
  readonly retry?: RetryPolicy;
  readonly clock?: Clock;
  readonly signal?: AbortSignal;
  readonly log?: Logger;
}

export class JobSubmitter {
  private readonly limiter: RateLimiter;
  private readonly inFlight: LimitFunction;
  private attempts = 0;

  constructor(
    private readonly api: BatchApi,
    private readonly options: SubmitterOptions = {},
  ) {
    this.limiter = new RateLimiter(options.ratePerSecond ?? SUBMIT_JOBS_PER_SECOND, options.clock);
    this.inFlight = pLimit(options.concurrency ?? 16);
  }

  /** SubmitJob calls made so far, retries included. */
  get calls(): number {
    return this.attempts;
  }

  /** Submits once the limiter allows; a `signal` aborted before the call starts skips it (AbortedError). */
  submit(request: JobRequest, signal?: AbortSignal): Promise<SubmittedJob> {
    const bytes = payloadBytes(request);
    if (bytes > MAX_SUBMIT_PAYLOAD_BYTES) {
      return Promise.reject(
        new UsageError('batch_payload_too_large', `SubmitJob for ${request.jobName} would send ${bytes} bytes, over AWS Batch's ${MAX_SUBMIT_PAYLOAD_BYTES}-byte limit: shorten the inventory URI`),
      );
    }
    return this.inFlight(() => {
      if (signal?.aborted || this.options.signal?.aborted) throw new AbortedError();
      return this.submitWithRetry(request, signal);
    });
  }

  private submitWithRetry(request: JobRequest, signal: AbortSignal | undefined): Promise<SubmittedJob> {
    let maybeCreated = false;
    return withRetry(
      this.options.retry ?? BATCH_RETRY,
      async () => {
        const stopping = () => signal?.aborted === true || this.options.signal?.aborted === true;
        // A job the last call may have created is looked up even when stopping: found, it is
        // recorded like any other, rather than left running with no partition naming it.
        if (maybeCreated) {
          const jobs = await this.api.listJobsByName(request.jobQueue, request.jobName).catch((err: unknown) => {
            throw stopping() ? new AbortedError() : err;
          });
          const existing = jobs.find((job) => job.jobName === request.jobName);
          if (existing) return existing;
        }
        // Checked per attempt rather than handed to p-retry, which would add one abort listener
        // per queued call to a shared signal.
        if (stopping()) throw new AbortedError();
        await this.limiter.take();
        this.attempts += 1;
        try {
          return await this.api.submitJob(request);
        } catch (err) {
          if (AMBIGUOUS_CODES.has((err as { code?: string }).code ?? '')) maybeCreated = true;
          throw err;
        }
      },
      {
        onRetry: (error, attempt) => this.options.log?.warn({ jobName: request.jobName, attempt, code: (error as { code?: string }).code }, 'SubmitJob failed, retrying'),
      },
    );
  }
}

import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError, InfrastructureError, UsageError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { retryDelays, type RetryPolicy } from '../retry.js';
import { GithubRequestError, type GithubFailure, type GraphqlTransport } from './github-client.js';
import { notFound } from './owner-planner.js';
import { buildDocument, parseResponse, sourceOfAlias } from './request-document.js';
import type { Lease, TokenPool } from './token-pool.js';
import type { RequestPlan, RequestResult } from './types.js';

/** Network errors, 5xx and GitHub's "something went wrong" (timeouts): 0.5, 1, 2, 4 s. */
export const TRANSIENT_RETRY: RetryPolicy = Object.freeze({ retries: 4, minTimeout: 500, maxTimeout: 8000, factor: 2, randomize: false });
/**
 * Secondary limits without retry-after: at least a minute, doubling (GitHub's advice in
 * "Rate limits for the REST API" › "Exceeding the rate limit"). With retry-after, that wait.
 */
export const SECONDARY_RETRY: RetryPolicy = Object.freeze({ retries: 5, minTimeout: 60_000, maxTimeout: 15 * 60_000, factor: 2, randomize: false });
/** RATE_LIMITED answers move the request to another token or wait for a reset; a bound in case GitHub keeps saying so. */
const MAX_RATE_LIMITED = 20;

export interface ExecutorDeps {
  readonly transport: GraphqlTransport;
  readonly pool: TokenPool;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly endpoint: string;
  readonly transientRetry?: RetryPolicy;
  readonly secondaryRetry?: RetryPolicy;
}

/** Runs one request to an answer: token rotation, bounded retries, and errors with exit codes. */
export class RequestExecutor {
  /** HTTP requests sent, retries included. */
  attempts = 0;
  private readonly transientDelays: number[];
  private readonly secondaryDelays: number[];

  constructor(private readonly deps: ExecutorDeps) {
    this.transientDelays = retryDelays(deps.transientRetry ?? TRANSIENT_RETRY);
    this.secondaryDelays = retryDelays(deps.secondaryRetry ?? SECONDARY_RETRY);
  }

  async execute(plan: RequestPlan, firstLease: Lease): Promise<RequestResult> {
    const { document, variables } = buildDocument(plan);
    const counts = { transient: 0, secondary: 0, rateLimited: 0 };
    let lease = firstLease;
    try {
      for (;;) {
        try {
          this.attempts += 1;
          const data = await this.deps.transport.send(document, variables, lease.token);
          const result = parseResponse(plan, data);
          this.deps.pool.record(lease.number, result.rateLimit);
          return result;
        } catch (err) {
          if (!(err instanceof GithubRequestError)) throw err;
          await this.recover(err.failure, plan, lease, counts);
        }
        lease.release();
        lease = await this.deps.pool.acquire(this.deps.signal).catch((err: unknown) => {
          throw this.deps.signal.aborted ? new AbortedError() : err;
        });
      }
    } finally {
      lease.release();
    }
  }

  /** Waits or rests the token as the failure asks, or throws when retrying cannot help. */
  private async recover(failure: GithubFailure, plan: RequestPlan, lease: Lease, counts: { transient: number; secondary: number; rateLimited: number }): Promise<void> {
    const { pool, log } = this.deps;
    switch (failure.kind) {
      case 'rate_limited':
        if (++counts.rateLimited > MAX_RATE_LIMITED) throw new InfrastructureError('github_rate_limited', `GitHub kept answering RATE_LIMITED (${counts.rateLimited - 1} times): progress is saved, rerun with --resume later`);
        log.warn({ tokenNumber: lease.number, resetAt: new Date(pool.exhausted(lease.number, failure.resetAtMs)).toISOString() }, 'GitHub token rate-limited, resting until its reset');
        return;
      case 'secondary_limit': {
        const delay = failure.retryAfterMs ?? this.secondaryDelays[counts.secondary];
        if (counts.secondary >= this.secondaryDelays.length || delay === undefined) {
          throw new InfrastructureError('github_secondary_limit', `GitHub kept answering with its secondary rate limit (${counts.secondary + 1} times): progress is saved, rerun with --resume later`);
        }
        counts.secondary += 1;
        pool.rest(lease.number, Math.max(1000, delay));
        log.warn({ tokenNumber: lease.number, attempt: counts.secondary, delayMs: Math.max(1000, delay) }, 'GitHub secondary rate limit, backing off');
        return;
      }
      case 'transient': {
        const delay = this.transientDelays[counts.transient];
        if (delay === undefined) {
          throw new InfrastructureError('github_unreachable', `GitHub GraphQL at ${this.deps.endpoint} failed ${counts.transient + 1} times (${failure.detail}): progress is saved, rerun with --resume`);
        }
        counts.transient += 1;
        log.warn({ tokenNumber: lease.number, attempt: counts.transient, delayMs: delay, detail: failure.detail }, 'GitHub request failed, retrying');
        await sleep(delay, undefined, { signal: this.deps.signal }).catch(() => {
          throw new AbortedError();
        });
        return;
      }
      case 'bad_credentials':
        // A revoked token in a pool must not stop a nightly run the other tokens can finish.
        if (pool.retire(lease.number)) {
          log.error({ tokenNumber: lease.number, poolSize: pool.size, detail: failure.detail }, 'GitHub rejected a token: it is left out and the other tokens carry on; replace it');
          return;
        }
        throw this.permanent(failure, plan, lease);
      default:
        throw this.permanent(failure, plan, lease);
    }
  }

  private permanent(failure: GithubFailure, plan: RequestPlan, lease: Lease): Error {
    const which = `token ${lease.number} of ${this.deps.pool.size} in GITHUB_TOKENS/GITHUB_TOKEN`;
    switch (failure.kind) {
      case 'bad_credentials':
        return new UsageError('github_token_rejected', `GitHub rejected ${which} (${failure.detail}): the token is wrong, expired or revoked; replace it (its value is not shown)`);
      case 'forbidden':
        return new UsageError('github_forbidden', `GitHub refused ${which} (${failure.detail}): check the token's scopes and SSO authorization`);
      case 'not_found': {
        const source = sourceOfAlias(plan, failure.aliases[0] ?? '');
        if (source?.kind === 'owner') return notFound(source.ownerType, source.login);
        return new UsageError('github_not_found', `GitHub could not resolve part of the query: ${failure.detail}`);
      }
      case 'rejected':
        // GITHUB_API_URL set to the GraphQL URL itself (…/graphql/graphql) or to a web page.
        if (failure.status === 404) return new UsageError('github_endpoint_not_found', `Nothing answers GitHub GraphQL at ${this.deps.endpoint} (${failure.detail}): GITHUB_API_URL is the API base, https://api.github.com or https://HOST/api/v3`);
        return new UsageError('github_query_rejected', `GitHub rejected the query: ${failure.detail}`);
      default:
        return new UsageError('github_query_rejected', `GitHub rejected the query: ${'detail' in failure ? failure.detail : failure.kind}`);
    }
  }
}

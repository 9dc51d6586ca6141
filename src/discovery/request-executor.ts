import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError, InfrastructureError, MassIngestError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { retryDelays, type RetryPolicy } from '../retry.js';
import { aliasResources, describeAliases, permanentFailure, planResources, tokenFingerprint } from './github-failure.js';
import { GithubRequestError, type GithubFailure, type GraphqlTransport } from './github-client.js';
import { buildDocument, parseResponse } from './request-document.js';
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
  /** Resource (planResources) → tokens GitHub refused it to: later requests for it skip them. */
  private readonly hidden = new Map<string, Set<number>>();

  constructor(private readonly deps: ExecutorDeps) {
    this.transientDelays = retryDelays(deps.transientRetry ?? TRANSIENT_RETRY);
    this.secondaryDelays = retryDelays(deps.secondaryRetry ?? SECONDARY_RETRY);
  }

  async execute(plan: RequestPlan, firstLease: Lease): Promise<RequestResult> {
    const { document, variables } = buildDocument(plan);
    const tries: Tries = { transient: 0, secondary: 0, rateLimited: 0, unknown: 0, refused: this.refusedFor(plan) };
    let lease = firstLease;
    try {
      if (tries.refused.has(lease.number) && this.deps.pool.hasUsable(tries.refused)) lease = await this.swap(lease, tries, plan);
      for (;;) {
        try {
          this.attempts += 1;
          const data = await this.deps.transport.send(document, variables, lease.token);
          const result = parseResponse(plan, data);
          this.deps.pool.record(lease.number, result.rateLimit);
          return result;
        } catch (err) {
          if (!(err instanceof GithubRequestError)) throw err;
          await this.recover(err.failure, plan, lease, tries);
        }
        lease = await this.swap(lease, tries, plan);
      }
    } finally {
      lease.release();
    }
  }

  private async swap(lease: Lease, tries: Tries, plan: RequestPlan): Promise<Lease> {
    lease.release();
    return this.deps.pool.acquire(this.deps.signal, tries.refused).catch((err: unknown) => {
      if (this.deps.signal.aborted) throw new AbortedError();
      // The tokens not refused this request were rejected while it waited for one: name what was refused.
      if (tries.forbidden && err instanceof MassIngestError && err.code === 'github_forbidden') throw permanentFailure(tries.forbidden, plan, this.which(lease), this.deps.endpoint);
      throw err;
    });
  }

  /** Tokens GitHub refused one of the plan's resources to before (the next page of that organization goes to another token). */
  private refusedFor(plan: RequestPlan): Set<number> {
    const refused = new Set<number>();
    for (const resource of planResources(plan)) for (const number of this.hidden.get(resource) ?? []) refused.add(number);
    return refused;
  }

  /** Waits or rests the token as the failure asks, or throws when retrying cannot help. */
  private async recover(failure: GithubFailure, plan: RequestPlan, lease: Lease, tries: Tries): Promise<void> {
    const { pool, log } = this.deps;
    switch (failure.kind) {
      case 'rate_limited':
        if (++tries.rateLimited > MAX_RATE_LIMITED) throw new InfrastructureError('github_rate_limited', `GitHub kept answering RATE_LIMITED (${tries.rateLimited - 1} times): progress is saved, rerun with --resume later`);
        log.warn({ tokenNumber: lease.number, resetAt: new Date(pool.exhausted(lease.number, failure.resetAtMs)).toISOString() }, 'GitHub token rate-limited, resting until its reset');
        return;
      case 'secondary_limit': {
        const delay = failure.retryAfterMs ?? this.secondaryDelays[tries.secondary];
        if (tries.secondary >= this.secondaryDelays.length || delay === undefined) {
          throw new InfrastructureError('github_secondary_limit', `GitHub kept answering with its secondary rate limit (${tries.secondary + 1} times): progress is saved, rerun with --resume later`);
        }
        tries.secondary += 1;
        pool.rest(lease.number, Math.max(1000, delay));
        log.warn({ tokenNumber: lease.number, attempt: tries.secondary, delayMs: Math.max(1000, delay) }, 'GitHub secondary rate limit, backing off');
        return;
      }
      case 'transient':
        return this.pause(tries.transient++, failure.detail, lease, () => new InfrastructureError('github_unreachable', `GitHub GraphQL at ${this.deps.endpoint} failed ${tries.transient} times (${failure.detail}): progress is saved, rerun with --resume`));
      case 'unknown':
        // An error type we do not know is asked once more: when GitHub answers the same, it is
        // about the query, and neither this run nor a retried job would get another answer.
        if (tries.unknown++ > 0) throw permanentFailure(failure, plan, this.which(lease), this.deps.endpoint);
        return this.pause(0, `${failure.type}: ${failure.detail}`, lease, () => permanentFailure(failure, plan, this.which(lease), this.deps.endpoint));
      case 'bad_credentials':
      case 'token_refused':
        // A revoked token, or one not authorized for SAML SSO, must not stop a nightly run the
        // other tokens can finish.
        return this.retire(failure, plan, lease);
      case 'forbidden':
        // One resource of the request is hidden from this token (an organization's SAML SSO the
        // token is not authorized for): another token may see it.
        tries.refused.add(lease.number);
        tries.forbidden = failure;
        for (const resource of aliasResources(plan, failure.aliases)) this.hidden.set(resource, new Set([...(this.hidden.get(resource) ?? []), lease.number]));
        if (!pool.hasUsable(tries.refused)) throw permanentFailure(failure, plan, this.which(lease), this.deps.endpoint);
        log.warn({ tokenNumber: lease.number, tokenFingerprint: tokenFingerprint(lease.token), resources: describeAliases(plan, failure.aliases), sso: failure.sso, detail: failure.detail }, 'GitHub refused part of a request to a token, asking another token');
        return;
      default:
        throw permanentFailure(failure, plan, this.which(lease), this.deps.endpoint);
    }
  }

  private async pause(attempt: number, detail: string, lease: Lease, exhausted: () => Error): Promise<void> {
    const delay = this.transientDelays[attempt];
    if (delay === undefined) throw exhausted();
    this.deps.log.warn({ tokenNumber: lease.number, attempt: attempt + 1, delayMs: delay, detail }, 'GitHub request failed, retrying');
    await sleep(delay, undefined, { signal: this.deps.signal }).catch(() => {
      throw new AbortedError();
    });
  }

  /** Logged once per token, however many of its requests were in flight; exit 2 once none is left. */
  private retire(failure: Extract<GithubFailure, { kind: 'bad_credentials' | 'token_refused' }>, plan: RequestPlan, lease: Lease): void {
    const { pool, log } = this.deps;
    const first = !pool.isRetired(lease.number);
    const left = pool.retire(lease.number);
    if (!left) throw permanentFailure(failure, plan, this.which(lease), this.deps.endpoint);
    if (!first) return;
    const reason = failure.kind === 'bad_credentials' ? 'bad_credentials' : failure.reason;
    const fields = { tokenNumber: lease.number, tokenFingerprint: tokenFingerprint(lease.token), poolSize: pool.size, reason, detail: failure.detail };
    if (failure.kind === 'bad_credentials') log.error(fields, 'GitHub rejected a token: it is left out and the other tokens carry on; replace it');
    else log.error(fields, 'GitHub refused a token: it is left out and the other tokens carry on');
  }

  private which(lease: Lease): string {
    return `token ${lease.number} of ${this.deps.pool.size} in GITHUB_TOKENS/GITHUB_TOKEN`;
  }
}

interface Tries {
  transient: number;
  secondary: number;
  rateLimited: number;
  unknown: number;
  /** Tokens GitHub refused a resource of this request to. */
  readonly refused: Set<number>;
  /** The last such refusal. */
  forbidden?: Extract<GithubFailure, { kind: 'forbidden' }>;
}

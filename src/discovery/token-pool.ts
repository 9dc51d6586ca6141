import { InfrastructureError, UsageError } from '../errors.js';
import type { RateLimitInfo } from './types.js';

/**
 * GITHUB_TOKENS as a pool: each request takes a lease on the token with the most points left,
 * at most `perToken` requests per token at once (GitHub's secondary limits punish bursts), one
 * at a time once GitHub answered the token with a secondary limit. A token whose budget is spent
 * rests until its reset while the others work; when every token rests, `acquire` waits for the
 * first reset (reporting the countdown), or gives up with exit 3 when that is further away than
 * --max-wait. A token GitHub rejects is retired: the others carry on, and only when none is left
 * does the run stop.
 */
export interface Lease {
  /** 1-based, for messages: tokens are never shown. */
  readonly number: number;
  readonly token: string;
  release(): void;
}

export interface TokenBudget {
  readonly number: number;
  readonly remaining: number | undefined;
  readonly restingUntil: number | undefined;
  readonly rejected?: boolean;
}

export interface PoolOptions {
  readonly perToken: number;
  readonly maxWaitMs: number | undefined;
  readonly now?: () => number;
  /** Called while every token rests, about once a second, with the time work resumes. */
  readonly onWait?: (resumeAtMs: number) => void;
}

interface TokenState {
  readonly number: number;
  readonly token: string;
  inFlight: number;
  /** `perToken`, or 1 once GitHub answered this token with a secondary limit. */
  maxInFlight: number;
  remaining: number | undefined;
  resetAtMs: number | undefined;
  restUntilMs: number;
  retired: boolean;
}

const NONE: ReadonlySet<number> = new Set();

/** How long a spent token rests when GitHub's reset time cannot be used. */
const UNKNOWN_RESET_MS = 60_000;

export class TokenPool {
  private readonly tokens: TokenState[];
  private readonly now: () => number;
  private wakers: Array<() => void> = [];

  constructor(tokens: readonly string[], private readonly options: PoolOptions) {
    this.tokens = tokens.map((token, index) => ({ number: index + 1, token, inFlight: 0, maxInFlight: options.perToken, remaining: undefined, resetAtMs: undefined, restUntilMs: 0, retired: false }));
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.tokens.length;
  }

  /** `exclude`: tokens GitHub refused this request's resources to (another token may see them). */
  async acquire(signal: AbortSignal, exclude: ReadonlySet<number> = NONE): Promise<Lease> {
    for (;;) {
      signal.throwIfAborted();
      if (this.tokens.every((candidate) => candidate.retired)) {
        throw new UsageError('github_token_rejected', `GitHub rejected or refused every token in GITHUB_TOKENS/GITHUB_TOKEN (${this.tokens.length}): replace them or authorize them (their values are not shown)`);
      }
      // The tokens left out for this request (refused its resources) may be all that is left once
      // the others are rejected: waiting would wait forever.
      if (!this.hasUsable(exclude)) {
        throw new UsageError('github_forbidden', 'GitHub refused this request to every token in GITHUB_TOKENS/GITHUB_TOKEN it has not rejected: authorize a token for it, or leave it out (token values are not shown)');
      }
      const now = this.now();
      const token = this.pick(now, exclude);
      if (token) return this.lease(token);
      const busy = this.tokens.some((candidate) => candidate.inFlight > 0);
      const resumeAt = Math.min(...this.tokens.filter((candidate) => !candidate.retired).map((candidate) => candidate.restUntilMs).filter((until) => until > now));
      if (!busy && Number.isFinite(resumeAt)) {
        if (this.options.maxWaitMs !== undefined && resumeAt - now > this.options.maxWaitMs) {
          throw new InfrastructureError(
            'github_rate_limited',
            `Every GitHub token is rate-limited until ${new Date(resumeAt).toISOString()}, more than --max-wait ${Math.round(this.options.maxWaitMs / 1000)} s away: progress is saved, rerun with --resume after that time`,
          );
        }
        this.options.onWait?.(resumeAt);
      }
      await this.changed(Number.isFinite(resumeAt) ? Math.min(1000, Math.max(10, resumeAt - now)) : 1000, signal);
    }
  }

  /** The budget GitHub reported with a response; a token at zero rests until its reset. */
  record(number: number, rateLimit: RateLimitInfo | undefined): void {
    const token = this.tokens[number - 1];
    if (!token || !rateLimit) return;
    const resetAtMs = Date.parse(rateLimit.resetAt);
    token.remaining = rateLimit.remaining;
    token.resetAtMs = Number.isFinite(resetAtMs) ? resetAtMs : this.now() + UNKNOWN_RESET_MS;
    if (token.remaining <= 0) token.restUntilMs = Math.max(token.restUntilMs, token.resetAtMs);
    this.wake();
  }

  /**
   * RATE_LIMITED: the primary budget is spent; rest until the reset (the answer's, else the one
   * the token's last answer reported). A reset unknown or already past (our clock ahead of
   * GitHub's) means a minute, rather than asking again at once, again and again. Returns when the
   * token may be used again.
   */
  exhausted(number: number, resetAtMs: number | undefined): number {
    const now = this.now();
    const token = this.tokens[number - 1];
    const until = [resetAtMs, token?.resetAtMs].find((at) => at !== undefined && at > now) ?? now + UNKNOWN_RESET_MS;
    if (!token) return until;
    token.remaining = 0;
    token.resetAtMs = until;
    token.restUntilMs = Math.max(token.restUntilMs, until);
    this.wake();
    return until;
  }

  /**
   * Secondary limit: this token waits `ms` before its next request, and from then on sends one
   * request at a time (GitHub: "make requests serially rather than concurrently").
   */
  rest(number: number, ms: number): void {
    const token = this.tokens[number - 1];
    if (!token) return;
    token.maxInFlight = 1;
    token.restUntilMs = Math.max(token.restUntilMs, this.now() + ms);
    this.wake();
  }

  /**
   * A token GitHub rejected (wrong, expired, revoked) is never leased again. Returns whether
   * another token is left to carry on with.
   */
  retire(number: number): boolean {
    const token = this.tokens[number - 1];
    if (token) token.retired = true;
    this.wake();
    return this.tokens.some((candidate) => !candidate.retired);
  }

  isRetired(number: number): boolean {
    return this.tokens[number - 1]?.retired ?? true;
  }

  /** Whether a token that is neither retired nor in `exclude` is left (resting ones count). */
  hasUsable(exclude: ReadonlySet<number>): boolean {
    return this.tokens.some((candidate) => !candidate.retired && !exclude.has(candidate.number));
  }

  budgets(): TokenBudget[] {
    const now = this.now();
    return this.tokens.map((token) => ({ number: token.number, remaining: token.remaining, restingUntil: token.restUntilMs > now ? token.restUntilMs : undefined, ...(token.retired ? { rejected: true } : {}) }));
  }

  private pick(now: number, exclude: ReadonlySet<number>): TokenState | undefined {
    let best: TokenState | undefined;
    for (const token of this.tokens) {
      if (token.retired || exclude.has(token.number) || token.restUntilMs > now || token.inFlight >= token.maxInFlight) continue;
      if (token.resetAtMs !== undefined && token.resetAtMs <= now) {
        token.remaining = undefined;
        token.resetAtMs = undefined;
      }
      if (token.remaining !== undefined && token.remaining - token.inFlight <= 0) continue;
      if (!best || score(token) > score(best)) best = token;
    }
    return best;
  }

  private lease(token: TokenState): Lease {
    token.inFlight += 1;
    let released = false;
    return {
      number: token.number,
      token: token.token,
      release: () => {
        if (released) return;
        released = true;
        token.inFlight -= 1;
        this.wake();
      },
    };
  }

  private changed(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.wakers.push(done);
    });
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }
}

/** Most points left first (unknown counts as full), then the least busy. */
function score(token: TokenState): number {
  return (token.remaining ?? Number.MAX_SAFE_INTEGER / 2) - token.inFlight * 1000;
}

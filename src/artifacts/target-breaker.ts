import { StepError, errorMessage } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { PUBLISH_CODES } from './publish-errors.js';
import { seconds } from './publish-timeouts.js';

/**
 * A circuit breaker over one processor's publish target, shared by all its repositories. After
 * `threshold` attempts in a row got no answer at all (refused, reset, timed out), the target is
 * skipped: every request fails at once with `publish_target_down` instead of paying its timeouts
 * and retries again. After `cooldownMs` one request tries it (a probe); an answer of any status
 * closes the breaker, no answer skips the target for another `cooldownMs`.
 */
export interface BreakerSettings {
  /** Attempts in a row without an answer before the target is skipped (PUBLISH_FAIL_FAST_AFTER); 0 never skips it. */
  readonly threshold: number;
  /** How long it is skipped before one request tries it again (PUBLISH_FAIL_FAST_FOR). */
  readonly cooldownMs: number;
}

/** Four attempts: one request's whole retry schedule (PUBLISH_RETRY, the SDK's maxAttempts). */
export const DEFAULT_BREAKER: BreakerSettings = Object.freeze({ threshold: 4, cooldownMs: 60_000 });

/** One attempt let through. It ends answered, unanswered, or neither (stopped by a signal, a local error). */
export interface BreakerAttempt {
  /** The one request let through to try a skipped target: its verdict must not wait on anything else. */
  readonly probe: boolean;
  answered(): void;
  /**
   * Records a failure without an answer (also after `answered`, for an answer that then stalled);
   * true when the target is skipped now, so the caller must not retry.
   */
  unanswered(err: unknown): boolean;
  abandoned(): void;
}

/** The lead of `skipping`'s error for a repository that is not cloned (src/pipeline/process-repository.ts). */
export const SKIPPED = 'Not cloned or built';

export class TargetBreaker {
  private failures = 0;
  private openUntil: number | undefined;
  private probing = false;
  private lastFailure = '';

  constructor(
    private readonly target: string,
    private readonly settings: BreakerSettings = DEFAULT_BREAKER,
    private readonly log?: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Lets an attempt through, or throws `publish_target_down` naming `what` (`PUT <url>`) while the target is skipped. */
  admit(what: string): BreakerAttempt {
    if (this.openUntil === undefined) return this.attempt(false);
    if (this.probing || this.now() < this.openUntil) throw this.downError(`${what} not sent`);
    this.probing = true;
    return this.attempt(true);
  }

  private attempt(probe: boolean): BreakerAttempt {
    let ended = false;
    const end = (): boolean => {
      if (ended) return false;
      ended = true;
      if (probe) this.probing = false;
      return true;
    };
    return {
      probe,
      answered: () => {
        if (end()) this.onAnswer();
      },
      unanswered: (err) => this.onNoAnswer(err, end() && probe),
      abandoned: () => void end(),
    };
  }

  private onAnswer(): void {
    this.failures = 0;
    if (this.openUntil === undefined) return;
    this.openUntil = undefined;
    this.log?.info({ target: this.target }, 'Publish target answering again');
  }

  private onNoAnswer(err: unknown, probe: boolean): boolean {
    this.failures += 1;
    this.lastFailure = errorMessage(err);
    if (probe) {
      this.openUntil = this.now() + this.settings.cooldownMs;
      this.log?.warn({ target: this.target, cooldownMs: this.settings.cooldownMs, err }, 'Publish target still not answering');
      return true;
    }
    if (this.openUntil !== undefined) return true;
    if (this.settings.threshold === 0 || this.failures < this.settings.threshold) return false;
    this.openUntil = this.now() + this.settings.cooldownMs;
    this.log?.warn({ target: this.target, attempts: this.failures, cooldownMs: this.settings.cooldownMs, err }, 'Publish target not answering, failing fast');
    return true;
  }

  /**
   * While the target is skipped, the error its requests get (`publish_target_down`), for work
   * that would end in a publish: a repository need not be cloned and built for it. Undefined
   * when a request may be sent, the one trying the target again included.
   */
  skipping(lead: string): StepError | undefined {
    if (this.openUntil === undefined || (!this.probing && this.now() >= this.openUntil)) return undefined;
    return this.downError(lead);
  }

  private downError(lead: string): StepError {
    const retryAt = new Date(this.openUntil ?? this.now()).toISOString();
    return new StepError(
      PUBLISH_CODES.targetDown,
      `${lead}: the publish target ${this.target} gave no answer to ${this.failures} attempts in a row (the last: ${this.lastFailure}); ` +
        `every publish fails at once until one request tries it again (after ${retryAt}, every ${seconds(this.settings.cooldownMs)}). ` +
        'Check the target; the next run publishes this repository',
    );
  }
}

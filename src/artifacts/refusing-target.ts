import { StepError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { PublishedSet, PublishLayout, PublishRequest, RepositoryKey } from './layout.js';
import { PUBLISH_CODES } from './publish-errors.js';
import { SKIPPED } from './target-breaker.js';

/** Repositories in a row refused so before the rest of the partition is not cloned or built. */
export const REFUSALS_BEFORE_SKIPPING = 3;

/**
 * A refusal that says nothing about the repository and everything about the target, so every
 * later repository would get it too: a certificate not trusted, credentials rejected (401; a 403
 * may be one path's permission), no repository at PUBLISH_URL or no such bucket (404 on a write;
 * a read's 404 is "not published"), a redirect, a web page.
 */
export function refusesEveryRepository(err: unknown): err is StepError {
  if (!(err instanceof StepError)) return false;
  if (err.code === PUBLISH_CODES.tls || err.code === PUBLISH_CODES.notFound || err.code === PUBLISH_CODES.notARepository) return true;
  if (err.code === PUBLISH_CODES.auth) return err.status === 401;
  return /^publish_http_3\d\d$/.test(err.code);
}

/**
 * The publish layout of one processor, watched for a target that refuses every repository (above).
 * After `threshold` repositories refused so with no write accepted between them, `down` answers
 * for the rest of the partition: they are recorded `publish_failed` with the refusal's code, not
 * cloned or built (a partition of 1,000 repositories behind a wrong password would otherwise clone and
 * build all of them to be refused one by one). It does not reopen: the configuration will not
 * change during the run. A read that succeeds does not count as accepted: a repository may be
 * readable anonymously and refuse writes. Threshold 0 never skips (PUBLISH_FAIL_FAST_AFTER=0).
 */
export class RefusingTargetGuard implements PublishLayout {
  /**
   * The repositories refused since the last write accepted: one repository's requests may be
   * refused twice (the check's look at the target while the database opens, then its own).
   */
  private readonly inARow = new Set<string>();
  private refused: StepError | undefined;

  constructor(
    readonly inner: PublishLayout,
    private readonly threshold = REFUSALS_BEFORE_SKIPPING,
    private readonly log?: Logger,
  ) {}

  down(): StepError | undefined {
    return this.refused ?? this.inner.down?.();
  }

  isPublished(repository: RepositoryKey, commitSha: string): Promise<boolean> {
    return this.watch(repository, () => this.inner.isPublished(repository, commitSha), false);
  }

  publish(request: PublishRequest): Promise<PublishedSet> {
    return this.watch(request.repository, () => this.inner.publish(request), true);
  }

  publishLog(repository: RepositoryKey, commitSha: string, logFile: string): Promise<string | undefined> {
    return this.watch(repository, () => this.inner.publishLog(repository, commitSha, logFile), true);
  }

  private async watch<T>(repository: RepositoryKey, work: () => Promise<T>, write: boolean): Promise<T> {
    try {
      const result = await work();
      if (write) this.inARow.clear();
      return result;
    } catch (err) {
      if (refusesEveryRepository(err)) this.onRefusal(repository, err);
      throw err;
    }
  }

  private onRefusal(repository: RepositoryKey, err: StepError): void {
    this.inARow.add(JSON.stringify([repository.origin, repository.path, repository.branch]));
    if (this.refused || this.threshold === 0 || this.inARow.size < this.threshold) return;
    this.refused = new StepError(
      err.code,
      `${SKIPPED}: the publish target refused ${this.inARow.size} repositories in a row for a reason that holds for every repository (the last: ${err.message}); ` +
        'fix the configuration and run the partition again',
      { status: err.status },
    );
    this.log?.error({ code: err.code, repositories: this.inARow.size, err }, 'The publish target refuses every repository: the rest of the partition is not cloned or built');
  }
}

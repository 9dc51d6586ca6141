import { InfrastructureError, isOutOfDescriptors } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { DATABASE_RETRY, GIT_RETRY, withRetry } from '../retry.js';
import type { Finished, PipelineDeps, Resolved } from './process-repository.js';

/** How long a check waits for the database before a commit the target lacks starts its work. */
const DATABASE_PATIENCE_MS = 50;

/**
 * The `resolve` step: has the repository changed since its last published commit (DESIGN §7)?
 * `ls-remote` gives the head, the database the last published sha. While the database is still
 * opening, a head the publish target lacks starts its work at once (`early`), and the work's
 * result stands only once the database confirms the change (`unchangedAfterAll`).
 */
export async function checkChanged(ctx: Resolved, deps: PipelineDeps, signal: AbortSignal, log: Logger, likelyUnchanged: () => void): Promise<Resolved | Finished> {
  // With --force the head is not compared with anything: the clone tells the sha.
  if (deps.settings.force) return ctx;
  const headSha = await withRetry(deps.settings.gitRetry ?? GIT_RETRY, () => deps.git.headSha(ctx.url, ctx.row.branch, signal), {
    signal,
    onRetry: (err, attempt) => log.warn({ attempt, err }, 'ls-remote failed, retrying'),
  });
  const lookup = lastPublishedSha(ctx, deps, signal, log);
  const unchangedIf = (published: string | undefined): Resolved | Finished => (published === headSha ? { outcome: 'unchanged', commitSha: headSha } : ctx);
  const answer = await within(lookup, DATABASE_PATIENCE_MS);
  if (answer !== undefined) return unchangedIf(answer.value);
  // Whichever answers first: a target that is slow or not answering (its retries, its time-outs)
  // must not hold a check the database can settle.
  const target = deps.layout.isPublished(ctx.repository, headSha).then(
    (published) => ({ published }),
    () => ({ published: true }),
  );
  const first = await Promise.race([lookup.then((value) => ({ database: value })), target]);
  if ('database' in first) return unchangedIf(first.database);
  if (!first.published) {
    // The database is still opening (the embedded one takes ~1 s), and the target has no manifest
    // for this commit: it almost surely changed. Its clone and build start now; what they produce
    // is published (or recorded as failed) only once the database confirms the change.
    const changed = lookup.then((published) => published !== headSha);
    changed.catch(() => undefined);
    log.debug({ commitSha: headSha }, 'Database not ready, the target lacks this commit: work starts before it answers');
    return { ...ctx, early: { headSha, changed } };
  }
  likelyUnchanged();
  return unchangedIf(await lookup);
}

/**
 * The commit last published, asked again while PostgreSQL cannot be reached: a restart or a
 * failover ends the connections for seconds, and a repository given up on is `aborted` and costs
 * the whole partition a Batch retry (src/commands/process.ts exitCodeOf). Only `db_unreachable`:
 * a full disk or a refused password does not pass in seconds, nor does a processor out of file
 * descriptors (fd_exhausted). The first answer is the query's own, as it comes: the retries begin
 * only once it failed.
 */
function lastPublishedSha(ctx: Resolved, deps: PipelineDeps, signal: AbortSignal, log: Logger): Promise<string | undefined> {
  const ask = () => deps.results.lastPublishedSha(ctx.row.origin, ctx.row.path, ctx.row.branch);
  const unreachable = (err: unknown) => err instanceof InfrastructureError && err.code === 'db_unreachable' && !isOutOfDescriptors(err);
  return ask().catch(async (first: unknown) => {
    if (!unreachable(first)) throw first;
    // The first failure is attempt 1 of the policy's schedule.
    return withRetry(deps.settings.databaseRetry ?? DATABASE_RETRY, async (attempt) => (attempt === 1 ? Promise.reject(first) : ask()), {
      signal,
      retryIf: unreachable,
      onRetry: (err, attempt) => log.warn({ attempt, err }, 'Database query failed, retrying'),
    });
  });
}

/** The promise's value if it settles within `ms`, else undefined (a rejection is thrown). */
async function within<T>(promise: Promise<T>, ms: number): Promise<{ value: T } | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise.then((value) => ({ value })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** For work begun before the database answered: `unchanged` when it then says so, else undefined. */
export async function unchangedAfterAll(ctx: Resolved, log: Logger): Promise<Finished | undefined> {
  if (!ctx.early || (await ctx.early.changed)) return undefined;
  log.info({ commitSha: ctx.early.headSha }, 'The database says unchanged: the work done meanwhile is dropped');
  return { outcome: 'unchanged', commitSha: ctx.early.headSha };
}

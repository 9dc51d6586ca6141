import fs from 'node:fs/promises';
import path from 'node:path';
import { AbortedError, FD_EXHAUSTED, FD_EXHAUSTED_REMEDY, InfrastructureError, StepError, errorMessage, isDiskFull, isOutOfDescriptors, outOfDescriptors } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { Scrubber } from '../logging/scrub.js';
import { readHeadSha, type GitClient } from '../git/git-client.js';
import { splitUserinfo } from '../git/credentials.js';
import { WORKDIR_FULL_REMEDY } from '../git/classify.js';
import { planBuild, type BuildPlan } from '../build/builders.js';
import { runBuild, tailOfLog } from '../build/run-build.js';
import { buildUserEnvironment, handOver, takeBack, type BuildUser } from '../build/build-user.js';
import type { BuildUserPool } from '../build/build-user-pool.js';
import { collectArtifacts, type CollectedArtifact } from '../artifacts/collect.js';
import type { PublishLayout, RepositoryKey } from '../artifacts/layout.js';
import type { RepositoryRow } from '../inventory/rows.js';
import { BUILD_ERROR_LINE, BUILD_LOG_OUTCOMES, DATABASE_FAILURES, isFailure, type Outcome, type RepositoryOutcome } from '../results/outcome.js';
import type { ResultStore } from '../results/result-store.js';
import { GIT_RETRY, withRetry, type RetryPolicy } from '../retry.js';
import { runStep, StepFailure, type StepName } from './step.js';
import { inSlot, NO_WAIT, type Clock, type Slots } from './slots.js';
import { checkChanged, unchangedAfterAll } from './check.js';
import { removeWorkspace } from './workspace.js';

export interface PipelineSettings {
  readonly runId: string;
  readonly attempt: number;
  readonly workdir: string;
  readonly force: boolean;
  readonly buildTimeoutMs: number;
  readonly buildEnv: Readonly<Record<string, string>>;
  readonly scrub: Scrubber;
  readonly gitRetry?: RetryPolicy;
  /** The check's query for the last published commit while the database cannot be reached (src/pipeline/check.ts). */
  readonly databaseRetry?: RetryPolicy;
  /** BUILD_USER: each build runs as one of these users, the clone theirs while it runs (src/build/build-user.ts). */
  readonly buildUsers?: BuildUserPool | undefined;
}

export interface PipelineDeps {
  readonly git: GitClient;
  readonly results: Pick<ResultStore, 'lastPublishedSha'>;
  readonly layout: PublishLayout;
  readonly settings: PipelineSettings;
  /**
   * The checking (`resolve`: ls-remote and the last published sha), the work (clone onwards) and
   * the build command within it take slots of their own, so an unchanged repository never waits
   * for a build, and the next repositories clone while others build (src/pipeline/run-partition.ts).
   * Without them the steps run at once.
   */
  readonly slots?: Slots;
  /**
   * Aborted once a repository ran out of file descriptors: a row still waiting for its turn does
   * not start (src/pipeline/run-partition.ts); what has started goes on.
   */
  readonly holdBack?: AbortSignal;
}


/** The context grows step by step (STYLE 5). */
export interface Resolved {
  readonly row: RepositoryRow;
  readonly repository: RepositoryKey;
  readonly url: string;
  readonly workspace: string;
  /** Work begun before the database answered (see resolve): nothing is published until it does. */
  readonly early?: { readonly headSha: string; readonly changed: Promise<boolean> };
}
interface Cloned extends Resolved {
  readonly dir: string;
  readonly commitSha: string;
}
interface Planned extends Cloned {
  readonly plan: BuildPlan;
  readonly logFile: string;
}
interface Collected extends Planned {
  readonly artifacts: readonly CollectedArtifact[];
}

export type Finished = Partial<Pick<RepositoryOutcome, 'commitSha' | 'builder' | 'artifacts' | 'errorCode' | 'errorMessage' | 'logUrl' | 'alreadyPublished'>> & {
  readonly outcome: Outcome;
};

/** One repository, start to outcome. It never throws: a crash becomes `crashed`. */
export async function processRepository(row: RepositoryRow, deps: PipelineDeps, signal: AbortSignal, parentLog: Logger): Promise<RepositoryOutcome> {
  const { settings } = deps;
  const clock: Clock = { startedAt: undefined, waitedMs: 0 };
  const log = parentLog.child({ row: row.rowNumber, origin: row.origin, path: row.path });
  const { url } = splitUserinfo(row.cloneUrl);
  const repository: RepositoryKey = { cloneUrl: settings.scrub(url), branch: row.branch, origin: row.origin, path: row.path };
  const workspace = path.join(settings.workdir, settings.runId, `row-${row.rowNumber}`);
  let finished: Finished;
  try {
    finished = await runSteps({ row, repository, url, workspace }, deps, signal, log, clock);
  } catch (err) {
    finished = { commitSha: clock.commitSha, ...toFinished(err, signal, settings) };
  }
  const finishedAt = new Date();
  const startedAt = clock.startedAt ?? finishedAt;
  const result: RepositoryOutcome = {
    runId: settings.runId,
    rowNumber: row.rowNumber,
    origin: row.origin,
    path: row.path,
    branch: row.branch,
    cloneUrl: repository.cloneUrl,
    outcome: finished.outcome,
    commitSha: finished.commitSha,
    builder: finished.builder,
    artifacts: finished.artifacts,
    durationMs: Math.max(0, finishedAt.getTime() - startedAt.getTime() - clock.waitedMs),
    errorCode: finished.errorCode,
    errorMessage: finished.errorMessage === undefined ? undefined : settings.scrub(finished.errorMessage),
    logUrl: finished.logUrl,
    attempt: settings.attempt,
    startedAt,
    finishedAt,
    ...(finished.alreadyPublished ? { alreadyPublished: true } : {}),
  };
  // A row the signal kept from starting logs nothing, like the rows run-partition never began.
  if (result.errorCode === NOT_STARTED.errorCode) return result;
  const line = { outcome: result.outcome, durationMs: result.durationMs, commitSha: result.commitSha, errorCode: result.errorCode, alreadyPublished: result.alreadyPublished };
  // Stopped by a signal, it says nothing more; stopped by the database, it says what failed.
  const signalled = result.outcome === 'aborted' && !DATABASE_FAILURES.has(result.errorCode ?? '');
  if (isFailure(result.outcome) && !signalled) log.warn({ ...line, error: gist(result) }, 'Repository finished');
  else log.info(line, 'Repository finished');
  return result;
}

/**
 * A failure's final line says why (the database and the build log hold the whole message): of a
 * build's output, its first error line (`[ERROR] …`, `file:3: error: …`, as the report's excerpt
 * starts), failing that its last line, where make or cargo say what failed; the first line of any
 * other error.
 */
function gist({ outcome, errorMessage }: RepositoryOutcome): string | undefined {
  const lines = errorMessage?.split('\n').map((text) => text.trim()).filter(Boolean) ?? [];
  const line = BUILD_LOG_OUTCOMES.has(outcome) ? (lines.find((text) => BUILD_ERROR_LINE.test(text)) ?? lines.at(-1)) : lines[0];
  return line?.slice(0, 300);
}

async function runSteps(start: Resolved, deps: PipelineDeps, signal: AbortSignal, log: Logger, clock: Clock): Promise<Finished> {
  const { check, work, turn } = deps.slots ?? { check: NO_WAIT, work: NO_WAIT };
  let working: Promise<Finished> | undefined;
  try {
    const resolved = await check(async () => {
      const held = notStarted(signal, deps.holdBack);
      if (held) return held;
      clock.startedAt = new Date();
      // A row that waits for the database only to confirm it is unchanged lets the rows after it
      // queue for work meanwhile.
      return runStep('resolve', log, () => checkChanged(start, deps, signal, log, () => turn?.taken()));
    });
    if ('outcome' in resolved) return resolved;
    const queued = Date.now();
    await turn?.previous;
    // Calling the slot queues the work at once; the next row may queue after this.
    working = work(async () => {
      clock.waitedMs += Date.now() - queued;
      return notStarted(signal, deps.holdBack) ?? build(resolved, deps, signal, log, clock);
    });
  } finally {
    turn?.taken();
  }
  return working;
}

/** A repository stopped by a signal before any of its work began. */
export const NOT_STARTED = { outcome: 'aborted', errorCode: 'not_started', errorMessage: 'Not started: the processor received a termination signal' } as const;

/** A repository held back before any of its work began: the processor had run out of file descriptors. */
export const NOT_STARTED_WITHOUT_DESCRIPTORS = { ...NOT_STARTED, errorMessage: `Not started: the processor ran out of file descriptors; ${FD_EXHAUSTED_REMEDY}` } as const;

function notStarted(signal: AbortSignal, holdBack: AbortSignal | undefined): Finished | undefined {
  if (signal.aborted) return NOT_STARTED;
  return holdBack?.aborted ? NOT_STARTED_WITHOUT_DESCRIPTORS : undefined;
}

/**
 * Clone onwards: one repository's work, in a work slot; the clone and the build command wait for
 * slots of their own. The workspace is removed before the slot is given up, so the work slots
 * bound the workspaces on disk (removing a clone can take longer than building it).
 */
async function build(resolved: Resolved, deps: PipelineDeps, signal: AbortSignal, log: Logger, clock: Clock): Promise<Finished> {
  try {
    return await buildSteps(resolved, deps, signal, log, clock);
  } catch (err) {
    // Work begun before the database answered fails only if the repository changed.
    const unchanged = await unchangedAfterAll(resolved, log).catch(() => undefined);
    if (unchanged) return unchanged;
    throw err;
  } finally {
    if (!(await removeWorkspace(resolved.workspace))) log.warn({ workspace: resolved.workspace }, 'Workspace could not be removed');
  }
}

async function buildSteps(resolved: Resolved, deps: PipelineDeps, signal: AbortSignal, log: Logger, clock: Clock): Promise<Finished> {
  // A publish target skipped for not answering (its breaker open) would refuse what this work makes.
  const down = deps.layout.down?.();
  if (down) return (await unchangedAfterAll(resolved, log)) ?? { outcome: 'publish_failed', errorCode: down.code, errorMessage: down.message };
  const cloned = await inSlot(deps.slots?.clone, clock, async () => notStarted(signal, deps.holdBack) ?? runStep('clone', log, () => clone(resolved, deps, signal, log, clock)));
  if ('outcome' in cloned) return cloned;
  clock.commitSha = cloned.commitSha;
  const planned = await runStep('detect', log, () => detect(cloned));
  if ('outcome' in planned) return (await unchangedAfterAll(resolved, log)) ?? planned;
  // The target is asked before building: an unreachable or refusing target is a publish failure.
  if (!deps.settings.force && (await runStep('publish', log, () => deps.layout.isPublished(planned.repository, planned.commitSha)))) {
    log.info({ commitSha: planned.commitSha }, 'Commit already published at the target, build skipped');
    return (await unchangedAfterAll(resolved, log)) ?? { outcome: 'published', commitSha: planned.commitSha, builder: planned.plan.builder };
  }
  const built = await inSlot(deps.slots?.build, clock, async () => {
    // Cloned ahead, then stopped before its build began.
    if (signal.aborted) throw new AbortedError();
    return runStep('build', log, () => buildStep(planned, deps, signal, log));
  });
  const unchanged = await unchangedAfterAll(resolved, log);
  if (unchanged) return unchanged;
  if ('outcome' in built) return withLog(planned, deps, built, log);
  const collected = await runStep('collect', log, () => collect(built, deps, log));
  if ('outcome' in collected) return collected;
  return runStep('publish', log, () => publish(collected, deps, log));
}

async function clone(ctx: Resolved, deps: PipelineDeps, signal: AbortSignal, log: Logger, clock: Clock): Promise<Cloned> {
  const dir = path.join(ctx.workspace, 'src');
  try {
    const commitSha = await withRetry(
      deps.settings.gitRetry ?? GIT_RETRY,
      async () => {
        await removeWorkspace(ctx.workspace);
        await fs.mkdir(ctx.workspace, { recursive: true });
        return deps.git.clone(ctx.url, ctx.row.branch, dir, signal);
      },
      { signal, onRetry: (err, attempt) => log.warn({ attempt, err }, 'Clone failed, retrying') },
    );
    return { ...ctx, dir, commitSha };
  } catch (err) {
    // A part of the clone that failed after its checkout (a submodule, LFS files): the commit is known.
    clock.commitSha = await readHeadSha(dir).catch(() => undefined);
    throw err;
  }
}

async function detect(ctx: Cloned): Promise<Planned | Finished> {
  const plan = await planBuild(ctx.dir, ctx.row);
  if (!plan) return { outcome: 'no_build_tool', commitSha: ctx.commitSha };
  return { ...ctx, plan, logFile: path.join(ctx.workspace, 'build.log') };
}

async function buildStep(ctx: Planned, deps: PipelineDeps, signal: AbortSignal, log: Logger): Promise<Planned | Finished> {
  const { settings } = deps;
  const run = (user?: BuildUser) =>
    runBuild({
      command: ctx.plan.command,
      cwd: ctx.dir,
      env: { ...settings.buildEnv, CI: 'true', ...(user ? buildUserEnvironment(user) : {}) },
      logFile: ctx.logFile,
      timeoutMs: settings.buildTimeoutMs,
      scrub: settings.scrub,
      signal,
      user,
      onLogReplaced: () => log.warn({ logFile: ctx.logFile }, 'The build replaced its build.log: the log the processor wrote is published instead'),
    });
  const result = settings.buildUsers ? await settings.buildUsers.withUser((user) => buildAs(ctx, user, run)) : await run();
  if (result.status === 'succeeded') return ctx;
  if (result.status === 'aborted') throw new AbortedError();
  // The log is published by the caller (withLog), once it knows the work stands.
  return result.status === 'timed_out'
    ? { outcome: 'timed_out', errorCode: 'build_timeout', errorMessage: await tailOfLog(ctx.logFile) }
    : { outcome: 'build_failed', errorCode: result.signal ? `build_signal_${result.signal}` : `build_exit_${result.exitCode}`, errorMessage: await tailOfLog(ctx.logFile) };
}

/** The clone is the user's while it builds; the workspace (and its build.log) stays ours: the build may only pass through it. */
async function buildAs<T>(ctx: Planned, user: BuildUser, run: (user: BuildUser) => Promise<T>): Promise<T> {
  await fs.chmod(ctx.workspace, 0o711);
  await handOver(ctx.dir, user);
  return run(user).finally(() => takeBack(ctx.dir, user));
}

async function collect(ctx: Planned, deps: PipelineDeps, log: Logger): Promise<Collected | Finished> {
  try {
    // Built as BUILD_USER: every file of the build is the processor's again; any other is not the build's.
    const owner = deps.settings.buildUsers ? process.getuid?.() : undefined;
    return { ...ctx, artifacts: await collectArtifacts(ctx.dir, ctx.plan, owner) };
  } catch (err) {
    if (!(err instanceof StepError)) throw err;
    return withLog(ctx, deps, { outcome: 'build_failed', errorCode: err.code, errorMessage: err.message }, log);
  }
}

async function publish(ctx: Collected, deps: PipelineDeps, log: Logger): Promise<Finished> {
  const published = await deps.layout.publish({
    repository: ctx.repository,
    commitSha: ctx.commitSha,
    builder: ctx.plan.builder,
    artifacts: ctx.artifacts,
    logFile: ctx.logFile,
    startedAt: new Date(),
    runId: deps.settings.runId,
  });
  if (published.replacedConcurrent) log.warn({ commitSha: ctx.commitSha, logUrl: published.logUrl }, 'Commit published at the same time by another processor from other bytes: this build\'s artifacts and manifest replaced the other\'s');
  // Publishing a commit twice is a no-op (DESIGN §6), --force or not: what this build made is
  // dropped. Its final line says so; the partition warns once for all of them (run-partition.ts).
  const kept = published.alreadyPublished ? ({ alreadyPublished: true } as const) : {};
  return { outcome: 'published', commitSha: ctx.commitSha, builder: ctx.plan.builder, artifacts: published.artifacts, logUrl: published.logUrl, ...kept };
}

/**
 * A failed or timed-out build still publishes its log (DESIGN §5), without a manifest. The build's
 * outcome stands when that upload fails: it is recorded without a `log_url`, and the warning says why;
 * so it is when the commit is published already (DESIGN §6: nothing is uploaded then).
 */
async function withLog(ctx: Planned, deps: PipelineDeps, failure: Finished, log: Logger): Promise<Finished> {
  const base = { ...failure, commitSha: ctx.commitSha, builder: ctx.plan.builder };
  try {
    const logUrl = await deps.layout.publishLog(ctx.repository, ctx.commitSha, ctx.logFile);
    if (logUrl === undefined) log.warn({ commitSha: ctx.commitSha }, 'Commit already published at the target: the failed build\'s log was not uploaded beside it');
    return { ...base, logUrl };
  } catch (err) {
    log.warn({ err }, 'Build log not published');
    return base;
  }
}

const OUTCOME_OF_STEP: Record<StepName, Outcome> = {
  resolve: 'clone_failed',
  clone: 'clone_failed',
  detect: 'crashed',
  build: 'build_failed',
  collect: 'build_failed',
  publish: 'publish_failed',
  record: 'crashed',
};

function toFinished(err: unknown, signal: AbortSignal, { scrub, workdir }: Pick<PipelineSettings, 'scrub' | 'workdir'>): Finished {
  const cause = err instanceof StepFailure ? err.cause : err;
  if (cause instanceof AbortedError || signal.aborted) {
    return { outcome: 'aborted', errorCode: 'aborted', errorMessage: 'Stopped by a termination signal before it finished' };
  }
  // The processor's limit on open files, met in any step (git that could not start, a build's log,
  // a publish, a database connection): the machine's trouble, like a full disk, whatever the error says.
  if (err instanceof StepFailure && isOutOfDescriptors(cause)) {
    const said = cause instanceof StepError && cause.code === FD_EXHAUSTED ? cause : outOfDescriptors(`The ${err.step} step failed`, cause);
    return { outcome: OUTCOME_OF_STEP[err.step], errorCode: FD_EXHAUSTED, errorMessage: scrub(said.message) };
  }
  if (err instanceof StepFailure && cause instanceof StepError) {
    return { outcome: OUTCOME_OF_STEP[err.step], errorCode: cause.code, errorMessage: scrub(cause.message) };
  }
  // Outside a StepError, only the workspace's own writes (its directory, build.log, the clone's checkout) get here.
  // A full disk is the machine's trouble, not a bug of ours (`crashed`).
  if (err instanceof StepFailure && isDiskFull(cause)) {
    const message = `The work directory ${workdir} is full (${errorMessage(cause)}): ${WORKDIR_FULL_REMEDY}`;
    return { outcome: OUTCOME_OF_STEP[err.step], errorCode: 'workdir_full', errorMessage: scrub(message) };
  }
  // The database failed `resolve`, or the work begun before it answered (raised outside a step).
  if (cause instanceof InfrastructureError && DATABASE_FAILURES.has(cause.code)) {
    return { outcome: 'aborted', errorCode: cause.code, errorMessage: scrub(cause.message) };
  }
  return { outcome: 'crashed', errorCode: 'crashed', errorMessage: scrub(errorMessage(cause)) };
}

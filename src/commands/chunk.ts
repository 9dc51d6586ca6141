import fs from 'node:fs/promises';
import path from 'node:path';
import type { CommandContext } from './context.js';
import { commandLogger, openResults } from './context.js';
import type { Config } from '../config/config.js';
import { EXIT, UsageError, type ExitCode } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { Database } from '../results/database.js';
import { SqlResultStore } from '../results/result-store.js';
import { planChunk, type ChunkPlan } from '../chunk/plan.js';
import { renderPlan } from '../chunk/print-plan.js';
import { deriveInventory, type DerivedInventory } from '../chunk/only-subset.js';
import { hostEnvironment } from '../results/embedded-server.js';
import { openSharedDatabase } from '../chunk/local-database.js';
import { runLocal } from '../chunk/local-run.js';
import { submitToBatch } from '../chunk/submit-batch.js';

export interface ChunkOptions {
  readonly inventory: string;
  readonly mode: 'array' | 'jobs';
  readonly dryRun: boolean;
  readonly local: boolean;
  readonly parallel: number;
  readonly only: 'failed' | 'changed' | undefined;
  readonly run: string | undefined;
  readonly trigger: 'schedule' | 'manual' | undefined;
  /** The raw flags, for the few that map onto config. */
  readonly argv: Record<string, unknown>;
}

/**
 * `mass-ingest chunk`: counts and hashes the inventory, plans partitions, records the run and
 * submits the processor jobs to AWS Batch (DESIGN §2, §9) — or prints the plan (`--dry-run`), or
 * runs the partitions here (`--local`).
 */
export async function runChunk(options: ChunkOptions, context: CommandContext): Promise<ExitCode> {
  const { config } = context;
  checkOptions(options, config);
  const log = commandLogger(context, options.dryRun ? 2 : 1, { runId: config.runId });
  if (options.local && !options.dryRun) return chunkLocally(options, context, log);
  if (options.dryRun) return printPlan(options, context, log);
  return chunkOnBatch(options, context, log);
}

/** A dry run leaves nothing behind: a derived inventory is planned over, then removed. */
async function printPlan(options: ChunkOptions, context: CommandContext, log: Logger): Promise<ExitCode> {
  const { config } = context;
  const derived = options.only ? (await withDatabase(context, log, (database) => derive(options, config, database, log))).path : undefined;
  try {
    const plan = await planChunk(derived ?? options.inventory, config.partitionSize, { s3: config.s3 });
    context.stdout.write(renderPlan({ plan, mode: options.local ? 'local' : options.mode, runId: config.runId, ...config.batch, parallel: options.parallel }));
    return EXIT.ok;
  } finally {
    if (derived) await fs.rm(derived, { force: true });
  }
}

async function chunkOnBatch(options: ChunkOptions, context: CommandContext, log: Logger): Promise<ExitCode> {
  const { config } = context;
  const started = performance.now();
  // The database opens (connect, migrate) and the SDK loads while the inventory is read.
  const opening = openResults(context, log);
  opening.catch(() => undefined);
  const loadingSdk = import('../batch/batch-client.js');
  let plan: ChunkPlan;
  try {
    plan = await planChunk(options.inventory, config.partitionSize, { s3: config.s3 }, true);
  } catch (err) {
    await opening.then((database) => database.close(), () => undefined);
    throw err;
  }
  logPlan(log, plan);
  const database = await opening;
  const api = (await loadingSdk).createBatchApi(config);
  try {
    const summary = await submitToBatch({
      plan,
      mode: options.mode,
      trigger: options.trigger ?? 'manual',
      target: { runId: config.runId, jobQueue: config.batch.jobQueue ?? '', jobDefinition: config.batch.jobDefinition ?? '' },
      reportJobDefinition: config.batch.reportJobDefinition,
      database,
      results: new SqlResultStore(database),
      api,
      log,
      signal: context.signal,
    });
    log.info({ ...summary, ms: Math.round(performance.now() - started) }, 'Chunk submitted');
    await pruneOldRuns(database, config, log, context.signal);
    return EXIT.ok;
  } finally {
    api.destroy();
    await database.close();
  }
}

/** What pruning may add to a chunk job: a first prune over months of large runs goes on over several nights, never past the job's timeout. */
const PRUNE_BUDGET_MS = 5 * 60_000;

/**
 * RESULTS_RETENTION_DAYS (Terraform `results_retention_days`): the nightly chunk job removes the
 * runs that old once this one is submitted. A failure leaves them for the next night: the run
 * submitted is what counts.
 */
async function pruneOldRuns(database: Database, config: Config, log: Logger, signal: AbortSignal): Promise<void> {
  const { olderThanDays, keepRuns } = config.retention;
  if (olderThanDays === undefined) return;
  try {
    const { pruneFields, pruneRuns } = await import('../results/prune.js');
    // A signal stops it between two slices, as the time limit does: the run submitted is what counts.
    const summary = await pruneRuns(database, { olderThanDays, keepRuns, dryRun: false, now: new Date(), deadline: Date.now() + PRUNE_BUDGET_MS, signal }, log);
    if (summary.runs.length > 0) log.info(pruneFields({ olderThanDays, keepRuns }, summary), 'Old runs pruned');
    if (summary.unfinished) log.info({ budgetMs: PRUNE_BUDGET_MS }, signal.aborted ? 'Pruning stopped by a termination signal: the next chunk job goes on' : 'Pruning stopped at its time limit: the next chunk job goes on');
  } catch (err) {
    log.warn({ err, olderThanDays }, 'Pruning old runs failed; the next chunk job tries again');
  }
}

async function chunkLocally(options: ChunkOptions, context: CommandContext, log: Logger): Promise<ExitCode> {
  const { config } = context;
  const shared = await openSharedDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, embeddedHostEnv: hostEnvironment(config.env), parallel: options.parallel }, log);
  try {
    const derived = options.only ? await derive(options, config, shared.database, log) : undefined;
    const plan = await planChunk(derived?.path ?? options.inventory, config.partitionSize, { s3: config.s3 });
    logPlan(log, plan);
    const exitCode = await runLocal({
      plan,
      runId: config.runId,
      rerunOf: derived && options.only ? { runId: derived.fromRun, rows: options.only } : undefined,
      parallel: options.parallel,
      env: { ...config.env, ...shared.childEnv },
      flags: processorFlags(config),
      database: shared.database,
      results: new SqlResultStore(shared.database),
      source: { s3: config.s3 },
      scrub: config.scrub,
      log,
      signal: context.signal,
      stdout: context.stdout,
      stderr: context.stderr,
    });
    if (!context.signal.aborted) {
      await publishLocalReport(shared.database, context, log);
      await pruneOldRuns(shared.database, config, log, context.signal);
    }
    return exitCode;
  } finally {
    await shared.close();
  }
}

/** What the report job does on Batch, at the end of a local run (issue 9): finish, render, publish. */
async function publishLocalReport(database: Database, context: CommandContext, log: Logger): Promise<void> {
  const { reportOn } = await import('./report.js');
  try {
    await reportOn(database, { run: context.config.runId, format: 'html', publish: true }, context, log);
  } catch (err) {
    log.error({ err }, 'Publishing the run report failed; the run itself is recorded');
  }
}

async function derive(options: ChunkOptions, config: Config, database: Database, log: Logger): Promise<DerivedInventory> {
  const outputDir = path.join(path.dirname(config.dataDir), 'derived');
  return deriveInventory({ inventory: options.inventory, only: options.only ?? 'failed', run: options.run ?? 'last', outputDir, newRunId: config.runId, source: { s3: config.s3 } }, database, log);
}

async function withDatabase<T>(context: CommandContext, log: Logger, use: (database: Database) => Promise<T>): Promise<T> {
  const database = await openResults(context, log);
  try {
    return await use(database);
  } finally {
    await database.close();
  }
}

function logPlan(log: Logger, plan: ChunkPlan): void {
  log.info({ inventory: plan.inventoryShown, rows: plan.rows, sha256: plan.sha256, partitionSize: plan.partitionSize, partitions: plan.partitions }, 'Inventory planned');
}

/** Flags of this invocation that the partitions' `process` needs too. */
function processorFlags(config: Config): string[] {
  return [
    '--concurrency', String(config.concurrency),
    '--clone-ahead', String(config.cloneAhead),
    '--submodules', config.submodules,
    '--lfs', config.lfs,
    '--workdir', config.workdir,
    '--layout', config.publish.layout,
    '--log-level', config.logLevel,
    '--log-format', config.logFormat,
    ...(config.force ? ['--force'] : []),
    ...(config.strict ? ['--strict'] : []),
  ];
}

/** Every problem at once (STYLE 12); Batch settings are needed only when submitting. */
function checkOptions(options: ChunkOptions, config: Config): void {
  const problems: string[] = [];
  const submitting = !options.dryRun && !options.local;
  if (!Number.isInteger(options.parallel) || options.parallel < 1) problems.push(`--parallel must be an integer ≥ 1, got ${options.parallel}`);
  if (options.run !== undefined && options.only === undefined) problems.push('--run goes with --only: name which rows of that run to submit (--only failed or --only changed)');
  // On Batch the compute environment decides how many processors run at once.
  if (!options.local && options.argv.parallel !== undefined) problems.push('--parallel goes with --local: partitions run at once on this machine');
  if (submitting && !config.batch.jobQueue) problems.push('No job queue: set JOB_QUEUE or --job-queue (or use --dry-run / --local)');
  if (submitting && !config.batch.jobDefinition) problems.push('No processor job definition: set JOB_DEFINITION or --job-definition (or use --dry-run / --local)');
  if (submitting && !config.env.AWS_REGION && !config.env.AWS_DEFAULT_REGION) problems.push('No AWS region: set AWS_REGION');
  if (submitting && options.only) {
    problems.push('--only writes a derived inventory on this machine, which Batch jobs cannot read: use it with --local or --dry-run, or upload the derived file and run `chunk <its URI>`');
  }
  if (problems.length > 0) throw UsageError.listing('chunk_options_invalid', 'Cannot chunk', problems);
}

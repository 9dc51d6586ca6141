import type { CommandContext } from './context.js';
import { commandLogger, openResults } from './context.js';
import { EXIT, UsageError, type ExitCode } from '../errors.js';
import { pruneFields, pruneRuns } from '../results/prune.js';

export interface DbPruneOptions {
  readonly dryRun: boolean;
}

/**
 * `mass-ingest db prune --older-than DAYS`: removes the runs, partitions and results of runs older
 * than that (src/results/prune.ts), the newest `--keep-runs` kept. `--dry-run` lists them only.
 */
export async function runDbPrune(options: DbPruneOptions, context: CommandContext): Promise<ExitCode> {
  const { retention } = context.config;
  if (retention.olderThanDays === undefined) {
    throw new UsageError('usage', 'Name how old a run must be to go: mass-ingest db prune --older-than DAYS (or set RESULTS_RETENTION_DAYS)');
  }
  const log = commandLogger(context, 1);
  const database = await openResults(context, log, { existing: true });
  try {
    const settings = { olderThanDays: retention.olderThanDays, keepRuns: retention.keepRuns, dryRun: options.dryRun, now: new Date() };
    const summary = await pruneRuns(database, settings, log);
    const fields = pruneFields(settings, summary);
    if (options.dryRun) log.info(fields, 'Runs that would be pruned (dry run: nothing deleted)');
    else log.info(fields, summary.runs.length > 0 ? 'Old runs pruned' : 'No run old enough to prune');
    return EXIT.ok;
  } finally {
    await database.close();
  }
}

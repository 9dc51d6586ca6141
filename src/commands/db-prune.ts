import type { CommandContext } from './context.js';
import { commandLogger, openResults } from './context.js';
import { AbortedError, EXIT, UsageError, type ExitCode } from '../errors.js';
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
    const settings = { olderThanDays: retention.olderThanDays, keepRuns: retention.keepRuns, dryRun: options.dryRun, now: new Date(), signal: context.signal };
    const summary = await pruneRuns(database, settings, log);
    const fields = pruneFields(settings, summary);
    if (options.dryRun) log.info(fields, 'Runs that would be pruned (dry run: nothing deleted)');
    else if (summary.runs.length > 0) log.info(fields, 'Old runs pruned');
    else if (!summary.unfinished) log.info(fields, 'No run old enough to prune');
    // Only the signal stops `db prune` early (it has no deadline): the rest waits for the next prune.
    if (summary.unfinished) throw new AbortedError('Pruning stopped by a termination signal: the older runs left go at the next db prune');
    return EXIT.ok;
  } finally {
    await database.close();
  }
}

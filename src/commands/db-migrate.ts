import type { CommandContext } from './context.js';
import { commandLogger, openResults } from './context.js';
import { EXIT, type ExitCode } from '../errors.js';
import { migrationsApplied } from '../results/migrate.js';

/** `mass-ingest db migrate`: opening the database applies the migrations; the log says how many. */
export async function runDbMigrate(context: CommandContext): Promise<ExitCode> {
  const log = commandLogger(context, 1);
  const database = await openResults(context, log);
  await database.close();
  const applied = migrationsApplied(database);
  if (applied.length === 0) log.info({ database: database.kind }, 'Database schema is up to date');
  else log.info({ database: database.kind, applied: applied.length, migrations: applied }, 'Database migrations applied');
  return EXIT.ok;
}

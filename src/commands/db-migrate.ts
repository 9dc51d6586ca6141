import type { CommandContext } from './context.js';
import { commandLogger, openResults } from './context.js';
import { EXIT, type ExitCode } from '../errors.js';
import { migrationsApplied, unknownMigrations } from '../results/migrate.js';

/** `mass-ingest db migrate`: opening the database applies the migrations; the log says how many. */
export async function runDbMigrate(context: CommandContext): Promise<ExitCode> {
  const log = commandLogger(context, 1);
  const database = await openResults(context, log);
  let unknown: string[];
  try {
    unknown = await unknownMigrations(database);
  } finally {
    await database.close();
  }
  const applied = migrationsApplied(database);
  if (applied.length > 0) log.info({ database: database.kind, applied: applied.length, migrations: applied }, 'Database migrations applied');
  // An older mass-ingest against a schema a newer one migrated: not "up to date" for this version.
  if (unknown.length > 0) log.warn({ database: database.kind, unknown }, 'Database schema is newer than this mass-ingest: upgrade it before running it against this database');
  else if (applied.length === 0) log.info({ database: database.kind }, 'Database schema is up to date');
  return EXIT.ok;
}

import type { CommandContext } from './context.js';
import { commandLogger, openResults } from './context.js';
import { EXIT, type ExitCode } from '../errors.js';
import { databaseCreated } from '../results/database.js';
import { migrationsApplied, recordedMigrations, unknownMigrations } from '../results/migrate.js';

/**
 * `mass-ingest db migrate`: opening the database applies the migrations; the log says what that
 * did. A fresh embedded directory is created from the build's template, which holds the schema
 * already: that is "created", not "up to date" (nor "applied", unless this process applied some).
 */
export async function runDbMigrate(context: CommandContext): Promise<ExitCode> {
  const log = commandLogger(context, 1);
  const database = await openResults(context, log);
  let recorded: string[];
  try {
    recorded = await recordedMigrations(database);
  } finally {
    await database.close();
  }
  const unknown = await unknownMigrations(recorded);
  const applied = migrationsApplied(database);
  const schema = { database: database.kind, schemaVersion: recorded.at(-1) };
  if (databaseCreated(database)) {
    // `applied`: the migrations the template lacked (all of them when there is no template: initdb).
    log.info({ ...schema, dataDir: context.config.dataDir, migrations: recorded, ...(applied.length > 0 ? { applied: applied.length } : {}) }, 'Embedded database created');
    return EXIT.ok;
  }
  if (applied.length > 0) log.info({ ...schema, applied: applied.length, migrations: applied }, 'Database migrations applied');
  // An older mass-ingest against a schema a newer one migrated: not "up to date" for this version.
  if (unknown.length > 0) log.warn({ ...schema, unknown }, 'Database schema is newer than this mass-ingest: upgrade it before running it against this database');
  else if (applied.length === 0) log.info(schema, 'Database schema is up to date');
  return EXIT.ok;
}

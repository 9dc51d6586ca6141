import type { CommandContext } from './context.js';
import { commandLogger, openResults } from './context.js';
import { EXIT, type ExitCode } from '../errors.js';

/** `mass-ingest db migrate`: opening the database applies the migrations. */
export async function runDbMigrate(context: CommandContext): Promise<ExitCode> {
  const log = commandLogger(context, 1);
  const database = await openResults(context, log);
  await database.close();
  log.info({ database: database.kind }, 'Database schema is up to date');
  return EXIT.ok;
}

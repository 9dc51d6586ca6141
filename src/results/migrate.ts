import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import type { Logger } from '../logging/logger.js';
import type { Database } from './database.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

/**
 * Applies the SQL migrations in migrations/ (idempotent; every command runs it on start).
 * On one connection, waiting for the advisory lock: thousands of array children start at once.
 */
export async function migrateDatabase(database: Database, log: Logger): Promise<void> {
  await database.session((connection) => runMigrations(connection, log));
}

async function runMigrations(connection: Pick<Database, 'query'>, log: Logger): Promise<void> {
  const quiet = (message: string) => log.debug({ migration: message.trim() }, 'Migration');
  const client = {
    query: (textOrConfig: string | { text: string; values?: unknown[] }, values?: unknown[]) =>
      typeof textOrConfig === 'string'
        ? connection.query(textOrConfig, values)
        : connection.query(textOrConfig.text, textOrConfig.values),
  };
  await runner({
    advisoryLockMode: 'wait',
    dbClient: client as never,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: Infinity,
    singleTransaction: true,
    checkOrder: true,
    logger: { debug: quiet, info: quiet, warn: (m: string) => log.warn({ migration: m }, 'Migration warning'), error: (m: string) => log.error({ migration: m }, 'Migration error') },
  });
}

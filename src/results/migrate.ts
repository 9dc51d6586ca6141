import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logging/logger.js';
import type { Database } from './database.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));
const appliedOnOpen = new WeakMap<Database, readonly string[]>();

/**
 * Applies the SQL migrations in migrations/ (idempotent; every command runs it on start).
 * On one connection, waiting for the advisory lock: thousands of array children start at once.
 */
export async function migrateDatabase(database: Database, log: Logger): Promise<readonly string[]> {
  const applied = (await isUpToDate(database)) ? [] : await database.session((connection) => runMigrations(connection, log));
  appliedOnOpen.set(database, applied);
  return applied;
}

/**
 * The migrations this process applied when it opened `database` (empty: the schema was up to
 * date, or another process migrated it meanwhile). Opening migrates (src/results/database.ts),
 * so `db migrate` asks here what that did.
 */
export function migrationsApplied(database: Database): readonly string[] {
  return appliedOnOpen.get(database) ?? [];
}

/** The migrations the database records, oldest first: the last one is its schema version. */
export async function recordedMigrations(database: Pick<Database, 'query'>): Promise<string[]> {
  const { rows } = await database.query<{ name: string }>('SELECT name FROM pgmigrations ORDER BY run_on, id', []);
  return rows.map((row) => row.name);
}

/**
 * Of `recorded`, those this version does not ship: a newer mass-ingest migrated the database
 * (`db migrate` says so rather than "up to date").
 */
export async function unknownMigrations(recorded: readonly string[]): Promise<string[]> {
  const files = new Set((await fs.readdir(MIGRATIONS_DIR)).filter((name) => name.endsWith('.sql')).map((name) => path.basename(name, '.sql')));
  return recorded.filter((name) => !files.has(name));
}

/**
 * Every process migrates on start; when nothing is pending this check (a few ms) spares loading
 * and running node-pg-migrate (~0.4 s, bench/processor.js).
 */
async function isUpToDate(database: Database): Promise<boolean> {
  const files = (await fs.readdir(MIGRATIONS_DIR)).filter((name) => name.endsWith('.sql')).map((name) => path.basename(name, '.sql'));
  const { rows: table } = await database.query<{ present: boolean }>("SELECT to_regclass('public.pgmigrations') IS NOT NULL AS present", []);
  if (!table[0]?.present) return false;
  const { rows } = await database.query<{ name: string }>('SELECT name FROM pgmigrations', []);
  const applied = new Set(rows.map((row) => row.name));
  return files.every((name) => applied.has(name));
}

async function runMigrations(connection: Pick<Database, 'query'>, log: Logger): Promise<string[]> {
  const quiet = (message: string) => log.debug({ migration: message.trim() }, 'Migration');
  const client = {
    query: (textOrConfig: string | { text: string; values?: unknown[] }, values?: unknown[]) =>
      typeof textOrConfig === 'string'
        ? connection.query(textOrConfig, values)
        : connection.query(textOrConfig.text, textOrConfig.values),
  };
  const { runner } = await import('node-pg-migrate');
  const applied = await runner({
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
  return applied.map((migration) => migration.name);
}

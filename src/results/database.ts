import { cpSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { InfrastructureError, UsageError, errorMessage } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { acquireDirectoryLock, type DirectoryLock } from './directory-lock.js';
import { migrateDatabase } from './migrate.js';

/** The part of a PostgreSQL client that the result store uses: `pg` and PGlite both fit. */
export interface Database {
  readonly kind: 'postgres' | 'pglite';
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<{ rows: Row[] }>;
  /** Runs `work` on one connection: session state (advisory locks, BEGIN…COMMIT) stays on it. */
  session<T>(work: (connection: Pick<Database, 'query'>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface DatabaseSettings {
  databaseUrl: string | undefined;
  dataDir: string;
}

/** shared_buffers of 16 MB keeps a local run's peak RSS near 200 MiB instead of 300+ (bench/db-startup). */
export const PGLITE_START_PARAMS = [
  '--single', '-F', '-O', '-j',
  '-c', 'search_path=public', '-c', 'exit_on_error=false', '-c', 'log_checkpoints=false',
  '-c', 'max_worker_processes=0', '-c', 'max_parallel_workers=0', '-c', 'max_parallel_workers_per_gather=0',
  '-c', 'io_method=sync', '-c', 'max_parallel_maintenance_workers=0',
  '-c', 'shared_buffers=16MB',
];

const AUTH_OR_MISSING_DB = new Set(['28P01', '28000', '3D000']);

export async function openDatabase(settings: DatabaseSettings, log: Logger): Promise<Database> {
  const database = settings.databaseUrl
    ? await openPostgres(settings.databaseUrl)
    : await openPglite(settings.dataDir, log);
  try {
    await migrateDatabase(database, log);
  } catch (err) {
    await database.close();
    throw err instanceof UsageError || err instanceof InfrastructureError
      ? err
      : new InfrastructureError('db_migrate_failed', `Database migration failed: ${errorMessage(err)}`, err);
  }
  return database;
}

async function openPostgres(url: string): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 15_000 });
  pool.on('error', () => {
    // An idle client lost its connection: the next query reconnects or reports it.
  });
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    const code = (err as { code?: string }).code;
    if (code && AUTH_OR_MISSING_DB.has(code)) {
      throw new UsageError('db_auth_failed', `PostgreSQL refused DATABASE_URL (${code}): check the user, password and database name`, [], err);
    }
    throw new InfrastructureError('db_unreachable', `PostgreSQL at DATABASE_URL cannot be reached: ${errorMessage(err)}`, err);
  }
  const queryWith =
    (target: pg.Pool | pg.PoolClient) =>
    async <Row>(text: string, params?: readonly unknown[]) => {
      try {
        const result = await target.query(text, params as unknown[] | undefined);
        return { rows: result.rows as Row[] };
      } catch (err) {
        throw wrapQueryError(err);
      }
    };
  return {
    kind: 'postgres',
    query: queryWith(pool),
    session: async (work) => {
      const client = await pool.connect().catch((err: unknown) => Promise.reject(wrapQueryError(err)));
      try {
        return await work({ query: queryWith(client) });
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

function wrapQueryError(err: unknown): unknown {
  const code = (err as { code?: string }).code;
  // Connection-level failures (class 08, admin shutdown, ECONNRESET) are worth a Batch retry.
  if (code === undefined || code.startsWith('08') || code === '57P01' || code.startsWith('E')) {
    return new InfrastructureError('db_unreachable', `PostgreSQL query failed: ${errorMessage(err)}`, err);
  }
  return err;
}

async function openPglite(dataDir: string, log: Logger): Promise<Database> {
  await fs.mkdir(path.dirname(dataDir), { recursive: true });
  const lock: DirectoryLock = await acquireDirectoryLock(`${dataDir}.lock`);
  try {
    const fresh = !(await exists(path.join(dataDir, 'PG_VERSION')));
    if (fresh) await seedFromTemplate(dataDir, log);
    const { PGlite } = await import('@electric-sql/pglite');
    const started = Date.now();
    const db = await PGlite.create(dataDir, { startParams: PGLITE_START_PARAMS, relaxedDurability: false });
    log.debug({ dataDir, fresh, ms: Date.now() - started }, 'Embedded database opened');
    const query = async <Row>(text: string, params?: readonly unknown[]) => {
      if (params === undefined || params.length === 0) {
        // Migrations hand over several statements at once: only the simple protocol takes those.
        const results = await db.exec(text);
        return { rows: (results.at(-1)?.rows ?? []) as Row[] };
      }
      const result = await db.query<Row>(text, params as unknown[]);
      return { rows: result.rows };
    };
    return {
      kind: 'pglite',
      query,
      // PGlite has a single connection already.
      session: (work) => work({ query }),
      close: async () => {
        await db.close();
        await lock.release();
      },
    };
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/**
 * A fresh PGlite directory costs ~8 s and ~850 MiB to initdb; copying the directory made at
 * build time (scripts/pglite-template.js) costs a fraction of that.
 */
async function seedFromTemplate(dataDir: string, log: Logger): Promise<void> {
  const candidates = ['../pglite-template', '../../dist/pglite-template'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  const template = (await Promise.all(candidates.map(async (dir) => ((await exists(path.join(dir, 'PG_VERSION'))) ? dir : undefined)))).find(Boolean);
  if (template) {
    await fs.rm(dataDir, { recursive: true, force: true });
    // cpSync copies the ~1,000 small files about 1.6x faster than the promise-based cp.
    cpSync(template, dataDir, { recursive: true });
    log.debug({ dataDir }, 'Embedded database created from template');
  } else {
    log.info({ dataDir }, 'Creating embedded database (no template was built; this takes a few seconds)');
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

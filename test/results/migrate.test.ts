import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/results/database.js';
import { migrateDatabase, recordedMigrations } from '../../src/results/migrate.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

const log = pino({ level: 'silent' });
const LAST = '1764222700000_rerun-source';

/** The last migration is pending again, and it cannot apply: the table it alters is gone. */
async function breakLastMigration(database: Pick<Database, 'query'>): Promise<void> {
  await database.query('DELETE FROM pgmigrations WHERE name = $1', [LAST]);
  await database.query('ALTER TABLE ingest_runs RENAME TO ingest_runs_moved', []);
}

async function repair(database: Pick<Database, 'query'>): Promise<void> {
  await database.query('ALTER TABLE ingest_runs_moved RENAME TO ingest_runs', []);
}

describe('migrateDatabase when a migration fails, on PostgreSQL', () => {
  let server: PostgresServer;
  let tmp: TempDir;

  beforeAll(async () => {
    server = await startPostgres();
    tmp = await createTempDir('mass-ingest-migrate-');
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await tmp?.remove();
  });

  it('rolls the migration back, frees its lock for other processes, and applies it on the next try', async () => {
    const database = await openDatabase({ databaseUrl: server.url, dataDir: path.join(tmp.path, 'unused') }, log);
    try {
      await breakLastMigration(database);

      const failure = await migrateDatabase(database, log).catch((err: unknown) => err);
      const locks = await database.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'", []);
      const recorded = await recordedMigrations(database);
      await repair(database);
      const applied = await migrateDatabase(database, log);

      expect(String(failure)).toContain('ingest_runs');
      expect([locks.rows[0]?.n, recorded.includes(LAST), applied]).toEqual([0, false, [LAST]]);
    } finally {
      await database.close();
    }
  });
});

describe('openDatabase when a migration of the embedded database fails', () => {
  let tmp: TempDir;

  beforeAll(async () => {
    tmp = await createTempDir('mass-ingest-migrate-');
  });

  afterAll(async () => {
    await tmp?.remove();
  });

  it('fails with db_migrate_failed, leaves the directory unlocked, and migrates once repaired', async () => {
    const dataDir = path.join(tmp.path, 'db');
    const first = await openDatabase({ databaseUrl: undefined, dataDir }, log);
    await breakLastMigration(first);
    await first.close();

    const failure = (await openDatabase({ databaseUrl: undefined, dataDir }, log).catch((err: unknown) => err)) as { code?: string };
    const { PGlite } = await import('@electric-sql/pglite');
    const raw = await PGlite.create(dataDir);
    await repair({ query: async (text) => ({ rows: (await raw.query(text)).rows as never[] }) });
    await raw.close();
    const reopened = await openDatabase({ databaseUrl: undefined, dataDir }, log);
    const recorded = await recordedMigrations(reopened);
    await reopened.close();

    expect([failure.code, recorded.at(-1)]).toEqual(['db_migrate_failed', LAST]);
  });
});

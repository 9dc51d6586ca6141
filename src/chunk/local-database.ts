import type { Logger } from '../logging/logger.js';
import { openDatabase, type Database } from '../results/database.js';
import { PGLITE_START_PARAMS } from '../results/pglite-open.js';
import { acquireDirectoryLock } from '../results/directory-lock.js';
import { startPgliteServer } from '../results/pglite-server.js';

/**
 * The database of a `chunk --local` run, shared by the parent and its child processes.
 * With DATABASE_URL every process connects to it. Without it the embedded PGlite, which only
 * one process may open (src/results/directory-lock.ts), is opened by the parent and served to
 * the children over the PostgreSQL wire protocol on 127.0.0.1 (src/results/pglite-server.ts):
 * the children get a DATABASE_URL with a random per-run password, which their config scrubs
 * like any DATABASE_URL and keeps out of builds.
 */
export interface SharedDatabase {
  readonly database: Database;
  /** Added to every child's environment. */
  readonly childEnv: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

export async function openSharedDatabase(settings: { databaseUrl: string | undefined; dataDir: string }, log: Logger): Promise<SharedDatabase> {
  if (settings.databaseUrl) {
    const database = await openDatabase(settings, log);
    return { database, childEnv: {}, close: () => database.close() };
  }
  // The usual path creates the directory (from the build's template) and migrates it.
  await (await openDatabase(settings, log)).close();
  const lock = await acquireDirectoryLock(`${settings.dataDir}.lock`);
  const closers: Array<() => Promise<void>> = [() => lock.release()];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await close();
  };
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    const pglite = await PGlite.create(settings.dataDir, { startParams: PGLITE_START_PARAMS, relaxedDurability: false });
    closers.push(() => pglite.close());
    const server = await startPgliteServer(pglite);
    closers.push(() => server.close());
    const database = await openDatabase({ databaseUrl: server.url, dataDir: settings.dataDir }, log);
    closers.push(() => database.close());
    log.debug({ port: server.port }, 'Embedded database served to the partitions');
    return { database, childEnv: { DATABASE_URL: server.url }, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

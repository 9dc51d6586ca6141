import type { Logger } from '../logging/logger.js';
import { openDatabase, type Database } from '../results/database.js';
import { startEmbeddedServer } from '../results/embedded-server.js';

/**
 * The database of a `chunk --local` run, shared by the parent and its child processes.
 * With DATABASE_URL every process connects to it. Without it the embedded PGlite, which only
 * one process may open (src/results/directory-lock.ts), runs in its host process
 * (src/results/embedded-server.ts) and every process reaches it over the PostgreSQL wire protocol
 * on 127.0.0.1: the children get a DATABASE_URL with a random per-run password, which their
 * config scrubs like any DATABASE_URL and keeps out of builds.
 */
export interface SharedDatabase {
  readonly database: Database;
  /** Added to every child's environment. */
  readonly childEnv: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

export async function openSharedDatabase(
  settings: { databaseUrl: string | undefined; dataDir: string; embeddedHostEnv: Readonly<Record<string, string>> },
  log: Logger,
): Promise<SharedDatabase> {
  if (settings.databaseUrl) {
    const database = await openDatabase(settings, log);
    return { database, childEnv: {}, close: () => database.close() };
  }
  const host = await startEmbeddedServer(settings.dataDir, settings.embeddedHostEnv);
  try {
    const database = await openDatabase({ databaseUrl: host.url, dataDir: settings.dataDir }, log);
    log.debug({ dataDir: settings.dataDir }, 'Embedded database served to the partitions');
    return {
      database,
      childEnv: { DATABASE_URL: host.url },
      close: async () => {
        try {
          await database.close();
        } finally {
          await host.stop();
        }
      },
    };
  } catch (err) {
    await host.stop();
    throw err;
  }
}

import type { Logger } from '../logging/logger.js';
import { openDatabase, openHostedDatabase, type Database } from '../results/database.js';

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
  settings: { databaseUrl: string | undefined; dataDir: string; embeddedHostEnv: Readonly<Record<string, string>>; parallel: number },
  log: Logger,
): Promise<SharedDatabase> {
  if (settings.databaseUrl) {
    const database = await openDatabase(settings, log);
    return { database, childEnv: {}, close: () => database.close() };
  }
  // Its host serves this process and `parallel` processors at once: its limit on open files must hold all their connections.
  const { database, url } = await openHostedDatabase(settings.dataDir, settings.embeddedHostEnv, log, settings.parallel + 1);
  log.debug({ dataDir: settings.dataDir }, 'Embedded database served to the partitions');
  return { database, childEnv: { DATABASE_URL: url }, close: () => database.close() };
}

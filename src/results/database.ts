import pg from 'pg';
import { InfrastructureError, UsageError, errorMessage, isUntrustedCertificate, untrustedCertificateCode } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { CONNECTIONS_PER_PROCESS, startEmbeddedServer } from './embedded-server.js';
import { migrateDatabase } from './migrate.js';
import { openPglite } from './pglite-open.js';

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
  /**
   * Without DATABASE_URL: run PGlite in a host process of its own with this environment
   * (src/results/embedded-server.ts) instead of inside this one. Commands that spawn many
   * processes (process, chunk --local) want this; the others open it inline.
   */
  embeddedHostEnv?: Readonly<Record<string, string>> | undefined;
}

const AUTH_OR_MISSING_DB = new Set(['28P01', '28000', '3D000']);
const createdOnOpen = new WeakSet<Database>();

/**
 * Whether opening `database` created it: an embedded directory that held no database. It is
 * seeded from the build's pre-migrated template (src/results/pglite-open.ts), so opening it
 * applies no migration; `db migrate` says "created" rather than "up to date".
 */
export function databaseCreated(database: Database): boolean {
  return createdOnOpen.has(database);
}

export async function openDatabase(settings: DatabaseSettings, log: Logger): Promise<Database> {
  if (!settings.databaseUrl && settings.embeddedHostEnv) return (await openHostedDatabase(settings.dataDir, settings.embeddedHostEnv, log)).database;
  return migrated(settings.databaseUrl ? await openPostgres(settings.databaseUrl) : await openPgliteInline(settings, log), log);
}

/** Migrates an open database; one that cannot be migrated is closed. */
async function migrated(database: Database, log: Logger): Promise<Database> {
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
  const pool = new pg.Pool({ connectionString: url, max: CONNECTIONS_PER_PROCESS, connectionTimeoutMillis: 15_000 });
  pool.on('error', () => {
    // An idle client lost its connection: the next query reconnects or reports it.
  });
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    const code = (err as { code?: string }).code;
    // pg parses the URL only when it connects; one it cannot parse will never connect.
    if (code === 'ERR_INVALID_URL') {
      throw new UsageError('db_url_invalid', 'DATABASE_URL is not a valid URL: percent-encode any @ : / ? # or space in the user name and password (the value is not shown: it is a secret)');
    }
    const certificate = untrustedCertificateCode(err);
    if (certificate !== undefined) throw untrustedDatabase(certificate, err);
    if (isUnreadableSslFile(err)) {
      throw new UsageError('db_tls', `A TLS file named in DATABASE_URL (sslrootcert, sslcert or sslkey) cannot be read (${code}, ${(err as NodeJS.ErrnoException).path}): fix its path or permissions`, [], err);
    }
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

/**
 * The server's certificate is not trusted (self-signed, a private CA, another host's name): the same
 * on every attempt, so the user's to fix (exit 2), not an outage. pg verifies with Node's CAs plus
 * NODE_EXTRA_CA_CERTS, or with `sslrootcert` alone; it does not read PGSSLROOTCERT. pg 8 verifies
 * `sslmode=require` as `verify-full`; `uselibpqcompat=true` gives libpq's unverified `require`.
 */
function untrustedDatabase(code: string, err: unknown): UsageError {
  return new UsageError(
    'db_tls',
    `PostgreSQL at DATABASE_URL failed TLS verification (${code}): the server's certificate is not trusted; give its CA with sslrootcert=/path/ca.pem in DATABASE_URL or NODE_EXTRA_CA_CERTS=/path/ca.pem (PGSSLROOTCERT is not read), or check the host name in DATABASE_URL`,
    [],
    err,
  );
}

/** pg reads `sslrootcert`, `sslcert` and `sslkey` files as it connects: a missing one is configuration, not an outage. */
function isUnreadableSslFile(err: unknown): boolean {
  const { syscall, path } = err as NodeJS.ErrnoException;
  return typeof path === 'string' && (syscall === 'open' || syscall === 'read');
}

/** SQLSTATE disk_full: the server (or the embedded database's directory) has no room for what it writes. */
const DISK_FULL = '53100';

/** A query's error as the command sees it: the server's trouble is an InfrastructureError (exit 3), the rest as it is. */
export function wrapQueryError(err: unknown): unknown {
  const code = (err as { code?: string }).code;
  // Reachable, and answering: class 53 alone would read "unreachable" and hide what to do.
  if (code === DISK_FULL) {
    return new InfrastructureError('db_disk_full', `PostgreSQL has no disk space left (${errorMessage(err)}): free space where the database keeps its files (MASS_INGEST_DATA_DIR for the embedded database), then run again`, err);
  }
  // Connection-level failures (class 08; 53: too many connections, out of memory or disk; 57P:
  // shut down, starting up; ECONNRESET) are worth a Batch retry. So is a certificate not trusted
  // on a new connection mid-run (a server restarted with another certificate): the rows are
  // `aborted`, not `crashed`, and the retried job meets it as db_tls (exit 2) when it opens.
  if (code === undefined || code.startsWith('08') || code.startsWith('53') || code.startsWith('57P') || code.startsWith('E') || isUntrustedCertificate(err)) {
    return new InfrastructureError('db_unreachable', `PostgreSQL query failed: ${errorMessage(err)}`, err);
  }
  return err;
}

async function openPgliteInline({ dataDir }: DatabaseSettings, log: Logger): Promise<Database> {
  const opened = await openPglite(dataDir);
  log.debug({ dataDir, fresh: opened.fresh, ms: opened.createMs }, 'Embedded database opened');
  const { db } = opened;
  const query = async <Row>(text: string, params?: readonly unknown[]) => {
    if (params === undefined || params.length === 0) {
      // Migrations hand over several statements at once: only the simple protocol takes those.
      const results = await db.exec(text);
      return { rows: (results.at(-1)?.rows ?? []) as Row[] };
    }
    const result = await db.query<Row>(text, params as unknown[]);
    return { rows: result.rows };
  };
  const database: Database = {
    kind: 'pglite',
    query,
    // PGlite has a single connection already.
    session: (work) => work({ query }),
    close: () => opened.close(),
  };
  if (opened.fresh) createdOnOpen.add(database);
  return database;
}

/**
 * The embedded database in a host process of its own (src/results/embedded-server.ts), reached
 * with `pg` and migrated. `url` (with the host's password) is for other processes of the same run
 * (chunk --local hands it to its children; `clients` counts them and this one); closing the
 * database stops the host.
 */
export async function openHostedDatabase(dataDir: string, env: Readonly<Record<string, string>>, log: Logger, clients = 1): Promise<{ database: Database; url: string }> {
  const host = await startEmbeddedServer(dataDir, env, clients);
  log.debug({ dataDir, fresh: host.fresh, ms: host.createMs }, 'Embedded database opened');
  let connected: Database;
  try {
    connected = await openPostgres(host.url);
  } catch (err) {
    await host.stop();
    throw err;
  }
  const close = async () => {
    try {
      await connected.close();
    } finally {
      await host.stop();
    }
  };
  const database: Database = { ...connected, kind: 'pglite', close };
  if (host.fresh) createdOnOpen.add(database);
  return { database: await migrated(database, log), url: host.url };
}

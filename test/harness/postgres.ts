import { existsSync, readFileSync, rmSync } from 'node:fs';
import { appendFile, chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { selfSignedCertificate } from '../fakes/tls.js';
import { PortInUseError, startOnFreePort } from './free-port.js';
import { cleanUpOnExit, isRoot, runCommand } from './process.js';
import { createTempDir, type TempDir } from './tmp.js';

export interface PostgresOptions {
  user?: string;
  password?: string;
  database?: string;
  startTimeoutMs?: number;
  /** `ssl = on` with a self-signed certificate for 127.0.0.1 (openssl): one Node does not trust. */
  ssl?: boolean;
}

export interface PostgresServer {
  /** postgres://user:password@127.0.0.1:port/database, password-authenticated (scram-sha-256). */
  url: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** With `ssl`: the server's self-signed certificate, its own CA (for NODE_EXTRA_CA_CERTS or sslrootcert). */
  certFile: string | undefined;
  stop(): Promise<void>;
}

const DEBIAN_BINDIR = '/usr/lib/postgresql/15/bin';
const OS_USER = 'postgres';

// Speed over durability: every cluster is thrown away after its test file.
const SERVER_SETTINGS = [
  "listen_addresses = '127.0.0.1'",
  'fsync = off',
  'synchronous_commit = off',
  'full_page_writes = off',
  'shared_buffers = 16MB',
  'max_connections = 40',
  "log_min_messages = 'warning'",
];

/**
 * Starts a throwaway PostgreSQL cluster on a free port of 127.0.0.1, with a login role and a
 * database owned by it. As root, the server runs as the `postgres` OS user (it refuses root).
 */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const user = options.user ?? 'mass';
  const password = options.password ?? 'secretpw';
  const database = options.database ?? 'mass';
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const bindir = await findPostgresBinDir();
  const dir = await createTempDir('mass-ingest-pg-');
  const cluster = new Cluster(bindir, dir);
  try {
    await cluster.init();
    const certFile = options.ssl ? await cluster.enableSsl() : undefined;
    const port = await startOnFreePort((candidate) => cluster.start(candidate, timeoutMs));
    await createLoginDatabase(cluster.socketDir, port, { user, password, database });
    const url = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
    await checkPasswordLogin(url, () => cluster.log());
    return { url, port, user, password, database, certFile, stop: () => cluster.stop() };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

async function findPostgresBinDir(): Promise<string> {
  const candidates: string[] = [];
  try {
    candidates.push((await runCommand('pg_config', ['--bindir'])).stdout.trim());
  } catch {
    // pg_config is optional; fall back to Debian's layout.
  }
  candidates.push(DEBIAN_BINDIR);
  const found = candidates.find((dir) => ['initdb', 'pg_ctl', 'postgres'].every((bin) => existsSync(join(dir, bin))));
  if (!found) {
    throw new Error(
      `PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in ${candidates.join(' or ')}; ` +
        'install them with `bash .ci/install.sh` (Debian package postgresql-15)',
    );
  }
  return found;
}

class Cluster {
  readonly dataDir: string;
  readonly socketDir: string;
  private readonly logFile: string;
  private unregisterExitHook: (() => void) | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly bindir: string,
    private readonly dir: TempDir,
  ) {
    this.dataDir = join(dir.path, 'data');
    this.socketDir = dir.path;
    this.logFile = join(dir.path, 'postgres.log');
  }

  async init(): Promise<void> {
    if (isRoot()) await runCommand('chown', [`${OS_USER}:`, this.dir.path]);
    await this.runAsOwner('initdb', [
      '--pgdata', this.dataDir,
      '--username', 'postgres',
      // The socket lives in this private temp dir; TCP logins must present the password.
      '--auth-local', 'trust',
      '--auth-host', 'scram-sha-256',
      '--encoding', 'UTF8',
      '--locale', 'C',
      '--no-sync',
    ]);
    const settings = [...SERVER_SETTINGS, `unix_socket_directories = '${this.socketDir}'`];
    await appendFile(join(this.dataDir, 'postgresql.conf'), `\n# test harness\n${settings.join('\n')}\n`);
  }

  /** A self-signed certificate and key in the cluster's directory; the server refuses a key others can read. */
  async enableSsl(): Promise<string> {
    const { certFile, keyFile } = selfSignedCertificate(this.dir.path);
    await chmod(keyFile, 0o600);
    if (isRoot()) await runCommand('chown', [`${OS_USER}:`, keyFile, certFile]);
    await appendFile(join(this.dataDir, 'postgresql.conf'), `ssl = on\nssl_cert_file = '${certFile}'\nssl_key_file = '${keyFile}'\n`);
    return certFile;
  }

  async start(port: number, timeoutMs: number): Promise<number> {
    const timeoutSeconds = String(Math.ceil(timeoutMs / 1000));
    try {
      await this.runAsOwner('pg_ctl', ['--pgdata', this.dataDir, '--log', this.logFile, '--wait', '--timeout', timeoutSeconds, '-o', `-p ${port}`, 'start']);
    } catch (err) {
      const log = await this.log();
      if (log.includes('Address already in use')) throw new PortInUseError(port);
      throw new Error(`PostgreSQL did not start on 127.0.0.1:${port} within ${timeoutMs} ms\n--- log ---\n${log}`, { cause: err });
    }
    const pid = Number(readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const dirPath = this.dir.path;
    this.unregisterExitHook = cleanUpOnExit(() => {
      process.kill(pid, 'SIGQUIT'); // immediate shutdown
      rmSync(dirPath, { recursive: true, force: true });
    });
    return port;
  }

  log(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '(no log written)');
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutDown();
    return this.stopping;
  }

  private async shutDown(): Promise<void> {
    const pidFile = join(this.dataDir, 'postmaster.pid');
    if (existsSync(pidFile)) {
      try {
        await this.runAsOwner('pg_ctl', ['--pgdata', this.dataDir, '--mode', 'immediate', '--wait', '--timeout', '10', 'stop']);
      } catch {
        killPostmaster(pidFile);
      }
    }
    this.unregisterExitHook?.();
    await this.dir.remove();
  }

  private runAsOwner(bin: string, args: string[]): Promise<unknown> {
    const path = join(this.bindir, bin);
    // cwd: the server user may not be allowed into the caller's working directory.
    const options = { cwd: this.dir.path, timeoutMs: 60_000 };
    return isRoot() ? runCommand('runuser', ['-u', OS_USER, '--', path, ...args], options) : runCommand(path, args, options);
  }
}

function killPostmaster(pidFile: string): void {
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8').split('\n')[0]), 'SIGKILL');
  } catch {
    // Already gone.
  }
}

async function createLoginDatabase(
  socketDir: string,
  port: number,
  login: { user: string; password: string; database: string },
): Promise<void> {
  const admin = new pg.Client({ host: socketDir, port, user: 'postgres', database: 'postgres' });
  await admin.connect();
  try {
    const role = admin.escapeIdentifier(login.user);
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD ${admin.escapeLiteral(login.password)}`);
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(login.database)} OWNER ${role}`);
  } finally {
    await admin.end();
  }
}

async function checkPasswordLogin(url: string, log: () => Promise<string>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    throw new Error(`PostgreSQL started but a password login over TCP failed: ${String(err)}\n--- log ---\n${await log()}`, { cause: err });
  } finally {
    await client.end().catch(() => undefined);
  }
}

// A throwaway PostgreSQL 15 on a free port of 127.0.0.1 (as test/harness/postgres.ts does), with
// the server's default durability settings (fsync and synchronous_commit on): a bench measures
// what production pays, unlike the test harness, which turns them off for speed.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { onCleanUp, onExitSync, run, runChecked } from './common.js';

const BINDIRS = ['/usr/lib/postgresql/15/bin'];
const OS_USER = 'postgres';
const isRoot = () => process.getuid?.() === 0;

async function findBinDir() {
  const fromPgConfig = await run('pg_config', ['--bindir']).then((r) => (r.code === 0 ? r.stdout.trim() : undefined), () => undefined);
  const found = [...BINDIRS, fromPgConfig].filter(Boolean).find((dir) => ['initdb', 'pg_ctl', 'postgres'].every((bin) => fs.existsSync(path.join(dir, bin))));
  if (!found) throw new Error('PostgreSQL 15 server binaries not found; install them with `bash .ci/install.sh` (Debian package postgresql-15)');
  return found;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts PostgreSQL with its data under `dir` (created here; owned by the `postgres` OS user when
 * we are root, since the server refuses to run as root). Returns { version, createDatabase, stop }.
 */
export async function startPostgres(dir) {
  const bindir = await findBinDir();
  fs.mkdirSync(dir, { recursive: true });
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  if (isRoot()) {
    // The server user must be able to reach its directory inside our private temp root.
    for (let d = path.dirname(dir); d !== path.dirname(d) && d.includes('mass-ingest-bench-'); d = path.dirname(d)) fs.chmodSync(d, 0o711);
    await runChecked('chown', [`${OS_USER}:`, dir]);
  }
  const asOwner = (bin, args) => {
    const binary = path.join(bindir, bin);
    const options = { cwd: dir, timeoutMs: 60_000 };
    return isRoot() ? runChecked('runuser', ['-u', OS_USER, '--', binary, ...args], options) : runChecked(binary, args, options);
  };
  await asOwner('initdb', ['--pgdata', dataDir, '--username', 'postgres', '--auth', 'trust', '--encoding', 'UTF8', '--locale', 'C', '--no-sync']);
  const port = await freePort();
  fs.appendFileSync(
    path.join(dataDir, 'postgresql.conf'),
    `\n# bench\nlisten_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = '${dir}'\nlog_min_messages = 'warning'\n`,
  );
  await asOwner('pg_ctl', ['--pgdata', dataDir, '--log', logFile, '--wait', '--timeout', '60', 'start']);
  const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const kill = () => {
    try {
      process.kill(pid, 'SIGQUIT'); // immediate shutdown
    } catch {
      // Already gone.
    }
  };
  const unhook = onExitSync(kill);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await asOwner('pg_ctl', ['--pgdata', dataDir, '--mode', 'immediate', '--wait', '--timeout', '20', 'stop']).catch(kill);
    unhook();
  };
  onCleanUp(stop);
  const version = (await run(path.join(bindir, 'postgres'), ['--version'])).stdout.trim().replace(/^postgres \(PostgreSQL\) /, 'PostgreSQL ');
  const base = `postgres://postgres@127.0.0.1:${port}`;
  /** A new, empty database on this server; returns its URL. */
  const createDatabase = async (name) => {
    const admin = new pg.Client({ connectionString: `${base}/postgres` });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
    } finally {
      await admin.end();
    }
    return `${base}/${name}`;
  };
  return { version, createDatabase, stop };
}

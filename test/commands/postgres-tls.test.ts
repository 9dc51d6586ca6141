import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli } from '../harness/cli.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

/** DATABASE_URL to a PostgreSQL with ssl = on and a self-signed certificate Node does not trust. */
const PG_PASSWORD = 'pg-Tls-Secret-3131';

let tmp: TempDir;
let postgres: PostgresServer;
let inventory: string;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-pg-tls-');
  postgres = await startPostgres({ password: PG_PASSWORD, ssl: true });
  inventory = path.join(tmp.path, 'repos.csv');
  await fs.writeFile(inventory, 'cloneUrl,branch,origin,path\nhttps://git.test/o/r.git,main,git.test,o/r\n');
});

afterAll(async () => {
  await postgres?.stop();
  await tmp?.remove();
});

const UNTRUSTED =
  "mass-ingest: PostgreSQL at DATABASE_URL failed TLS verification (DEPTH_ZERO_SELF_SIGNED_CERT): the server's certificate is not trusted; give its CA with sslrootcert=/path/ca.pem in DATABASE_URL or NODE_EXTRA_CA_CERTS=/path/ca.pem (PGSSLROOTCERT is not read), or check the host name in DATABASE_URL [db_tls]";

describe('DATABASE_URL to a server whose TLS certificate is not trusted', () => {
  it('is a configuration error (exit 2, db_tls) for process, db migrate and report, naming how to trust the CA and never showing the URL', async () => {
    const env = baseEnv({ DATABASE_URL: `${postgres.url}?sslmode=verify-full` });

    const results = await Promise.all([
      runCli(['process', inventory, '--run-id', 'tls', '--workdir', path.join(tmp.path, 'work')], { env }),
      runCli(['db', 'migrate'], { env }),
      runCli(['report', '--run', 'tls'], { env }),
    ]);

    expect(results.map((result) => result.code)).toEqual([2, 2, 2]);
    for (const result of results) {
      expect(result.stderr.trim().split('\n').at(-1)).toBe(UNTRUSTED);
      expect(result.stdout + result.stderr).not.toContain(PG_PASSWORD);
    }
  });

  it('verifies sslmode=require too (pg 8 reads it as verify-full); uselibpqcompat=true gives libpq\'s unverified require', async () => {
    const require = await runCli(['db', 'migrate'], { env: baseEnv({ DATABASE_URL: `${postgres.url}?sslmode=require` }) });
    const libpq = await runCli(['db', 'migrate'], { env: baseEnv({ DATABASE_URL: `${postgres.url}?uselibpqcompat=true&sslmode=require` }) });

    expect([require.code, libpq.code]).toEqual([2, 0]);
    expect(require.stderr).toContain('[db_tls]');
  });

  it('trusts the CA given as sslrootcert in DATABASE_URL or by NODE_EXTRA_CA_CERTS, not by PGSSLROOTCERT', async () => {
    const ca = postgres.certFile!;
    const verifyFull = `${postgres.url}?sslmode=verify-full`;

    const results = await Promise.all([
      runCli(['db', 'migrate'], { env: baseEnv({ DATABASE_URL: `${verifyFull}&sslrootcert=${encodeURIComponent(ca)}` }) }),
      runCli(['db', 'migrate'], { env: baseEnv({ DATABASE_URL: verifyFull, NODE_EXTRA_CA_CERTS: ca }) }),
      runCli(['db', 'migrate'], { env: baseEnv({ DATABASE_URL: verifyFull, PGSSLROOTCERT: ca }) }),
    ]);

    expect(results.map((result) => result.code)).toEqual([0, 0, 2]);
  });

  it('is a configuration error (exit 2) when sslrootcert names a file that cannot be read', async () => {
    const missing = path.join(tmp.path, 'absent-ca.pem');

    const result = await runCli(['db', 'migrate'], { env: baseEnv({ DATABASE_URL: `${postgres.url}?sslmode=verify-full&sslrootcert=${encodeURIComponent(missing)}` }) });

    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n').at(-1)).toBe(
      `mass-ingest: A TLS file named in DATABASE_URL (sslrootcert, sslcert or sslkey) cannot be read (ENOENT, ${missing}): fix its path or permissions [db_tls]`,
    );
    expect(result.stdout + result.stderr).not.toContain(PG_PASSWORD);
  });
});

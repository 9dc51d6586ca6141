import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli } from '../harness/cli.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';

/** `db migrate` against a real, empty PostgreSQL: the log says what it applied. */
const MIGRATIONS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

let postgres: PostgresServer;

beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);

afterAll(async () => {
  await postgres?.stop();
});

describe('mass-ingest db migrate', () => {
  it('says how many migrations it applied to an empty database, and "up to date" once none are pending', async () => {
    const env = baseEnv({ DATABASE_URL: postgres.url });
    const migrations = (await fs.readdir(MIGRATIONS)).filter((name) => name.endsWith('.sql')).map((name) => name.slice(0, -'.sql'.length)).sort();

    const first = await runCli(['db', 'migrate'], { env });
    const second = await runCli(['db', 'migrate'], { env });

    expect([first.code, second.code]).toEqual([0, 0]);
    expect(first.logs.at(-1)).toMatchObject({ msg: 'Database migrations applied', database: 'postgres', applied: migrations.length, migrations });
    expect(second.logs.at(-1)).toMatchObject({ msg: 'Database schema is up to date', database: 'postgres' });
    expect(second.logs.at(-1)).not.toHaveProperty('applied');
  });

  it('refuses a DATABASE_URL it cannot parse with exit 2, without showing it', async () => {
    const url = 'postgres://ingest:p w0rd-Secret@[::1/mass_ingest';

    const result = await runCli(['db', 'migrate'], { env: baseEnv({ DATABASE_URL: url }) });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('DATABASE_URL is not a valid URL: percent-encode');
    expect(result.stdout + result.stderr).not.toContain('w0rd-Secret');
  });
});

import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, collect, parseLogs, spawnCli } from '../harness/cli.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { waitFor } from '../harness/wait.js';
import { makeFixture, type Fixture } from './process-fixtures.js';

// PostgreSQL out of reach for a while in the middle of a run (a failover, a restart): the outcomes
// that could not be written then are written once it is back, and the run ends as if nothing happened.

let tmp: TempDir;
let postgres: PostgresServer;
let fixture: Fixture;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-pg-outage-');
  const release = path.join(tmp.path, 'release');
  fixture = await makeFixture(tmp.path, [
    ['acme/quick', { Makefile: 'all:\n\tmkdir -p dist && echo ok > dist/ok.txt\n' }],
    // Waits (at most a minute) for the test to say it may finish.
    ['acme/waiting', { Makefile: `all:\n\tfor i in $$(seq 600); do [ -f ${release} ] && break; sleep 0.1; done\n\tmkdir -p dist && echo ok > dist/ok.txt\n` }],
  ]);
  postgres = await startPostgres();
});

afterAll(async () => {
  await postgres?.stop();
  await tmp?.remove();
});

describe('mass-ingest process when PostgreSQL goes away during the run', () => {
  it('writes the outcomes it could not write once PostgreSQL is back, and exits 0', async () => {
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    try {
      const env = baseEnv({ DATABASE_URL: postgres.url, PUBLISH_URL: path.join(tmp.path, 'artifacts'), MASS_INGEST_WORKDIR: path.join(tmp.path, 'work') });
      const child = spawnCli(['process', fixture.inventory, '--concurrency', '2', '--run-id', 'outage'], { env });
      let stdout = '';
      child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      const ended = collect(child);
      const logged = (msg: string, row?: number) => parseLogs(stdout).find((line) => line.msg === msg && (row === undefined || line.row === row));
      await waitFor(async () => logged('Repository finished', 1), { what: 'the quick repository to finish', timeoutMs: 60_000, intervalMs: 100 });

      // No new connection to the database, and the processor's own closed.
      await admin.query(`ALTER DATABASE ${postgres.database} CONNECTION LIMIT 0`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
      const failed = await waitFor(async () => logged('Recording outcomes failed, will retry'), { what: 'a write to fail', timeoutMs: 30_000, intervalMs: 100 });
      await admin.query(`ALTER DATABASE ${postgres.database} CONNECTION LIMIT -1`);
      await fs.writeFile(path.join(tmp.path, 'release'), '');
      const result = await ended;

      expect(failed).toMatchObject({ level: 40, count: 1 });
      expect(result.code, result.stderr).toBe(0);
      const { rows } = await admin.query<{ row_number: number; outcome: string }>("SELECT row_number, outcome FROM repository_results WHERE run_id = 'outage' ORDER BY row_number");
      expect(rows).toEqual([
        { row_number: 1, outcome: 'published' },
        { row_number: 2, outcome: 'published' },
      ]);
      const partitions = await admin.query<{ status: string }>("SELECT status FROM run_partitions WHERE run_id = 'outage'");
      expect(partitions.rows).toEqual([{ status: 'succeeded' }]);
    } finally {
      await admin.query(`ALTER DATABASE ${postgres.database} CONNECTION LIMIT -1`).catch(() => undefined);
      await admin.end();
    }
  }, 120_000);

  it('exits 3 naming the database when it stays away to the end, with the outcomes written before it left', async () => {
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await fs.rm(path.join(tmp.path, 'release'), { force: true });
    try {
      const env = baseEnv({ DATABASE_URL: postgres.url, PUBLISH_URL: path.join(tmp.path, 'artifacts-2'), MASS_INGEST_WORKDIR: path.join(tmp.path, 'work') });
      const child = spawnCli(['process', fixture.inventory, '--concurrency', '2', '--run-id', 'outage-2', '--force'], { env });
      const ended = collect(child);
      await waitFor(async () => (await admin.query("SELECT 1 FROM repository_results WHERE run_id = 'outage-2'")).rows[0], { what: 'the quick repository\'s outcome to be written', timeoutMs: 60_000, intervalMs: 100 });

      await admin.query(`ALTER DATABASE ${postgres.database} CONNECTION LIMIT 0`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
      await fs.writeFile(path.join(tmp.path, 'release'), '');
      const result = await ended;

      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/mass-ingest: PostgreSQL query failed: .*too many connections for database "mass" \[db_unreachable\]/);
      expect(parseLogs(result.stdout).find((line) => line.msg === 'Recording outcomes failed')).toMatchObject({ level: 50, count: 1 });
      await admin.query(`ALTER DATABASE ${postgres.database} CONNECTION LIMIT -1`);
      const { rows } = await admin.query<{ row_number: number }>("SELECT row_number FROM repository_results WHERE run_id = 'outage-2'");
      expect(rows).toEqual([{ row_number: 1 }]);
    } finally {
      await admin.query(`ALTER DATABASE ${postgres.database} CONNECTION LIMIT -1`).catch(() => undefined);
      await admin.end();
    }
  }, 120_000);
});

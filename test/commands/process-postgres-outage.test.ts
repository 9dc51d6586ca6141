import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, collect, parseLogs, runCli, spawnCli } from '../harness/cli.js';
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
      expect(result.stderr).toMatch(/mass-ingest: PostgreSQL query failed: .*too many connections for database "mass"; 1 outcome was not recorded \(row 2\) \[db_unreachable\]/);
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

describe('mass-ingest process when PostgreSQL fails the checks of repositories', () => {
  it('records them aborted with db_unreachable, not crashed, publishes nothing for them, and exits 3', async () => {
    const { quick, waiting } = { quick: fixture.repos['acme/quick'], waiting: fixture.repos['acme/waiting'] };
    const publishUrl = path.join(tmp.path, 'artifacts-3');
    const env = baseEnv({ DATABASE_URL: postgres.url, PUBLISH_URL: publishUrl, MASS_INGEST_WORKDIR: path.join(tmp.path, 'work') });
    const header = 'cloneUrl,branch,origin,path';
    const first = path.join(tmp.path, 'first.csv');
    const both = path.join(tmp.path, 'both.csv');
    await fs.writeFile(first, `${header}\n${quick?.path},main,local.test,acme/quick\n`);
    // Row 1's commit is at the target already (its check waits for the database, which alone can
    // settle it); row 2's is not (its work starts before the database answers).
    await fs.writeFile(both, `${header}\n${quick?.path},main,local.test,acme/quick\n${waiting?.path},main,local.test,acme/waiting\n`);
    await fs.writeFile(path.join(tmp.path, 'release'), '');
    const published = await runCli(['process', first, '--run-id', 'checks-0'], { env });
    expect(published.code, published.stderr).toBe(0);
    await fs.rm(path.join(publishUrl, 'local.test', 'acme', 'waiting'), { recursive: true, force: true });
    const locker = new pg.Client({ connectionString: postgres.url });
    const admin = new pg.Client({ connectionString: postgres.url });
    await locker.connect();
    await admin.connect();
    try {
      // The checks' queries wait on the lock; the processor's connections that run them are then
      // ended, as a restart or a failover ends them.
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE repositories IN ACCESS EXCLUSIVE MODE');
      const ended = collect(spawnCli(['process', both, '--run-id', 'checks-1', '--concurrency', '2'], { env }));
      const waiters = "FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%last_published_sha%'";
      await waitFor(async () => ((await admin.query(`SELECT count(*)::int AS n ${waiters}`)).rows[0]?.n === 2 ? true : undefined), { what: 'both checks to wait for the database', timeoutMs: 60_000, intervalMs: 100 });
      await admin.query(`SELECT pg_terminate_backend(pid) ${waiters}`);
      await locker.query('ROLLBACK');
      const result = await ended;

      expect(result.code, result.stderr).toBe(3);
      const { rows } = await admin.query<{ row_number: number; outcome: string; error_code: string }>("SELECT row_number, outcome, error_code FROM repository_results WHERE run_id = 'checks-1' ORDER BY row_number");
      expect(rows).toEqual([
        { row_number: 1, outcome: 'aborted', error_code: 'db_unreachable' },
        { row_number: 2, outcome: 'aborted', error_code: 'db_unreachable' },
      ]);
      const partitions = await admin.query<{ status: string }>("SELECT status FROM run_partitions WHERE run_id = 'checks-1'");
      expect(partitions.rows).toEqual([{ status: 'failed' }]);
      const logs = parseLogs(result.stdout);
      expect(logs.find((line) => line.msg === 'The database failed some repositories\' checks: exit 3, so that the partition is tried again')).toMatchObject({ level: 50, repositories: 2 });
      expect(logs.filter((line) => line.msg === 'Repository finished').map((line) => [line.level, line.errorCode])).toEqual([[40, 'db_unreachable'], [40, 'db_unreachable']]);
      // The work begun before the database answered is dropped, since the database never confirmed it.
      await expect(fs.readdir(path.join(publishUrl, 'local.test', 'acme', 'waiting'))).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
      await admin.end();
    }
  }, 120_000);
});

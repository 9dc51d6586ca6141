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
  /**
   * Runs `process` over two rows, `acme/quick` (published already, so its check waits for the
   * database, which alone can settle it) and `acme/waiting` (not at the target: its work starts
   * before the database answers), under origin `<name>.test`. Both checks wait on a lock, then:
   * - `short`: the database refuses new connections and the processor's are ended, as a restart
   *   or a failover does, until each row has said it asks again;
   * - `long`: every query of a check is ended, each time it is asked, until both rows have
   *   finished. The rest of the database stays up, so that their outcomes are recorded (refused
   *   to the end, they would not be).
   */
  async function checksThroughOutage(name: string, outage: 'short' | 'long') {
    const origin = `${name}.test`;
    const { quick, waiting } = { quick: fixture.repos['acme/quick'], waiting: fixture.repos['acme/waiting'] };
    const publishUrl = path.join(tmp.path, `artifacts-${name}`);
    const env = baseEnv({ DATABASE_URL: postgres.url, PUBLISH_URL: publishUrl, MASS_INGEST_WORKDIR: path.join(tmp.path, 'work') });
    const header = 'cloneUrl,branch,origin,path';
    const first = path.join(tmp.path, `${name}-first.csv`);
    const inventory = path.join(tmp.path, `${name}-both.csv`);
    await fs.writeFile(first, `${header}\n${quick?.path},main,${origin},acme/quick\n`);
    await fs.writeFile(inventory, `${header}\n${quick?.path},main,${origin},acme/quick\n${waiting?.path},main,${origin},acme/waiting\n`);
    await fs.writeFile(path.join(tmp.path, 'release'), '');
    const published = await runCli(['process', first, '--run-id', `${name}-0`], { env });
    expect(published.code, published.stderr).toBe(0);
    const locker = new pg.Client({ connectionString: postgres.url });
    const admin = new pg.Client({ connectionString: postgres.url });
    await locker.connect();
    await admin.connect();
    try {
      const lockerPid = (await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE repositories IN ACCESS EXCLUSIVE MODE');
      const child = spawnCli(['process', inventory, '--run-id', `${name}-1`, '--concurrency', '2'], { env });
      let stdout = '';
      child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      const ended = collect(child);
      const waiters = "FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%last_published_sha%'";
      await waitFor(async () => ((await admin.query(`SELECT count(*)::int AS n ${waiters}`)).rows[0]?.n === 2 ? true : undefined), { what: 'both checks to wait for the database', timeoutMs: 60_000, intervalMs: 100 });
      const logged = (msg: string, row: number) => parseLogs(stdout).some((line) => line.msg === msg && line.row === row);
      const byBoth = (msg: string) => async () => {
        if (logged(msg, 1) && logged(msg, 2)) return true;
        // Ended without saying it: waiting longer cannot help.
        if (child.exitCode !== null) throw new Error(`The processor exited ${child.exitCode} before both rows logged '${msg}':\n${stdout}`);
        return undefined;
      };
      if (outage === 'short') {
        await admin.query(`ALTER DATABASE ${postgres.database} CONNECTION LIMIT 0`);
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> $1', [lockerPid]);
        await locker.query('ROLLBACK');
        await waitFor(byBoth('Database query failed, retrying'), { what: 'both checks to ask again', timeoutMs: 60_000, intervalMs: 100 });
        await admin.query(`ALTER DATABASE ${postgres.database} CONNECTION LIMIT -1`);
      } else {
        const ending = async () => {
          await admin.query(`SELECT pg_terminate_backend(pid) ${waiters}`);
          return byBoth('Repository finished')();
        };
        await waitFor(ending, { what: 'both rows to finish', timeoutMs: 60_000, intervalMs: 100 });
        await locker.query('ROLLBACK');
      }
      const result = await ended;
      const { rows } = await admin.query<{ row_number: number; outcome: string; error_code: string | null }>('SELECT row_number, outcome, error_code FROM repository_results WHERE run_id = $1 ORDER BY row_number', [`${name}-1`]);
      const partitions = await admin.query<{ status: string }>('SELECT status FROM run_partitions WHERE run_id = $1', [`${name}-1`]);
      const waitingPublished = await fs.readdir(path.join(publishUrl, origin, 'acme', 'waiting')).then(() => true, () => false);
      return { result, rows, partitions: partitions.rows, waitingPublished };
    } finally {
      await admin.query(`ALTER DATABASE ${postgres.database} CONNECTION LIMIT -1`).catch(() => undefined);
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
      await admin.end();
    }
  }

  it('asks again while a restart lasts, then goes on: the repositories checked and published, exit 0', async () => {
    const { result, rows, partitions, waitingPublished } = await checksThroughOutage('blip', 'short');

    expect(result.code, result.stderr).toBe(0);
    expect(rows).toEqual([
      { row_number: 1, outcome: 'unchanged', error_code: null },
      { row_number: 2, outcome: 'published', error_code: null },
    ]);
    expect(partitions).toEqual([{ status: 'succeeded' }]);
    expect(result.logs.find((line) => line.msg === 'Database query failed, retrying')).toMatchObject({ level: 40, attempt: 1, err: { message: expect.stringMatching(/^PostgreSQL query failed: /) } });
    expect(waitingPublished).toBe(true);
  }, 120_000);

  it('gives up on an outage longer than its retries: aborted with db_unreachable, not crashed, nothing of them published, exit 3', async () => {
    const { result, rows, partitions, waitingPublished } = await checksThroughOutage('outage', 'long');

    expect(result.code, result.stderr).toBe(3);
    expect(rows).toEqual([
      { row_number: 1, outcome: 'aborted', error_code: 'db_unreachable' },
      { row_number: 2, outcome: 'aborted', error_code: 'db_unreachable' },
    ]);
    expect(partitions).toEqual([{ status: 'failed' }]);
    expect(result.logs.find((line) => line.msg === 'The database failed some repositories\' checks: exit 3, so that the partition is tried again')).toMatchObject({ level: 50, repositories: 2 });
    expect(result.logs.filter((line) => line.msg === 'Repository finished').map((line) => [line.level, line.errorCode])).toEqual([[40, 'db_unreachable'], [40, 'db_unreachable']]);
    // Each check was asked 5 times (4 retries) before it gave up.
    expect(result.logs.filter((line) => line.msg === 'Database query failed, retrying').map((line) => [line.row, line.attempt]).sort()).toEqual([[1, 1], [1, 2], [1, 3], [1, 4], [2, 1], [2, 2], [2, 3], [2, 4]]);
    // The work begun before the database answered is dropped, since the database never confirmed it.
    expect(waitingPublished).toBe(false);
  }, 120_000);
});

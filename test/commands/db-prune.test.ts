import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../src/commands/context.js';
import { runDbPrune } from '../../src/commands/db-prune.js';
import { loadConfig } from '../../src/config/config.js';
import { openDatabase, type Database } from '../../src/results/database.js';
import { createLogger } from '../../src/logging/logger.js';
import { baseEnv, runCli } from '../harness/cli.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { startFakeBatchApi } from '../fakes/batch-api.js';
import { writeInventory } from './chunk-fixtures.js';

/**
 * `db prune` and a chunk job with RESULTS_RETENTION_DAYS remove old runs (their partitions and
 * results), on PostgreSQL and on the embedded database, keeping the newest runs, runs still
 * moving, and every repository's current state.
 */
let tmp: TempDir;
let postgres: PostgresServer;
const silent = createLogger({ level: 'silent', format: 'json', scrub: (text: string) => text, fd: 2 });

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-prune-');
  postgres = await startPostgres();
}, 120_000);

afterAll(async () => {
  await postgres?.stop();
  await tmp?.remove();
});

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

/** Four runs: two old, one old but with a partition that moved yesterday, one recent; and a repository's state. */
async function seed(database: Database): Promise<void> {
  // One PostgreSQL database serves every test here: each starts from empty tables.
  await database.query('TRUNCATE ingest_runs, run_partitions, repository_results, repositories', []);
  const runs: Array<[string, number, number, number]> = [
    ['old-1', 100, 3, 100],
    ['old-2', 95, 2, 95],
    ['old-but-moving', 99, 1, 1],
    ['recent', 5, 2, 5],
  ];
  for (const [id, createdDaysAgo, results, partitionDaysAgo] of runs) {
    await database.query("INSERT INTO ingest_runs (id, trigger, inventory_uri, mode, created_at) VALUES ($1, 'manual', 'repos.csv', 'array', $2)", [id, ago(createdDaysAgo)]);
    await database.query("INSERT INTO run_partitions (run_id, partition, start_row, end_row, status, updated_at) VALUES ($1, 0, 1, $2, 'succeeded', $3)", [id, results, ago(partitionDaysAgo)]);
    for (let row = 1; row <= results; row++) {
      await database.query("INSERT INTO repository_results (run_id, row_number, origin, path, branch, outcome, finished_at) VALUES ($1, $2, 'h', $3, 'main', 'published', $4)", [id, row, `o/r${row}`, ago(createdDaysAgo)]);
    }
  }
  await database.query("INSERT INTO repositories (origin, path, branch, last_published_sha) VALUES ('h', 'o/r1', 'main', 'abc')", []);
}

async function contents(database: Database) {
  const count = async (sql: string) => Number((await database.query<{ n: string }>(sql, [])).rows[0]?.n);
  const { rows } = await database.query<{ id: string }>('SELECT id FROM ingest_runs ORDER BY id', []);
  return {
    runs: rows.map((row) => row.id),
    partitions: await count('SELECT count(*) AS n FROM run_partitions'),
    results: await count('SELECT count(*) AS n FROM repository_results'),
    repositories: await count('SELECT count(*) AS n FROM repositories'),
  };
}

const ENGINES = [
  {
    name: 'PostgreSQL 15',
    env: async (_name: string) => ({ DATABASE_URL: postgres.url }),
  },
  {
    name: 'the embedded database',
    env: async (name: string) => ({ MASS_INGEST_DATA_DIR: path.join(tmp.path, name, 'db') }),
  },
];

async function openFor(env: Record<string, string>): Promise<Database> {
  return openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.MASS_INGEST_DATA_DIR ?? '' }, silent);
}

async function seeded(env: Record<string, string>): Promise<void> {
  const database = await openFor(env);
  try {
    await seed(database);
  } finally {
    await database.close();
  }
}

async function contentsOf(env: Record<string, string>) {
  const database = await openFor(env);
  try {
    return await contents(database);
  } finally {
    await database.close();
  }
}

describe.each(ENGINES)('mass-ingest db prune on $name', ({ env: envFor }) => {
  it('lists with --dry-run, then removes, the runs older than --older-than days with their partitions and results; the newest, the moving and every repository stay', async () => {
    const env = baseEnv(await envFor(`prune-${Math.random().toString(36).slice(2, 8)}`));
    await seeded(env);

    const dry = await runCli(['db', 'prune', '--older-than', '30', '--keep-runs', '1', '--dry-run'], { env });
    const afterDry = await contentsOf(env);
    const pruned = await runCli(['db', 'prune', '--older-than', '30', '--keep-runs', '1'], { env });
    const after = await contentsOf(env);
    const again = await runCli(['db', 'prune', '--older-than', '30', '--keep-runs', '1'], { env });

    expect([dry.code, pruned.code, again.code]).toEqual([0, 0, 0]);
    expect(dry.logs.at(-1)).toMatchObject({ msg: 'Runs that would be pruned (dry run: nothing deleted)', runs: 2, results: 5, runIds: ['old-1', 'old-2'], olderThanDays: 30, keepRuns: 1 });
    expect(afterDry).toEqual({ runs: ['old-1', 'old-2', 'old-but-moving', 'recent'].sort(), partitions: 4, results: 8, repositories: 1 });
    expect(pruned.logs.at(-1)).toMatchObject({ msg: 'Old runs pruned', runs: 2, results: 5, runIds: ['old-1', 'old-2'] });
    expect(after).toEqual({ runs: ['old-but-moving', 'recent'], partitions: 2, results: 3, repositories: 1 });
    expect(again.logs.at(-1)).toMatchObject({ msg: 'No run old enough to prune', runs: 0 });
  });

  it('keeps the newest --keep-runs runs whatever their age', async () => {
    const env = baseEnv(await envFor(`keep-${Math.random().toString(36).slice(2, 8)}`));
    await seeded(env);

    const result = await runCli(['db', 'prune', '--older-than', '1', '--keep-runs', '3'], { env });

    expect(result.code).toBe(0);
    expect(result.logs.at(-1)).toMatchObject({ msg: 'Old runs pruned', runIds: ['old-1'] });
    expect((await contentsOf(env)).runs).toEqual(['old-2', 'old-but-moving', 'recent']);
  });
});

describe('mass-ingest db prune, refused', () => {
  it('exits 2 without --older-than (or RESULTS_RETENTION_DAYS), and for a retention below one day', async () => {
    const env = baseEnv({ DATABASE_URL: postgres.url });

    const missing = await runCli(['db', 'prune'], { env });
    const zero = await runCli(['db', 'prune', '--older-than', '0'], { env });

    expect([missing.code, zero.code]).toEqual([2, 2]);
    expect(missing.stderr).toContain('Name how old a run must be to go: mass-ingest db prune --older-than DAYS (or set RESULTS_RETENTION_DAYS) [usage]');
    expect(zero.stderr).toContain('--older-than');
  });
});

describe('a chunk job with RESULTS_RETENTION_DAYS', () => {
  it('submits its run, then removes the runs older than that (the newest RESULTS_KEEP_RUNS kept)', async () => {
    const fake = await startFakeBatchApi();
    const env = baseEnv({
      DATABASE_URL: postgres.url,
      AWS_ENDPOINT_URL_BATCH: fake.url,
      JOB_QUEUE: 'test-queue',
      JOB_DEFINITION: 'processor',
      RESULTS_RETENTION_DAYS: '30',
      RESULTS_KEEP_RUNS: '2',
    });
    await seeded(env);
    const inventory = await writeInventory(tmp.path, 'chunk-prune.csv', 'cloneUrl,branch,origin,path\nhttps://h/o/a.git,main,h,o/a\n');

    const result = await runCli(['chunk', inventory, '--run-id', 'tonight'], { env });
    await fake.close();

    expect(result.code).toBe(0);
    expect(result.logs.find((line) => line.msg === 'Old runs pruned')).toMatchObject({ olderThanDays: 30, keepRuns: 2, runIds: ['old-1', 'old-2'] });
    expect((await contentsOf(env)).runs).toEqual(['old-but-moving', 'recent', 'tonight']);
  });
});

describe('runDbPrune stopped by a termination signal', () => {
  it('exits 143 and deletes no further run once the signal came; the next prune removes them', async () => {
    const env = baseEnv({ DATABASE_URL: postgres.url });
    await seeded(env);
    const context = (signal: AbortSignal): CommandContext => ({
      config: loadConfig({ flags: { 'older-than': 30, 'keep-runs': 1, 'log-level': 'silent' }, env, cwd: tmp.path, stdoutIsTty: false }),
      signal,
      stdout: process.stdout,
      stderr: process.stderr,
      stdoutIsTty: false,
      stderrIsTty: false,
    });
    const controller = new AbortController();
    controller.abort();

    const stopped = await runDbPrune({ dryRun: false }, context(controller.signal)).catch((err: unknown) => err);
    const afterStop = await contentsOf(env);
    const next = await runDbPrune({ dryRun: false }, context(new AbortController().signal));

    expect(stopped).toMatchObject({ code: 'aborted', exitCode: 143 });
    expect(afterStop.runs).toEqual(['old-1', 'old-2', 'old-but-moving', 'recent']);
    expect(next).toBe(0);
    expect((await contentsOf(env)).runs).toEqual(['old-but-moving', 'recent']);
  });
});

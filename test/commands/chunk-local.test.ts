import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli } from '../harness/cli.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { BROKEN_PROJECT, DOCS_ONLY, MAKE_PROJECT, makeFixture, openForAssertions, type Fixture } from './process-fixtures.js';

let tmp: TempDir;
let fixture: Fixture;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-chunk-local-');
  fixture = await makeFixture(
    tmp.path,
    [
      ['acme/one', MAKE_PROJECT],
      ['acme/two', MAKE_PROJECT],
      ['acme/broken', BROKEN_PROJECT],
      ['acme/docs', DOCS_ONLY],
      ['acme/three', MAKE_PROJECT],
    ],
    ['ftp://nowhere.test/x.git,main,local.test,acme/ftp'],
  );
});

afterAll(async () => {
  await tmp?.remove();
});

interface JsonReport {
  run: { id: string; mode: string; trigger: string; finishedAt: string | null; inventoryRows: number };
  counts: Record<string, number>;
  repositories: Array<{ rowNumber: number; path: string; outcome: string }>;
}

async function report(env: Record<string, string>, runId: string): Promise<JsonReport> {
  const result = await runCli(['report', '--run', runId, '--format', 'json'], { env });
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as JsonReport;
}

describe('mass-ingest chunk --local with the embedded database', () => {
  const dataDir = () => path.join(tmp.path, 'db');
  const env = () => baseEnv({ MASS_INGEST_DATA_DIR: dataDir(), PUBLISH_URL: path.join(tmp.path, 'artifacts'), MASS_INGEST_WORKDIR: path.join(tmp.path, 'work') });

  it('runs every partition as a child process sharing the embedded database, and the report shows every row', async () => {
    const result = await runCli(['chunk', fixture.inventory, '--local', '--parallel', '2', '--partition-size', '2', '--run-id', 'local1'], { env: env(), cwd: tmp.path });

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(/mass_ingest:[0-9a-f]{48}/); // the served database's password
    const shown = await report(env(), 'local1');
    expect(shown.run).toMatchObject({ id: 'local1', mode: 'local', trigger: 'local', inventoryRows: 6 });
    expect(shown.run.finishedAt).not.toBeNull();
    expect(shown.repositories.map((r) => [r.rowNumber, r.path, r.outcome])).toEqual([
      [1, 'acme/one', 'published'],
      [2, 'acme/two', 'published'],
      [3, 'acme/broken', 'build_failed'],
      [4, 'acme/docs', 'no_build_tool'],
      [5, 'acme/three', 'published'],
      [6, 'acme/ftp', 'invalid'],
    ]);
    const partitionLogs = result.logs.filter((line) => line.msg === 'Partition finished').map((line) => line.partition);
    expect(partitionLogs.sort()).toEqual([0, 1, 2]);
    const runDir = path.join(tmp.path, 'artifacts', '_runs', 'local1');
    expect((await fs.readdir(runDir)).filter((name) => !name.startsWith('.')).sort()).toEqual(['report.html', 'summary.json']);
    expect(JSON.parse(await fs.readFile(path.join(runDir, 'summary.json'), 'utf8')).counts).toEqual(shown.counts);
    const db = await openForAssertions({ dataDir: dataDir() });
    try {
      const { rows } = await db.query("SELECT partition, start_row, end_row, status FROM run_partitions WHERE run_id = 'local1' ORDER BY partition");
      expect(rows).toEqual([
        { partition: 0, start_row: 1, end_row: 2, status: 'succeeded' },
        { partition: 1, start_row: 3, end_row: 4, status: 'succeeded' },
        { partition: 2, start_row: 5, end_row: 6, status: 'succeeded' },
      ]);
    } finally {
      await db.close();
    }
  });

  it('reruns only the failed rows of the last run through a derived inventory', async () => {
    const result = await runCli(['chunk', fixture.inventory, '--local', '--only', 'failed', '--run', 'local1', '--run-id', 'local2'], { env: env(), cwd: tmp.path });

    expect(result.code).toBe(0);
    const shown = await report(env(), 'local2');
    expect(shown.repositories.map((r) => [r.rowNumber, r.path, r.outcome])).toEqual([
      [1, 'acme/broken', 'build_failed'],
      [2, 'acme/ftp', 'invalid'],
    ]);
    const derived = await fs.readFile(path.join(tmp.path, 'derived', 'local2-failed.csv'), 'utf8');
    expect(derived.split('\n')[0]).toBe('cloneUrl,branch,origin,path');
  });

  it('plans the changed rows of a run with --dry-run', async () => {
    const result = await runCli(['chunk', fixture.inventory, '--dry-run', '--only', 'changed', '--run', 'local1', '--run-id', 'local3', '--partition-size', '10'], { env: env(), cwd: tmp.path });

    expect(result.code).toBe(0);
    // Every row whose head was resolved as new (published, build_failed, no_build_tool); not the invalid one.
    expect(result.stdout).toContain('derived/local3-changed.csv: 5 rows');
  });
});

describe('mass-ingest chunk --local with PostgreSQL', () => {
  let postgres: PostgresServer;

  beforeAll(async () => {
    postgres = await startPostgres();
  });

  afterAll(async () => {
    await postgres?.stop();
  });

  it('gives every partition the same DATABASE_URL and records every row', async () => {
    const env = baseEnv({ DATABASE_URL: postgres.url, PUBLISH_URL: path.join(tmp.path, 'artifacts-pg'), MASS_INGEST_WORKDIR: path.join(tmp.path, 'work-pg') });

    const result = await runCli(['chunk', fixture.inventory, '--local', '--parallel', '3', '--partition-size', '2', '--run-id', 'pg1'], { env, cwd: tmp.path });

    // Not asserting an empty stderr: partitions starting together may race on the migration
    // lock (exit 3), which the local run retries as Batch would.
    expect(result.code).toBe(0);
    const shown = await report(env, 'pg1');
    expect(shown.repositories.map((r) => r.rowNumber)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

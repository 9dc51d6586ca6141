import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, CLI, collect, killedWithTheTests, runCli } from '../harness/cli.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { waitFor } from '../harness/wait.js';
import { BROKEN_PROJECT, DOCS_ONLY, MAKE_PROJECT, makeFixture, openForAssertions, resultRows, type Fixture } from './process-fixtures.js';

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
    expect(result.logs.find((line) => line.msg === 'Local run finished')).toMatchObject({ counts: { published: 3, build_failed: 1, no_build_tool: 1, invalid: 1 }, exitCode: 0 });
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
    // The run says which run's rows it repeats, in JSON and in the table.
    expect(shown.run).toMatchObject({ id: 'local2', rerunOf: { runId: 'local1', rows: 'failed' } });
    const table = await runCli(['report', '--run', 'local2'], { env: env() });
    expect(table.stdout).toContain('Rerun of run local1: its failed rows (chunk --only failed)');
  });

  it('reruns what failed last time again: the last run read a derived inventory, whose rows are taken', async () => {
    const result = await runCli(['chunk', fixture.inventory, '--local', '--only', 'failed', '--run', 'last', '--run-id', 'local4'], { env: env(), cwd: tmp.path });

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.logs.find((line) => line.msg === 'Rows taken from the inventory the run read')).toMatchObject({ fromRun: 'local2', inventory: path.join(tmp.path, 'derived', 'local2-failed.csv') });
    const shown = await report(env(), 'local4');
    expect(shown.repositories.map((r) => [r.rowNumber, r.path, r.outcome])).toEqual([
      [1, 'acme/broken', 'build_failed'],
      [2, 'acme/ftp', 'invalid'],
    ]);
  });

  it('plans the changed rows of a run with --dry-run, leaving no derived inventory behind', async () => {
    const result = await runCli(['chunk', fixture.inventory, '--dry-run', '--only', 'changed', '--run', 'local1', '--run-id', 'local3', '--partition-size', '10'], { env: env(), cwd: tmp.path });

    expect(result.code).toBe(0);
    // Every row whose head was resolved as new (published, build_failed, no_build_tool); not the invalid one.
    expect(result.stdout).toContain('derived/local3-changed.csv: 5 rows');
    await expect(fs.access(path.join(tmp.path, 'derived', 'local3-changed.csv'))).rejects.toThrow();
  });
});

describe('mass-ingest chunk --local and termination signals', () => {
  it('on Ctrl-C prints one notice, records the rows of partitions never started aborted / not_started, leaves them planned, and a rerun finishes them', async () => {
    const root = path.join(tmp.path, 'signals');
    const fast = path.join(root, 'fast');
    const slow = (name: string) => ({ Makefile: `all:\n\ttouch ${path.join(root, `started-${name}`)}\n\ttest -f ${fast} || sleep 41\n\tmkdir -p dist\n\techo built > dist/out.txt\n` });
    const signalled = await makeFixture(root, [['acme/s1', slow('1')], ['acme/s2', slow('2')], ['acme/s3', slow('3')], ['acme/s4', slow('4')]]);
    const env = baseEnv({ MASS_INGEST_DATA_DIR: path.join(root, 'db'), PUBLISH_URL: path.join(root, 'artifacts'), MASS_INGEST_WORKDIR: path.join(root, 'work') });
    const args = [CLI, 'chunk', signalled.inventory, '--local', '--partition-size', '2', '--parallel', '1', '--run-id', 'sig1'];
    // Its own process group, as a shell's foreground job: Ctrl-C on a terminal signals the whole group.
    const child = spawn(process.execPath, args, { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const done = collect(child);
    await waitFor(async () => fs.access(path.join(root, 'started-1')).then(() => true, () => undefined), { what: 'the first build to start', timeoutMs: 30_000 });

    process.kill(-(child.pid ?? 0), 'SIGINT');
    const result = await done;

    expect(result.code).toBe(143);
    expect(result.stderr.split('\n').filter((line) => line.includes(' received: '))).toEqual(['mass-ingest: SIGINT received: no new work starts; what is running is stopped and recorded']);
    const db = await openForAssertions({ dataDir: path.join(root, 'db') });
    try {
      const rows = await resultRows(db, 'sig1');
      expect(rows.map((r) => [r.row_number, r.path, r.outcome])).toEqual([
        [1, 'acme/s1', 'aborted'],
        [2, 'acme/s2', 'aborted'],
        [3, 'acme/s3', 'aborted'],
        [4, 'acme/s4', 'aborted'],
      ]);
      expect(rows.slice(2).map((r) => r.error_code)).toEqual(['not_started', 'not_started']);
      const { rows: partitions } = await db.query("SELECT partition, status FROM run_partitions WHERE run_id = 'sig1' ORDER BY partition");
      expect(partitions).toEqual([
        { partition: 0, status: 'failed' },
        { partition: 1, status: 'planned' },
      ]);
    } finally {
      await db.close();
    }
    await expect(fs.access(path.join(root, 'started-3'))).rejects.toThrow();

    await fs.writeFile(fast, '');
    const rerun = await collect(spawn(process.execPath, args, { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }));

    expect(rerun.code).toBe(0);
    expect((await report(env, 'sig1')).repositories.map((r) => [r.rowNumber, r.outcome])).toEqual([
      [1, 'published'],
      [2, 'published'],
      [3, 'published'],
      [4, 'published'],
    ]);
  });
});

/** `mass-ingest chunk <args>` under `ulimit -n <limit>` of the shell that starts it: the host and the processors inherit it. */
function chunkUnderLimit(limit: number, args: string[], env: Record<string, string>) {
  return collect(killedWithTheTests(spawn('bash', ['-c', `ulimit -n ${limit} && exec "$0" "$@"`, process.execPath, CLI, 'chunk', ...args], { env, cwd: tmp.path, stdio: ['ignore', 'pipe', 'pipe'] })));
}

describe('mass-ingest chunk --local under a low limit on open files', () => {
  const env = (name: string) => baseEnv({ MASS_INGEST_DATA_DIR: path.join(tmp.path, `db-${name}`), PUBLISH_URL: path.join(tmp.path, `artifacts-${name}`), MASS_INGEST_WORKDIR: path.join(tmp.path, `work-${name}`) });

  // One embedded database serves the chunk process and its processors, 4 connections each: under
  // `ulimit -n 96` it held `--parallel 4` (89 open at the most) and dropped connections at 8.
  it('refuses more processors than the embedded database has open files for, before any partition starts', async () => {
    const result = await chunkUnderLimit(96, [fixture.inventory, '--local', '--parallel', '6', '--partition-size', '1', '--run-id', 'fd-parallel'], env('fd-parallel'));

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('mass-ingest: The limit on open files (ulimit -n) is 96: the embedded database needs 104 or more to serve 7 processes (chunk --local --parallel 6 and its processors) (below it, it drops connections and repositories crash); raise it, lower --parallel, or use PostgreSQL (DATABASE_URL) [fd_limit_too_low]');
    expect(result.logs.filter((line) => line.msg === 'Partition process exited')).toEqual([]);
  });

  it('runs them under the limit it asks for', async () => {
    const result = await chunkUnderLimit(104, [fixture.inventory, '--local', '--parallel', '6', '--partition-size', '1', '--run-id', 'fd-parallel-ok'], env('fd-parallel-ok'));

    expect(result.code, result.stderr).toBe(0);
    expect(result.logs.find((line) => line.msg === 'Local run finished')).toMatchObject({ counts: { published: 3, build_failed: 1, no_build_tool: 1, invalid: 1 }, exitCode: 0 });
    expect(result.logs.filter((line) => line.msg === 'Database query failed, retrying' || line.msg === 'Recording outcomes failed, will retry')).toEqual([]);
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

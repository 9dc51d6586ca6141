import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/results/database.js';
import type { Outcome, RepositoryOutcome } from '../../src/results/outcome.js';
import { startPgliteServer } from '../../src/results/pglite-server.js';
import { SqlResultStore } from '../../src/results/result-store.js';
import { startPostgres } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

const log = pino({ level: 'silent' });

interface Target {
  readonly database: Database;
  close(): Promise<void>;
}

/** The three ways the result store reaches a database: PostgreSQL, PGlite in process, PGlite over pg. */
const targets: Record<string, (dir: string) => Promise<Target>> = {
  'PostgreSQL 15': async (dir) => {
    const server = await startPostgres();
    const database = await openDatabase({ databaseUrl: server.url, dataDir: path.join(dir, 'unused') }, log);
    return { database, close: async () => { await database.close(); await server.stop(); } };
  },
  'PGlite in this process': async (dir) => {
    const database = await openDatabase({ databaseUrl: undefined, dataDir: path.join(dir, 'db') }, log);
    return { database, close: () => database.close() };
  },
  'PGlite served over the wire protocol': async (dir) => {
    const dataDir = path.join(dir, 'db');
    await (await openDatabase({ databaseUrl: undefined, dataDir }, log)).close();
    const pglite = await PGlite.create(dataDir);
    const server = await startPgliteServer(pglite);
    const database = await openDatabase({ databaseUrl: server.url, dataDir }, log);
    return { database, close: async () => { await database.close(); await server.close(); await pglite.close(); } };
  },
};

function outcome(runId: string, rowNumber: number, fields: Partial<RepositoryOutcome> = {}): RepositoryOutcome {
  const repo = `acme/repo-${rowNumber}`;
  return {
    runId,
    rowNumber,
    origin: 'github.com',
    path: repo,
    branch: 'main',
    cloneUrl: `https://github.com/${repo}.git`,
    outcome: 'published',
    commitSha: `${rowNumber}`.padStart(40, 'a'),
    builder: 'make',
    artifacts: [{ name: 'out.tgz', size: rowNumber, sha256: 'f'.repeat(64) }],
    durationMs: 1000 + rowNumber,
    errorCode: undefined,
    errorMessage: undefined,
    logUrl: undefined,
    attempt: 1,
    startedAt: new Date('2026-02-01T10:00:00.123Z'),
    finishedAt: new Date('2026-02-01T10:00:01.999Z'),
    ...fields,
  };
}

describe.each(Object.keys(targets))('SqlResultStore.recordOutcomes on %s', (name) => {
  let tmp: TempDir;
  let target: Target;
  let db: Database;
  let runs = 0;

  beforeAll(async () => {
    tmp = await createTempDir('mass-ingest-result-store-');
    target = await targets[name]!(tmp.path);
    db = target.database;
  }, 60_000);

  afterAll(async () => {
    await target?.close();
    await tmp?.remove();
  });

  /** A new run in the database, so that tests do not see each other's rows. */
  async function newRun(): Promise<string> {
    const id = `run-${++runs}`;
    await new SqlResultStore(db).ensureRun({ id, trigger: 'process', mode: 'process', inventoryUri: 'repos.csv' });
    return id;
  }

  async function repository(repoPath: string): Promise<Record<string, unknown> | undefined> {
    const { rows } = await db.query(
      'SELECT last_commit_sha, last_published_sha, last_outcome, consecutive_failures FROM repositories WHERE origin = $1 AND path = $2 AND branch = $3',
      ['github.com', repoPath, 'main'],
    );
    return rows[0];
  }

  it('records every outcome of a large batch with all its fields, and each repository once', async () => {
    const run = await newRun();
    const kinds: Outcome[] = ['published', 'unchanged', 'build_failed', 'clone_failed', 'invalid'];
    const batch = Array.from({ length: 25_000 }, (_, i) =>
      outcome(run, i + 1, { outcome: kinds[i % kinds.length]!, path: `large-${run}/repo-${i + 1}` }),
    );
    const failed = outcome(run, 25_001, {
      path: `large-${run}/failed`,
      outcome: 'build_failed',
      artifacts: undefined,
      errorCode: 'build_exit_2',
      errorMessage: 'make: *** [all] Error 2\n"quoted" \\ back\tslash – ünïcødé 🚀',
      logUrl: 'file:///logs/build.log',
      attempt: 2,
    });

    await new SqlResultStore(db).recordOutcomes([...batch, failed]);

    const counts = await db.query<{ outcome: string; n: number }>(
      'SELECT outcome, count(*)::int AS n FROM repository_results WHERE run_id = $1 GROUP BY outcome ORDER BY outcome',
      [run],
    );
    const repositories = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM repositories WHERE path LIKE $1', [`large-${run}/%`]);
    const rows = await db.query(
      `SELECT row_number, outcome, commit_sha, builder, artifacts, duration_ms, error_code, error_message, log_url, attempt, started_at, finished_at
       FROM repository_results WHERE run_id = $1 AND row_number IN (1, 25001) ORDER BY row_number`,
      [run],
    );
    expect(counts.rows).toEqual([
      { outcome: 'build_failed', n: 5001 },
      { outcome: 'clone_failed', n: 5000 },
      { outcome: 'invalid', n: 5000 },
      { outcome: 'published', n: 5000 },
      { outcome: 'unchanged', n: 5000 },
    ]);
    expect(repositories.rows[0]?.n).toBe(20_001);
    expect(rows.rows).toEqual([
      {
        row_number: 1, outcome: 'published', commit_sha: '1'.padStart(40, 'a'), builder: 'make',
        artifacts: [{ name: 'out.tgz', size: 1, sha256: 'f'.repeat(64) }], duration_ms: 1001, error_code: null,
        error_message: null, log_url: null, attempt: 1,
        started_at: new Date('2026-02-01T10:00:00.123Z'), finished_at: new Date('2026-02-01T10:00:01.999Z'),
      },
      {
        row_number: 25_001, outcome: 'build_failed', commit_sha: '25001'.padStart(40, 'a'), builder: 'make',
        artifacts: null, duration_ms: 26_001, error_code: 'build_exit_2',
        error_message: 'make: *** [all] Error 2\n"quoted" \\ back\tslash – ünïcødé 🚀', log_url: 'file:///logs/build.log', attempt: 2,
        started_at: new Date('2026-02-01T10:00:00.123Z'), finished_at: new Date('2026-02-01T10:00:01.999Z'),
      },
    ]);
  }, 60_000);

  it('replaces the rows of a run recorded again, by the same store or a new one', async () => {
    const run = await newRun();
    const store = new SqlResultStore(db);
    await store.recordOutcomes([outcome(run, 1), outcome(run, 2), outcome(run, 3)]);

    await store.recordOutcomes([outcome(run, 2, { outcome: 'build_failed', attempt: 2 }), outcome(run, 4)]);
    await new SqlResultStore(db).recordOutcomes([outcome(run, 3, { outcome: 'timed_out', attempt: 3, artifacts: undefined })]);

    const { rows } = await db.query('SELECT row_number, outcome, attempt, artifacts IS NULL AS no_artifacts FROM repository_results WHERE run_id = $1 ORDER BY row_number', [run]);
    expect(rows).toEqual([
      { row_number: 1, outcome: 'published', attempt: 1, no_artifacts: false },
      { row_number: 2, outcome: 'build_failed', attempt: 2, no_artifacts: false },
      { row_number: 3, outcome: 'timed_out', attempt: 3, no_artifacts: true },
      { row_number: 4, outcome: 'published', attempt: 1, no_artifacts: false },
    ]);
  });

  it('keeps a row published by an earlier attempt when a retried attempt finds the same commit unchanged', async () => {
    const run = await newRun();
    await new SqlResultStore(db).recordOutcomes([outcome(run, 1), outcome(run, 2)]);

    await new SqlResultStore(db).recordOutcomes([
      outcome(run, 1, { outcome: 'unchanged', artifacts: undefined, attempt: 2 }),
      outcome(run, 2, { outcome: 'unchanged', commitSha: 'b'.repeat(40), artifacts: undefined, attempt: 2 }),
    ]);

    const { rows } = await db.query('SELECT row_number, outcome, attempt, artifacts IS NULL AS no_artifacts FROM repository_results WHERE run_id = $1 ORDER BY row_number', [run]);
    expect(rows).toEqual([
      { row_number: 1, outcome: 'published', attempt: 1, no_artifacts: false },
      { row_number: 2, outcome: 'unchanged', attempt: 2, no_artifacts: true },
    ]);
  });

  it('keeps the last commit, the last published commit and the count of consecutive failures of a repository', async () => {
    const repoPath = 'acme/state';
    const step = async (kind: Outcome, commitSha: string | undefined) => {
      const run = await newRun();
      await new SqlResultStore(db).recordOutcomes([outcome(run, 1, { path: repoPath, outcome: kind, commitSha })]);
      return repository(repoPath);
    };

    const states = [
      await step('published', 'sha-1'),
      await step('build_failed', 'sha-2'),
      await step('build_failed', 'sha-2'),
      await step('aborted', undefined),
      await step('unchanged', 'sha-3'),
      await step('clone_failed', undefined),
      await step('no_build_tool', 'sha-4'),
    ];

    expect(states).toEqual([
      { last_commit_sha: 'sha-1', last_published_sha: 'sha-1', last_outcome: 'published', consecutive_failures: 0 },
      { last_commit_sha: 'sha-2', last_published_sha: 'sha-1', last_outcome: 'build_failed', consecutive_failures: 1 },
      { last_commit_sha: 'sha-2', last_published_sha: 'sha-1', last_outcome: 'build_failed', consecutive_failures: 2 },
      { last_commit_sha: 'sha-2', last_published_sha: 'sha-1', last_outcome: 'aborted', consecutive_failures: 2 },
      { last_commit_sha: 'sha-3', last_published_sha: 'sha-3', last_outcome: 'unchanged', consecutive_failures: 0 },
      { last_commit_sha: 'sha-3', last_published_sha: 'sha-3', last_outcome: 'clone_failed', consecutive_failures: 1 },
      { last_commit_sha: 'sha-4', last_published_sha: 'sha-3', last_outcome: 'no_build_tool', consecutive_failures: 0 },
    ]);
  });

  it('gives a repository that appears twice in one batch the later outcome, also across statements', async () => {
    const run = await newRun();
    const twice = `acme/twice-${run}`;
    const far = `acme/far-${run}`;
    const filler = Array.from({ length: 12_000 }, (_, i) => outcome(run, i + 3, { path: `filler-${run}/repo-${i}` }));
    const batch = [
      outcome(run, 1, { path: twice, outcome: 'published', commitSha: 'sha-early' }),
      outcome(run, 2, { path: far, outcome: 'build_failed', commitSha: 'sha-early' }),
      ...filler,
      outcome(run, 12_003, { path: twice, outcome: 'build_failed', commitSha: 'sha-late' }),
      outcome(run, 12_004, { path: far, outcome: 'published', commitSha: 'sha-late' }),
    ];

    await new SqlResultStore(db).recordOutcomes(batch);

    const results = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM repository_results WHERE run_id = $1', [run]);
    expect(results.rows[0]?.n).toBe(12_004);
    expect(await repository(twice)).toEqual({ last_commit_sha: 'sha-late', last_published_sha: null, last_outcome: 'build_failed', consecutive_failures: 1 });
    expect(await repository(far)).toEqual({ last_commit_sha: 'sha-late', last_published_sha: 'sha-late', last_outcome: 'published', consecutive_failures: 0 });
  }, 60_000);

  it('records invalid rows without touching repositories', async () => {
    const run = await newRun();
    const repoPath = `acme/invalid-${run}`;
    await new SqlResultStore(db).recordOutcomes([outcome(run, 1, { path: repoPath, outcome: 'published', commitSha: 'sha-1' })]);

    await new SqlResultStore(db).recordOutcomes([
      outcome(run, 2, { path: repoPath, outcome: 'invalid', commitSha: undefined, errorCode: 'invalid_row' }),
      outcome(run, 3, { origin: undefined, path: undefined, branch: undefined, cloneUrl: undefined, outcome: 'invalid', commitSha: undefined }),
    ]);

    const { rows } = await db.query('SELECT row_number, outcome, origin, path FROM repository_results WHERE run_id = $1 ORDER BY row_number', [run]);
    expect(rows).toEqual([
      { row_number: 1, outcome: 'published', origin: 'github.com', path: repoPath },
      { row_number: 2, outcome: 'invalid', origin: 'github.com', path: repoPath },
      { row_number: 3, outcome: 'invalid', origin: null, path: null },
    ]);
    expect(await repository(repoPath)).toEqual({ last_commit_sha: 'sha-1', last_published_sha: 'sha-1', last_outcome: 'published', consecutive_failures: 0 });
  });

  it('refuses outcomes of a run that was never recorded, and writes none of them', async () => {
    const repoPath = 'acme/orphan';

    const recording = new SqlResultStore(db).recordOutcomes([outcome('no-such-run', 1, { path: repoPath })]);

    await expect(recording).rejects.toMatchObject({ code: '23502' });
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM repository_results WHERE run_id = $1', ['no-such-run']);
    expect(rows[0]?.n).toBe(0);
    expect(await repository(repoPath)).toBeUndefined();
  });

  it('stores an error message without the characters PostgreSQL cannot hold', async () => {
    const run = await newRun();

    await new SqlResultStore(db).recordOutcomes([outcome(run, 1, { outcome: 'build_failed', errorMessage: 'nul\u0000byte, cut \ud83d' })]);

    const { rows } = await db.query('SELECT error_message FROM repository_results WHERE run_id = $1', [run]);
    expect(rows).toEqual([{ error_message: 'nulbyte, cut \ufffd' }]);
  });
});

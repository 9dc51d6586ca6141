import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/results/database.js';
import type { RepositoryOutcome } from '../../src/results/outcome.js';
import { OutcomeRecorder } from '../../src/results/outcome-recording.js';
import { SqlResultStore } from '../../src/results/result-store.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

const log = pino({ level: 'silent' });
let tmp: TempDir;
let server: PostgresServer;
const databases: Record<string, Database> = {};
let db: Database;
let runs = 0;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-outcome-recording-');
  server = await startPostgres();
  databases['PostgreSQL 15'] = await openDatabase({ databaseUrl: server.url, dataDir: path.join(tmp.path, 'unused') }, log);
  databases['PGlite'] = await openDatabase({ databaseUrl: undefined, dataDir: path.join(tmp.path, 'db') }, log);
}, 60_000);

afterAll(async () => {
  for (const database of Object.values(databases)) await database.close();
  await server?.stop();
  await tmp?.remove();
});

async function newRun(): Promise<string> {
  const id = `run-${++runs}`;
  await new SqlResultStore(db).ensureRun({ id, trigger: 'process', mode: 'process', inventoryUri: 'repos.csv' });
  return id;
}

function failed(runId: string, rowNumber: number): RepositoryOutcome {
  const at = new Date('2026-02-01T10:00:00Z');
  return {
    runId, rowNumber, origin: 'github.com', path: `${runId}/repo-${rowNumber}`, branch: 'main', cloneUrl: `https://github.com/${runId}/repo-${rowNumber}.git`,
    outcome: 'build_failed', commitSha: 'a'.repeat(40), builder: 'make', artifacts: undefined, durationMs: 1, errorCode: 'build_exit_2',
    errorMessage: 'make: *** [all] Error 2', logUrl: undefined, attempt: 1, startedAt: at, finishedAt: at,
  };
}

/** The database, but the statement writing `marker` fails once, as a dropped connection would. */
function failingOnce(marker: string): Pick<Database, 'query'> {
  let failed = false;
  return {
    query: async (text, params) => {
      if (!failed && String(params?.[0]).includes(marker)) {
        failed = true;
        throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
      }
      return db.query(text, params);
    },
  };
}

async function failureCounts(runId: string): Promise<Array<{ consecutive_failures: number; repositories: number }>> {
  const { rows } = await db.query<{ consecutive_failures: number; repositories: number }>(
    'SELECT consecutive_failures, count(*)::int AS repositories FROM repositories WHERE path LIKE $1 GROUP BY consecutive_failures ORDER BY consecutive_failures',
    [`${runId}/%`],
  );
  return rows;
}

describe.each(['PostgreSQL 15', 'PGlite'])('OutcomeRecorder on %s', (name) => {
  beforeAll(() => {
    db = databases[name]!;
  });

  it('counts each failure once when a batch is written again after one of its statements failed', async () => {
    const run = await newRun();
    const batch = Array.from({ length: 5_001 }, (_, i) => failed(run, i + 1));
    const recorder = new OutcomeRecorder(failingOnce(`"${run}/repo-5001"`));

    await expect(recorder.record(batch)).rejects.toThrow('Connection terminated unexpectedly');
    await recorder.record(batch);

    expect(await failureCounts(run)).toEqual([{ consecutive_failures: 1, repositories: 5_001 }]);
  });

  it('counts each failure once when a statement that reached the database is sent again', async () => {
    const run = await newRun();
    const batch = [failed(run, 1), failed(run, 2)];
    await new OutcomeRecorder(db).record(batch);

    await new OutcomeRecorder(db).record(batch);
    await new OutcomeRecorder(db).record([failed(run, 2)]);

    expect(await failureCounts(run)).toEqual([{ consecutive_failures: 1, repositories: 2 }]);
  });

  it('still counts the failure of the same row in a later attempt of the run', async () => {
    const run = await newRun();
    await new OutcomeRecorder(db).record([failed(run, 1)]);

    await new OutcomeRecorder(db).record([{ ...failed(run, 1), attempt: 2, finishedAt: new Date('2026-02-01T11:00:00Z') }]);

    expect(await failureCounts(run)).toEqual([{ consecutive_failures: 2, repositories: 1 }]);
  });
});

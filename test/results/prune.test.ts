import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfrastructureError } from '../../src/errors.js';
import { createLogger } from '../../src/logging/logger.js';
import { openDatabase, type Database } from '../../src/results/database.js';
import { pruneRuns } from '../../src/results/prune.js';
import { findRun } from '../../src/results/report-queries.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

/** pruneRuns over a fake Database (our own seam) that records the statements and answers no run. */
function fakeDatabase(): Database & { readonly statements: Array<{ text: string; params: readonly unknown[] }> } {
  const statements: Array<{ text: string; params: readonly unknown[] }> = [];
  const database = {
    kind: 'postgres' as const,
    statements,
    query: async <Row>(text: string, params: readonly unknown[] = []) => {
      statements.push({ text, params });
      return { rows: [] as Row[] };
    },
    session: async <T>(work: (connection: Pick<Database, 'query'>) => Promise<T>) => work(database),
    close: async () => undefined,
  };
  return database;
}

const silent = createLogger({ level: 'silent', format: 'json', scrub: (text: string) => text, fd: 2 });

describe('pruneRuns with a retention longer than dates reach', () => {
  it('prunes nothing, rather than failing with RangeError, for --older-than 1000000000 (a safe integer the config accepts)', async () => {
    const database = fakeDatabase();

    const summary = await pruneRuns(database, { olderThanDays: 1_000_000_000, keepRuns: 10, dryRun: false, now: new Date('2026-11-28T00:00:00Z') }, silent);

    expect(summary).toEqual({ runs: [], results: 0 });
    // The cutoff is a timestamp PostgreSQL reads (its range starts at 4713 BC; an ISO year needs four digits).
    expect(database.statements[0]?.params[0]).toBe('0001-01-01T00:00:00.000Z');
  });
});

describe('pruneRuns with a deadline', () => {
  it('deletes nothing once its deadline has passed, and says the prune is unfinished', async () => {
    const database = fakeDatabase();
    const old = { id: 'old', created_at: '2026-01-01T00:00:00Z', results: '3' };
    const answering = { ...database, query: async <Row>(text: string, params: readonly unknown[] = []) => ((await database.query<Row>(text, params)), { rows: (text.includes('WITH kept') ? [old] : []) as Row[] }) };

    const summary = await pruneRuns(answering, { olderThanDays: 30, keepRuns: 1, dryRun: false, now: new Date('2026-11-28T00:00:00Z'), deadline: Date.now() - 1 }, silent);

    expect(summary).toEqual({ runs: [], results: 0, unfinished: true });
    expect(database.statements.filter((statement) => statement.text.startsWith('DELETE'))).toEqual([]);
  });
});

/** A real (embedded) database with two old runs of three results each and a recent one. */
async function openSeeded(tmp: TempDir, name: string): Promise<Database> {
  const database = await openDatabase({ databaseUrl: undefined, dataDir: path.join(tmp.path, name) }, silent);
  for (const [id, created] of [['old-1', '2026-01-01T00:00:00Z'], ['old-2', '2026-01-02T00:00:00Z'], ['recent', '2026-11-27T00:00:00Z']] as const) {
    await database.query("INSERT INTO ingest_runs (id, trigger, inventory_uri, mode, created_at) VALUES ($1, 'manual', 'repos.csv', 'array', $2)", [id, created]);
    await database.query("INSERT INTO run_partitions (run_id, partition, start_row, end_row, status, updated_at) VALUES ($1, 0, 1, 3, 'succeeded', $2)", [id, created]);
    for (const row of [1, 2, 3]) {
      await database.query("INSERT INTO repository_results (run_id, row_number, origin, path, branch, outcome, finished_at) VALUES ($1, $2, 'h', $3, 'main', 'published', $4)", [id, row, `o/r${row}`, created]);
    }
  }
  return database;
}

/** A run with `results` rows of results, all finished when it was created. */
async function seedRun(database: Database, id: string, created: string, results: number): Promise<void> {
  await database.query("INSERT INTO ingest_runs (id, trigger, inventory_uri, mode, created_at) VALUES ($1, 'manual', 'repos.csv', 'array', $2)", [id, created]);
  await database.query("INSERT INTO run_partitions (run_id, partition, start_row, end_row, status, updated_at) VALUES ($1, 0, 1, $2, 'succeeded', $3)", [id, results, created]);
  await database.query(
    "INSERT INTO repository_results (run_id, row_number, origin, path, branch, outcome, finished_at) SELECT $1, n, 'h', 'o/r' || n, 'main', 'published', $3 FROM generate_series(1, $2::int) AS n",
    [id, results, created],
  );
}

/** More results than one slice of a prune deletes (50,000): three slices. */
const BIG = 120_000;

async function resultsOf(database: Database, runId: string): Promise<number> {
  const { rows } = await database.query<{ n: number }>('SELECT count(*)::int AS n FROM repository_results WHERE run_id = $1', [runId]);
  return rows[0]?.n ?? 0;
}

async function resultsPerRun(database: Database): Promise<Record<string, number>> {
  const { rows } = await database.query<{ id: string; n: number }>('SELECT r.id, (SELECT count(*)::int FROM repository_results x WHERE x.run_id = r.id) AS n FROM ingest_runs r ORDER BY r.id', []);
  return Object.fromEntries(rows.map((row) => [row.id, row.n]));
}

function capturingLogger(): { log: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log: log as unknown as ReturnType<typeof createLogger>, lines };
}

const SETTINGS = { olderThanDays: 30, keepRuns: 1, dryRun: false, now: new Date('2026-11-28T00:00:00Z') };

describe('pruneRuns interrupted half-way', () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await createTempDir('mass-ingest-prune-unit-');
  });
  afterAll(async () => {
    await tmp?.remove();
  });

  it('stops before the next run once its stop signal came, and says the prune is unfinished; the run not started stays whole', async () => {
    const database = await openSeeded(tmp, 'signal');
    const controller = new AbortController();
    const signalled: Database = {
      ...database,
      query: async (text, params) => {
        const result = await database.query(text, params);
        if (text.startsWith('DELETE FROM ingest_runs')) controller.abort();
        return result as never;
      },
    };

    const summary = await pruneRuns(signalled, { ...SETTINGS, signal: controller.signal }, silent);
    const left = await resultsPerRun(database);
    await database.close();

    expect(summary).toEqual({ runs: [{ id: 'old-1', createdAt: '2026-01-01T00:00:00.000Z', results: 3 }], results: 3, unfinished: true });
    expect(left).toEqual({ 'old-2': 3, recent: 3 });
  });

  it('says which runs it removed before a database error, then passes the error on; the failed run\'s results are left for the next prune', async () => {
    const database = await openSeeded(tmp, 'error');
    const { log, lines } = capturingLogger();
    const failing: Database = {
      ...database,
      query: async (text, params) => {
        if (text.startsWith('DELETE FROM repository_results') && params?.[0] === 'old-2') {
          throw new InfrastructureError('db_unreachable', 'PostgreSQL query failed: Connection terminated unexpectedly');
        }
        return database.query(text, params);
      },
    };

    const error = await pruneRuns(failing, SETTINGS, log).catch((err: unknown) => err);
    const left = await resultsPerRun(database);
    const unnamed = await resultsOf(database, 'old-2');
    const again = await pruneRuns(database, SETTINGS, silent);
    const afterAgain = await resultsOf(database, 'old-2');
    await database.close();

    expect(error).toMatchObject({ code: 'db_unreachable' });
    // old-2's run row went first: no report shows it, whatever became of its results.
    expect(lines.filter((line) => line.level === 30)).toEqual([
      expect.objectContaining({ msg: 'Old runs pruned before a failure', runs: 2, results: 6, runIds: ['old-1', 'old-2'], olderThanDays: 30, keepRuns: 1 }),
    ]);
    expect(left).toEqual({ recent: 3 });
    expect([unnamed, again, afterAgain]).toEqual([3, { runs: [], results: 0 }, 0]);
  });
});

describe.each(['the embedded database', 'PostgreSQL 15'])('pruneRuns stopped part way through a run, on %s', (engine) => {
  let tmp: TempDir;
  let postgres: PostgresServer | undefined;
  beforeAll(async () => {
    tmp = await createTempDir('mass-ingest-prune-slices-');
    if (engine === 'PostgreSQL 15') postgres = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await postgres?.stop();
    await tmp?.remove();
  });

  it('stopped between two slices of a run\'s results, leaves none of that run for report to show; the next prune removes the rest', async () => {
    const database = await openDatabase({ databaseUrl: postgres?.url, dataDir: path.join(tmp.path, 'db') }, silent);
    await seedRun(database, 'big', '2026-01-01T00:00:00Z', BIG);
    await seedRun(database, 'recent', '2026-11-27T00:00:00Z', 3);
    const controller = new AbortController();
    const signalled: Database = {
      ...database,
      query: async (text, params) => {
        const result = await database.query(text, params);
        if (text.startsWith('DELETE FROM repository_results')) controller.abort();
        return result as never;
      },
    };

    const summary = await pruneRuns(signalled, { ...SETTINGS, signal: controller.signal }, silent);
    const leftInPart = await resultsOf(database, 'big');
    const reported = await findRun(database, 'big').catch((err: unknown) => err);
    const last = await findRun(database, 'last');
    const { log, lines } = capturingLogger();
    const again = await pruneRuns(database, SETTINGS, log);
    const afterAgain = await resultsOf(database, 'big');
    await database.close();

    // One slice of 50,000 rows went (rows 1-49,999), the rest waits; the run is gone for report.
    expect([reported, last.id]).toEqual([expect.objectContaining({ code: 'run_not_found' }), 'recent']);
    expect(leftInPart).toBe(BIG - 49_999);
    expect(summary).toEqual({ runs: [{ id: 'big', createdAt: '2026-01-01T00:00:00.000Z', results: BIG }], results: BIG, unfinished: true });
    expect([again, afterAgain]).toEqual([{ runs: [], results: 0 }, 0]);
    expect(lines).toEqual([expect.objectContaining({ msg: 'Results left by an interrupted prune removed', runIds: ['big'] })]);
  });
});

import type { Logger } from '../logging/logger.js';
import type { Database } from './database.js';

/**
 * Which runs `db prune` (and a chunk job with RESULTS_RETENTION_DAYS) removes: those created more
 * than `olderThanDays` ago, except the newest `keepRuns` (what `--run last`, `--only failed` and
 * `report --trend` read) and any with a partition that moved since the cutoff (still running).
 * `repositories` (the current state the incremental skip reads) and `star_history` are kept.
 */
export interface PruneSettings {
  readonly olderThanDays: number;
  readonly keepRuns: number;
  readonly dryRun: boolean;
  readonly now: Date;
  /** Epoch ms after which no further slice is deleted: the rest waits for the next prune. */
  readonly deadline?: number;
  /** A termination signal (SIGTERM, Ctrl-C): stops it the same way, between two slices. */
  readonly signal?: AbortSignal;
}

export interface PrunedRun {
  readonly id: string;
  readonly createdAt: string;
  readonly results: number;
}

export interface PruneSummary {
  readonly runs: readonly PrunedRun[];
  readonly results: number;
  /**
   * The deadline or the signal came first: older runs are left for the next prune, and the last
   * run pruned perhaps with some of its results (no report shows them: its run row is gone).
   */
  readonly unfinished?: boolean;
}

/** A prune's log fields: what it was asked, and what went (or, dry, would go). */
export function pruneFields(settings: Pick<PruneSettings, 'olderThanDays' | 'keepRuns'>, summary: PruneSummary): Record<string, unknown> {
  const { runs, results } = summary;
  return { olderThanDays: settings.olderThanDays, keepRuns: settings.keepRuns, runs: runs.length, results, runIds: runs.map((run) => run.id) };
}

/** Results deleted per statement: a night of a million rows goes in steps that hold no lock for long. */
const DELETE_SLICE = 50_000;

/** 0001-01-01T00:00:00Z: no run is older, and PostgreSQL reads its ISO form (not a Date's earliest, year -271821). */
const EARLIEST_DATE_MS = Date.parse('0001-01-01T00:00:00Z');

export async function pruneRuns(database: Database, settings: PruneSettings, log: Logger): Promise<PruneSummary> {
  // A retention reaching before year 1 keeps every run (rather than an Invalid Date, or a year PostgreSQL refuses).
  const cutoff = new Date(Math.max(settings.now.getTime() - settings.olderThanDays * 86_400_000, EARLIEST_DATE_MS));
  const runs = await prunableRuns(database, cutoff, settings.keepRuns);
  const total = (list: readonly PrunedRun[]) => list.reduce((sum, run) => sum + run.results, 0);
  if (settings.dryRun) return { runs, results: total(runs) };
  const inTime = () => !settings.signal?.aborted && (settings.deadline === undefined || Date.now() < settings.deadline);
  const left = await runsLeftInPart(database);
  const pruned: PrunedRun[] = [];
  let complete = true;
  try {
    for (const id of left) {
      complete = await deleteResults(database, id, inTime);
      if (!complete) break;
    }
    if (left.length > 0 && complete) log.info({ runIds: left }, 'Results left by an interrupted prune removed');
    for (const run of runs) {
      complete &&= inTime();
      if (!complete) break;
      // One statement, and the run is gone for every reader; its results follow (deleteResults).
      await database.query('DELETE FROM ingest_runs WHERE id = $1', [run.id]);
      pruned.push(run);
      complete = await deleteResults(database, run.id, inTime);
      log.debug({ runId: run.id, results: run.results }, 'Run pruned');
    }
  } catch (err) {
    // Those runs are gone whatever happens next: the error must not take their count with it.
    if (pruned.length > 0) log.info(pruneFields(settings, { runs: pruned, results: total(pruned) }), 'Old runs pruned before a failure');
    throw err;
  }
  // PGlite runs no autovacuum: the space of the rows deleted is made reusable here.
  if (database.kind === 'pglite' && (left.length > 0 || pruned.length > 0)) await database.query('VACUUM repository_results, run_partitions, ingest_runs', []);
  return { runs: pruned, results: total(pruned), ...(complete ? {} : { unfinished: true }) };
}

async function prunableRuns(database: Database, cutoff: Date, keepRuns: number): Promise<PrunedRun[]> {
  const { rows } = await database.query<{ id: string; created_at: Date | string; results: string | number }>(
    `WITH kept AS (SELECT id FROM ingest_runs ORDER BY created_at DESC, id DESC LIMIT $2)
     SELECT r.id, r.created_at, (SELECT count(*) FROM repository_results x WHERE x.run_id = r.id) AS results
       FROM ingest_runs r
      WHERE r.created_at < $1
        AND r.id NOT IN (SELECT id FROM kept)
        AND NOT EXISTS (SELECT 1 FROM run_partitions p WHERE p.run_id = r.id AND p.updated_at >= $1)
        AND NOT EXISTS (SELECT 1 FROM repository_results x WHERE x.run_id = r.id AND x.finished_at >= $1)
      ORDER BY r.created_at, r.id`,
    [cutoff.toISOString(), keepRuns],
  );
  return rows.map((row) => ({ id: row.id, createdAt: new Date(row.created_at).toISOString(), results: Number(row.results) }));
}

/**
 * The runs whose row a prune deleted before its deadline or a signal let it delete all their
 * results (deleteResults): results no run names. A run's row is written before any of its results
 * (the recording statement refuses a run that has none), so no other results are without one.
 * Their run ids are found by skipping from one to the next along the primary key (run_id,
 * row_number): one index probe per run, not a scan of every run's rows.
 */
async function runsLeftInPart(database: Database): Promise<string[]> {
  const { rows } = await database.query<{ run_id: string }>(
    `WITH RECURSIVE ids AS (
       (SELECT run_id FROM repository_results ORDER BY run_id LIMIT 1)
       UNION ALL
       SELECT (SELECT x.run_id FROM repository_results x WHERE x.run_id > ids.run_id ORDER BY x.run_id LIMIT 1) FROM ids WHERE ids.run_id IS NOT NULL
     )
     SELECT run_id FROM ids WHERE run_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ingest_runs r WHERE r.id = ids.run_id)`,
    [],
  );
  return rows.map((row) => row.run_id);
}

/**
 * A run's results in slices of rows, after its row (and its partitions: ON DELETE CASCADE) went:
 * no reader sees a run with part of its results. One transaction for a run of a million rows would
 * hold its locks for minutes (a migration waits for them, and every query queued behind it), and
 * could not stop at the deadline without undoing all of it. False when `inTime` says stop first:
 * the rest is left for the next prune (runsLeftInPart).
 */
async function deleteResults(database: Database, runId: string, inTime: () => boolean): Promise<boolean> {
  const { rows } = await database.query<{ last: number | null }>('SELECT max(row_number) AS last FROM repository_results WHERE run_id = $1', [runId]);
  const last = rows[0]?.last ?? 0;
  for (let from = 0; from <= last; from += DELETE_SLICE) {
    if (!inTime()) return false;
    await database.query('DELETE FROM repository_results WHERE run_id = $1 AND row_number >= $2 AND row_number < $3', [runId, from, from + DELETE_SLICE]);
  }
  return true;
}

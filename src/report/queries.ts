import type { Database } from '../results/database.js';
import type { Outcome } from '../results/outcome.js';
import { FAILED_OUTCOMES, type RunInfo } from '../results/report-queries.js';
import type { BuilderCounts, DurationBucket, DurationStats, OutcomeCounts, Percentiles, ReportAggregates, SlowRepository, WallTime } from './model.js';
import { partitionStats } from './partition-query.js';
import { addCount, epochMs, numberOrNull, stringOrNull } from './sql.js';
import { trendOfRuns } from './trend-query.js';

/**
 * The aggregates of one run, each computed in SQL (one query layer for all report formats).
 * Durations exclude `invalid` rows: they never started a step.
 */
export const DEFAULT_TREND_RUNS = 30;
export const SLOWEST_COUNT = 20;

/** Histogram bucket bounds (ms): wide log-like steps from a second to an hour. */
export const DURATION_BOUNDS_MS = [1000, 2000, 5000, 10_000, 20_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_200_000, 1_800_000, 3_600_000];

const TIMED = `run_id = $1 AND outcome <> 'invalid' AND duration_ms IS NOT NULL`;

export async function loadAggregates(db: Database, run: RunInfo, counts: OutcomeCounts, options: { trendRuns?: number } = {}): Promise<ReportAggregates> {
  const total = Object.values(counts).reduce((sum, n) => sum + (n ?? 0), 0);
  const failed = FAILED_OUTCOMES.reduce((sum, outcome) => sum + (counts[outcome] ?? 0), 0);
  return {
    total,
    failed,
    wall: await wallTime(db, run),
    durations: { histogram: await durationHistogram(db, run.id), percentiles: await durationPercentiles(db, run.id) },
    builders: await builderCounts(db, run.id),
    slowest: await slowestRepositories(db, run.id, SLOWEST_COUNT),
    partitions: await partitionStats(db, run),
    trend: await trendOfRuns(db, run.id, options.trendRuns ?? DEFAULT_TREND_RUNS),
  };
}

export async function wallTime(db: Database, run: RunInfo): Promise<WallTime> {
  const { rows } = await db.query<{ first: number | null; last: number | null }>(
    `SELECT ${epochMs('min(started_at)')} AS first, ${epochMs('max(finished_at)')} AS last FROM repository_results WHERE run_id = $1`,
    [run.id],
  );
  const firstResultAt = numberOrNull(rows[0]?.first);
  // Runs recorded before their command's start was (a process opening its database late) began
  // with their first repository.
  const startedAt = Math.min(Date.parse(run.createdAt), firstResultAt ?? Number.POSITIVE_INFINITY);
  const finishedAt = run.finishedAt ? Date.parse(run.finishedAt) : null;
  const lastResultAt = numberOrNull(rows[0]?.last);
  const end = finishedAt ?? lastResultAt;
  return { startedAt, finishedAt, firstResultAt, lastResultAt, wallMs: end === null ? null : Math.max(0, Math.round(end - startedAt)) };
}

export async function durationHistogram(db: Database, runId: string): Promise<DurationBucket[]> {
  const { rows } = await db.query<{ bucket: number; outcome: Outcome; n: number }>(
    `SELECT width_bucket(duration_ms, $2::int[]) AS bucket, outcome, count(*)::int AS n
     FROM repository_results WHERE ${TIMED} GROUP BY 1, 2 ORDER BY 1, 2`,
    [runId, DURATION_BOUNDS_MS],
  );
  const buckets = [0, ...DURATION_BOUNDS_MS].map((fromMs, index) => ({ fromMs, toMs: DURATION_BOUNDS_MS[index] ?? null, counts: {} as OutcomeCounts }));
  for (const row of rows) {
    const bucket = buckets[Number(row.bucket)];
    if (bucket) addCount(bucket.counts, row.outcome, row.n);
  }
  return buckets;
}

export async function durationPercentiles(db: Database, runId: string): Promise<DurationStats['percentiles']> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT count(*)::int AS n, max(duration_ms) AS max,
       percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY duration_ms) AS p,
       count(*) FILTER (WHERE builder IS NOT NULL)::int AS built_n,
       max(duration_ms) FILTER (WHERE builder IS NOT NULL) AS built_max,
       percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE builder IS NOT NULL) AS built_p
     FROM repository_results WHERE ${TIMED}`,
    [runId],
  );
  const row = rows[0] ?? {};
  return { all: percentiles(row.n, row.p, row.max), built: percentiles(row.built_n, row.built_p, row.built_max) };
}

function percentiles(count: unknown, values: unknown, max: unknown): Percentiles {
  const list = Array.isArray(values) ? values.map((value) => numberOrNull(value)) : [];
  const rounded = (index: number) => {
    const value = list[index];
    return value === null || value === undefined ? null : Math.round(value);
  };
  return { count: Number(count ?? 0), p50: rounded(0), p90: rounded(1), p99: rounded(2), max: numberOrNull(max) };
}

export async function builderCounts(db: Database, runId: string): Promise<BuilderCounts[]> {
  const { rows } = await db.query<{ builder: string | null; outcome: Outcome; n: number }>(
    // Ordered, so the counts' keys come out the same in every report of the run.
    'SELECT builder, outcome, count(*)::int AS n FROM repository_results WHERE run_id = $1 GROUP BY 1, 2 ORDER BY 1, 2',
    [runId],
  );
  const byBuilder = new Map<string | null, { total: number; counts: OutcomeCounts }>();
  for (const row of rows) {
    const entry = byBuilder.get(row.builder) ?? { total: 0, counts: {} };
    entry.total += Number(row.n);
    addCount(entry.counts, row.outcome, row.n);
    byBuilder.set(row.builder, entry);
  }
  return [...byBuilder.entries()]
    .map(([builder, entry]) => ({ builder, ...entry }))
    .sort((a, b) => b.total - a.total || String(a.builder).localeCompare(String(b.builder)));
}

export async function slowestRepositories(db: Database, runId: string, limit: number): Promise<SlowRepository[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT row_number, origin, path, branch, outcome, builder, duration_ms, log_url
     FROM repository_results WHERE ${TIMED}
     ORDER BY duration_ms DESC, row_number LIMIT $2`,
    [runId, limit],
  );
  return rows.map((row) => ({
    rowNumber: Number(row.row_number),
    origin: stringOrNull(row.origin),
    path: stringOrNull(row.path),
    branch: stringOrNull(row.branch),
    outcome: row.outcome as Outcome,
    builder: stringOrNull(row.builder),
    durationMs: Number(row.duration_ms),
    logUrl: stringOrNull(row.log_url),
  }));
}

/** Failed rows per outcome and error code (null: none), most frequent first. */
export interface ErrorCodeCount {
  readonly outcome: Outcome;
  readonly errorCode: string | null;
  readonly count: number;
}

export async function errorCodeCounts(db: Database, runId: string): Promise<ErrorCodeCount[]> {
  const { rows } = await db.query<{ outcome: Outcome; error_code: string | null; n: number }>(
    `SELECT outcome, error_code, count(*)::int AS n FROM repository_results
     WHERE run_id = $1 AND outcome = ANY($2::text[]) GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2`,
    [runId, FAILED_OUTCOMES],
  );
  return rows.map((row) => ({ outcome: row.outcome, errorCode: stringOrNull(row.error_code), count: Number(row.n) }));
}

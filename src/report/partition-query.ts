import type { Database } from '../results/database.js';
import { FAILED_OUTCOMES, type RunInfo } from '../results/report-queries.js';
import type { PartitionSpan, PartitionStats } from './model.js';
import { epochMs, numberOrNull, stringOrNull } from './sql.js';

/**
 * Each partition's planned rows and status (`run_partitions`) with the span of its results:
 * min(started_at)..max(finished_at). A row belongs to partition floor((row_number − 1) / size)
 * when the run's partition size is known (DESIGN §2); otherwise to the partition whose
 * start_row..end_row holds it (a bare `process` run has one or a few partitions).
 */
export async function partitionStats(db: Database, run: RunInfo): Promise<PartitionStats> {
  const timeline = await partitionTimeline(db, run);
  const statuses: Record<string, number> = {};
  for (const span of timeline) {
    const status = span.status ?? 'unrecorded';
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
  return { statuses, timeline };
}

async function partitionTimeline(db: Database, run: RunInfo): Promise<PartitionSpan[]> {
  const size = run.partitionSize && run.partitionSize > 0 ? run.partitionSize : null;
  const spans = size === null
    ? `SELECT p.partition, min(r.started_at) AS s, max(r.finished_at) AS f, count(*)::int AS n,
         count(*) FILTER (WHERE r.outcome = ANY($2::text[]))::int AS failed
       FROM repository_results r JOIN run_partitions p ON p.run_id = r.run_id AND r.row_number BETWEEN p.start_row AND p.end_row
       WHERE r.run_id = $1 GROUP BY p.partition`
    : `SELECT ((row_number - 1) / $3::int)::int AS partition, min(started_at) AS s, max(finished_at) AS f, count(*)::int AS n,
         count(*) FILTER (WHERE outcome = ANY($2::text[]))::int AS failed
       FROM repository_results WHERE run_id = $1 GROUP BY 1`;
  const { rows } = await db.query<Record<string, unknown>>(
    `WITH spans AS (${spans}),
          planned AS (SELECT * FROM run_partitions WHERE run_id = $1)
     SELECT coalesce(p.partition, s.partition) AS partition, p.start_row, p.end_row, p.status,
       ${epochMs('p.updated_at')} AS updated_at, ${epochMs('s.s')} AS started_at, ${epochMs('s.f')} AS finished_at,
       coalesce(s.n, 0) AS n, coalesce(s.failed, 0) AS failed
     FROM planned p FULL JOIN spans s ON s.partition = p.partition
     ORDER BY 1`,
    size === null ? [run.id, FAILED_OUTCOMES] : [run.id, FAILED_OUTCOMES, size],
  );
  return rows.map((row) => ({
    partition: Number(row.partition),
    startRow: numberOrNull(row.start_row),
    endRow: numberOrNull(row.end_row),
    status: stringOrNull(row.status),
    updatedAt: numberOrNull(row.updated_at),
    startedAt: numberOrNull(row.started_at),
    finishedAt: numberOrNull(row.finished_at),
    repositories: Number(row.n),
    failed: Number(row.failed),
  }));
}

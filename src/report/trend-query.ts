import type { Database } from '../results/database.js';
import { FAILED_OUTCOMES } from '../results/report-queries.js';
import type { TrendPoint } from './model.js';
import { epochMs, numberOrNull } from './sql.js';

/**
 * The last `limit` runs up to and including `runId` (by created_at, then id), oldest first, with
 * their total, published, unchanged and failed counts (read through the primary key, run_id
 * first); the wall time is finished_at − created_at, so a run not marked finished has none.
 */
export async function trendOfRuns(db: Database, runId: string, limit: number): Promise<TrendPoint[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `WITH target AS (SELECT created_at, id FROM ingest_runs WHERE id = $1),
          runs AS (
            SELECT r.id, r.trigger, r.created_at, r.finished_at FROM ingest_runs r, target t
            WHERE (r.created_at, r.id) <= (t.created_at, t.id)
            ORDER BY r.created_at DESC, r.id DESC LIMIT $2
          )
     SELECT runs.id, runs.trigger, ${epochMs('runs.created_at')} AS created_at, ${epochMs('runs.finished_at')} AS finished_at,
       c.total, c.published, c.unchanged, c.failed
     FROM runs CROSS JOIN LATERAL (
       SELECT count(*)::int AS total,
         count(*) FILTER (WHERE outcome = 'published')::int AS published,
         count(*) FILTER (WHERE outcome = 'unchanged')::int AS unchanged,
         count(*) FILTER (WHERE outcome = ANY($3::text[]))::int AS failed
       FROM repository_results WHERE run_id = runs.id
     ) c
     ORDER BY runs.created_at, runs.id`,
    [runId, limit, FAILED_OUTCOMES],
  );
  return rows.map((row) => {
    const createdAt = Number(row.created_at);
    const finishedAt = numberOrNull(row.finished_at);
    return {
      runId: String(row.id),
      trigger: String(row.trigger),
      createdAt,
      finishedAt,
      wallMs: finishedAt === null ? null : Math.max(0, Math.round(finishedAt - createdAt)),
      total: Number(row.total),
      published: Number(row.published),
      unchanged: Number(row.unchanged),
      failed: Number(row.failed),
    };
  });
}

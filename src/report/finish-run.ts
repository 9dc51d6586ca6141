import type { Database } from '../results/database.js';

/**
 * `report --finish` (implied by `--publish`): the run ended when its last piece of work did —
 * the latest result or partition update — not when the report job happened to start after
 * Batch scheduled it. Running it again (a retried report job) sets the same time; a run with
 * nothing recorded yet is finished now.
 */
export async function markRunFinished(db: Database, runId: string): Promise<void> {
  await db.query(
    `UPDATE ingest_runs SET finished_at = coalesce(
       greatest(
         (SELECT max(finished_at) FROM repository_results WHERE run_id = $1),
         (SELECT max(updated_at) FROM run_partitions WHERE run_id = $1)
       ),
       now())
     WHERE id = $1`,
    [runId],
  );
}

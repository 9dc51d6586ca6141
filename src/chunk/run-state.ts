import { UsageError } from '../errors.js';
import type { Database } from '../results/database.js';
import type { PartitionRecord, PartitionStatus, RunRecord } from '../results/result-store.js';
import type { ChunkPlan } from './plan.js';

/** What a run id already has in the database: a retried chunk job continues where it stopped. */
export interface PartitionState {
  readonly status: PartitionStatus;
  readonly batchJobId: string | null;
}

export async function loadPartitionState(database: Database, runId: string): Promise<Map<number, PartitionState>> {
  const { rows } = await database.query<{ partition: number; status: PartitionStatus; batch_job_id: string | null }>(
    'SELECT partition, status, batch_job_id FROM run_partitions WHERE run_id = $1',
    [runId],
  );
  return new Map(rows.map((row) => [Number(row.partition), { status: row.status, batchJobId: row.batch_job_id }]));
}

/**
 * A run id names one plan: the same inventory bytes cut the same way. Retrying a chunk job
 * after the inventory changed would mix two inventories in one run.
 */
export function checkSamePlan(stored: RunRecord, plan: ChunkPlan): void {
  const problems: string[] = [];
  if (stored.inventorySha256 && stored.inventorySha256 !== plan.sha256) {
    problems.push(`the inventory's sha256 is now ${plan.sha256}, the run was planned over ${stored.inventorySha256}`);
  }
  if (stored.partitionSize && stored.partitionSize !== plan.partitionSize) {
    problems.push(`--partition-size is now ${plan.partitionSize}, the run was planned with ${stored.partitionSize}`);
  }
  if (problems.length > 0) {
    const headline = problems.length === 1
      ? `Run ${stored.id} already exists with another plan: ${problems[0]}; start a new run (another --run-id)`
      : `Run ${stored.id} already exists with another plan (${problems.length} changes): start a new run (another --run-id)`;
    throw new UsageError('run_plan_changed', headline, problems);
  }
}

/** One statement per 10,000 partitions: a whole array is recorded in one round trip. */
const WRITE_CHUNK = 10_000;

/**
 * Sets `batch_job_id` of submitted partitions. Their status moves from `planned` to `submitted`
 * only: a processor that already started (`running`, `succeeded`…) keeps its own status.
 */
export async function recordSubmitted(database: Database, records: readonly PartitionRecord[]): Promise<void> {
  for (let index = 0; index < records.length; index += WRITE_CHUNK) {
    const slice = records.slice(index, index + WRITE_CHUNK);
    await database.query(
      `INSERT INTO run_partitions AS p (run_id, partition, start_row, end_row, batch_job_id, status, updated_at)
       SELECT r, n, s, e, j, 'submitted', now() FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::text[]) AS t(r, n, s, e, j)
       ON CONFLICT (run_id, partition) DO UPDATE SET
         batch_job_id = EXCLUDED.batch_job_id,
         status = CASE WHEN p.status = 'planned' THEN 'submitted' ELSE p.status END,
         updated_at = now()`,
      [slice.map((r) => r.runId), slice.map((r) => r.partition), slice.map((r) => r.startRow), slice.map((r) => r.endRow), slice.map((r) => r.batchJobId ?? null)],
    );
  }
}

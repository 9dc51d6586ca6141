import type { Database } from './database.js';
import { OUTCOMES, SUCCESSFUL_OUTCOMES, type RepositoryOutcome } from './outcome.js';

export type RunTrigger = 'schedule' | 'manual' | 'local' | 'process';
export type RunMode = 'array' | 'jobs' | 'local' | 'process';
export type PartitionStatus = 'planned' | 'submitted' | 'running' | 'succeeded' | 'failed';

export interface RunRecord {
  readonly id: string;
  readonly trigger: RunTrigger;
  readonly inventoryUri: string;
  readonly inventorySha256?: string | undefined;
  readonly inventoryRows?: number | undefined;
  readonly partitionSize?: number | undefined;
  readonly partitions?: number | undefined;
  readonly mode: RunMode;
}

export interface PartitionRecord {
  readonly runId: string;
  readonly partition: number;
  readonly startRow: number;
  readonly endRow: number;
  readonly status: PartitionStatus;
  readonly batchJobId?: string | undefined;
}

/** The seam between the pipeline and the database; tests may pass a fake (STYLE 22). */
export interface ResultStore {
  ensureRun(run: RunRecord): Promise<RunRecord>;
  upsertPartitions(partitions: readonly PartitionRecord[]): Promise<void>;
  lastPublishedSha(origin: string, path: string, branch: string): Promise<string | undefined>;
  recordOutcomes(outcomes: readonly RepositoryOutcome[]): Promise<void>;
  finishRun(runId: string): Promise<void>;
}

const CHUNK = 2000;
const FAILED = OUTCOMES.filter((outcome) => !SUCCESSFUL_OUTCOMES.has(outcome) && outcome !== 'aborted');

export class SqlResultStore implements ResultStore {
  constructor(private readonly db: Database) {}

  /** Creates the run if new; an existing run (a retried job, another partition) is returned as stored. */
  async ensureRun(run: RunRecord): Promise<RunRecord> {
    await this.db.query(
      `INSERT INTO ingest_runs (id, trigger, inventory_uri, inventory_sha256, inventory_rows, partition_size, partitions, mode)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (id) DO UPDATE SET
         inventory_sha256 = COALESCE(ingest_runs.inventory_sha256, EXCLUDED.inventory_sha256),
         inventory_rows = COALESCE(ingest_runs.inventory_rows, EXCLUDED.inventory_rows),
         partition_size = COALESCE(ingest_runs.partition_size, EXCLUDED.partition_size),
         partitions = COALESCE(ingest_runs.partitions, EXCLUDED.partitions)`,
      [run.id, run.trigger, run.inventoryUri, run.inventorySha256 ?? null, run.inventoryRows ?? null, run.partitionSize ?? null, run.partitions ?? null, run.mode],
    );
    const { rows } = await this.db.query<Record<string, unknown>>('SELECT * FROM ingest_runs WHERE id = $1', [run.id]);
    const row = rows[0] ?? {};
    return {
      id: String(row.id),
      trigger: row.trigger as RunTrigger,
      inventoryUri: String(row.inventory_uri),
      inventorySha256: (row.inventory_sha256 as string | null) ?? undefined,
      inventoryRows: (row.inventory_rows as number | null) ?? undefined,
      partitionSize: (row.partition_size as number | null) ?? undefined,
      partitions: (row.partitions as number | null) ?? undefined,
      mode: row.mode as RunMode,
    };
  }

  async upsertPartitions(partitions: readonly PartitionRecord[]): Promise<void> {
    for (let index = 0; index < partitions.length; index += CHUNK) {
      const slice = partitions.slice(index, index + CHUNK);
      await this.db.query(
        `INSERT INTO run_partitions (run_id, partition, start_row, end_row, batch_job_id, status, updated_at)
         SELECT * , now() FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::text[], $6::text[])
         ON CONFLICT (run_id, partition) DO UPDATE SET
           start_row = EXCLUDED.start_row, end_row = EXCLUDED.end_row,
           batch_job_id = COALESCE(EXCLUDED.batch_job_id, run_partitions.batch_job_id),
           status = EXCLUDED.status, updated_at = now()`,
        [
          slice.map((p) => p.runId),
          slice.map((p) => p.partition),
          slice.map((p) => p.startRow),
          slice.map((p) => p.endRow),
          slice.map((p) => p.batchJobId ?? null),
          slice.map((p) => p.status),
        ],
      );
    }
  }

  async lastPublishedSha(origin: string, path: string, branch: string): Promise<string | undefined> {
    const { rows } = await this.db.query<{ last_published_sha: string | null }>(
      'SELECT last_published_sha FROM repositories WHERE origin = $1 AND path = $2 AND branch = $3',
      [origin, path, branch],
    );
    return rows[0]?.last_published_sha ?? undefined;
  }

  /** One multi-row upsert per 2,000 outcomes into results, and the current state of each repository. */
  async recordOutcomes(outcomes: readonly RepositoryOutcome[]): Promise<void> {
    for (let index = 0; index < outcomes.length; index += CHUNK) {
      const slice = outcomes.slice(index, index + CHUNK);
      await this.insertResults(slice);
      await this.upsertRepositories(slice);
    }
  }

  async finishRun(runId: string): Promise<void> {
    await this.db.query('UPDATE ingest_runs SET finished_at = now() WHERE id = $1', [runId]);
  }

  private async insertResults(slice: readonly RepositoryOutcome[]): Promise<void> {
    await this.db.query(
      `INSERT INTO repository_results (run_id, row_number, origin, path, branch, clone_url, outcome, commit_sha, builder,
         artifacts, duration_ms, error_code, error_message, log_url, attempt, started_at, finished_at)
       SELECT r, n, o, p, b, c, oc, sha, bu, a::jsonb, d, ec, em, lu, at, sa, fa
       FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                   $10::text[], $11::int[], $12::text[], $13::text[], $14::text[], $15::int[], $16::timestamptz[], $17::timestamptz[])
         AS t(r, n, o, p, b, c, oc, sha, bu, a, d, ec, em, lu, at, sa, fa)
       ON CONFLICT (run_id, row_number) DO UPDATE SET
         origin = EXCLUDED.origin, path = EXCLUDED.path, branch = EXCLUDED.branch, clone_url = EXCLUDED.clone_url,
         outcome = EXCLUDED.outcome, commit_sha = EXCLUDED.commit_sha, builder = EXCLUDED.builder,
         artifacts = EXCLUDED.artifacts, duration_ms = EXCLUDED.duration_ms, error_code = EXCLUDED.error_code,
         error_message = EXCLUDED.error_message, log_url = EXCLUDED.log_url, attempt = EXCLUDED.attempt,
         started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at`,
      [
        slice.map((o) => o.runId),
        slice.map((o) => o.rowNumber),
        slice.map((o) => o.origin ?? null),
        slice.map((o) => o.path ?? null),
        slice.map((o) => o.branch ?? null),
        slice.map((o) => o.cloneUrl ?? null),
        slice.map((o) => o.outcome),
        slice.map((o) => o.commitSha ?? null),
        slice.map((o) => o.builder ?? null),
        slice.map((o) => (o.artifacts ? JSON.stringify(o.artifacts) : null)),
        slice.map((o) => Math.round(o.durationMs)),
        slice.map((o) => o.errorCode ?? null),
        slice.map((o) => o.errorMessage ?? null),
        slice.map((o) => o.logUrl ?? null),
        slice.map((o) => o.attempt),
        slice.map((o) => o.startedAt.toISOString()),
        slice.map((o) => o.finishedAt.toISOString()),
      ],
    );
  }

  private async upsertRepositories(slice: readonly RepositoryOutcome[]): Promise<void> {
    const latest = new Map<string, RepositoryOutcome>();
    for (const o of slice) {
      if (o.origin && o.path && o.outcome !== 'invalid') latest.set(`${o.origin}\u0000${o.path}\u0000${o.branch ?? ''}`, o);
    }
    const rows = [...latest.values()];
    if (rows.length === 0) return;
    await this.db.query(
      `INSERT INTO repositories AS r (origin, path, branch, clone_url, last_commit_sha, last_published_sha, last_outcome, consecutive_failures, updated_at)
       SELECT o, p, b, c, sha, pub, oc, CASE WHEN oc = ANY($8::text[]) THEN 1 ELSE 0 END, now()
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS t(o, p, b, c, sha, pub, oc)
       ON CONFLICT (origin, path, branch) DO UPDATE SET
         clone_url = EXCLUDED.clone_url,
         last_commit_sha = COALESCE(EXCLUDED.last_commit_sha, r.last_commit_sha),
         last_published_sha = COALESCE(EXCLUDED.last_published_sha, r.last_published_sha),
         last_outcome = EXCLUDED.last_outcome,
         consecutive_failures = CASE WHEN EXCLUDED.last_outcome = ANY($8::text[]) THEN r.consecutive_failures + 1
                                     WHEN EXCLUDED.last_outcome = 'aborted' THEN r.consecutive_failures ELSE 0 END,
         updated_at = now()`,
      [
        rows.map((o) => o.origin),
        rows.map((o) => o.path),
        rows.map((o) => o.branch ?? ''),
        rows.map((o) => o.cloneUrl ?? null),
        rows.map((o) => o.commitSha ?? null),
        rows.map((o) => (o.outcome === 'published' || o.outcome === 'unchanged' ? (o.commitSha ?? null) : null)),
        rows.map((o) => o.outcome),
        FAILED,
      ],
    );
  }
}

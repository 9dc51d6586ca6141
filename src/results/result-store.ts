import type { PartitionStart } from '../inventory/partition-index.js';
import type { Database } from './database.js';
import type { RepositoryOutcome } from './outcome.js';
import { OutcomeRecorder } from './outcome-recording.js';

export type RunTrigger = 'schedule' | 'manual' | 'local' | 'process';
export type RunMode = 'array' | 'jobs' | 'local' | 'process';
export type PartitionStatus = 'planned' | 'submitted' | 'running' | 'succeeded' | 'failed';

export interface RunRecord {
  readonly id: string;
  readonly trigger: RunTrigger;
  readonly inventoryUri: string;
  readonly inventorySha256?: string | undefined;
  /** The ETag of the S3 object the chunk job hashed (s3:// inventories only; DESIGN §9). */
  readonly inventoryEtag?: string | undefined;
  readonly inventoryRows?: number | undefined;
  readonly partitionSize?: number | undefined;
  readonly partitions?: number | undefined;
  readonly mode: RunMode;
  /**
   * When the command that records the run began (default: when the row is written). A process
   * records its run once the database is open, which on a busy machine is seconds into its work.
   */
  readonly createdAt?: Date | undefined;
  /** `chunk --only failed|changed --run <id>`: the run whose rows this one reruns, and which. */
  readonly rerunOf?: { readonly runId: string; readonly rows: 'failed' | 'changed' } | undefined;
}

export interface PartitionRecord {
  readonly runId: string;
  readonly partition: number;
  readonly startRow: number;
  readonly endRow: number;
  readonly status: PartitionStatus;
  readonly batchJobId?: string | undefined;
  /** Where the partition begins in the inventory's bytes, and its rows repeating an earlier partition's (src/inventory/partition-index.ts). */
  readonly startOffset?: number | undefined;
  readonly earlierDuplicates?: ReadonlyMap<number, number> | undefined;
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

export class SqlResultStore implements ResultStore {
  private recorder: OutcomeRecorder | undefined;

  constructor(private readonly db: Database) {}

  /** Creates the run if new; an existing run (a retried job, another partition) is returned as stored. */
  async ensureRun(run: RunRecord): Promise<RunRecord> {
    await this.db.query(
      `INSERT INTO ingest_runs (id, trigger, inventory_uri, inventory_sha256, inventory_rows, partition_size, partitions, mode, created_at, inventory_etag, rerun_of, rerun_rows)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, COALESCE($9::timestamptz, now()), $10, $11, $12)
       ON CONFLICT (id) DO UPDATE SET
         created_at = LEAST(ingest_runs.created_at, EXCLUDED.created_at),
         inventory_sha256 = COALESCE(ingest_runs.inventory_sha256, EXCLUDED.inventory_sha256),
         -- A retried chunk job that hashed the same bytes under another ETag (the object was
         -- uploaded again) records the new one: the children's If-Match must name the current object.
         inventory_etag = CASE
           WHEN EXCLUDED.inventory_etag IS NOT NULL AND ingest_runs.inventory_sha256 IS NOT DISTINCT FROM EXCLUDED.inventory_sha256 THEN EXCLUDED.inventory_etag
           ELSE COALESCE(ingest_runs.inventory_etag, EXCLUDED.inventory_etag) END,
         inventory_rows = COALESCE(ingest_runs.inventory_rows, EXCLUDED.inventory_rows),
         partition_size = COALESCE(ingest_runs.partition_size, EXCLUDED.partition_size),
         partitions = COALESCE(ingest_runs.partitions, EXCLUDED.partitions),
         rerun_of = COALESCE(ingest_runs.rerun_of, EXCLUDED.rerun_of),
         rerun_rows = COALESCE(ingest_runs.rerun_rows, EXCLUDED.rerun_rows)`,
      [
        run.id,
        run.trigger,
        run.inventoryUri,
        run.inventorySha256 ?? null,
        run.inventoryRows ?? null,
        run.partitionSize ?? null,
        run.partitions ?? null,
        run.mode,
        run.createdAt?.toISOString() ?? null,
        run.inventoryEtag ?? null,
        run.rerunOf?.runId ?? null,
        run.rerunOf?.rows ?? null,
      ],
    );
    const { rows } = await this.db.query<Record<string, unknown>>('SELECT * FROM ingest_runs WHERE id = $1', [run.id]);
    const row = rows[0] ?? {};
    return {
      id: String(row.id),
      trigger: row.trigger as RunTrigger,
      inventoryUri: String(row.inventory_uri),
      inventorySha256: (row.inventory_sha256 as string | null) ?? undefined,
      inventoryEtag: (row.inventory_etag as string | null) ?? undefined,
      inventoryRows: (row.inventory_rows as number | null) ?? undefined,
      partitionSize: (row.partition_size as number | null) ?? undefined,
      partitions: (row.partitions as number | null) ?? undefined,
      mode: row.mode as RunMode,
    };
  }

  async upsertPartitions(partitions: readonly PartitionRecord[]): Promise<void> {
    for (let index = 0; index < partitions.length; index += CHUNK) {
      const slice = partitions.slice(index, index + CHUNK);
      // The chunk job's index stays: a partition's offset belongs to its number (its rows follow from
      // the run's partition size), whatever rows a later process records for it.
      await this.db.query(
        `INSERT INTO run_partitions AS p (run_id, partition, start_row, end_row, batch_job_id, status, start_offset, earlier_duplicates, updated_at)
         SELECT r, n, s, e, j, t, o, d::jsonb, now() FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::text[], $6::text[], $7::bigint[], $8::text[]) AS u(r, n, s, e, j, t, o, d)
         ON CONFLICT (run_id, partition) DO UPDATE SET
           start_row = EXCLUDED.start_row, end_row = EXCLUDED.end_row,
           batch_job_id = COALESCE(EXCLUDED.batch_job_id, p.batch_job_id),
           status = EXCLUDED.status,
           start_offset = COALESCE(EXCLUDED.start_offset, p.start_offset),
           earlier_duplicates = CASE WHEN EXCLUDED.start_offset IS NULL THEN p.earlier_duplicates ELSE EXCLUDED.earlier_duplicates END,
           updated_at = now()`,
        [
          slice.map((p) => p.runId),
          slice.map((p) => p.partition),
          slice.map((p) => p.startRow),
          slice.map((p) => p.endRow),
          slice.map((p) => p.batchJobId ?? null),
          slice.map((p) => p.status),
          slice.map((p) => p.startOffset ?? null),
          slice.map((p) => (p.earlierDuplicates?.size ? JSON.stringify(Object.fromEntries(p.earlierDuplicates)) : null)),
        ],
      );
    }
  }

  /**
   * Where partition `partition` of a run the chunk job planned begins and ends in the inventory,
   * for a child reading rows `start..end` of it to read only its own bytes
   * (src/inventory/partition-index.ts); undefined when the chunk job indexed none (a local or
   * http(s) inventory, `chunk --local`, a run planned before indexes were recorded) or the rows are
   * not the partition's. Its rows follow from the run's partition size, never from what a process
   * recorded since (a sub-range rerun rewrites `start_row`/`end_row`). Three rows by primary key:
   * the first partition (where the header ends), this one, and the next (where this one ends).
   */
  async partitionStart(run: Pick<RunRecord, 'id' | 'partitionSize' | 'inventoryRows'>, partition: number, start: number, end: number): Promise<PartitionStart | undefined> {
    const { partitionSize, inventoryRows } = run;
    if (partitionSize === undefined || inventoryRows === undefined) return undefined;
    const firstRow = partition * partitionSize + 1;
    if (start < firstRow || end > Math.min(firstRow + partitionSize - 1, inventoryRows)) return undefined;
    const { rows } = await this.db.query<{ partition: number; start_offset: string; earlier_duplicates: Record<string, number> | null }>(
      `SELECT partition, start_offset, earlier_duplicates FROM run_partitions
        WHERE run_id = $1 AND partition = ANY($2::int[]) AND start_offset IS NOT NULL`,
      [run.id, [0, partition, partition + 1]],
    );
    const offsetOf = (wanted: number) => rows.find((row) => Number(row.partition) === wanted);
    const [header, own, next] = [offsetOf(0), offsetOf(partition), offsetOf(partition + 1)];
    if (!header || !own) return undefined;
    const earlier = Object.entries(own.earlier_duplicates ?? {}).map(([repeat, row]): [number, number] => [Number(repeat), Number(row)]);
    return {
      headerBytes: Number(header.start_offset),
      firstRow,
      offset: Number(own.start_offset),
      ...(next ? { endOffset: Number(next.start_offset) } : {}),
      earlierDuplicates: new Map(earlier),
    };
  }

  /**
   * Sets an already recorded partition `failed` (its processor stopped before it could set up its
   * run). A partition an earlier attempt finished stays `succeeded`: this attempt changed none of its rows.
   */
  async failRecordedPartition(runId: string, partition: number): Promise<void> {
    await this.db.query("UPDATE run_partitions SET status = 'failed', updated_at = now() WHERE run_id = $1 AND partition = $2 AND status <> 'succeeded'", [runId, partition]);
  }

  /**
   * Records a partition `failed` whose processor was refused before it touched a row (the
   * inventory changed or cannot be read); one that already `succeeded` (a late attempt) stays so.
   */
  async failUnstartedPartition(record: Omit<PartitionRecord, 'status'>): Promise<void> {
    await this.db.query(
      `INSERT INTO run_partitions AS p (run_id, partition, start_row, end_row, batch_job_id, status, updated_at)
       VALUES ($1, $2, $3, $4, $5, 'failed', now())
       ON CONFLICT (run_id, partition) DO UPDATE SET status = 'failed', updated_at = now() WHERE p.status <> 'succeeded'`,
      [record.runId, record.partition, record.startRow, record.endRow, record.batchJobId ?? null],
    );
  }

  /**
   * The partition a range given by rows alone (`--start/--end`, no partition size) is recorded as:
   * the run's partition that began at the same row (a rerun of it), else the next number (another
   * range of the same run), else 0.
   */
  async partitionStartingAt(runId: string, startRow: number): Promise<number> {
    const { rows } = await this.db.query<{ partition: number }>(
      `SELECT COALESCE(
         (SELECT min(partition) FROM run_partitions WHERE run_id = $1 AND start_row = $2),
         (SELECT max(partition) + 1 FROM run_partitions WHERE run_id = $1),
         0)::int AS partition`,
      [runId, startRow],
    );
    return rows[0]?.partition ?? 0;
  }

  async lastPublishedSha(origin: string, path: string, branch: string): Promise<string | undefined> {
    const { rows } = await this.db.query<{ last_published_sha: string | null }>(
      'SELECT last_published_sha FROM repositories WHERE origin = $1 AND path = $2 AND branch = $3',
      [origin, path, branch],
    );
    return rows[0]?.last_published_sha ?? undefined;
  }

  /** Both tables in one statement per 5,000 outcomes; see src/results/outcome-recording.ts. */
  async recordOutcomes(outcomes: readonly RepositoryOutcome[]): Promise<void> {
    this.recorder ??= new OutcomeRecorder(this.db);
    await this.recorder.record(outcomes);
  }

  async finishRun(runId: string): Promise<void> {
    await this.db.query('UPDATE ingest_runs SET finished_at = now() WHERE id = $1', [runId]);
  }
}

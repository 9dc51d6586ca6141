import { UsageError } from '../errors.js';
import { partitionCount } from '../inventory/range.js';
import type { PartitionIndex } from '../inventory/partition-index.js';
import { scanInventory } from '../inventory/scan.js';
import { inventoryScheme, type InventoryOptions } from '../inventory/source.js';
import { scrubUrlSecrets } from '../logging/scrub.js';
import type { PartitionRecord, PartitionStatus, RunRecord } from '../results/result-store.js';

/** What the chunk job decided: the inventory's exact size and digest, and its partitions. */
export interface ChunkPlan {
  /** As given: what the processor jobs read. */
  readonly inventory: string;
  /** For logs and the database: userinfo removed. */
  readonly inventoryShown: string;
  readonly rows: number;
  readonly sha256: string;
  /** s3:// only: the ETag of the object hashed; the children read it with If-Match (DESIGN §9). */
  readonly etag?: string | undefined;
  readonly bytes: number;
  readonly partitionSize: number;
  readonly partitions: number;
  /**
   * s3:// jobs for Batch only: where each partition begins, so that a child reads its own rows
   * alone, pinned by If-Match to the ETag (src/inventory/partition-index.ts). A file or http(s)://
   * inventory is read whole by each child for its sha256 anyway; `chunk --local` (its few children
   * on this machine) does without: the index's table (≈60 MiB at a million rows) beside the
   * embedded database would take the chunk process past 256 MiB.
   */
  readonly index?: PartitionIndex | undefined;
}

export interface RowRange {
  readonly start: number;
  readonly end: number;
}

/** AWS Batch's largest array (service quotas: 10,000 children). */
export const MAX_ARRAY_SIZE = 10_000;

/** One streaming pass: RFC 4180 records counted (header and blank lines excluded) and hashed; with `forBatch`, an s3:// inventory's partitions indexed. */
export async function planChunk(inventory: string, partitionSize: number, options: InventoryOptions = {}, forBatch = false): Promise<ChunkPlan> {
  if (!Number.isInteger(partitionSize) || partitionSize < 1) {
    throw new UsageError('partition_size_invalid', `--partition-size must be an integer ≥ 1, got ${partitionSize}`);
  }
  const indexed = forBatch && inventoryScheme(inventory) === 's3';
  const { rows, sha256, bytes, etag, index } = await scanInventory(inventory, options, indexed ? partitionSize : undefined);
  const inventoryShown = scrubUrlSecrets(inventory);
  if (rows === 0) {
    throw new UsageError('inventory_empty', `Inventory ${inventoryShown} has no data rows (only a header, or nothing): there is nothing to submit`);
  }
  return { inventory, inventoryShown, rows, sha256, etag, bytes, partitionSize, partitions: partitionCount(rows, partitionSize), index: etag === undefined ? undefined : index };
}

/** Rows of partition `i` (0-based), exact: the last partition ends at the last row. */
export function partitionRange(plan: Pick<ChunkPlan, 'rows' | 'partitionSize'>, partition: number): RowRange {
  const start = partition * plan.partitionSize + 1;
  return { start, end: Math.min(start + plan.partitionSize - 1, plan.rows) };
}

export function partitionRecords(plan: ChunkPlan, runId: string, partitions: Iterable<number>, status: PartitionStatus, jobIdOf?: (partition: number) => string | undefined): PartitionRecord[] {
  const records: PartitionRecord[] = [];
  for (const partition of partitions) {
    const { start, end } = partitionRange(plan, partition);
    const offset = plan.index?.offsets[partition];
    const located = offset === undefined ? {} : { startOffset: offset, earlierDuplicates: plan.index?.earlierDuplicates.get(partition) };
    records.push({ runId, partition, startRow: start, endRow: end, status, batchJobId: jobIdOf?.(partition), ...located });
  }
  return records;
}

export function allPartitions(plan: Pick<ChunkPlan, 'partitions'>): number[] {
  return Array.from({ length: plan.partitions }, (_, index) => index);
}

/** What a run records of its plan (`ingest_runs`): the inventory it read, and how it was cut. */
export function plannedRun(plan: ChunkPlan): Pick<RunRecord, 'inventoryUri' | 'inventorySha256' | 'inventoryEtag' | 'inventoryRows' | 'partitionSize' | 'partitions'> {
  return { inventoryUri: plan.inventoryShown, inventorySha256: plan.sha256, inventoryEtag: plan.etag, inventoryRows: plan.rows, partitionSize: plan.partitionSize, partitions: plan.partitions };
}

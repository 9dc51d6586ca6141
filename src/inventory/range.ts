import { UsageError } from '../errors.js';
import type { RowSelection } from './reader.js';

/** Rows of array partition `i` (0-based, DESIGN §2): `i*P+1 .. (i+1)*P`; the reader stops at the last row. */
export function partitionRows(partition: number, partitionSize: number): RowSelection {
  return { start: partition * partitionSize + 1, end: (partition + 1) * partitionSize };
}

/** Number of partitions needed for `rows` data rows. */
export function partitionCount(rows: number, partitionSize: number): number {
  return Math.ceil(rows / partitionSize);
}

export interface RangeFlags {
  start?: number;
  end?: number;
  partitionSize?: number;
  partitionOffset?: number;
  arrayIndex?: number;
}

export interface ResolvedRange extends RowSelection {
  readonly partition: number;
}

/**
 * `--start/--end` win (jobs mode passes them, with PARTITION_SIZE still in the environment).
 * Otherwise a partition size selects partition `i = O + AWS_BATCH_JOB_ARRAY_INDEX` (DESIGN §2),
 * both defaulting to 0: a plain job, like §9's single leftover partition, has no array index.
 * Without a partition size the whole inventory is one partition.
 */
export function resolveRange(flags: RangeFlags, explicitPartition: number | undefined): ResolvedRange {
  if (flags.start !== undefined || flags.end !== undefined) return explicitRange(flags, explicitPartition);
  if (flags.partitionSize !== undefined) {
    const partition = (flags.partitionOffset ?? 0) + (flags.arrayIndex ?? 0);
    return { ...partitionRows(partition, flags.partitionSize), partition };
  }
  if (flags.partitionOffset !== undefined) {
    throw new UsageError('range_invalid', `--partition-offset ${flags.partitionOffset} needs a partition size: add --partition-size P or set PARTITION_SIZE`);
  }
  // An array child that does not know its partition size would build the whole inventory, as every one of its siblings would.
  if (flags.arrayIndex !== undefined) {
    throw new UsageError('range_invalid', `AWS_BATCH_JOB_ARRAY_INDEX is ${flags.arrayIndex}, but no partition size is set: add --partition-size P or set PARTITION_SIZE`);
  }
  return { start: 1, end: Number.POSITIVE_INFINITY, partition: explicitPartition ?? 0 };
}

function explicitRange(flags: RangeFlags, explicitPartition: number | undefined): ResolvedRange {
  const problems: string[] = [];
  const start = flags.start ?? 1;
  const end = flags.end ?? Number.POSITIVE_INFINITY;
  if (!Number.isInteger(start) || start < 1) problems.push(`--start must be an integer ≥ 1, got ${flags.start}`);
  if (end !== Number.POSITIVE_INFINITY && (!Number.isInteger(end) || end < 1)) problems.push(`--end must be an integer ≥ 1, got ${flags.end}`);
  if (problems.length === 0 && start > end) problems.push(`--start ${start} is after --end ${end}: rows are 1-based and inclusive`);
  if (problems.length > 0) throw new UsageError('range_invalid', problems.length === 1 ? (problems[0] ?? '') : `The row range is invalid (${problems.length} problems):`, problems);
  const size = flags.partitionSize;
  return { start, end, partition: explicitPartition ?? (size ? Math.floor((start - 1) / size) : 0) };
}

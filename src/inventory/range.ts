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
 * `--start/--end` win; otherwise an array child's partition is offset + AWS_BATCH_JOB_ARRAY_INDEX.
 * Without either the whole inventory is one partition.
 */
export function resolveRange(flags: RangeFlags, explicitPartition: number | undefined): ResolvedRange {
  const problems: string[] = [];
  if (flags.start !== undefined || flags.end !== undefined) {
    const start = flags.start ?? 1;
    const end = flags.end ?? Number.POSITIVE_INFINITY;
    if (!Number.isInteger(start) || start < 1) problems.push(`--start must be an integer ≥ 1, got ${flags.start}`);
    if (end !== Number.POSITIVE_INFINITY && (!Number.isInteger(end) || end < 1)) problems.push(`--end must be an integer ≥ 1, got ${flags.end}`);
    if (problems.length === 0 && start > end) problems.push(`--start ${start} is after --end ${end}: rows are 1-based and inclusive`);
    if (problems.length > 0) throw new UsageError('range_invalid', problems[0] ?? 'Invalid range', problems);
    const size = flags.partitionSize;
    return { start, end, partition: explicitPartition ?? (size ? Math.floor((start - 1) / size) : 0) };
  }
  if (flags.arrayIndex !== undefined && flags.partitionSize !== undefined) {
    const partition = (flags.partitionOffset ?? 0) + flags.arrayIndex;
    return { ...partitionRows(partition, flags.partitionSize), partition };
  }
  if (flags.partitionOffset !== undefined && flags.partitionSize !== undefined && flags.arrayIndex === undefined) {
    // A single leftover partition is submitted as a plain job: its offset alone names it (DESIGN §9).
    const partition = flags.partitionOffset;
    return { ...partitionRows(partition, flags.partitionSize), partition };
  }
  return { start: 1, end: Number.POSITIVE_INFINITY, partition: explicitPartition ?? 0 };
}

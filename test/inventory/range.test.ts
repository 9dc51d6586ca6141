import { describe, expect, it } from 'vitest';
import { partitionCount, partitionRows, resolveRange } from '../../src/inventory/range.js';
import { UsageError } from '../../src/errors.js';

describe('partition arithmetic', () => {
  it('maps array index 0 to rows 1..P', () => {
    expect(partitionRows(0, 50)).toEqual({ start: 1, end: 50 });
  });

  it('maps array index 3 with size 50 to rows 151..200', () => {
    expect(resolveRange({ partitionSize: 50, arrayIndex: 3 }, undefined)).toEqual({ start: 151, end: 200, partition: 3 });
  });

  it('adds the partition offset to the array index', () => {
    expect(resolveRange({ partitionSize: 10, arrayIndex: 2, partitionOffset: 10_000 }, undefined)).toEqual({ start: 100_021, end: 100_030, partition: 10_002 });
  });

  it('takes the offset alone as the partition of a plain job', () => {
    expect(resolveRange({ partitionSize: 10, partitionOffset: 7 }, undefined)).toEqual({ start: 71, end: 80, partition: 7 });
  });

  it('takes partition 0 when a partition size has neither an array index nor an offset', () => {
    expect(resolveRange({ partitionSize: 3 }, undefined)).toEqual({ start: 1, end: 3, partition: 0 });
  });

  it('refuses a partition offset without a partition size', () => {
    expect(() => resolveRange({ partitionOffset: 2 }, undefined)).toThrow('--partition-offset 2 needs a partition size: add --partition-size P or set PARTITION_SIZE');
  });

  it('refuses an array index without a partition size (every child would build the whole inventory)', () => {
    expect(() => resolveRange({ arrayIndex: 4 }, undefined)).toThrow('AWS_BATCH_JOB_ARRAY_INDEX is 4, but no partition size is set: add --partition-size P or set PARTITION_SIZE');
  });

  it('names the partition a range lies in from the partition size', () => {
    expect(resolveRange({ start: 4, end: 5, partitionSize: 3 }, undefined)).toEqual({ start: 4, end: 5, partition: 1 });
  });

  it('states each problem of a range once', () => {
    const error = (() => {
      try {
        resolveRange({ start: 0, end: 0 }, undefined);
        return undefined;
      } catch (err) {
        return err as UsageError;
      }
    })();

    expect(error?.message).toBe('The row range is invalid (2 problems):\n  - --start must be an integer ≥ 1, got 0\n  - --end must be an integer ≥ 1, got 0');
  });

  it('counts partitions with a partial last one', () => {
    expect(partitionCount(100, 10)).toBe(10);
    expect(partitionCount(101, 10)).toBe(11);
    expect(partitionCount(1, 50)).toBe(1);
  });

  it('prefers --start/--end over the array index', () => {
    expect(resolveRange({ start: 5, end: 9, partitionSize: 50, arrayIndex: 3 }, undefined)).toEqual({ start: 5, end: 9, partition: 0 });
  });

  it('reads an open end as "to the last row"', () => {
    expect(resolveRange({ start: 5 }, undefined)).toEqual({ start: 5, end: Number.POSITIVE_INFINITY, partition: 0 });
  });

  it('rejects --start after --end', () => {
    expect(() => resolveRange({ start: 9, end: 5 }, undefined)).toThrow(UsageError);
    expect(() => resolveRange({ start: 9, end: 5 }, undefined)).toThrow('--start 9 is after --end 5');
  });

  it('rejects a start below 1', () => {
    expect(() => resolveRange({ start: 0, end: 5 }, undefined)).toThrow('--start must be an integer ≥ 1');
  });
});

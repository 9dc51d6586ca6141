import { validateRecord, type RecordShape } from './rows.js';
import { HashedSeenRows, type SeenRows } from './seen-rows.js';

/**
 * Where each partition of an inventory begins in its bytes, and which of its rows repeat a row of
 * an earlier partition (DESIGN §4: a repeat is invalid). With it an array child reads only the
 * header and its own rows (two ranged GETs, both with If-Match on the ETag the chunk job read),
 * where it used to parse every row before its own: with a million rows, half the inventory for
 * the average child. The chunk job makes it in the pass that counts and hashes the inventory.
 */
export interface PartitionIndex {
  /** Byte offset of partition i's bytes: just after the last record of the one before (offsets[0]: after the header). */
  readonly offsets: readonly number[];
  /** By partition: its rows that repeat a row of an earlier partition, each with the row it repeats. */
  readonly earlierDuplicates: ReadonlyMap<number, ReadonlyMap<number, number>>;
}

/** What a child needs of the index to read its partition alone (recorded in `run_partitions`). */
export interface PartitionStart {
  /** Bytes of the inventory before its first data record: the header (and a BOM). */
  readonly headerBytes: number;
  /** The first row of the recorded partition and the offset where it begins. */
  readonly firstRow: number;
  readonly offset: number;
  /** Where the next partition begins (exclusive end of this one's bytes); none for the last. */
  readonly endOffset?: number;
  /** Rows of the partition that repeat a row before it, each with the row it repeats. */
  readonly earlierDuplicates: ReadonlyMap<number, number>;
}

/** Builds a PartitionIndex from the records of one pass, in order. */
export class PartitionIndexer implements SeenRows {
  private readonly offsets: number[] = [];
  private readonly duplicates = new Map<number, Map<number, number>>();
  private readonly seen = new HashedSeenRows();

  constructor(private readonly partitionSize: number) {}

  /** Data row `rowNumber`, whose bytes begin at `offset` (after the previous record's line break). */
  add(rowNumber: number, offset: number, record: Record<string, string | undefined>, shape: RecordShape): void {
    if ((rowNumber - 1) % this.partitionSize === 0) this.offsets.push(offset);
    validateRecord(rowNumber, record, this, shape);
  }

  /** validateRecord asks only for a row that is valid otherwise: an answer makes it a repeat. */
  get(key: string, rowNumber: number): number | undefined {
    const first = this.seen.get(key);
    if (first === undefined) return undefined;
    const partition = this.partitionOf(rowNumber);
    if (this.partitionOf(first) < partition) {
      const repeats = this.duplicates.get(partition) ?? new Map<number, number>();
      repeats.set(rowNumber, first);
      this.duplicates.set(partition, repeats);
    }
    return first;
  }

  set(key: string, rowNumber: number): void {
    this.seen.set(key, rowNumber);
  }

  index(): PartitionIndex {
    return { offsets: this.offsets, earlierDuplicates: this.duplicates };
  }

  private partitionOf(rowNumber: number): number {
    return Math.floor((rowNumber - 1) / this.partitionSize);
  }
}

/**
 * A child's SeenRows: its own rows, and what the index says of the rows before its partition
 * (their keys were never read here).
 */
export class ResumedSeenRows implements SeenRows {
  private readonly own = new Map<string, number>();

  constructor(private readonly earlier: ReadonlyMap<number, number>) {}

  get(key: string, rowNumber: number): number | undefined {
    return this.earlier.get(rowNumber) ?? this.own.get(key);
  }

  set(key: string, rowNumber: number): void {
    this.own.set(key, rowNumber);
  }
}

import type { PartitionIndex, PartitionStart } from '../../src/inventory/partition-index.js';
import { readInventory, type ReadOptions } from '../../src/inventory/reader.js';
import type { InventoryEntry } from '../../src/inventory/rows.js';

/** What the database gives a child of `partition` (src/results/result-store.ts partitionStart), from an index in memory. */
export function startOf(index: PartitionIndex, partition: number, partitionSize: number): PartitionStart {
  const next = index.offsets[partition + 1];
  return {
    headerBytes: index.offsets[0] ?? 0,
    firstRow: partition * partitionSize + 1,
    offset: index.offsets[partition] ?? 0,
    ...(next === undefined ? {} : { endOffset: next }),
    earlierDuplicates: index.earlierDuplicates.get(partition) ?? new Map(),
  };
}

/** Rows `start..end` of `uri`, every entry: from the first byte, or from `resume`. */
export async function entriesOf(uri: string, start: number, end: number, resume?: PartitionStart, options: ReadOptions = {}): Promise<InventoryEntry[]> {
  const entries: InventoryEntry[] = [];
  for await (const entry of readInventory(uri, { start, end }, resume ? { ...options, resume } : options).entries) entries.push(entry);
  return entries;
}

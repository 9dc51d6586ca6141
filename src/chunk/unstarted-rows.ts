import { readInventory } from '../inventory/reader.js';
import type { InventoryEntry } from '../inventory/rows.js';
import type { InventoryOptions } from '../inventory/source.js';
import type { Scrubber } from '../logging/scrub.js';
import { unbuiltOutcome, type RepositoryOutcome } from '../results/outcome.js';
import type { ResultStore } from '../results/result-store.js';
import { NOT_STARTED } from '../pipeline/process-repository.js';
import { partitionRange, type ChunkPlan } from './plan.js';

export interface UnstartedRowsInput {
  readonly plan: ChunkPlan;
  readonly runId: string;
  /** Partitions no child process was started for. */
  readonly partitions: readonly number[];
  readonly source: InventoryOptions;
  readonly scrub: Scrubber;
  readonly results: Pick<ResultStore, 'recordOutcomes'>;
}

const NOT_STARTED_MESSAGE = 'Not started: the local run received a termination signal before this partition started';
/** Outcomes per write: a stopped run of 10,000 partitions does not hold its rows in memory. */
const BATCH = 5_000;

/**
 * A local run stopped by SIGINT/SIGTERM records the rows of the partitions it never started as a
 * processor records the rows it never began (src/pipeline/run-partition.ts): `aborted` /
 * `not_started`, and invalid rows `invalid`, so that every row of the run has a result (DESIGN §8)
 * and `--only failed` finds them. One read of the inventory, from the first such row to the last.
 */
export async function recordUnstartedRows(input: UnstartedRowsInput): Promise<number> {
  const { plan, partitions } = input;
  if (partitions.length === 0) return 0;
  const wanted = new Set(partitions);
  const start = partitionRange(plan, partitions.reduce((a, b) => Math.min(a, b))).start;
  const end = partitionRange(plan, partitions.reduce((a, b) => Math.max(a, b))).end;
  let batch: RepositoryOutcome[] = [];
  let recorded = 0;
  for await (const entry of readInventory(plan.inventory, { start, end }, input.source).entries) {
    if (!wanted.has(Math.floor((entry.row.rowNumber - 1) / plan.partitionSize))) continue;
    batch.push(unstartedOutcome(entry, input.runId, input.scrub));
    if (batch.length >= BATCH) {
      await input.results.recordOutcomes(batch);
      recorded += batch.length;
      batch = [];
    }
  }
  if (batch.length > 0) await input.results.recordOutcomes(batch);
  return recorded + batch.length;
}

function unstartedOutcome(entry: InventoryEntry, runId: string, scrub: Scrubber): RepositoryOutcome {
  const ending = entry.kind === 'invalid' ? { outcome: 'invalid' as const, errorCode: entry.row.errorCode, errorMessage: entry.row.errorMessage } : { ...NOT_STARTED, errorMessage: NOT_STARTED_MESSAGE };
  return unbuiltOutcome(entry.row, ending, { runId, attempt: 1, scrub });
}

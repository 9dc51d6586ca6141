import fs from 'node:fs';
import path from 'node:path';
import { EXIT, MassIngestError, UsageError, errorMessage } from '../errors.js';
import { CopyOutputError, copyInventoryRows } from '../inventory/copy-rows.js';
import { inventoryScheme, type InventoryOptions } from '../inventory/source.js';
import type { Logger } from '../logging/logger.js';
import { scrubUrlSecrets } from '../logging/scrub.js';
import type { Database } from '../results/database.js';
import { SUCCESSFUL_OUTCOMES } from '../results/outcome.js';
import { findRun, type RunInfo } from '../results/report-queries.js';

/**
 * `chunk --only failed|changed --run <id>|last`: the rows of the inventory to run again, written
 * as a derived inventory (header and every column kept) that the chunk job then plans over.
 * - `failed`: rows inside the run's partitions whose outcome is a failure (src/results/outcome.ts:
 *   anything but published, unchanged, no_build_tool; a `duplicate_row` left out) or that have no outcome at all (their
 *   partition died before recording them).
 * - `changed`: rows the run found changed: an outcome other than `unchanged` (and `invalid`,
 *   which never reached the remote). No new ls-remote: the processor's own resolve step skips
 *   whatever did not move since.
 * Row numbers are the run's, so the inventory must be the bytes the run was planned over. A run
 * that read another inventory than the one given (an earlier `--only` run read its derived CSV)
 * gives its rows from the inventory it recorded, so "rerun what failed" can be repeated.
 */
export type OnlySubset = 'failed' | 'changed';

export interface DerivedInventory {
  readonly path: string;
  readonly rows: number;
  readonly fromRun: string;
}

export async function deriveInventory(
  input: { inventory: string; only: OnlySubset; run: string; outputDir: string; newRunId: string; source?: InventoryOptions },
  database: Database,
  log: Logger,
): Promise<DerivedInventory> {
  const run = await findRun(database, input.run);
  const inventory = inventoryOfRun(run, input.inventory);
  if (inventory !== input.inventory) log.info({ fromRun: run.id, inventory: run.inventoryUri, given: scrubUrlSecrets(input.inventory) }, 'Rows taken from the inventory the run read');
  const selected = await selectRows(database, run, input.only);
  await fs.promises.mkdir(input.outputDir, { recursive: true });
  const file = path.join(input.outputDir, `${input.newRunId}-${input.only}.csv`);
  // Written aside, then renamed: the run's own inventory may be the file this name replaces.
  const partial = `${file}.partial`;
  const { written, sha256 } = await copyInventoryRows(inventory, input.source ?? {}, partial, (row) => selected(row)).catch((err: unknown) => {
    if (err instanceof CopyOutputError) throw new UsageError('inventory_unwritable', `The derived inventory ${file} cannot be written: ${errorMessage(err.cause)}`, [], err.cause);
    throw inventory === input.inventory ? err : unreadableRunInventory(run, err);
  });
  const shown = scrubUrlSecrets(inventory);
  if (run.inventorySha256 && sha256 !== run.inventorySha256) {
    await fs.promises.rm(partial, { force: true });
    throw new UsageError(
      'inventory_changed',
      `Inventory ${shown} (sha256 ${sha256}) is not the file run ${run.id} read (${scrubUrlSecrets(run.inventoryUri)}, sha256 ${run.inventorySha256}): it changed since, or is another file, so its row numbers do not match; name the run that read it (--run <id>), or use \`report --run ${run.id} --failed-csv F\` instead`,
    );
  }
  if (!run.inventorySha256) log.warn({ run: run.id }, 'Run has no inventory sha256: assuming the inventory did not change since');
  if (written === 0) {
    await fs.promises.rm(partial, { force: true });
    throw new UsageError('inventory_empty', `Run ${run.id} has no ${input.only} rows: there is nothing to run again`);
  }
  await fs.promises.rename(partial, file);
  log.info({ fromRun: run.id, only: input.only, rows: written, file }, 'Derived inventory written');
  return { path: file, rows: written, fromRun: run.id };
}

/**
 * The inventory to take the run's rows from: the one it recorded when that differs from the one
 * given, and can be named again — an absolute path or a URL (a derived inventory is recorded by
 * its absolute path). A relative path recorded from another directory is ambiguous: the given
 * inventory is used, and the sha256 check tells whether it holds the same bytes.
 */
function inventoryOfRun(run: RunInfo, given: string): string {
  const recorded = run.inventoryUri;
  if (recorded === scrubUrlSecrets(given)) return given;
  const isUrl = inventoryScheme(recorded) !== undefined;
  if (!isUrl && !path.isAbsolute(recorded)) return given;
  if (!isUrl && inventoryScheme(given) === undefined && path.resolve(given) === recorded) return given;
  return recorded;
}

/** The recorded inventory is gone (a derived CSV deleted): exit 2, unless it is only unreachable (3). */
function unreadableRunInventory(run: RunInfo, err: unknown): unknown {
  if (err instanceof MassIngestError && err.exitCode === EXIT.infrastructure) return err;
  return new UsageError(
    'run_inventory_unreadable',
    `Run ${run.id} read its rows from inventory ${run.inventoryUri}, which cannot be read (${errorMessage(err)}): rerun from an earlier run (--run <id>), or use \`report --run ${run.id} --failed-csv F\``,
    [],
    err,
  );
}

type RowFilter = (row: number) => boolean;

async function selectRows(database: Database, run: RunInfo, only: OnlySubset): Promise<RowFilter> {
  if (only === 'changed') {
    const changed = await rowNumbers(database, run.id, 'outcome <> ALL($2::text[])', ['unchanged', 'invalid']);
    return (row) => changed.has(row);
  }
  const succeeded = await rowNumbers(database, run.id, 'outcome = ANY($2::text[])', [...SUCCESSFUL_OUTCOMES]);
  // A row repeating an earlier one is left out, as `report --failed-csv` leaves it: its first
  // occurrence covers the repository (and, alone in the derived file, it would build it again).
  const repeats = await rowNumbers(database, run.id, "outcome = ANY($2::text[]) AND error_code = 'duplicate_row'", ['invalid']);
  const { rows } = await database.query<{ start_row: number; end_row: number }>('SELECT start_row, end_row FROM run_partitions WHERE run_id = $1', [run.id]);
  const ranges = mergeRanges(rows.map((range) => [Number(range.start_row), Number(range.end_row)]));
  return (row) => (ranges.length === 0 || inRanges(ranges, row)) && !succeeded.has(row) && !repeats.has(row);
}

/** Sorted, merged [start, end] ranges: 10,000 partitions become one range in the usual case. */
export function mergeRanges(ranges: Array<[number, number]>): Array<[number, number]> {
  const merged: Array<[number, number]> = [];
  for (const [start, end] of [...ranges].sort((a, b) => a[0] - b[0])) {
    const last = merged.at(-1);
    if (last && start <= last[1] + 1) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

function inRanges(ranges: ReadonlyArray<[number, number]>, row: number): boolean {
  let low = 0;
  let high = ranges.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const [start, end] = ranges[middle] as [number, number];
    if (row < start) high = middle - 1;
    else if (row > end) low = middle + 1;
    else return true;
  }
  return false;
}

async function rowNumbers(database: Database, runId: string, condition: string, outcomes: string[]): Promise<Set<number>> {
  const { rows } = await database.query<{ rows: number[] | null }>(
    `SELECT array_agg(row_number ORDER BY row_number) AS rows FROM repository_results WHERE run_id = $1 AND ${condition}`,
    [runId, outcomes],
  );
  return new Set((rows[0]?.rows ?? []).map(Number));
}

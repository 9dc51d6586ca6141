import fs from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { UsageError, errorMessage } from '../errors.js';
import { validateRecord } from '../inventory/rows.js';
import { CopyOutputError, copyInventoryRows, type CopiedRows } from '../inventory/copy-rows.js';
import { localInventoryFile, type InventoryOptions } from '../inventory/source.js';
import type { Logger } from '../logging/logger.js';
import { scrubUrlSecrets } from '../logging/scrub.js';
import type { ReportRepository, RunInfo } from '../results/report-queries.js';
import { outputFileError, outputTarget, writeText } from './output.js';

/**
 * `report --failed-csv F`: the failed rows of a run as a repos.csv to rerun (DESIGN §2). The
 * original records are copied from the run's inventory with every column (buildCommand,
 * artifacts, stars, … DESIGN §4), so a rerun builds them the same way. A row that repeats an
 * earlier one (`duplicate_row`, src/inventory/rows.ts) is left out: its first occurrence covers
 * the repository. When the inventory cannot be read, or is no longer the file the run read (its
 * sha256, or the rows themselves, differ), the four required columns come from the database
 * instead, with a warning.
 */
export interface FailedInventoryInput {
  readonly run: RunInfo;
  /** The run's failed rows, in row order (src/results/report-queries.ts `repositories`). */
  readonly failed: readonly ReportRepository[];
  readonly file: string;
  readonly source: InventoryOptions;
}

export interface FailedInventory {
  readonly rows: number;
  /** `inventory`: the original records; `database`: cloneUrl,branch,origin,path only. */
  readonly from: 'inventory' | 'database';
}

const FLAG = '--failed-csv';
const DUPLICATE_ROW = 'duplicate_row';
const REQUIRED = ['cloneUrl', 'branch', 'origin', 'path'];

export async function writeFailedInventory(input: FailedInventoryInput, log: Logger): Promise<FailedInventory> {
  await refuseInventoryItself(FLAG, input.run, input.file);
  const rerun = input.failed.filter((row) => !(row.outcome === 'invalid' && row.errorCode === DUPLICATE_ROW));
  // Written aside and renamed into place (output.ts): never a truncated file of rows to rerun.
  const target = await outputTarget(input.file);
  try {
    const reason = await copyFromInventory(input, target.path, new Map(rerun.map((row) => [row.rowNumber, row])));
    if (reason !== undefined) {
      log.warn({ inventory: scrubUrlSecrets(input.run.inventoryUri), reason, file: input.file }, 'Run inventory not usable: failed rows written with the columns cloneUrl,branch,origin,path only');
      await writeText(FLAG, input.file, target.path, databaseRows(rerun));
    }
    await target.commit().catch((err: unknown) => Promise.reject(outputFileError(FLAG, input.file, err)));
    return { rows: rerun.length, from: reason === undefined ? 'inventory' : 'database' };
  } catch (err) {
    await target.abort();
    throw err;
  }
}

/**
 * `--failed-csv repos.csv` (or `--out repos.csv`) naming the run's own inventory would replace
 * it: every row that did not fail, and every column, would be lost (the copy even truncates it
 * before reading it).
 */
export async function refuseInventoryItself(flag: string, run: RunInfo, file: string): Promise<void> {
  const inventory = localInventoryFile(run.inventoryUri);
  if (inventory === undefined) return;
  const [target, source] = await Promise.all([fs.stat(file).catch(() => undefined), fs.stat(inventory).catch(() => undefined)]);
  const same = target && source ? target.dev === source.dev && target.ino === source.ino : path.resolve(file) === path.resolve(inventory);
  if (same) {
    const example = flag === FLAG ? 'failed.csv' : 'report.csv';
    throw new UsageError('report_output_is_inventory', `${flag} ${file} is the inventory run ${run.id} read: writing there would replace it; name another file (e.g. ${example})`);
  }
}

/** Copies the selected records into `into` (for the file named); gives why the database must be used instead, if it must. */
async function copyFromInventory(input: FailedInventoryInput, into: string, selected: ReadonlyMap<number, ReportRepository>): Promise<string | undefined> {
  const { run, file } = input;
  let copied = 0;
  let mismatch: string | undefined;
  const keep = (rowNumber: number, fields: readonly string[], header: readonly string[]) => {
    const recorded = selected.get(rowNumber);
    if (!recorded) return false;
    copied += 1;
    mismatch ??= differs(recorded, fields, header);
    return true;
  };
  let copy: CopiedRows;
  try {
    copy = await copyInventoryRows(run.inventoryUri, input.source, into, keep);
  } catch (err) {
    if (err instanceof CopyOutputError) throw outputFileError(FLAG, file, err.cause);
    return errorMessage(err);
  }
  if (copy.header === undefined) return 'it is empty';
  const missing = REQUIRED.filter((name) => !copy.header?.includes(name));
  if (missing.length > 0) return `its header has no column ${missing.join(', ')}`;
  if (run.inventorySha256 && copy.sha256 !== run.inventorySha256) return `its sha256 is now ${copy.sha256}, run ${run.id} read ${run.inventorySha256}`;
  if (mismatch) return mismatch;
  if (copied < selected.size) return `it has ${copy.rows} rows, fewer than the run's failed row numbers reach`;
  return undefined;
}

/** Why a copied record is not the row the run recorded under its number, if it is not. */
function differs(recorded: ReportRepository, fields: readonly string[], header: readonly string[]): string | undefined {
  const record = Object.fromEntries(header.map((name, index) => [name, fields[index]]));
  const { row } = validateRecord(recorded.rowNumber, record, new Map());
  const same = (row.origin ?? null) === recorded.origin && (row.path ?? null) === recorded.path && (row.branch ?? '') === (recorded.branch ?? '');
  if (same) return undefined;
  const shown = (origin: string | null | undefined, path: string | null | undefined, branch: string | null | undefined) => `${origin ?? '?'}/${path ?? '?'}@${branch ?? ''}`;
  return `its row ${recorded.rowNumber} is now ${shown(row.origin, row.path, row.branch)}, the run recorded ${shown(recorded.origin, recorded.path, recorded.branch)}`;
}

/** The fallback: what the database holds of each row (the URL as recorded, credentials scrubbed). */
function databaseRows(rows: readonly ReportRepository[]): string {
  return stringify(
    rows.map((row) => [row.cloneUrl ?? '', row.branch ?? '', row.origin ?? '', row.path ?? '']),
    { header: true, columns: REQUIRED },
  );
}

import fs from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify/sync';
import { errorMessage } from '../errors.js';
import { validateRecord } from '../inventory/rows.js';
import { openInventory, Sha256Tap, type InventoryOptions } from '../inventory/source.js';
import type { Logger } from '../logging/logger.js';
import { scrubUrlUserinfo } from '../logging/scrub.js';
import type { ReportRepository, RunInfo } from '../results/report-queries.js';
import { outputFileError, writeOutputFile } from './output.js';

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
  const rerun = input.failed.filter((row) => !(row.outcome === 'invalid' && row.errorCode === DUPLICATE_ROW));
  const reason = await copyFromInventory(input, new Map(rerun.map((row) => [row.rowNumber, row])));
  if (reason === undefined) return { rows: rerun.length, from: 'inventory' };
  log.warn({ inventory: scrubUrlUserinfo(input.run.inventoryUri), reason, file: input.file }, 'Run inventory not usable: failed rows written with the columns cloneUrl,branch,origin,path only');
  await writeOutputFile(FLAG, input.file, databaseRows(rerun));
  return { rows: rerun.length, from: 'database' };
}

/** Copies the selected records into the file; gives why the database must be used instead, if it must. */
async function copyFromInventory(input: FailedInventoryInput, selected: ReadonlyMap<number, ReportRepository>): Promise<string | undefined> {
  const { run, file } = input;
  const out = await fs.open(file, 'w').catch((err: unknown) => Promise.reject(outputFileError(FLAG, file, err)));
  const writer = out.createWriteStream();
  let outputError: unknown;
  writer.on('error', (err) => (outputError ??= err));
  const tap = new Sha256Tap();
  const copier = new RecordCopier(selected);
  try {
    await pipeline(await openInventory(run.inventoryUri, input.source), tap, parse({ bom: true, skip_empty_lines: true, relax_column_count: true }), copier, writer);
  } catch (err) {
    writer.destroy();
    if (outputError !== undefined) throw outputFileError(FLAG, file, outputError);
    return errorMessage(err);
  }
  const { sha256 } = tap.digest();
  if (run.inventorySha256 && sha256 !== run.inventorySha256) return `its sha256 is now ${sha256}, run ${run.id} read ${run.inventorySha256}`;
  return copier.problem();
}

/**
 * csv-parse records in, CSV lines out: the header and the selected data records (numbered from 1,
 * blank lines not counted, as the reader counts them), each checked against the row the run recorded.
 */
class RecordCopier extends Transform {
  private header: string[] | undefined;
  private rowNumber = 0;
  private copied = 0;
  private mismatch: string | undefined;

  constructor(private readonly selected: ReadonlyMap<number, ReportRepository>) {
    super({ writableObjectMode: true });
  }

  override _transform(fields: string[], _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.header === undefined) {
      this.header = fields.map((name) => name.trim());
      const missing = REQUIRED.filter((name) => !this.header?.includes(name));
      callback(missing.length > 0 ? new Error(`its header has no column ${missing.join(', ')}`) : null, stringify([fields]));
      return;
    }
    this.rowNumber += 1;
    const recorded = this.selected.get(this.rowNumber);
    if (!recorded) return callback();
    this.copied += 1;
    this.mismatch ??= this.differs(recorded, fields);
    callback(null, stringify([fields]));
  }

  /** Why the copy is not the run's failed rows, if it is not. */
  problem(): string | undefined {
    if (this.header === undefined) return 'it is empty';
    if (this.mismatch) return this.mismatch;
    if (this.copied < this.selected.size) return `it has ${this.rowNumber} rows, fewer than the run's failed row numbers reach`;
    return undefined;
  }

  private differs(recorded: ReportRepository, fields: string[]): string | undefined {
    const record = Object.fromEntries((this.header ?? []).map((name, index) => [name, fields[index]]));
    const { row } = validateRecord(recorded.rowNumber, record, new Set());
    const same = (row.origin ?? null) === recorded.origin && (row.path ?? null) === recorded.path && (row.branch ?? '') === (recorded.branch ?? '');
    if (same) return undefined;
    const shown = (origin: string | null | undefined, path: string | null | undefined, branch: string | null | undefined) => `${origin ?? '?'}/${path ?? '?'}@${branch ?? ''}`;
    return `its row ${recorded.rowNumber} is now ${shown(row.origin, row.path, row.branch)}, the run recorded ${shown(recorded.origin, recorded.path, recorded.branch)}`;
  }
}

/** The fallback: what the database holds of each row (the URL as recorded, credentials scrubbed). */
function databaseRows(rows: readonly ReportRepository[]): string {
  return stringify(
    rows.map((row) => [row.cloneUrl ?? '', row.branch ?? '', row.origin ?? '', row.path ?? '']),
    { header: true, columns: REQUIRED },
  );
}

import fs from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify/sync';
import { openInventory, Sha256Tap, type InventoryOptions } from './source.js';

/** Whether a data record goes into the copy; rows are numbered from 1 as the reader numbers them. */
export type KeepRow = (rowNumber: number, fields: readonly string[], header: readonly string[]) => boolean;

export interface CopiedRows {
  /** The header's column names (trimmed); undefined when the inventory is empty. */
  readonly header: readonly string[] | undefined;
  /** Data records read, blank lines not counted. */
  readonly rows: number;
  readonly written: number;
  /** Of the inventory's bytes, to compare with the sha256 a run recorded. */
  readonly sha256: string;
}

/** The copy's file could not be opened or written (a read error of the inventory is thrown as it is). */
export class CopyOutputError extends Error {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(`${file} cannot be written`, { cause });
  }
}

/**
 * A derived inventory (`chunk --only`, `report --failed-csv`): streams the inventory once, hashing
 * it, and writes its header and the data records `keep` selects to `file`, every column as it was.
 * The file is written with backpressure; on any error it is removed.
 */
export async function copyInventoryRows(inventory: string, source: InventoryOptions, file: string, keep: KeepRow): Promise<CopiedRows> {
  const out = await fs.open(file, 'w').catch((err: unknown) => Promise.reject(new CopyOutputError(file, err)));
  const writer = out.createWriteStream();
  let outputError: unknown;
  writer.on('error', (err) => (outputError ??= err));
  const tap = new Sha256Tap();
  const copier = new RowCopier(keep);
  try {
    await pipeline(await openInventory(inventory, source), tap, parse({ bom: true, skip_empty_lines: true, relax_column_count: true }), copier, writer);
  } catch (err) {
    writer.destroy();
    await fs.rm(file, { force: true }).catch(() => undefined);
    throw outputError === undefined ? err : new CopyOutputError(file, outputError);
  }
  return { header: copier.header, rows: copier.rows, written: copier.written, sha256: tap.digest().sha256 };
}

/** csv-parse records in, CSV lines out: the header, then the records kept. */
class RowCopier extends Transform {
  header: string[] | undefined;
  rows = 0;
  written = 0;

  constructor(private readonly keep: KeepRow) {
    super({ writableObjectMode: true });
  }

  override _transform(fields: string[], _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.header === undefined) {
      this.header = fields.map((name) => name.trim());
      callback(null, stringify([fields]));
      return;
    }
    this.rows += 1;
    if (!this.keep(this.rows, fields, this.header)) {
      callback();
      return;
    }
    this.written += 1;
    callback(null, stringify([fields]));
  }
}

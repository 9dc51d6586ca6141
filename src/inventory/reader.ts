import { CsvError, parse, type Parser } from 'csv-parse';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UsageError, MassIngestError, errorMessage } from '../errors.js';
import { scrubUrlSecrets } from '../logging/scrub.js';
import { REQUIRED_COLUMNS, validateRecord, type InventoryEntry } from './rows.js';
import { downloadInventory, isRemoteInventory, openInventory, openInventoryObject, Sha256Tap, type DownloadedInventory, type InventoryOptions } from './source.js';

/** Rows `start..end` (1-based, inclusive; `end` may be Infinity or past the last row). */
export interface RowSelection {
  readonly start: number;
  readonly end: number;
}

export interface InventorySummary {
  /** Data records seen; the total when `complete`. */
  readonly rows: number;
  readonly sha256: string | undefined;
  readonly complete: boolean;
}

export interface InventoryReading {
  readonly entries: AsyncIterable<InventoryEntry>;
  /** Valid after `entries` is exhausted. */
  summary(): InventorySummary;
  /** Bytes of the inventory taken from its source so far (a read that stops early takes fewer than the file). */
  bytesRead?(): number;
}

/**
 * A remote inventory is streamed for a selection of up to this many rows (a partition: its bytes
 * arrive with the first reads), and downloaded to a temporary file first for a longer or open
 * range, which a stream would leave unread while repositories build (src/inventory/source.ts).
 */
const STREAMED_ROWS = 1_000;

export interface ReadOptions extends InventoryOptions {
  /** Read the whole file (for its sha256 and row count) even after the last selected row. */
  readonly readToEnd?: boolean;
  /**
   * The caller takes every row at once (into memory), leaving no pause in which a server would
   * close the connection: a remote inventory is streamed, never copied to a temporary file first.
   */
  readonly eager?: boolean;
}

/** Streams the inventory and yields the selected rows. */
export function readInventory(uri: string, selection: RowSelection, options: ReadOptions = {}): InventoryReading {
  let summary: InventorySummary = { rows: 0, sha256: undefined, complete: false };
  const tap = new Sha256Tap();
  async function* entries(): AsyncGenerator<InventoryEntry> {
    const parser = createParser();
    const downloaded = await downloadedIfLong(uri, selection, options);
    const source = await openInventory(downloaded?.file ?? uri, options).catch(async (err: unknown) => {
      await downloaded?.remove();
      throw err;
    });
    const flowing = pipeline(source, tap, parser).catch((err: unknown) => {
      parser.destroy(err as Error);
    });
    const seen = new Map<string, number>();
    let columns: readonly string[] | undefined;
    let rowNumber = 0;
    try {
      for await (const fields of parser as AsyncIterable<string[]>) {
        if (columns === undefined) {
          columns = checkHeader(uri, fields);
          continue;
        }
        rowNumber += 1;
        if (rowNumber > selection.end) {
          if (!options.readToEnd) break;
          continue;
        }
        const entry = validateRecord(rowNumber, recordOf(columns, fields), seen, { fields, columns });
        if (rowNumber >= selection.start) yield entry;
      }
      if (columns === undefined) throw missingHeader(uri, 'it is empty or holds only blank lines');
    } catch (err) {
      throw describeParseError(uri, err);
    } finally {
      source.destroy();
      await downloaded?.remove();
    }
    await flowing;
    const complete = rowNumber <= selection.end || options.readToEnd === true;
    summary = { rows: rowNumber, sha256: complete ? tap.digest().sha256 : undefined, complete };
  }
  return { entries: entries(), summary: () => summary, bytesRead: () => tap.digest().bytes };
}

function downloadedIfLong(uri: string, selection: RowSelection, options: ReadOptions): Promise<DownloadedInventory | undefined> {
  const span = selection.end - selection.start + 1;
  if (!isRemoteInventory(uri) || span <= STREAMED_ROWS || options.eager) return Promise.resolve(undefined);
  return downloadInventory(uri, options);
}

/** Opens the inventory and checks its header, reading no further: bad input fails before any work. */
export async function checkInventory(uri: string, options: InventoryOptions = {}): Promise<void> {
  for await (const _entry of readInventory(uri, { start: 1, end: 0 }, options).entries) break;
}

/** What one streaming pass over a whole inventory found (the chunk job's plan). */
export interface InventoryScan {
  readonly rows: number;
  readonly sha256: string;
  readonly bytes: number;
  /** s3:// only: the ETag of the object these bytes are. */
  readonly etag: string | undefined;
}

/** Counts data records and hashes the bytes in one streaming pass (the chunk job's plan). */
export async function scanInventory(uri: string, options: InventoryOptions = {}): Promise<InventoryScan> {
  const tap = new Sha256Tap();
  let columns: readonly string[] | undefined;
  let rows = 0;
  const counter = new Writable({
    objectMode: true,
    write(fields: string[], _encoding, callback) {
      try {
        if (columns === undefined) columns = checkHeader(uri, fields);
        else rows += 1;
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
  });
  let etag: string | undefined;
  try {
    const opened = await openInventoryObject(uri, options);
    etag = opened.etag;
    await pipeline(opened.body, tap, createParser(), counter);
    if (columns === undefined) throw missingHeader(uri, 'it is empty or holds only blank lines');
  } catch (err) {
    throw describeParseError(uri, err);
  }
  const { sha256, bytes } = tap.digest();
  return { rows, sha256, bytes, etag };
}

/**
 * The CSV parser (DESIGN §4). Records come as arrays, the header first, so a row's field count
 * can be checked against the header's (csv-parse's `columns` would drop the extra fields of a
 * row with a comma left unquoted).
 */
function createParser(): Parser {
  return parse({ bom: true, skip_empty_lines: true, relax_column_count: true, trim: false });
}

/** A data record by column name (a column with a blank name is no field of ours). */
function recordOf(columns: readonly string[], fields: readonly string[]): Record<string, string | undefined> {
  const record: Record<string, string | undefined> = Object.create(null) as Record<string, string | undefined>;
  columns.forEach((name, index) => {
    if (name !== '') record[name] = fields[index];
  });
  return record;
}

function checkHeader(uri: string, header: string[]): string[] {
  const columns = header.map((name) => name.trim());
  if (columns.every((name) => name === '')) throw missingHeader(uri, 'its first line is blank');
  const duplicated = [...new Set(columns.filter((name, index) => name !== '' && columns.indexOf(name) !== index))];
  if (duplicated.length > 0) {
    throw new UsageError(
      'inventory_duplicate_column',
      `Inventory ${scrubUrlSecrets(uri)} names column ${duplicated.map((name) => `"${name}"`).join(', ')} more than once in its header (${columns.join(',')}): keep one of each`,
    );
  }
  const missing = REQUIRED_COLUMNS.filter((name) => !columns.includes(name));
  if (missing.length > 0) {
    throw new UsageError(
      'inventory_missing_column',
      `Inventory ${scrubUrlSecrets(uri)} has no column ${missing.map((name) => `"${name}"`).join(', ')} in its header (found: ${columns.join(',')}); the header must name ${REQUIRED_COLUMNS.join(',')}${caseHint(missing, columns)}`,
    );
  }
  return columns;
}

/** `CloneURL` for `cloneUrl`: the names are matched exactly, as the chunk job and reports write them. */
function caseHint(missing: readonly string[], columns: readonly string[]): string {
  const near = missing.flatMap((name) => columns.filter((column) => column.toLowerCase() === name.toLowerCase()).map((column) => `"${column}" as "${name}"`));
  return near.length > 0 ? ` (names are case-sensitive: write ${near.join(', ')})` : '';
}

function missingHeader(uri: string, why: string): UsageError {
  return new UsageError('inventory_missing_header', `Inventory ${scrubUrlSecrets(uri)} has no header row (${why}): its first line must name ${REQUIRED_COLUMNS.join(',')}`);
}

/**
 * Any csv-parse error is the inventory's fault (exit 2), whatever its code: not every code
 * starts with `CSV_` (a quote inside an unquoted field is `INVALID_OPENING_QUOTE`). `records`
 * counts the records parsed before the bad one, the header included and blank lines not: the
 * bad one's row number, as row numbers count data records from 1.
 */
function describeParseError(uri: string, err: unknown): unknown {
  if (err instanceof MassIngestError) return err;
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof MassIngestError) return cause;
  if (err instanceof CsvError) {
    const { lines, records } = err as CsvError & { lines?: number; records?: number };
    const which = typeof records !== 'number' ? '' : records === 0 ? ' (its header)' : ` (row ${records})`;
    return new UsageError(
      'inventory_malformed',
      `Inventory ${scrubUrlSecrets(uri)} is not valid CSV near line ${lines ?? '?'}${which}: ${errorMessage(err)}; a field holding a quote, a comma or a line break must be in double quotes, its own quotes doubled ("echo ""hi""")`,
      [],
      err,
    );
  }
  return err;
}

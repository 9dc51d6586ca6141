import { CsvError, parse, type Parser } from 'csv-parse';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UsageError, MassIngestError, errorMessage } from '../errors.js';
import { scrubUrlSecrets } from '../logging/scrub.js';
import { REQUIRED_COLUMNS, validateRecord, type InventoryEntry } from './rows.js';
import { PartitionIndexer, ResumedSeenRows, type PartitionIndex, type PartitionStart } from './partition-index.js';
import type { SeenRows } from './seen-rows.js';
import { downloadInventory, inventoryScheme, isRemoteInventory, openInventory, openInventoryObject, Sha256Tap, type DownloadedInventory, type InventoryOptions } from './source.js';

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
  /**
   * Read only the header and the bytes from a recorded partition's start (src/inventory/partition-index.ts):
   * rows before it are neither read nor checked, and the summary has no sha256.
   */
  readonly resume?: PartitionStart;
}

/** Streams the inventory and yields the selected rows. */
export function readInventory(uri: string, selection: RowSelection, options: ReadOptions = {}): InventoryReading {
  let summary: InventorySummary = { rows: 0, sha256: undefined, complete: false };
  const tap = new Sha256Tap();
  async function* entries(): AsyncGenerator<InventoryEntry> {
    const parser = createParser();
    const { resume } = options;
    const downloaded = resume ? undefined : await downloadedIfLong(uri, selection, options);
    const opening = resume ? openResumed(uri, resume, options) : openInventory(downloaded?.file ?? uri, options);
    const source = await opening.catch(async (err: unknown) => {
      await downloaded?.remove();
      throw err;
    });
    const flowing = pipeline(source, tap, parser).catch((err: unknown) => {
      parser.destroy(err as Error);
    });
    const seen: SeenRows = resume ? new ResumedSeenRows(resume.earlierDuplicates) : new Map<string, number>();
    let columns: readonly string[] | undefined;
    let rowNumber = resume ? resume.firstRow - 1 : 0;
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
      throw describeParseError(uri, err, resume ? resume.firstRow - 1 : 0);
    } finally {
      source.destroy();
      await downloaded?.remove();
    }
    await flowing;
    const complete = rowNumber <= selection.end || options.readToEnd === true;
    summary = { rows: rowNumber, sha256: complete && !resume ? tap.digest().sha256 : undefined, complete };
  }
  return { entries: entries(), summary: () => summary, bytesRead: () => tap.digest().bytes };
}

/** The header's bytes, then the partition's: to the parser, an inventory whose rows before the partition were left out. */
async function openResumed(uri: string, resume: PartitionStart, options: InventoryOptions): Promise<Readable> {
  const header = await openInventory(uri, { ...options, range: { start: 0, end: resume.headerBytes - 1 } });
  async function* bytes(): AsyncGenerator<Buffer> {
    try {
      yield* header as AsyncIterable<Buffer>;
    } finally {
      header.destroy();
    }
    const rows = await openInventory(uri, { ...options, range: { start: resume.offset, ...(resume.endOffset === undefined ? {} : { end: resume.endOffset - 1 }) } });
    try {
      yield* rows as AsyncIterable<Buffer>;
    } finally {
      rows.destroy();
    }
  }
  return Readable.from(bytes(), { objectMode: false });
}

function downloadedIfLong(uri: string, selection: RowSelection, options: ReadOptions): Promise<DownloadedInventory | undefined> {
  const span = selection.end - selection.start + 1;
  if (!isRemoteInventory(uri) || span <= STREAMED_ROWS || options.eager) return Promise.resolve(undefined);
  return downloadInventory(uri, options);
}

/**
 * Opens the inventory and checks its header, reading no further: bad input fails before any work.
 * From S3 only its first 64 KiB are asked for (a connection closed after the header still carries
 * what the server had sent: several MiB of a large object); a header found wanting in a range it
 * filled (a header longer than that) is checked again in the whole object.
 */
export async function checkInventory(uri: string, options: InventoryOptions = {}): Promise<void> {
  if (inventoryScheme(uri) !== 's3') return checkHeaderOf(readInventory(uri, { start: 1, end: 0 }, options));
  const reading = readInventory(uri, { start: 1, end: 0 }, { ...options, range: { start: 0, end: HEADER_CHECK_BYTES - 1 } });
  try {
    await checkHeaderOf(reading);
  } catch (err) {
    if (!(err instanceof UsageError) || (reading.bytesRead?.() ?? 0) < HEADER_CHECK_BYTES) throw err;
    await checkHeaderOf(readInventory(uri, { start: 1, end: 0 }, options));
  }
}

async function checkHeaderOf(reading: InventoryReading): Promise<void> {
  for await (const _entry of reading.entries) break;
}

const HEADER_CHECK_BYTES = 64 * 1024;

/** What one streaming pass over a whole inventory found (the chunk job's plan). */
export interface InventoryScan {
  readonly rows: number;
  readonly sha256: string;
  readonly bytes: number;
  /** s3:// only: the ETag of the object these bytes are. */
  readonly etag: string | undefined;
  /** Only when asked for (a partition size given). */
  readonly index: PartitionIndex | undefined;
}

/** A record and the byte offset just past it (its line break included). */
interface Located {
  readonly fields: string[];
  readonly end: number;
}

/**
 * Counts data records and hashes the bytes in one streaming pass (the chunk job's plan); with a
 * partition size, also checks every row and indexes where each partition begins.
 */
export async function scanInventory(uri: string, options: InventoryOptions = {}, partitionSize?: number): Promise<InventoryScan> {
  const tap = new Sha256Tap();
  const indexer = partitionSize === undefined ? undefined : new PartitionIndexer(partitionSize);
  let columns: readonly string[] | undefined;
  let rows = 0;
  let end = 0;
  const counter = new Writable({
    objectMode: true,
    write(record: string[] | Located, _encoding, callback) {
      try {
        const fields = Array.isArray(record) ? record : record.fields;
        if (columns === undefined) columns = checkHeader(uri, fields);
        else if (indexer) indexer.add(++rows, end, recordOf(columns, fields), { fields, columns });
        else rows += 1;
        if (!Array.isArray(record)) end = record.end;
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
    const parser = indexer ? createLocatingParser() : createParser();
    await pipeline(opened.body, tap, parser, counter);
    if (columns === undefined) throw missingHeader(uri, 'it is empty or holds only blank lines');
  } catch (err) {
    throw describeParseError(uri, err);
  }
  const { sha256, bytes } = tap.digest();
  return { rows, sha256, bytes, etag, index: indexer?.index() };
}

/**
 * The CSV parser (DESIGN §4). Records come as arrays, the header first, so a row's field count
 * can be checked against the header's (csv-parse's `columns` would drop the extra fields of a
 * row with a comma left unquoted).
 */
function createParser(): Parser {
  return parse({ bom: true, skip_empty_lines: true, relax_column_count: true, trim: false });
}

/**
 * The parser, each record with the byte offset just past it (its line break included, a BOM
 * counted): csv-parse sets `info.bytes` so right before it pushes a record. (Its `on_record`
 * gives the same offset but copies the whole `info` twice a record: 3 s of a million rows.)
 */
function createLocatingParser(): Parser {
  const parser = createParser();
  const push = parser.push.bind(parser);
  parser.push = (record: unknown) => push(record === null ? null : ({ fields: record as string[], end: parser.info.bytes } satisfies Located));
  return parser;
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
function describeParseError(uri: string, err: unknown, rowsBefore = 0): unknown {
  if (err instanceof MassIngestError) return err;
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof MassIngestError) return cause;
  if (err instanceof CsvError) {
    const { lines, records } = err as CsvError & { lines?: number; records?: number };
    const which = typeof records !== 'number' ? '' : records === 0 ? ' (its header)' : ` (row ${records + rowsBefore})`;
    return new UsageError(
      'inventory_malformed',
      `Inventory ${scrubUrlSecrets(uri)} is not valid CSV near line ${lines ?? '?'}${which}: ${errorMessage(err)}; a field holding a quote, a comma or a line break must be in double quotes, its own quotes doubled ("echo ""hi""")`,
      [],
      err,
    );
  }
  return err;
}

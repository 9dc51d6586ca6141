import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UsageError } from '../errors.js';
import { validateRecord, type InventoryEntry } from './rows.js';
import { ResumedSeenRows, type PartitionStart } from './partition-index.js';
import { HashedSeenRows, type SeenRows } from './seen-rows.js';
import { checkHeader, createParser, describeParseError, missingHeader, recordOf } from './csv.js';
import { downloadInventory, inventoryScheme, isRemoteInventory, openInventory, Sha256Tap, type DownloadedInventory, type InventoryOptions } from './source.js';

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
    const rowsBefore = resume ? resume.firstRow - 1 : 0;
    const downloaded = resume ? undefined : await downloadedIfLong(uri, selection, options);
    const opening = resume ? openResumed(uri, resume, options) : openInventory(downloaded?.file ?? uri, options);
    const source = await opening.catch(async (err: unknown) => {
      await downloaded?.remove();
      throw err;
    });
    const flowing = pipeline(source, tap, parser).catch((err: unknown) => {
      parser.destroy(err as Error);
    });
    // Every row read is remembered, those before `start` too (a late partition reads them all):
    // hashed, 16–24 bytes a row, where a Map of the keys held ≈230 and a processor of rows near the
    // millionth grew by ≈220 MiB. The chunk job's index remembers them the same way, so both name
    // the same rows repeats.
    const seen: SeenRows = resume ? new ResumedSeenRows(resume.earlierDuplicates) : new HashedSeenRows();
    let columns: readonly string[] | undefined;
    let rowNumber = rowsBefore;
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
      throw describeParseError(uri, err, { rowsBefore, parser });
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
  if (options.copy !== undefined || !isRemoteInventory(uri) || span <= STREAMED_ROWS || options.eager) return Promise.resolve(undefined);
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

import { MassIngestError, UsageError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { scrubUrlSecrets } from '../logging/scrub.js';
import { readInventory, type InventoryReading, type ReadOptions, type RowSelection } from './reader.js';
import { scanInventory } from './scan.js';
import type { InventoryEntry } from './rows.js';
import type { PartitionStart } from './partition-index.js';
import { downloadInventory, inventoryScheme, type DownloadedInventory, type InventoryOptions } from './source.js';

/** What the run was planned over (DESIGN §9): the sha256 of the inventory, and the S3 ETag the chunk job saw with it. */
export interface PlannedInventory {
  readonly runId: string;
  readonly sha256: string;
  /** Only when the run recorded it for this very sha256 (an s3:// inventory). */
  readonly etag: string | undefined;
  /** Where the partition begins in those bytes, when the chunk job indexed them (read with the ETag only). */
  readonly start?: PartitionStart | undefined;
}

/** How a partition's rows were proven to come from the planned inventory. */
export type InventoryProof = 'sha256' | 'if-match';

export interface VerifiedRows {
  /**
   * The partition's rows: read while checking (bounded partitions), or, for an open range of a
   * file or http(s)://, to be read from the copy that was hashed; undefined for an open s3:// range.
   */
  readonly reading: InventoryReading | undefined;
  readonly proof: InventoryProof;
  /** Bytes of the inventory the check took (bench/chunk.js d). */
  readonly bytesRead: number | undefined;
  /** The rows were read from this byte on (and the header), where the chunk job's index put the partition. */
  readonly fromByte?: number;
  /** S3 refused the recorded ETag, and the sha256 showed the same bytes (uploaded again). */
  readonly etagRefused?: boolean;
  /** An open range's rows are read in a pass of their own: an s3:// object is read with If-Match on the ETag hashed. */
  readonly ifMatch?: string;
  /** Removes what the rows' pass would have read (an open range's copy) when it never runs; idempotent. */
  release?(): Promise<void>;
}

/**
 * Reads a partition's rows from the inventory the run was planned over, or refuses it
 * (`inventory_changed`, exit 2). A bounded partition is checked in the same pass that reads its
 * rows (kept in memory: at most the partition):
 * - an s3:// object with a recorded ETag is read with If-Match, and only up to the partition's
 *   last row — from the partition's first byte when the chunk job indexed it (the header read
 *   apart): S3 refuses a changed object (412) before sending a byte of it; then the object is
 *   read whole and its sha256 decides (the same bytes may come back under another ETag);
 * - anything else (a file, http(s)://, an s3:// run planned before ETags were recorded) is read
 *   to its end and hashed.
 * An open range (to the last row), possibly all of a large inventory, is hashed in a pass of its
 * own and its rows read in another: from an s3:// object with If-Match on the ETag hashed (the
 * caller reads them), from anything else out of the private copy hashed (`readCopiedRows`).
 */
export async function readPlannedRows(uri: string, range: RowSelection, planned: PlannedInventory, options: InventoryOptions, log?: Logger): Promise<VerifiedRows> {
  if (!Number.isFinite(range.end)) return inventoryScheme(uri) === 's3' ? hashPlannedObject(uri, planned, options) : copyPlannedRows(uri, range, planned, options, log);
  let etagRefused = false;
  if (planned.etag !== undefined && inventoryScheme(uri) === 's3') {
    try {
      const reading = await buffered(uri, range, { ...options, ifMatch: planned.etag, eager: true, resume: planned.start });
      return { reading, proof: 'if-match', bytesRead: reading.bytesRead?.(), ...(planned.start ? { fromByte: planned.start.offset } : {}) };
    } catch (err) {
      if (!(err instanceof MassIngestError && err.code === 'inventory_changed')) throw err;
      // Another ETag need not be other bytes (the same file uploaded again, in other parts or
      // with another key): the sha256 decides, as without an ETag.
      etagRefused = true;
    }
  }
  const reading = await buffered(uri, range, { ...options, readToEnd: true, eager: true });
  checkSha256(uri, reading.summary().sha256, planned, etagRefused);
  return { reading, proof: 'sha256', bytesRead: reading.bytesRead?.(), ...(etagRefused ? { etagRefused } : {}) };
}

/** An open range of an s3:// object: hashed, then read by the caller with If-Match on the ETag hashed. */
async function hashPlannedObject(uri: string, planned: PlannedInventory, options: InventoryOptions): Promise<VerifiedRows> {
  const scan = await scanInventory(uri, options);
  checkSha256(uri, scan.sha256, planned);
  return { reading: undefined, proof: 'sha256', bytesRead: scan.bytes, ...(scan.etag === undefined ? {} : { ifMatch: scan.etag }) };
}

/**
 * An open range of a file or http(s)://: the inventory is copied once, into a file only we write
 * (one GET; a file read from the one descriptor opened), and that copy is hashed and its rows read.
 * A file replaced or rewritten after the check, or a server that serves other bytes to a later GET,
 * cannot put other rows under the numbers checked: nothing reads the inventory again.
 */
async function copyPlannedRows(uri: string, range: RowSelection, planned: PlannedInventory, options: InventoryOptions, log: Logger | undefined): Promise<VerifiedRows> {
  const copy = await downloadInventory(uri, options);
  try {
    const scan = await scanInventory(uri, { ...options, copy: copy.file });
    checkSha256(uri, scan.sha256, planned);
    return { reading: readCopiedRows(uri, range, planned, copy, options, log), proof: 'sha256', bytesRead: scan.bytes, release: copy.remove };
  } catch (err) {
    await copy.remove();
    throw err;
  }
}

/**
 * The rows of the checked copy, which is removed once they are read. The copy's sha256 is compared
 * again when they end, should anything have written into it meanwhile: by then rows are done. Their
 * outcomes stay recorded (they are what was built and published), a log line names the rows read,
 * and `inventory_changed` fails the partition (exit 2): its row numbers may not be the planned ones.
 */
function readCopiedRows(uri: string, range: RowSelection, planned: PlannedInventory, copy: DownloadedInventory, options: InventoryOptions, log: Logger | undefined): InventoryReading {
  const reading = readInventory(uri, range, { ...options, copy: copy.file });
  async function* entries(): AsyncGenerator<InventoryEntry> {
    let firstRow: number | undefined;
    let lastRow: number | undefined;
    try {
      for await (const entry of reading.entries) {
        firstRow ??= entry.row.rowNumber;
        lastRow = entry.row.rowNumber;
        yield entry;
      }
    } finally {
      await copy.remove();
    }
    const { sha256 } = reading.summary();
    if (sha256 === planned.sha256) return;
    const rows = firstRow === undefined ? 'no rows' : `rows ${firstRow}..${lastRow ?? firstRow}`;
    log?.error({ inventory: scrubUrlSecrets(uri), copy: copy.file, sha256, plannedSha256: planned.sha256, firstRow, lastRow }, 'Rows were read from bytes other than the inventory checked');
    throw new UsageError(
      'inventory_changed',
      `Inventory ${scrubUrlSecrets(uri)} was checked, then its rows were read from its copy ${copy.file}, which changed meanwhile: the bytes read have sha256 ${sha256 ?? '?'}, but run ${planned.runId} was planned over ${planned.sha256}; ${rows} came from them and their outcomes are recorded, though they may not be the planned rows: start a new run`,
    );
  }
  return { entries: entries(), summary: reading.summary, bytesRead: reading.bytesRead };
}

async function buffered(uri: string, range: RowSelection, options: ReadOptions): Promise<InventoryReading> {
  const reading = readInventory(uri, range, options);
  const entries: InventoryEntry[] = [];
  for await (const entry of reading.entries) entries.push(entry);
  return { entries: fromArray(entries), summary: reading.summary, bytesRead: reading.bytesRead };
}

/** `etagRefused`: S3 had refused the recorded ETag, and the message says so. */
function checkSha256(uri: string, sha256: string | undefined, planned: PlannedInventory, etagRefused = false): void {
  if (sha256 === planned.sha256) return;
  const what = etagRefused
    ? `is no longer the object run ${planned.runId} was planned over: S3 refused If-Match on ETag ${planned.etag ?? '?'} (HTTP 412), and it has sha256 ${sha256 ?? '?'}, not ${planned.sha256}`
    : `has sha256 ${sha256 ?? '?'}, but run ${planned.runId} was planned over ${planned.sha256}`;
  throw new UsageError('inventory_changed', `Inventory ${scrubUrlSecrets(uri)} ${what}: the file changed after the chunk job read it; start a new run`);
}

async function* fromArray<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

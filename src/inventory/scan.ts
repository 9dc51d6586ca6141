import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PartitionIndexer, type PartitionIndex } from './partition-index.js';
import { checkHeader, createLocatingParser, createParser, describeParseError, missingHeader, recordOf, type Located } from './csv.js';
import { openInventoryObject, Sha256Tap, type InventoryOptions } from './source.js';

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
  const parser = indexer ? createLocatingParser() : createParser();
  try {
    const opened = await openInventoryObject(uri, options);
    etag = opened.etag;
    await pipeline(opened.body, tap, parser, counter);
    if (columns === undefined) throw missingHeader(uri, 'it is empty or holds only blank lines');
  } catch (err) {
    throw describeParseError(uri, err, { parser });
  }
  const { sha256, bytes } = tap.digest();
  return { rows, sha256, bytes, etag, index: indexer?.index() };
}

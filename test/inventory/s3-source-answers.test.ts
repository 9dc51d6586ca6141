import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MassIngestError } from '../../src/errors.js';
import { readPlannedRows, type PlannedInventory } from '../../src/inventory/planned.js';
import { checkInventory, readInventory } from '../../src/inventory/reader.js';
import { scanInventory } from '../../src/inventory/scan.js';
import type { InventoryEntry } from '../../src/inventory/rows.js';
import type { PartitionIndex } from '../../src/inventory/partition-index.js';
import { startScriptedS3, type ScriptedS3 } from '../fakes/scripted-s3.js';
import { startOf } from './partition-starts.js';

/**
 * A child reading its partition alone (two ranged GETs under If-Match) must yield what a read from
 * the first byte yields, whatever S3 answers: a server that ignores Range (200, the whole
 * object), a 412 on the second GET only (the object replaced between the two).
 */
const S3 = { s3: { forcePathStyle: true } };
const SIZE = 10;
const URI = 's3://inventories/repos.csv';
const CSV = `\uFEFFcloneUrl,branch,origin,path\r\n${Array.from({ length: 35 }, (_, i) => `https://h/o/r${i % 27}.git,main,h,o/r${i % 27}\r\n`).join('')}`;
const SHA256 = createHash('sha256').update(CSV).digest('hex');

let s3: ScriptedS3;
let index: PartitionIndex;
let etag: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  s3 = await startScriptedS3();
  s3.objects.set('/inventories/repos.csv', { body: Buffer.from(CSV), etag: '"etag-1"' });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: s3.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test-secret',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  const scan = await scanInventory(URI, S3, SIZE);
  index = scan.index as PartitionIndex;
  etag = scan.etag ?? '';
});

afterAll(async () => {
  process.env = savedEnv;
  await s3.close();
});

beforeEach(() => {
  s3.answer = () => 'normal';
  s3.objects.set('/inventories/repos.csv', { body: Buffer.from(CSV), etag: '"etag-1"' });
});


async function reference(start: number, end: number): Promise<InventoryEntry[]> {
  const entries: InventoryEntry[] = [];
  for await (const entry of readInventory(URI, { start, end }, S3).entries) entries.push(entry);
  return entries;
}

async function planned(partition: number): Promise<{ entries: InventoryEntry[]; proof: string; etagRefused: boolean | undefined }> {
  const plan: PlannedInventory = { runId: 'r1', sha256: SHA256, etag, start: startOf(index, partition, SIZE) };
  const checked = await readPlannedRows(URI, { start: partition * SIZE + 1, end: (partition + 1) * SIZE }, plan, S3);
  const entries: InventoryEntry[] = [];
  for await (const entry of checked.reading?.entries ?? []) entries.push(entry);
  return { entries, proof: checked.proof, etagRefused: checked.etagRefused };
}

describe('a partition read alone from an s3:// inventory', () => {
  it('yields the rows of a read from the first byte when S3 honours Range (the baseline)', async () => {
    const expected = await reference(21, 30);

    const read = await planned(2);

    expect(read.proof).toBe('if-match');
    expect(read.entries).toEqual(expected);
    expect(s3.gets.slice(-2).map((get) => get.status)).toEqual([206, 206]);
  });

  it('yields the rows of a read from the first byte when the server ignores Range and answers 200 with the whole object', async () => {
    const expected = await reference(21, 30);
    s3.answer = () => 'ignore-range';

    const read = await planned(2);

    expect(read.entries.map((entry) => entry.row.rowNumber)).toEqual(expected.map((entry) => entry.row.rowNumber));
    expect(read.entries).toEqual(expected);
  });

  it('falls back to the sha256 when S3 refuses If-Match on the rows GET only (same bytes uploaded again between the two GETs)', async () => {
    const expected = await reference(11, 20);
    const first = s3.gets.length;
    // The header GET is served; the rows GET is refused; the whole read after it is served.
    s3.answer = (n) => (n === first + 1 ? 'precondition' : 'normal');

    const read = await planned(1);

    expect({ proof: read.proof, etagRefused: read.etagRefused }).toEqual({ proof: 'sha256', etagRefused: true });
    expect(read.entries).toEqual(expected);
  });

  it('exits 2 (inventory_changed) when S3 refuses If-Match on the rows GET and the bytes changed', async () => {
    const first = s3.gets.length;
    s3.answer = (n) => {
      if (n === first + 1) s3.objects.set('/inventories/repos.csv', { body: Buffer.from(CSV.replace('r1.git', 'rX.git')), etag: '"etag-2"' });
      return 'normal';
    };

    const err = await planned(1).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(err).toBeInstanceOf(MassIngestError);
    expect([(err as MassIngestError).code, (err as MassIngestError).exitCode]).toEqual(['inventory_changed', 2]);
  });

  it('exits 2 (inventory_changed), not 3, when the rows GET is answered 416 because the object shrank (a server that checks Range before If-Match)', async () => {
    const first = s3.gets.length;
    s3.answer = (n) => {
      if (n !== first + 1) return 'normal';
      s3.objects.set('/inventories/repos.csv', { body: Buffer.from(CSV.slice(0, 200)), etag: '"etag-3"' });
      return 'invalid-range';
    };

    const err = await planned(3).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect([(err as MassIngestError).code, (err as MassIngestError).exitCode]).toEqual(['inventory_changed', 2]);
  });

  it('checks the header when the server ignores Range for the 64 KiB existence check', async () => {
    s3.answer = () => 'ignore-range';

    await expect(checkInventory(URI, S3)).resolves.toBeUndefined();
  });
});

describe('a partition read alone from a large s3:// inventory', () => {
  const BIG_URI = 's3://inventories/big.csv';
  const BIG = `cloneUrl,branch,origin,path\n${Array.from({ length: 60_000 }, (_, i) => `https://h/o/r${i}.git,main,h,o/r${i}\n`).join('')}`;
  const BIG_SIZE = 1000;

  it('yields the middle partition of a multi-megabyte object when the server ignores Range, though chunks arrive after its last byte', async () => {
    s3.objects.set('/inventories/big.csv', { body: Buffer.from(BIG), etag: '"big-1"' });
    const scan = await scanInventory(BIG_URI, S3, BIG_SIZE);
    const plan: PlannedInventory = { runId: 'r1', sha256: scan.sha256, etag: scan.etag, start: startOf(scan.index as PartitionIndex, 30, BIG_SIZE) };
    s3.answer = () => 'ignore-range';

    const checked = await readPlannedRows(BIG_URI, { start: 30_001, end: 31_000 }, plan, S3);
    const rows: number[] = [];
    for await (const entry of checked.reading?.entries ?? []) rows.push(entry.row.rowNumber);

    expect(checked.proof).toBe('if-match');
    expect([rows.length, rows[0], rows.at(-1)]).toEqual([1000, 30_001, 31_000]);
  });
});

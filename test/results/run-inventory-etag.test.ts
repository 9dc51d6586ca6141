import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/results/database.js';
import { SqlResultStore, type RunRecord } from '../../src/results/result-store.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

let tmp: TempDir;
let database: Database;
let store: SqlResultStore;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-run-etag-');
  database = await openDatabase({ databaseUrl: undefined, dataDir: path.join(tmp.path, 'db') }, pino({ level: 'silent' }));
  store = new SqlResultStore(database);
}, 120_000);

afterAll(async () => {
  await database?.close();
  await tmp?.remove();
});

const chunkRun = (id: string, sha256: string, etag: string | undefined): RunRecord => ({ id, trigger: 'manual', mode: 'array', inventoryUri: 's3://b/repos.csv', inventorySha256: sha256, inventoryEtag: etag, inventoryRows: 4, partitionSize: 2, partitions: 2 });

async function statuses(runId: string) {
  const { rows } = await database.query<{ partition: number; status: string }>('SELECT partition, status FROM run_partitions WHERE run_id = $1 ORDER BY partition', [runId]);
  return rows.map((row) => [row.partition, row.status]);
}

describe('the ETag recorded beside the inventory sha256', () => {
  it('is taken from a retried chunk job that hashed the same bytes under a new ETag, and kept otherwise', async () => {
    const first = await store.ensureRun(chunkRun('etag-run', 'sha-a', '"e1"'));
    const reuploaded = await store.ensureRun(chunkRun('etag-run', 'sha-a', '"e2"'));
    const processor = await store.ensureRun({ id: 'etag-run', trigger: 'process', mode: 'process', inventoryUri: 's3://b/repos.csv', inventorySha256: 'sha-a' });
    const changed = await store.ensureRun(chunkRun('etag-run', 'sha-b', '"e3"'));

    expect([first, reuploaded, processor, changed].map((run) => [run.inventorySha256, run.inventoryEtag])).toEqual([
      ['sha-a', '"e1"'],
      ['sha-a', '"e2"'],
      ['sha-a', '"e2"'],
      ['sha-a', '"e2"'],
    ]);
  });
});

describe('failing a partition whose processor touched no row', () => {
  it('leaves a succeeded partition succeeded, fails a submitted one, and records one nobody recorded', async () => {
    await store.ensureRun(chunkRun('late-run', 'sha-a', undefined));
    await store.upsertPartitions([
      { runId: 'late-run', partition: 0, startRow: 1, endRow: 2, status: 'succeeded', batchJobId: 'j:0' },
      { runId: 'late-run', partition: 1, startRow: 3, endRow: 4, status: 'submitted', batchJobId: 'j:1' },
      { runId: 'late-run', partition: 2, startRow: 5, endRow: 6, status: 'submitted', batchJobId: 'j:2' },
    ]);

    await store.failRecordedPartition('late-run', 0);
    await store.failUnstartedPartition({ runId: 'late-run', partition: 0, startRow: 1, endRow: 2 });
    await store.failRecordedPartition('late-run', 1);
    await store.failUnstartedPartition({ runId: 'late-run', partition: 2, startRow: 5, endRow: 6 });
    await store.failUnstartedPartition({ runId: 'late-run', partition: 3, startRow: 7, endRow: 8 });

    expect(await statuses('late-run')).toEqual([[0, 'succeeded'], [1, 'failed'], [2, 'failed'], [3, 'failed']]);
  });
});

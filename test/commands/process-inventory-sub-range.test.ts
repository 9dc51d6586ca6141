import { createHash } from 'node:crypto';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withoutSdkNodeVersionWarning } from '../../src/batch/sdk-warning.js';
import { baseEnv, runCli, type CliResult } from '../harness/cli.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { startFakeBatchApi, type FakeBatchApi } from '../fakes/batch-api.js';
import { S3RVER_CREDENTIALS, startLocalS3, type LocalS3 } from '../fakes/s3.js';
import { startIfMatchProxy, type IfMatchProxy } from '../fakes/s3-if-match.js';

/**
 * A processor given a sub-range of a recorded partition (`process --start/--end --partition`, as
 * a hand-made jobs-mode rerun) reads its rows from the partition's offset; the recorded index must
 * survive it, so that the partition's own child (a Batch retry) and its neighbour still read only
 * their own rows (README: "Each child reads only its own rows").
 */
let tmp: TempDir;
let postgres: PostgresServer;
let db: pg.Pool;
let s3: LocalS3;
let proxy: IfMatchProxy;
let fake: FakeBatchApi;
let s3Client: S3Client;

const BUCKET = 'inventories';
const SIZE = 100;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-review-sub-');
  [postgres, s3] = await Promise.all([startPostgres(), startLocalS3([BUCKET])]);
  proxy = await startIfMatchProxy(s3.endpoint);
  fake = await startFakeBatchApi();
  db = new pg.Pool({ connectionString: postgres.url, max: 2 });
  s3Client = withoutSdkNodeVersionWarning(() => new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: S3RVER_CREDENTIALS }));
}, 120_000);

afterAll(async () => {
  s3Client?.destroy();
  await db?.end();
  await fake?.close();
  await proxy?.close();
  await s3?.stop();
  await postgres?.stop();
  await tmp?.remove();
});

const env = (extra: Record<string, string> = {}) =>
  baseEnv({
    ...s3.env,
    AWS_ENDPOINT_URL_S3: proxy.url,
    AWS_ENDPOINT_URL_BATCH: fake.url,
    DATABASE_URL: postgres.url,
    JOB_QUEUE: 'test-queue',
    JOB_DEFINITION: 'processor',
    PUBLISH_URL: path.join(tmp.path, 'published'),
    MASS_INGEST_WORKDIR: path.join(tmp.path, 'work'),
    ...extra,
  });

function arrayChild(runId: string, uri: string, sha256: string, index: number, attempt = 1): Promise<CliResult> {
  const args = ['process', uri, '--partition-size', String(SIZE), '--partition-offset', '0', '--run-id', runId, '--inventory-sha256', sha256];
  return runCli(args, { env: env({ AWS_BATCH_JOB_ID: `job-${runId}:${index}`, AWS_BATCH_JOB_ARRAY_INDEX: String(index), AWS_BATCH_JOB_ATTEMPT: String(attempt) }) });
}

const checkedLine = (result: CliResult) => result.logs.find((line) => line.msg === 'Inventory checked against the run');

describe('a processor of a sub-range of a recorded partition', () => {
  it('reads its rows from the partition offset, and leaves the index for the partition and its neighbour', async () => {
    const lines = ['cloneUrl,branch,origin,path'];
    for (let row = 1; row <= 400; row++) lines.push(`ftp://git.example.test/acme/r${row}.git,main,git.example.test,acme/r${row}`);
    const text = `${lines.join('\n')}\n`;
    await s3Client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sub/repos.csv', Body: text }));
    const uri = `s3://${BUCKET}/sub/repos.csv`;
    const sha256 = createHash('sha256').update(text).digest('hex');
    const chunk = await runCli(['chunk', uri, '--partition-size', String(SIZE), '--run-id', 'sub1'], { env: env() });
    const offsetOf = (partition: number) => lines.slice(0, partition * SIZE + 1).join('\n').length + 1;

    const sub = await runCli(['process', uri, '--start', '105', '--end', '110', '--partition', '1', '--run-id', 'sub1', '--inventory-sha256', sha256], { env: env() });
    const retry = await arrayChild('sub1', uri, sha256, 1, 2);
    const neighbour = await arrayChild('sub1', uri, sha256, 0);

    expect([chunk.code, sub.code, retry.code, neighbour.code]).toEqual([0, 0, 0, 0]);
    expect(checkedLine(sub)).toMatchObject({ proof: 'if-match', fromByte: offsetOf(1) });
    const { rows } = await db.query<{ row_number: number }>("SELECT row_number FROM repository_results WHERE run_id = 'sub1' ORDER BY row_number");
    expect(rows.map((row) => row.row_number)).toEqual([...Array.from({ length: 100 }, (_, i) => i + 1), ...Array.from({ length: 100 }, (_, i) => i + 101)]);
    // The partition's own child still reads from its offset, and partition 0 still ends where partition 1 begins.
    expect(checkedLine(retry)).toMatchObject({ proof: 'if-match', fromByte: offsetOf(1), bytesRead: offsetOf(0) + offsetOf(2) - offsetOf(1) });
    expect(checkedLine(neighbour)).toMatchObject({ proof: 'if-match', fromByte: offsetOf(0), bytesRead: offsetOf(1) });
  });
});

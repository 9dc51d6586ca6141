import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { withoutSdkNodeVersionWarning } from '../../src/batch/sdk-warning.js';
import { baseEnv, runCli, type CliResult } from '../harness/cli.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { startFakeBatchApi, type FakeBatchApi } from '../fakes/batch-api.js';
import { S3RVER_CREDENTIALS, startLocalS3, type LocalS3 } from '../fakes/s3.js';
import { startIfMatchProxy, type IfMatchProxy } from '../fakes/s3-if-match.js';

/**
 * DESIGN §9's check that an array child reads the inventory its run was planned over, without
 * every child reading the whole inventory: the chunk job records the S3 object's ETag beside the
 * sha256, and a child reads its rows with If-Match, stopping at its own last row. s3rver ignores
 * If-Match, so S3 is s3rver behind test/fakes/s3-if-match.ts, which answers 412 as S3 does and
 * records each GetObject with the bytes sent.
 */
let tmp: TempDir;
let postgres: PostgresServer;
let db: pg.Pool;
let s3: LocalS3;
let proxy: IfMatchProxy;
let fake: FakeBatchApi;
let s3Client: S3Client;

const BUCKET = 'inventories';
const PARTITION_SIZE = 100;
/** 160,000 rows of ~100 bytes (~16 MiB): far more than loopback socket buffers hold, so a child that stops early is seen to. */
const ROWS = 160_000;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-etag-');
  [postgres, s3] = await Promise.all([startPostgres(), startLocalS3([BUCKET])]);
  proxy = await startIfMatchProxy(s3.endpoint);
  db = new pg.Pool({ connectionString: postgres.url, max: 2 });
  s3Client = withoutSdkNodeVersionWarning(() => new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: S3RVER_CREDENTIALS }));
}, 120_000);

afterAll(async () => {
  s3Client?.destroy();
  await db?.end();
  await proxy?.close();
  await s3?.stop();
  await postgres?.stop();
  await tmp?.remove();
});

beforeEach(async () => {
  fake = await startFakeBatchApi();
});

afterEach(async () => {
  await fake.close();
});

/** Rows whose clone URL has an unsupported scheme: each is recorded `invalid` at once, no clone needed. */
function inventory(rows: number, variant = ''): string {
  const lines = ['cloneUrl,branch,origin,path,description'];
  for (let row = 1; row <= rows; row += 1) lines.push(`ftp://git.example.test/acme/r${row}.git,main,git.example.test,acme/r${row},padding padding padding ${variant}`);
  return `${lines.join('\n')}\n`;
}

/** The inventory uploaded, and a run planned over it by the chunk job (array mode, to the fake Batch API). */
async function planRun(key: string, text: string, runId: string): Promise<{ uri: string; sha256: string; chunk: CliResult }> {
  const uri = await upload(key, text);
  const chunk = await runCli(['chunk', uri, '--partition-size', String(PARTITION_SIZE), '--run-id', runId], { env: env() });
  return { uri, sha256: createHash('sha256').update(text).digest('hex'), chunk };
}

async function upload(key: string, text: string): Promise<string> {
  await s3Client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: text }));
  return `s3://${BUCKET}/${key}`;
}

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

/** The array child `index` of the run's first array job, started as the job definition starts it (DESIGN §9). */
function arrayChild(runId: string, uri: string, sha256: string, index: number, attempt = 1): Promise<CliResult> {
  const args = ['process', uri, '--partition-size', String(PARTITION_SIZE), '--partition-offset', '0', '--run-id', runId, '--inventory-sha256', sha256];
  return runCli(args, { env: env({ AWS_BATCH_JOB_ID: `job-${runId}:${index}`, AWS_BATCH_JOB_ARRAY_INDEX: String(index), AWS_BATCH_JOB_ATTEMPT: String(attempt) }) });
}

function getsSince(first: number) {
  return proxy.requests.slice(first).filter((request) => request.method === 'GET');
}

async function run(runId: string) {
  const { rows } = await db.query('SELECT inventory_sha256, inventory_etag FROM ingest_runs WHERE id = $1', [runId]);
  return rows[0] as { inventory_sha256: string; inventory_etag: string | null };
}

async function partitionStatus(runId: string) {
  const { rows } = await db.query<{ partition: number; status: string }>('SELECT partition, status FROM run_partitions WHERE run_id = $1 AND partition < 3 ORDER BY partition', [runId]);
  return rows.map((row) => [row.partition, row.status]);
}

async function outcomes(runId: string) {
  const { rows } = await db.query<{ row_number: number; outcome: string }>('SELECT row_number, outcome FROM repository_results WHERE run_id = $1 ORDER BY row_number', [runId]);
  return rows.map((row) => row.row_number);
}

describe('array children of an s3:// inventory', () => {
  it('read the header and their own rows alone, with If-Match on the ETag the chunk job recorded, from where the chunk job indexed their partition', async () => {
    const text = inventory(ROWS);
    const uri = await upload('nightly/repos.csv', text);
    const sha256 = createHash('sha256').update(text).digest('hex');
    const index = 1_500;

    const chunk = await runCli(['chunk', uri, '--partition-size', String(PARTITION_SIZE), '--run-id', 'etag1'], { env: env() });
    const recorded = await run('etag1');
    const offsetOf = (partition: number) => text.split('\n').slice(0, partition * PARTITION_SIZE + 1).join('\n').length + 1;
    const offset = offsetOf(index);
    const first = proxy.requests.length;
    const child = await arrayChild('etag1', uri, sha256, index);
    const gets = getsSince(first);

    expect(chunk.stderr).toBe('');
    expect(chunk.code).toBe(0);
    expect(recorded.inventory_sha256).toBe(sha256);
    expect(recorded.inventory_etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(child.code).toBe(0);
    const checked = child.logs.find((line) => line.msg === 'Inventory checked against the run');
    expect(checked).toMatchObject({ proof: 'if-match', etag: recorded.inventory_etag, fromByte: offset });
    // Rows 150,001..150,100 begin ~15 MiB into a ~16 MiB object: the child took the header and its own rows' bytes, exactly.
    expect(checked?.bytesRead).toBe(offsetOf(0) + offsetOf(index + 1) - offset);
    expect(await outcomes('etag1')).toEqual(Array.from({ length: PARTITION_SIZE }, (_, row) => index * PARTITION_SIZE + row + 1));
    expect(await partitionStatus('etag1')).toEqual([[0, 'submitted'], [1, 'submitted'], [2, 'submitted']]);
    // The header check (its first 64 KiB), then the header and the partition's rows, both ranged with If-Match; none reads the object to its end.
    expect(gets.map((get) => [get.status, get.ifMatch, get.range])).toEqual([
      [206, undefined, 'bytes=0-65535'],
      [206, recorded.inventory_etag, `bytes=0-${'cloneUrl,branch,origin,path,description\n'.length - 1}`],
      [206, recorded.inventory_etag, `bytes=${offset}-${offsetOf(index + 1) - 1}`],
    ]);
    expect(gets.slice(1).map((get) => get.bytesSent)).toEqual([offsetOf(0), offsetOf(index + 1) - offset]);
  });

  it("read the last partition from its offset to the object's end", async () => {
    const text = inventory(1_050);
    const { uri, sha256 } = await planRun('last/repos.csv', text, 'etag6');
    const first = proxy.requests.length;

    const child = await arrayChild('etag6', uri, sha256, 10);

    expect(child.code).toBe(0);
    const offset = text.split('\n').slice(0, 1_001).join('\n').length + 1;
    expect(child.logs.find((line) => line.msg === 'Inventory checked against the run')).toMatchObject({ proof: 'if-match', fromByte: offset });
    expect(getsSince(first).at(-1)?.range).toBe(`bytes=${offset}-`);
    expect(await outcomes('etag6')).toEqual(Array.from({ length: 50 }, (_, row) => 1_001 + row));
  });

  it('record a row repeating a row of an earlier partition invalid, naming that row, as a child reading from the first byte does', async () => {
    // Row 5 is the one valid row (the others have a scheme nobody clones); rows 250 and 390 repeat it.
    const lines = inventory(400).trimEnd().split('\n');
    lines[5] = 'file:///nonexistent/acme/r5.git,main,git.example.test,acme/r5,x';
    lines[250] = lines[5];
    lines[390] = lines[5];
    const text = `${lines.join('\n')}\n`;
    const { uri, sha256 } = await planRun('repeats/repos.csv', text, 'etag5');
    const { rows: indexed } = await db.query('SELECT partition, earlier_duplicates FROM run_partitions WHERE run_id = $1 AND earlier_duplicates IS NOT NULL ORDER BY partition', ['etag5']);

    const children = await Promise.all([2, 3].map((index) => arrayChild('etag5', uri, sha256, index)));

    expect(children.map((child) => child.code)).toEqual([0, 0]);
    expect(children.map((child) => child.logs.find((line) => line.msg === 'Inventory checked against the run')?.fromByte)).toEqual([expect.any(Number), expect.any(Number)]);
    expect(indexed).toEqual([
      { partition: 2, earlier_duplicates: { 250: 5 } },
      { partition: 3, earlier_duplicates: { 390: 5 } },
    ]);
    const { rows } = await db.query("SELECT row_number, error_code, error_message FROM repository_results WHERE run_id = 'etag5' AND error_code = 'duplicate_row' ORDER BY row_number");
    expect(rows).toEqual([
      { row_number: 250, error_code: 'duplicate_row', error_message: 'Row 250: git.example.test/acme/r5 branch "main" repeats row 5' },
      { row_number: 390, error_code: 'duplicate_row', error_message: 'Row 390: git.example.test/acme/r5 branch "main" repeats row 5' },
    ]);
  });

  it('exit 2 (inventory_changed, not retried) when the object changed after the chunk job: S3 refuses If-Match with 412, the sha256 differs; the partition fails', async () => {
    const text = inventory(1_000);
    const { uri, sha256, chunk } = await planRun('changed/repos.csv', text, 'etag2');
    await upload('changed/repos.csv', inventory(1_000, 'changed'));
    const first = proxy.requests.length;

    const child = await arrayChild('etag2', uri, sha256, 0);

    expect(chunk.code).toBe(0);
    expect(child.code).toBe(2);
    expect(child.stderr).toContain(`Inventory ${uri} is no longer the object run etag2 was planned over: S3 refused If-Match on ETag`);
    expect(child.stderr).toContain(`not ${sha256}: the file changed after the chunk job read it; start a new run [inventory_changed]`);
    expect(getsSince(first).map((get) => get.status)).toEqual([206, 412, 200]);
    expect(await partitionStatus('etag2')).toEqual([[0, 'failed'], [1, 'submitted'], [2, 'submitted']]);
    expect(await outcomes('etag2')).toEqual([]);
  });

  it('go on when S3 refuses the recorded ETag but the bytes are the same (uploaded again): the sha256 decides', async () => {
    const text = inventory(1_000);
    const { uri, sha256, chunk } = await planRun('again/repos.csv', text, 'etag4');
    // What S3 answers for the same bytes uploaded again in other parts: another ETag.
    await db.query(`UPDATE ingest_runs SET inventory_etag = '"0123456789abcdef0123456789abcdef"' WHERE id = 'etag4'`);
    const first = proxy.requests.length;

    const child = await arrayChild('etag4', uri, sha256, 1);

    expect(chunk.code).toBe(0);
    expect(child.code).toBe(0);
    expect(child.logs.find((line) => line.msg === 'Inventory checked against the run')).toMatchObject({ proof: 'sha256', etagRefused: true, bytesRead: text.length });
    expect(getsSince(first).map((get) => get.status)).toEqual([206, 412, 200]);
    expect(await outcomes('etag4')).toEqual(Array.from({ length: PARTITION_SIZE }, (_, index) => PARTITION_SIZE + index + 1));
  });

  it('hash the whole object, as before, when the run has no ETag for that sha256 (a run planned before ETags were recorded)', async () => {
    const text = inventory(1_000);
    const { uri, sha256, chunk } = await planRun('old-run/repos.csv', text, 'etag3');
    await db.query("UPDATE ingest_runs SET inventory_etag = NULL WHERE id = 'etag3'");
    const first = proxy.requests.length;

    const child = await arrayChild('etag3', uri, sha256, 2);

    expect(chunk.code).toBe(0);
    expect(child.code).toBe(0);
    expect(child.logs.find((line) => line.msg === 'Inventory checked against the run')).toMatchObject({ proof: 'sha256', bytesRead: text.length });
    const gets = getsSince(first);
    expect(gets.map((get) => get.ifMatch)).toEqual([undefined, undefined]);
    expect(gets.at(-1)?.bytesSent).toBe(text.length);
  });
});

describe('a processor of an open range (to the last row)', () => {
  it('hashes the object, then reads its rows with If-Match on the ETag it hashed', async () => {
    const text = inventory(1_000);
    const { uri, sha256, chunk } = await planRun('open/repos.csv', text, 'open1');
    const recorded = await run('open1');
    const first = proxy.requests.length;

    const child = await runCli(['process', uri, '--run-id', 'open1', '--inventory-sha256', sha256, '--start', '951'], { env: env() });

    expect(chunk.code).toBe(0);
    expect(child.code, child.stderr).toBe(0);
    expect(child.logs.find((line) => line.msg === 'Inventory checked against the run')).toMatchObject({ proof: 'sha256', bytesRead: text.length });
    // The existence check (its first 64 KiB), the hash, then the rows, held to the object hashed.
    expect(getsSince(first).map((get) => [get.status, get.ifMatch])).toEqual([[206, undefined], [200, undefined], [200, recorded.inventory_etag]]);
    expect((await outcomes('open1')).length).toBe(50);
  });
});

describe('an array child past the last partition', () => {
  it('exits 2 naming the partition and the run, and records no partition and no row', async () => {
    const text = inventory(250);
    const { uri, sha256, chunk } = await planRun('past/repos.csv', text, 'past1');

    const child = await arrayChild('past1', uri, sha256, 5);

    expect(chunk.code).toBe(0);
    expect(child.code).toBe(2);
    expect(child.stderr).toContain(`Partition 5 starts at row ${5 * PARTITION_SIZE + 1}, past the last row (250) of run past1`);
    const { rows } = await db.query('SELECT partition FROM run_partitions WHERE run_id = $1 AND partition = 5', ['past1']);
    expect(rows).toEqual([]);
    expect(await outcomes('past1')).toEqual([]);
  });
});

describe('a partition an earlier attempt finished', () => {
  it('stays succeeded when a late attempt of it fails before touching a row (inventory gone, or changed)', async () => {
    const file = path.join(tmp.path, 'late.csv');
    const text = inventory(250);
    await fs.writeFile(file, text);
    const sha256 = createHash('sha256').update(text).digest('hex');
    const chunk = await runCli(['chunk', file, '--partition-size', String(PARTITION_SIZE), '--run-id', 'late1'], { env: env() });
    const done = await arrayChild('late1', file, sha256, 0, 1);
    const afterSuccess = await partitionStatus('late1');

    await fs.writeFile(file, inventory(250, 'changed'));
    const changed = await arrayChild('late1', file, sha256, 0, 2);
    await fs.rm(file);
    const gone = await arrayChild('late1', file, sha256, 0, 3);
    const neverRan = await arrayChild('late1', file, sha256, 1, 1);

    expect([chunk.code, done.code]).toEqual([0, 0]);
    expect(afterSuccess).toEqual([[0, 'succeeded'], [1, 'submitted'], [2, 'submitted']]);
    expect([changed.code, gone.code, neverRan.code]).toEqual([2, 2, 2]);
    expect(changed.stderr).toContain('[inventory_changed]');
    expect(gone.stderr).toContain('[inventory_not_found]');
    // Only the partition no attempt finished is failed.
    expect(await partitionStatus('late1')).toEqual([[0, 'succeeded'], [1, 'failed'], [2, 'submitted']]);
  });
});

describe('a bare `mass-ingest process --inventory-sha256`', () => {
  it('records the sha256 on the run it creates, and refuses another file for that run', async () => {
    const file = path.join(tmp.path, 'bare.csv');
    const text = inventory(3);
    await fs.writeFile(file, text);
    const sha256 = createHash('sha256').update(text).digest('hex');

    const first = await runCli(['process', file, '--start', '1', '--end', '2', '--run-id', 'bare1', '--inventory-sha256', sha256], { env: env() });
    await fs.writeFile(file, inventory(3, 'changed'));
    const second = await runCli(['process', file, '--start', '3', '--end', '3', '--run-id', 'bare1'], { env: env() });

    expect(first.code).toBe(0);
    expect(await run('bare1')).toEqual({ inventory_sha256: sha256, inventory_etag: null });
    const { rows } = await db.query("SELECT trigger, mode FROM ingest_runs WHERE id = 'bare1'");
    expect(rows).toEqual([{ trigger: 'process', mode: 'process' }]);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`but run bare1 was planned over ${sha256}`);
  });
});

/**
 * A processor given a sub-range of a recorded partition (`process --start/--end --partition`, as
 * a hand-made jobs-mode rerun) reads its rows from the partition's offset; the recorded index must
 * survive it, so that the partition's own child (a Batch retry) and its neighbour still read only
 * their own rows (README: "Each child reads only its own rows"). Found by helper 37's review.
 */
const checkedLine = (result: CliResult) => result.logs.find((line) => line.msg === 'Inventory checked against the run');

describe('a processor of a sub-range of a recorded partition', () => {
  it('reads its rows from the partition offset, and leaves the index for the partition and its neighbour', async () => {
    const lines = ['cloneUrl,branch,origin,path'];
    for (let row = 1; row <= 400; row++) lines.push(`ftp://git.example.test/acme/r${row}.git,main,git.example.test,acme/r${row}`);
    const text = `${lines.join('\n')}\n`;
    await s3Client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sub/repos.csv', Body: text }));
    const uri = `s3://${BUCKET}/sub/repos.csv`;
    const sha256 = createHash('sha256').update(text).digest('hex');
    const chunk = await runCli(['chunk', uri, '--partition-size', String(PARTITION_SIZE), '--run-id', 'sub1'], { env: env() });
    const offsetOf = (partition: number) => lines.slice(0, partition * PARTITION_SIZE + 1).join('\n').length + 1;

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

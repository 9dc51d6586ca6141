import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { baseEnv, collect, runCli, spawnCli } from '../harness/cli.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { findFreePort } from '../harness/free-port.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { startFakeBatchApi, type FakeBatchApi } from '../fakes/batch-api.js';
import { selfSignedCertificate } from '../fakes/tls.js';
import { S3RVER_CREDENTIALS, startLocalS3 } from '../fakes/s3.js';
import { inventoryText, rowsCovered, writeInventory } from './chunk-fixtures.js';

let tmp: TempDir;
let postgres: PostgresServer;
let fake: FakeBatchApi;
let db: pg.Pool;

const chunkEnv = (extra: Record<string, string> = {}) =>
  baseEnv({ DATABASE_URL: postgres.url, AWS_ENDPOINT_URL_BATCH: fake.url, JOB_QUEUE: 'test-queue', JOB_DEFINITION: 'processor', ...extra });

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-chunk-');
  postgres = await startPostgres();
  db = new pg.Pool({ connectionString: postgres.url, max: 2 });
});

afterAll(async () => {
  await db?.end();
  await postgres?.stop();
  await tmp?.remove();
});

beforeEach(async () => {
  fake = await startFakeBatchApi();
});

afterEach(async () => {
  await fake.close();
});

async function partitionRows(runId: string) {
  const { rows } = await db.query<{ partition: number; start_row: number; end_row: number; status: string; batch_job_id: string | null }>(
    'SELECT partition, start_row, end_row, status, batch_job_id FROM run_partitions WHERE run_id = $1 ORDER BY partition',
    [runId],
  );
  return rows;
}

describe('mass-ingest chunk: array mode against the fake AWS Batch API', () => {
  const shapes = [
    { name: 'LF with a trailing newline', rows: 7, size: 3, text: inventoryText(7) },
    { name: 'no trailing newline', rows: 7, size: 3, text: inventoryText(7, { trailingNewline: false }) },
    { name: 'quoted newlines inside fields', rows: 9, size: 2, text: inventoryText(9, { quotedNewlines: true }) },
    { name: 'CRLF, BOM and blank lines', rows: 8, size: 3, text: inventoryText(8, { eol: '\r\n', bom: true, blankLines: true }) },
    { name: 'CRLF with quoted CRLF newlines and no trailing newline', rows: 5, size: 2, text: inventoryText(5, { eol: '\r\n', quotedNewlines: true, trailingNewline: false }) },
    { name: 'a single row', rows: 1, size: 50, text: inventoryText(1) },
    { name: 'exactly a multiple of the partition size', rows: 12, size: 4, text: inventoryText(12) },
  ];

  it.each(shapes)('covers every row exactly once: $name', async ({ name, rows, size, text }) => {
    const runId = `shape-${shapes.findIndex((shape) => shape.name === name)}`;
    const inventory = await writeInventory(tmp.path, `${runId}.csv`, text);

    const result = await runCli(['chunk', inventory, '--partition-size', String(size), '--run-id', runId], { env: chunkEnv() });

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(fake.submitCalls).toBe(1);
    expect(rowsCovered(fake.jobs, rows)).toEqual(new Array(rows).fill(1));
    const partitions = await partitionRows(runId);
    expect(partitions.map((p) => [p.start_row, p.end_row])).toEqual(
      Array.from({ length: Math.ceil(rows / size) }, (_, i) => [i * size + 1, Math.min((i + 1) * size, rows)]),
    );
    const job = fake.jobs[0]!;
    if (partitions.length > 1) {
      expect(job).toMatchObject({ jobName: `${runId}-a0`, arraySize: partitions.length, jobQueue: 'test-queue', jobDefinition: 'processor' });
      expect(partitions.map((p) => p.batch_job_id)).toEqual(partitions.map((p) => `${job.jobId}:${p.partition}`));
    } else {
      expect(job).toMatchObject({ jobName: `${runId}-p0`, arraySize: undefined });
    }
    expect(job.parameters).toMatchObject({ inventory, partitionSize: String(size), partitionOffset: '0', runId });
    expect(job.parameters.inventorySha256).toMatch(/^[0-9a-f]{64}$/);
    expect(partitions.every((p) => p.status === 'submitted')).toBe(true);
  });

  it('splits 10,001 partitions into an array of 10,000 and one plain job for the leftover partition', async () => {
    const inventory = await writeInventory(tmp.path, 'p10001.csv', inventoryText(10_001));

    const result = await runCli(['chunk', inventory, '--partition-size', '1', '--run-id', 'big'], { env: chunkEnv() });

    expect(result.code).toBe(0);
    expect(fake.jobs.map((job) => [job.jobName, job.arraySize, job.parameters.partitionOffset]).sort()).toEqual([
      ['big-a0', 10_000, '0'],
      ['big-p10000', undefined, '10000'],
    ]);
    expect(rowsCovered(fake.jobs, 10_001).every((count) => count === 1)).toBe(true);
    const { rows } = await db.query("SELECT count(*)::int AS n, count(batch_job_id)::int AS submitted FROM run_partitions WHERE run_id = 'big'");
    expect(rows[0]).toEqual({ n: 10_001, submitted: 10_001 });
  });

  it('submits the report job after the array, on the report definition, when REPORT_JOB_DEFINITION is set', async () => {
    const inventory = await writeInventory(tmp.path, 'report.csv', inventoryText(5));

    const result = await runCli(['chunk', inventory, '--partition-size', '2', '--run-id', 'withreport'], { env: chunkEnv({ REPORT_JOB_DEFINITION: 'report' }) });

    expect(result.code).toBe(0);
    const [array, report] = fake.jobs;
    expect(report).toMatchObject({
      jobName: 'withreport-report',
      jobDefinition: 'report',
      command: ['report', '--run', 'withreport', '--format', 'html', '--publish'],
      dependsOn: [{ jobId: array!.jobId }],
    });
  });

  it('reads s3:// and http:// inventories as streams and passes the URI on to the processors', async () => {
    const text = inventoryText(7, { trailingNewline: false });
    const s3 = await startLocalS3(['inventories']);
    const http = createServer((_request, response) => response.end(text));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
      await client.send(new PutObjectCommand({ Bucket: 'inventories', Key: 'nightly/repos.csv', Body: text }));
      client.destroy();
      const uris = ['s3://inventories/nightly/repos.csv', `http://127.0.0.1:${(http.address() as AddressInfo).port}/repos.csv`];

      const results = [];
      for (const [index, uri] of uris.entries()) results.push(await runCli(['chunk', uri, '--partition-size', '3', '--run-id', `remote${index}`], { env: chunkEnv(s3.env) }));

      expect(results.map((result) => [result.code, result.stderr])).toEqual([
        [0, ''],
        [0, ''],
      ]);
      expect(fake.jobs.map((job) => [job.parameters.inventory, job.arraySize])).toEqual(uris.map((uri) => [uri, 3]));
      expect(rowsCovered(fake.jobs.slice(0, 1), 7)).toEqual(new Array(7).fill(1));
    } finally {
      http.close();
      await s3.stop();
    }
  });

  it('records the run with its inventory digest, row count and partitions', async () => {
    const inventory = await writeInventory(tmp.path, 'recorded.csv', inventoryText(3));

    await runCli(['chunk', inventory, '--partition-size', '2', '--run-id', 'recorded', '--trigger', 'schedule'], { env: chunkEnv() });

    const { rows } = await db.query("SELECT trigger, mode, inventory_uri, inventory_rows, partition_size, partitions, length(inventory_sha256) AS sha FROM ingest_runs WHERE id = 'recorded'");
    expect(rows[0]).toEqual({ trigger: 'schedule', mode: 'array', inventory_uri: inventory, inventory_rows: 3, partition_size: 2, partitions: 2, sha: 64 });
  });
});

describe('mass-ingest chunk --mode jobs', () => {
  it('submits one job per partition with its exact 1-based inclusive range, through throttling', async () => {
    fake.setSubmitRate(10);
    const inventory = await writeInventory(tmp.path, 'jobs.csv', inventoryText(50, { trailingNewline: false }));

    const result = await runCli(['chunk', inventory, '--mode', 'jobs', '--partition-size', '2', '--run-id', 'jobs1'], { env: chunkEnv() });

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(fake.throttled).toBeGreaterThan(0);
    expect(fake.jobs.map((job) => job.jobName).sort()).toEqual(Array.from({ length: 25 }, (_, i) => `jobs1-p${i}`).sort());
    expect(rowsCovered(fake.jobs, 50)).toEqual(new Array(50).fill(1));
    const last = fake.jobs.find((job) => job.jobName === 'jobs1-p24');
    expect(last?.command).toEqual(['process', inventory, '--start', '49', '--end', '50', '--run-id', 'jobs1', '--partition', '24', '--inventory-sha256', last?.command?.at(-1)]);
    expect((await partitionRows('jobs1')).every((p) => p.status === 'submitted' && p.batch_job_id)).toBe(true);
  });

  it('makes the report wait on more than 20 jobs through barrier jobs of at most 20 dependencies', async () => {
    const inventory = await writeInventory(tmp.path, 'barrier.csv', inventoryText(45));

    const result = await runCli(['chunk', inventory, '--mode', 'jobs', '--partition-size', '1', '--run-id', 'barrier'], { env: chunkEnv({ REPORT_JOB_DEFINITION: 'report' }) });

    expect(result.code).toBe(0);
    const barriers = fake.jobs.filter((job) => job.jobName.startsWith('barrier-w'));
    const report = fake.jobs.find((job) => job.jobName === 'barrier-report');
    expect(barriers.map((job) => job.dependsOn.length).sort()).toEqual([20, 20, 5]);
    expect(report?.dependsOn.map((d) => d.jobId).sort()).toEqual(barriers.map((job) => job.jobId).sort());
    const processorIds = fake.jobs.filter((job) => job.command?.[0] === 'process').map((job) => job.jobId);
    expect(barriers.flatMap((job) => job.dependsOn.map((d) => d.jobId)).sort()).toEqual(processorIds.sort());
  });

  it('submits only the rest when a chunk killed after half its submissions runs again', async () => {
    const inventory = await writeInventory(tmp.path, 'killed.csv', inventoryText(40));
    const child = spawnCli(['chunk', inventory, '--mode', 'jobs', '--partition-size', '1', '--run-id', 'killed'], { env: chunkEnv() });
    const first = collect(child);
    const fake2 = fake;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (fake2.jobs.length >= 20) {
          child.kill('SIGKILL');
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    const killed = await first;
    const afterKill = fake.jobs.length;

    const again = await runCli(['chunk', inventory, '--mode', 'jobs', '--partition-size', '1', '--run-id', 'killed'], { env: chunkEnv() });

    expect(killed.signal).toBe('SIGKILL');
    expect(afterKill).toBeLessThan(40);
    expect(again.code).toBe(0);
    const names = fake.jobs.map((job) => job.jobName);
    expect(new Set(names).size).toBe(names.length);
    expect(names.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `killed-p${i}`).sort());
    expect(fake.submitCalls - afterKill).toBe(40 - afterKill);
    const partitions = await partitionRows('killed');
    expect(partitions.map((p) => p.batch_job_id)).toEqual(partitions.map((p) => fake.jobs.find((job) => job.jobName === `killed-p${p.partition}`)?.jobId));
  });

  it('stops on SIGTERM with exit 143, every submitted job recorded, and a rerun submits the rest', async () => {
    fake.setSubmitRate(5);
    const inventory = await writeInventory(tmp.path, 'sigterm.csv', inventoryText(30));
    const child = spawnCli(['chunk', inventory, '--mode', 'jobs', '--partition-size', '1', '--run-id', 'sigterm'], { env: chunkEnv() });
    const first = collect(child);
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (fake.jobs.length >= 8) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    child.kill('SIGTERM');
    const stopped = await first;
    const recorded = (await partitionRows('sigterm')).filter((p) => p.batch_job_id);

    fake.setSubmitRate(undefined);
    const again = await runCli(['chunk', inventory, '--mode', 'jobs', '--partition-size', '1', '--run-id', 'sigterm'], { env: chunkEnv() });

    expect(stopped.code).toBe(143);
    expect(recorded.map((p) => p.batch_job_id).sort()).toEqual(fake.jobs.slice(0, recorded.length).map((job) => job.jobId).sort());
    expect(again.code).toBe(0);
    expect(fake.jobs.map((job) => job.jobName).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `sigterm-p${i}`).sort());
  });

  it('does not submit twice when SubmitJob failed with a 5xx after creating the job', async () => {
    fake.failNextSubmits(1, 500, { afterCreate: true });
    const inventory = await writeInventory(tmp.path, 'ambiguous.csv', inventoryText(3));

    const result = await runCli(['chunk', inventory, '--mode', 'jobs', '--partition-size', '1', '--run-id', 'ambiguous'], { env: chunkEnv() });

    expect(result.code).toBe(0);
    expect(fake.jobs.map((job) => job.jobName).sort()).toEqual(['ambiguous-p0', 'ambiguous-p1', 'ambiguous-p2']);
    expect(fake.listCalls).toBeGreaterThan(0);
  });
});

describe('mass-ingest chunk: errors and exit codes', () => {
  it('needs no queue, definition or database for --dry-run and prints plain integers', async () => {
    const inventory = await writeInventory(tmp.path, 'dry.csv', inventoryText(10_001));

    const result = await runCli(['chunk', inventory, '--dry-run', '--partition-size', '1', '--run-id', 'dry'], { env: baseEnv({ AWS_ENDPOINT_URL_BATCH: fake.url }) });

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('10001 rows');
    expect(result.stdout).toContain('Partitions: 10001 of up to 1 row');
    expect(result.stdout).toContain('SubmitJob dry-a0: array size 10000, partitionOffset 0 (partitions 0-9999, rows 1-10000)');
    expect(result.stdout).toContain('SubmitJob dry-p10000: plain job, partitionOffset 10000 (partition 10000, rows 10001-10001)');
    expect(result.stdout).not.toMatch(/\d,\d{3}/);
    expect(fake.submitCalls).toBe(0);
  });

  it('exits 2 naming every missing Batch setting', async () => {
    const inventory = await writeInventory(tmp.path, 'noqueue.csv', inventoryText(2));

    const result = await runCli(['chunk', inventory], { env: baseEnv({ DATABASE_URL: postgres.url }) });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('set JOB_QUEUE or --job-queue');
    expect(result.stderr).toContain('set JOB_DEFINITION or --job-definition');
  });

  it.each([
    ['a partition size of 0', ['--partition-size', '0'], 'partition-size'],
    ['a missing inventory', ['--inventory-is-positional'], 'cannot be read'],
  ])('exits 2 for %s', async (_name, args, message) => {
    const inventory = args[0] === '--inventory-is-positional' ? path.join(tmp.path, 'does-not-exist.csv') : await writeInventory(tmp.path, 'ok.csv', inventoryText(2));

    const result = await runCli(['chunk', inventory, ...args.filter((arg) => arg !== '--inventory-is-positional')], { env: chunkEnv() });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(fake.submitCalls).toBe(0);
  });

  it('exits 2 for an inventory with a header and no data rows', async () => {
    const inventory = await writeInventory(tmp.path, 'empty.csv', 'cloneUrl,branch,origin,path\n\n');

    const result = await runCli(['chunk', inventory], { env: chunkEnv() });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('has no data rows');
  });

  it('exits 2 when Batch rejects the queue', async () => {
    const inventory = await writeInventory(tmp.path, 'badqueue.csv', inventoryText(2));

    const result = await runCli(['chunk', inventory, '--run-id', 'badqueue'], { env: chunkEnv({ JOB_QUEUE: 'no-such-queue' }) });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Job queue no-such-queue does not exist');
  });

  it('exits 3 when AWS Batch cannot be reached', async () => {
    const inventory = await writeInventory(tmp.path, 'unreachable.csv', inventoryText(2));
    const closedPort = await findFreePort();

    const result = await runCli(['chunk', inventory, '--run-id', 'unreachable'], { env: chunkEnv({ AWS_ENDPOINT_URL_BATCH: `http://127.0.0.1:${closedPort}` }) });

    expect(result.code).toBe(3);
    expect(result.stderr).toContain('AWS Batch cannot be reached');
  });

  it('exits 2 at once, naming NODE_EXTRA_CA_CERTS, when the AWS Batch endpoint has a certificate Node does not trust; with its CA given, it submits', async () => {
    const inventory = await writeInventory(tmp.path, 'untrusted.csv', inventoryText(2));
    const certificate = selfSignedCertificate(tmp.path);
    const https = await startFakeBatchApi({ tls: certificate });

    try {
      const untrusted = await runCli(['chunk', inventory, '--run-id', 'untrusted'], { env: chunkEnv({ AWS_ENDPOINT_URL_BATCH: https.url }) });
      const trusted = await runCli(['chunk', inventory, '--run-id', 'untrusted'], { env: chunkEnv({ AWS_ENDPOINT_URL_BATCH: https.url, NODE_EXTRA_CA_CERTS: certificate.certFile }) });

      expect(untrusted.code).toBe(2);
      expect(untrusted.stderr.trim().split('\n').at(-1)).toBe(
        "mass-ingest: AWS Batch failed TLS verification for SubmitJob (DEPTH_ZERO_SELF_SIGNED_CERT): the endpoint's certificate is not trusted; give its CA to Node with NODE_EXTRA_CA_CERTS=/path/ca.pem, or check the host name in AWS_ENDPOINT_URL_BATCH (or AWS_ENDPOINT_URL) [batch_tls]",
      );
      expect(untrusted.logs.filter((line) => line.msg === 'SubmitJob failed, retrying')).toEqual([]);
      expect([trusted.code, https.jobs.length]).toEqual([0, 1]);
    } finally {
      await https.close();
    }
  });

  it('refuses to continue a run id over a changed inventory', async () => {
    const inventory = await writeInventory(tmp.path, 'changing.csv', inventoryText(4));
    await runCli(['chunk', inventory, '--partition-size', '2', '--run-id', 'changing'], { env: chunkEnv() });
    await writeInventory(tmp.path, 'changing.csv', inventoryText(5));

    const result = await runCli(['chunk', inventory, '--partition-size', '2', '--run-id', 'changing'], { env: chunkEnv() });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('run_plan_changed');
  });
});

describe('chunk.ts at the root', () => {
  it('is the chunk command: node dist/chunk.js <inventory> prints the same plan', async () => {
    const inventory = await writeInventory(tmp.path, 'entry.csv', inventoryText(3));
    const env = baseEnv();

    const viaEntry = await collect(
      (await import('node:child_process')).spawn(process.execPath, [path.resolve('dist/chunk.js'), inventory, '--dry-run', '--run-id', 'entry'], { env, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    const viaCli = await runCli(['chunk', inventory, '--dry-run', '--run-id', 'entry'], { env });

    expect(viaEntry.code).toBe(0);
    expect(viaEntry.stdout).toBe(viaCli.stdout);
  });
});

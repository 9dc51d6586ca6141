import fs from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { collect, type CliResult } from '../harness/cli.js';
import { createBareRepo, type BareRepo } from '../harness/git-fixtures.js';
import { findFreePort } from '../harness/free-port.js';
import { waitFor } from '../harness/wait.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { planDeployment, retryAction, type PlannedDeployment } from '../harness/terraform.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { startFakeBatchApi, type FakeBatchApi, type FakeJob } from '../fakes/batch-api.js';
import { BatchContainers, containersOf, rowsProcessed, sameRepositoryInventory, startInventoryServer } from './batch-end-to-end-fixtures.js';
import { MAKE_PROJECT } from './process-fixtures.js';

/**
 * The deployed chain, end to end: the job definitions and schedule exactly as `terraform plan`
 * makes them (terraform/), their commands filled in as AWS Batch does, run as the real CLI against
 * the fake Batch API, an HTTP inventory and PostgreSQL.
 */
let tmp: TempDir;
let postgres: PostgresServer;
let db: pg.Pool;
let inventories: Awaited<ReturnType<typeof startInventoryServer>>;
let deployment: PlannedDeployment;
let repo: BareRepo;
let fake: FakeBatchApi;
let containers: BatchContainers;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-batch-e2e-');
  // The builds' user (BUILD_USER) must pass through to the work directory.
  await fs.chmod(tmp.path, 0o711);
  await fs.mkdir(path.join(tmp.path, 'inventories'));
  inventories = await startInventoryServer(path.join(tmp.path, 'inventories'));
  [deployment, postgres, repo] = await Promise.all([
    planDeployment({ inventory_uri: `${inventories.url}/repos.csv` }),
    startPostgres(),
    createBareRepo(path.join(tmp.path, 'repos'), 'docs', { 'README.md': '# docs\n' }),
  ]);
  db = new pg.Pool({ connectionString: postgres.url, max: 2 });
}, 300_000);

afterAll(async () => {
  await db?.end();
  await postgres?.stop();
  await inventories?.close();
  await tmp?.remove();
});

beforeEach(async () => {
  const env = deployment.jobs.chunk.environment;
  fake = await startFakeBatchApi({ queues: [env.JOB_QUEUE!], definitions: [deployment.schedule.JobDefinition, env.JOB_DEFINITION!, env.REPORT_JOB_DEFINITION!] });
  containers = new BatchContainers(deployment, {
    DATABASE_URL: postgres.url,
    AWS_ENDPOINT_URL_BATCH: fake.url,
    PUBLISH_URL: `file://${path.join(tmp.path, 'published')}`,
    MASS_INGEST_WORKDIR: path.join(tmp.path, 'work'),
    // The processor's job definition runs it as root with BUILD_USER=node, the image's user; this
    // machine has no `node`: its builds run as `nobody` (as root), or as the test's user.
    BUILD_USER: process.getuid?.() === 0 ? 'nobody' : '',
  });
});

afterEach(async () => {
  await fake.close();
});

async function writeInventory(name: string, text: string): Promise<string> {
  await fs.writeFile(path.join(tmp.path, 'inventories', name), text);
  return `${inventories.url}/${name}`;
}

/** `aws batch submit-job --job-definition <chunk> --parameters …`: the chunk container; its job id is the run id. */
async function submitChunk(parameters: Record<string, string>): Promise<{ runId: string; result: CliResult }> {
  const runId = randomUUID();
  const result = await containers.run('chunk', { parameters, batchEnv: { AWS_BATCH_JOB_ID: runId, AWS_BATCH_JOB_ATTEMPT: '1' } });
  return { runId, result };
}

function jobsOn(definition: 'processor' | 'report'): FakeJob[] {
  const name = definition === 'processor' ? deployment.jobs.chunk.environment.JOB_DEFINITION : deployment.jobs.chunk.environment.REPORT_JOB_DEFINITION;
  return fake.jobs.filter((job) => job.jobDefinition === name);
}

/** Every processor container of the run, one after the other: the rows each worked on and its exit code. */
async function runProcessors(indexes?: (size: number) => number[]) {
  const ran = [];
  for (const container of jobsOn('processor').flatMap((job) => containersOf(job, 1, indexes))) {
    const result = await containers.run('processor', container.start);
    ran.push({ name: container.arrayIndex === undefined ? container.job.jobName : `${container.job.jobName}[${container.arrayIndex}]`, code: result.code, rows: rowsProcessed(result) });
  }
  return ran;
}

async function partitions(runId: string) {
  const { rows } = await db.query<{ partition: number; start_row: number; end_row: number; status: string }>(
    'SELECT partition, start_row, end_row, status FROM run_partitions WHERE run_id = $1 ORDER BY partition',
    [runId],
  );
  return rows.map((p) => [p.partition, p.start_row, p.end_row, p.status]);
}

async function results(runId: string) {
  const { rows } = await db.query<{ row_number: number; outcome: string; attempt: number }>('SELECT row_number, outcome, attempt FROM repository_results WHERE run_id = $1 ORDER BY row_number', [runId]);
  return rows.map((r) => [r.row_number, r.outcome, r.attempt]);
}

describe('the Terraform job definitions on AWS Batch, run by the real CLI', () => {
  it.each([
    ['array', [['-a0[0]', [1, 2, 3]], ['-a0[1]', [4, 5, 6]], ['-a0[2]', [7]]]],
    ['jobs', [['-p0', [1, 2, 3]], ['-p1', [4, 5, 6]], ['-p2', [7]]]],
  ] as const)('%s mode: each processor container works on exactly its partition, and the report job finishes the run', async (mode, expected) => {
    const inventory = await writeInventory(`${mode}.csv`, sameRepositoryInventory(repo.path, 7));

    const { runId, result: chunk } = await submitChunk({ inventory, partitionSize: '3', mode });
    const ran = await runProcessors();
    const reports = await Promise.all(jobsOn('report').map((job) => containers.run('report', { command: job.command, batchEnv: { AWS_BATCH_JOB_ID: job.jobId } })));

    expect(chunk.stderr).toBe('');
    expect(chunk.code).toBe(0);
    expect(ran.map(({ name, code, rows }) => [name.replace(runId, ''), code, rows]).sort()).toEqual(expected.map(([name, rows]) => [name, 0, rows]));
    expect(await partitions(runId)).toEqual([[0, 1, 3, 'succeeded'], [1, 4, 6, 'succeeded'], [2, 7, 7, 'succeeded']]);
    expect((await results(runId)).map(([row]) => row)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(reports.map((report) => report.code)).toEqual([0]);
    const { rows } = await db.query('SELECT trigger, mode, finished_at IS NOT NULL AS finished FROM ingest_runs WHERE id = $1', [runId]);
    expect(rows).toEqual([{ trigger: 'manual', mode, finished: true }]);
  });

  it.each([
    [1, [['-p0', [1]]]],
    [10_000, [['-a0[0]', [1]], ['-a0[9999]', [10_000]]]],
    [10_001, [['-a0[0]', [1]], ['-a0[9999]', [10_000]], ['-p10000', [10_001]]]],
    [20_001, [['-a0[0]', [1]], ['-a0[9999]', [10_000]], ['-a1[0]', [10_001]], ['-a1[9999]', [20_000]], ['-p20000', [20_001]]]],
  ] as const)('%i partitions: the first and last child of every array, and a leftover plain job, read exactly their own row', async (count, expected) => {
    const inventory = await writeInventory(`edges-${count}.csv`, sameRepositoryInventory(repo.path, count));

    const { runId, result: chunk } = await submitChunk({ inventory, partitionSize: '1' });
    const ran = await runProcessors((size) => [0, size - 1]);

    expect(chunk.code).toBe(0);
    expect(ran.map(({ name, code, rows }) => [name.replace(runId, ''), code, rows]).sort()).toEqual(expected.map(([name, rows]) => [name, 0, rows]).sort());
    expect(jobsOn('processor').map((job) => job.arraySize ?? 1).reduce((sum, size) => sum + size, 0)).toBe(count);
  });

  it('retried by Batch after it was killed mid-submission, the chunk job submits each array once under the same run id', async () => {
    const inventory = await writeInventory('killed.csv', sameRepositoryInventory(repo.path, 20_001));
    const runId = randomUUID();
    const start = { parameters: { inventory, partitionSize: '1' }, batchEnv: { AWS_BATCH_JOB_ID: runId, AWS_BATCH_JOB_ATTEMPT: '1' } };
    fake.setSubmitRate(1);
    const child = containers.spawn('chunk', start);
    const killed = collect(child);
    await waitFor(async () => (fake.jobs.length > 0 ? true : undefined), { what: 'the first SubmitJob', timeoutMs: 60_000, intervalMs: 5 });
    child.kill('SIGKILL');
    await killed;
    fake.setSubmitRate(undefined);

    const retried = await containers.run('chunk', { ...start, batchEnv: { AWS_BATCH_JOB_ID: runId, AWS_BATCH_JOB_ATTEMPT: '2' } });

    expect(retried.code).toBe(0);
    expect(fake.jobs.map((job) => job.jobName.replace(runId, '')).sort()).toEqual(['-a0', '-a1', '-p20000', '-report']);
    const { rows } = await db.query("SELECT count(*)::int AS recorded, count(DISTINCT split_part(batch_job_id, ':', 1))::int AS jobs FROM run_partitions WHERE run_id = $1", [runId]);
    expect(rows).toEqual([{ recorded: 20_001, jobs: 3 }]);
  });

  it('runs the nightly schedule\'s SubmitJob as a chunk the CLI accepts, recorded as a scheduled run', async () => {
    await writeInventory('repos.csv', sameRepositoryInventory(repo.path, 4));
    const { JobDefinition, ContainerOverrides } = deployment.schedule;
    const runId = randomUUID();

    const chunk = await containers.run('chunk', { command: ContainerOverrides.Command, batchEnv: { AWS_BATCH_JOB_ID: runId, AWS_BATCH_JOB_ATTEMPT: '1' } });
    const ran = await runProcessors();

    expect(JobDefinition).toBe('mass-ingest-chunk');
    expect(chunk.code).toBe(0);
    expect(ran.map(({ code, rows }) => [code, rows])).toEqual([[0, [1, 2, 3, 4]]]);
    const { rows } = await db.query('SELECT trigger, mode, inventory_uri FROM ingest_runs WHERE id = $1', [runId]);
    expect(rows).toEqual([{ trigger: 'schedule', mode: 'array', inventory_uri: `${inventories.url}/repos.csv` }]);
  });
});

describe('a processor container as AWS Batch runs and retries it', () => {
  it('upserts a retried attempt\'s rows with its attempt number and keeps what the earlier attempt published', async () => {
    const built = await createBareRepo(path.join(tmp.path, 'repos'), 'built', MAKE_PROJECT);
    const inventory = await writeInventory('retried.csv', `cloneUrl,branch,origin,path\n${built.path},main,local.test,acme/built\n${repo.path},main,local.test,acme/docs\n`);
    const { runId } = await submitChunk({ inventory, partitionSize: '2' });
    const [job] = jobsOn('processor');

    const first = await containers.run('processor', containersOf(job!, 1)[0]!.start);
    const second = await containers.run('processor', containersOf(job!, 2)[0]!.start);

    expect([first.code, second.code]).toEqual([0, 0]);
    expect(rowsProcessed(second)).toEqual([1, 2]);
    expect(await results(runId)).toEqual([[1, 'published', 1], [2, 'no_build_tool', 2]]);
    expect(await partitions(runId)).toEqual([[0, 1, 2, 'succeeded']]);
  });

  it('exits 3 (retried) when the database is unreachable, and 2 (not retried, the partition failed) when the inventory is gone or changed', async () => {
    const inventory = await writeInventory('changing.csv', sameRepositoryInventory(repo.path, 5));
    const { runId } = await submitChunk({ inventory, partitionSize: '2' });
    const [first, , last] = containersOf(jobsOn('processor')[0]!).map((container) => container.start);
    const closedPort = await findFreePort();

    const unreachable = await containers.run('processor', { ...first!, batchEnv: { ...first!.batchEnv, DATABASE_URL: `postgres://u:p@127.0.0.1:${closedPort}/x` } });
    await fs.rm(path.join(tmp.path, 'inventories', 'changing.csv'));
    const gone = await containers.run('processor', first!);
    const afterGone = await partitions(runId);
    await writeInventory('changing.csv', sameRepositoryInventory(repo.path, 6));
    const changed = await containers.run('processor', last!);

    expect(unreachable.code).toBe(3);
    expect(retryAction(deployment.jobs.processor, { exitCode: 3 })).toBe('RETRY');
    expect([gone.code, changed.code]).toEqual([2, 2]);
    expect(changed.stderr).toContain('inventory_changed');
    expect(retryAction(deployment.jobs.processor, { exitCode: 2 })).toBe('EXIT');
    expect(afterGone).toEqual([[0, 1, 2, 'failed'], [1, 3, 4, 'submitted'], [2, 5, 5, 'submitted']]);
    expect(await partitions(runId)).toEqual([[0, 1, 2, 'failed'], [1, 3, 4, 'submitted'], [2, 5, 5, 'failed']]);
  });

  it('on SIGTERM from Batch exits 143 (not retried unless the host was lost), every row recorded', async () => {
    // Written by the build, which runs as BUILD_USER (nobody, as root): a directory anyone may write.
    const shared = path.join(tmp.path, 'shared');
    await fs.mkdir(shared, { recursive: true });
    await fs.chmod(shared, 0o1777);
    const marker = path.join(shared, 'slow-build-started');
    const slow = await createBareRepo(path.join(tmp.path, 'repos'), 'slow', { Makefile: `all:\n\ttouch ${marker}\n\tsleep 41\n` });
    const inventory = await writeInventory('slow.csv', `cloneUrl,branch,origin,path\n${slow.path},main,local.test,acme/slow\n${repo.path},main,local.test,acme/after\n`);
    const { runId } = await submitChunk({ inventory, partitionSize: '2' });
    const child = containers.spawn('processor', containersOf(jobsOn('processor')[0]!)[0]!.start);
    const ended = collect(child);
    await waitFor(() => fs.access(marker).then(() => true, () => undefined), { what: 'the slow build to start', timeoutMs: 60_000 });

    child.kill('SIGTERM');
    const result = await ended;

    expect(result.code).toBe(143);
    expect(retryAction(deployment.jobs.processor, { exitCode: 143 })).toBe('EXIT');
    expect(retryAction(deployment.jobs.processor, { exitCode: 143, statusReason: 'Host EC2 (instance i-0123456789abcdef0) terminated.' })).toBe('RETRY');
    expect((await results(runId)).map(([row, outcome]) => [row, outcome])).toEqual([[1, 'aborted'], [2, expect.stringMatching(/^(no_build_tool|aborted)$/)]]);
    expect(await partitions(runId)).toEqual([[0, 1, 2, 'failed']]);
  });
});

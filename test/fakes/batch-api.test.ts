import { spawnSync } from 'node:child_process';
import { BatchClient, ListJobsCommand, SubmitJobCommand, type SubmitJobCommandInput } from '@aws-sdk/client-batch';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withoutSdkNodeVersionWarning } from '../../src/batch/sdk-warning.js';
import { runCommand } from '../harness/process.js';
import { startFakeBatchApi, type FakeBatchApi } from './batch-api.js';

let fake: FakeBatchApi;
let client: BatchClient;

beforeEach(async () => {
  fake = await startFakeBatchApi();
  client = withoutSdkNodeVersionWarning(
    () => new BatchClient({ region: 'eu-west-1', endpoint: fake.url, maxAttempts: 1, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
  );
});

afterEach(async () => {
  client.destroy();
  await fake.close();
});

const valid: SubmitJobCommandInput = { jobName: 'run-a0', jobQueue: 'test-queue', jobDefinition: 'processor' };
const submit = (input: Partial<SubmitJobCommandInput>) => client.send(new SubmitJobCommand({ ...valid, ...input } as SubmitJobCommandInput));

describe('the fake AWS Batch API', () => {
  it('creates a job and lists it by name prefix, case-insensitively', async () => {
    const created = await submit({ arrayProperties: { size: 3 }, parameters: { runId: 'run' } });

    const listed = await client.send(new ListJobsCommand({ jobQueue: 'test-queue', filters: [{ name: 'JOB_NAME', values: ['RUN-*'] }] }));

    expect(created.jobName).toBe('run-a0');
    expect(listed.jobSummaryList?.map((job) => [job.jobId, job.jobName, job.arrayProperties?.size])).toEqual([[created.jobId, 'run-a0', 3]]);
    expect(fake.jobs[0]).toMatchObject({ arraySize: 3, parameters: { runId: 'run' } });
  });

  it.each([
    ['a job name AWS refuses', { jobName: '-starts-with-dash' }, 'jobName -starts-with-dash must match'],
    ['a 129-character job name', { jobName: `a${'b'.repeat(128)}` }, 'must match'],
    ['an array of size 1', { arrayProperties: { size: 1 } }, 'between 2 and 10000, got 1'],
    ['an array of size 10,001', { arrayProperties: { size: 10_001 } }, 'got 10001'],
    ['a missing job queue', { jobQueue: undefined }, 'jobQueue is required'],
    ['an unknown job queue', { jobQueue: 'nope' }, 'Job queue nope does not exist'],
    ['an unknown job definition', { jobDefinition: 'nope:3' }, 'Job definition nope:3 does not exist'],
    ['21 dependencies', { dependsOn: Array.from({ length: 21 }, () => ({ jobId: 'x' })) }, 'at most 20'],
    ['a payload over 30 KiB', { parameters: { inventory: 'x'.repeat(30 * 1024) } }, 'exceeds 30720'],
  ])('rejects %s with a 400 ClientException', async (_name, input, message) => {
    const failure = await submit(input as Partial<SubmitJobCommandInput>).catch((err: unknown) => err);

    expect(failure).toMatchObject({ name: 'ClientException', $metadata: { httpStatusCode: 400 } });
    expect((failure as Error).message).toContain(message);
    expect(fake.jobs).toEqual([]);
  });

  it('throttles SubmitJob beyond its rate with 429 TooManyRequestsException', async () => {
    fake.setSubmitRate(2);

    const results = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => submit({ jobName: `t${i}` })));

    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toMatchObject({ name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 } });
    expect(fake.throttled).toBe(2);
  });

  it('refuses unsigned requests like AWS', async () => {
    const response = await fetch(`${fake.url}/v1/submitjob`, { method: 'POST', body: JSON.stringify(valid) });

    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
  });
});

const hasAwsCli = spawnSync('aws', ['--version'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!hasAwsCli)('the fake against the AWS CLI (aws batch)', () => {
  const env = () => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test-secret-key',
    AWS_DEFAULT_REGION: 'eu-west-1',
    AWS_REGION: 'eu-west-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  });
  const aws = (...args: string[]) => runCommand('aws', ['batch', ...args, '--endpoint-url', fake.url, '--output', 'json'], { env: env() });

  it('accepts `aws batch submit-job` for an array job and answers what the CLI expects', async () => {
    const { stdout } = await aws('submit-job', '--job-name', 'cli-a0', '--job-queue', 'test-queue', '--job-definition', 'processor', '--array-properties', 'size=3', '--parameters', 'inventory=s3://b/repos.csv,partitionOffset=0');

    const answer = JSON.parse(stdout) as { jobId: string; jobName: string };
    expect(answer.jobName).toBe('cli-a0');
    expect(fake.jobs).toEqual([expect.objectContaining({ jobId: answer.jobId, arraySize: 3, parameters: { inventory: 's3://b/repos.csv', partitionOffset: '0' } })]);
    const listed = JSON.parse((await aws('list-jobs', '--job-queue', 'test-queue', '--filters', 'name=JOB_NAME,values=cli-*')).stdout) as { jobSummaryList: Array<{ jobId: string }> };
    expect(listed.jobSummaryList.map((job) => job.jobId)).toEqual([answer.jobId]);
  });

  it('makes `aws batch submit-job` fail with the ClientException of an array of size 1', async () => {
    const failure = await aws('submit-job', '--job-name', 'cli-a1', '--job-queue', 'test-queue', '--job-definition', 'processor', '--array-properties', 'size=1').catch((err: unknown) => err);

    expect((failure as { stderr: string }).stderr).toContain('An error occurred (ClientException) when calling the SubmitJob operation: arrayProperties.size must be between 2 and 10000');
  });
});

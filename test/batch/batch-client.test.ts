import net from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBatchApi } from '../../src/batch/batch-client.js';
import { BATCH_RETRY, JobSubmitter } from '../../src/batch/submitter.js';
import type { Config } from '../../src/config/config.js';
import { startFakeBatchApi, type FakeBatchApi } from '../fakes/batch-api.js';

// An endpoint that accepts connections and never answers (a hung proxy, a wrong port that listens).
let server: net.Server;
let endpoint: string;
const sockets = new Set<net.Socket>();
const saved = { ...process.env };

beforeAll(async () => {
  // The SDK reads credentials from process.env: dummies, and never the metadata service.
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test-secret', AWS_REGION: 'eu-west-1', AWS_EC2_METADATA_DISABLED: 'true' });
  server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
  process.env = saved;
});

describe('createBatchApi', () => {
  it('gives up on a call the endpoint never answers, as a lost connection (retried and reconciled by the submitter)', async () => {
    const config = { env: { AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_BATCH: endpoint } } as unknown as Config;
    const api = createBatchApi(config, { connectMs: 1_000, requestMs: 300 });

    try {
      const submitting = api.submitJob({ jobName: 'hung', jobQueue: 'q', jobDefinition: 'd' } as never);

      await expect(submitting).rejects.toMatchObject({ code: 'batch_connection_lost', exitCode: 3 });
      expect(sockets.size).toBeGreaterThan(0);
    } finally {
      api.destroy();
    }
  });
});

describe('createBatchApi against a Batch API that fails', () => {
  const FAST = { ...BATCH_RETRY, minTimeout: 1, maxTimeout: 2, randomize: false };
  let fake: FakeBatchApi;
  beforeEach(async () => {
    fake = await startFakeBatchApi();
  });
  afterEach(async () => {
    await fake.close();
  });
  const apiOf = () => createBatchApi({ env: { AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_BATCH: fake.url } } as unknown as Config);
  const request = (jobName: string) => ({ jobName, jobQueue: 'test-queue', jobDefinition: 'processor' });

  it('tells throttling, a 5xx and a refused request apart by their answers', async () => {
    const api = apiOf();
    fake.setSubmitRate(1);
    await api.submitJob(request('run-a'));

    try {
      const throttled = await api.submitJob(request('run-b')).catch((err: unknown) => err);
      fake.setSubmitRate(undefined);
      fake.failNextSubmits(1, 503);
      const failed = await api.submitJob(request('run-c')).catch((err: unknown) => err);
      const refused = await api.submitJob({ ...request('run-d'), jobQueue: 'no-such-queue' }).catch((err: unknown) => err);

      expect([throttled, failed, refused].map((err) => [(err as { code?: string }).code, (err as { retryable?: boolean }).retryable])).toEqual([
        ['batch_throttled', true],
        ['batch_server_error', true],
        ['batch_rejected', false],
      ]);
    } finally {
      api.destroy();
    }
  });

  it('finds a job by name past the first page of ListJobs, and none whose name differs in case', async () => {
    const api = apiOf();
    const names = Array.from({ length: 150 }, (_, index) => `run-p${index}`);
    try {
      for (const name of [...names, 'RUN-p1']) await api.submitJob(request(name));

      const found = await api.listJobsByName('test-queue', 'run-p1');

      expect(found.map((job) => job.jobName).sort()).toEqual(names.filter((name) => name.startsWith('run-p1')).sort());
      expect(found).toHaveLength(61);
    } finally {
      api.destroy();
    }
  });

  it('creates each job once when SubmitJob answers 500 after creating it, and once more when the 500 created nothing', async () => {
    const api = apiOf();
    const submitter = new JobSubmitter(api, { retry: FAST, ratePerSecond: 1000 });
    try {
      fake.failNextSubmits(1, 500, { afterCreate: true });
      const created = await submitter.submit(request('run-p0'));
      fake.failNextSubmits(1, 500);
      const retried = await submitter.submit(request('run-p1'));

      expect(fake.jobs.map((job) => [job.jobName, job.jobId])).toEqual([
        ['run-p0', created.jobId],
        ['run-p1', retried.jobId],
      ]);
      expect([fake.submitCalls, fake.listCalls]).toEqual([3, 2]);
    } finally {
      api.destroy();
    }
  });

  it('submits no job again while Batch is down after a 500: each retry looks it up first, and gives up with exit 3', async () => {
    const api = apiOf();
    const submitter = new JobSubmitter(api, { retry: FAST, ratePerSecond: 1000 });
    fake.setDown(true);
    try {
      const error = await submitter.submit(request('run-p0')).catch((err: unknown) => err);

      expect(error).toMatchObject({ code: 'batch_server_error', exitCode: 3 });
      expect([fake.jobs.length, submitter.calls]).toEqual([0, 1]);
    } finally {
      api.destroy();
    }
  });
});

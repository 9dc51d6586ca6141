import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { BatchApi } from '../../src/batch/batch-client.js';
import type { JobRequest, SubmittedJob } from '../../src/batch/job-request.js';
import { classifyBatchError } from '../../src/batch/batch-errors.js';
import { BATCH_RETRY, JobSubmitter } from '../../src/batch/submitter.js';
import { UsageError } from '../../src/errors.js';
import { retryDelays } from '../../src/retry.js';

const FAST = { ...BATCH_RETRY, minTimeout: 1, maxTimeout: 2, randomize: false };
const request = (jobName: string, extra: Partial<JobRequest> = {}): JobRequest => ({ jobName, jobQueue: 'q', jobDefinition: 'd', ...extra });

/** A BatchApi that fails the first calls as scripted, and remembers the jobs it created. */
class ScriptedApi implements BatchApi {
  readonly created: SubmittedJob[] = [];
  submitCalls = 0;
  listCalls = 0;

  constructor(private readonly script: Array<{ status: number; name: string; afterCreate?: boolean }>) {}

  async submitJob(req: JobRequest): Promise<SubmittedJob> {
    this.submitCalls += 1;
    const failure = this.script.shift();
    const job = { jobId: `id-${req.jobName}-${this.submitCalls}`, jobName: req.jobName };
    if (!failure || failure.afterCreate) this.created.push(job);
    if (failure) throw classifyBatchError(Object.assign(new Error(failure.name), { name: failure.name, $metadata: { httpStatusCode: failure.status } }), 'SubmitJob');
    return job;
  }

  async listJobsByName(_queue: string, prefix: string): Promise<SubmittedJob[]> {
    this.listCalls += 1;
    return this.created.filter((job) => job.jobName.startsWith(prefix));
  }

  destroy(): void {}
}

describe('JobSubmitter', () => {
  it('backs off 200, 400, 800, 1600 and 3200 ms before giving up (without jitter)', () => {
    expect(retryDelays(BATCH_RETRY)).toEqual([200, 400, 800, 1600, 3200]);
  });

  it('retries throttling until SubmitJob succeeds, counting every call', async () => {
    const api = new ScriptedApi([
      { status: 429, name: 'TooManyRequestsException' },
      { status: 429, name: 'TooManyRequestsException' },
    ]);
    const submitter = new JobSubmitter(api, { retry: FAST, ratePerSecond: 1000 });

    const job = await submitter.submit(request('run-p0'));

    expect(job.jobName).toBe('run-p0');
    expect(submitter.calls).toBe(3);
    expect(api.listCalls).toBe(0);
  });

  it('finds the job by name instead of submitting again after a 5xx that created it', async () => {
    const api = new ScriptedApi([{ status: 500, name: 'ServerException', afterCreate: true }]);
    const submitter = new JobSubmitter(api, { retry: FAST, ratePerSecond: 1000 });

    const job = await submitter.submit(request('run-p1'));

    expect(api.created).toEqual([job]);
    expect(api.submitCalls).toBe(1);
    expect(api.listCalls).toBe(1);
  });

  it('does not retry a request Batch rejects', async () => {
    const api = new ScriptedApi([{ status: 400, name: 'ClientException' }]);
    const submitter = new JobSubmitter(api, { retry: FAST, ratePerSecond: 1000, log: pino({ level: 'silent' }) });

    await expect(submitter.submit(request('run-p2'))).rejects.toMatchObject({ code: 'batch_rejected' });
    expect(api.submitCalls).toBe(1);
  });

  it('gives up with exit 3 after the last retry', async () => {
    const api = new ScriptedApi(Array.from({ length: 6 }, () => ({ status: 503, name: 'ServerException' })));
    const submitter = new JobSubmitter(api, { retry: FAST, ratePerSecond: 1000 });

    await expect(submitter.submit(request('run-p3'))).rejects.toMatchObject({ code: 'batch_server_error', exitCode: 3 });
    expect(api.submitCalls).toBe(6);
  });

  it('refuses a request over the 30 KiB payload limit without calling Batch', async () => {
    const api = new ScriptedApi([]);
    const submitter = new JobSubmitter(api, { retry: FAST });

    const tooBig = submitter.submit(request('run-p4', { parameters: { inventory: 'x'.repeat(31 * 1024) } }));

    await expect(tooBig).rejects.toBeInstanceOf(UsageError);
    expect(api.submitCalls).toBe(0);
  });

  it('skips calls whose signal was aborted before they started', async () => {
    const api = new ScriptedApi([]);
    const submitter = new JobSubmitter(api, { retry: FAST, ratePerSecond: 1000 });
    const stop = new AbortController();
    stop.abort();

    await expect(submitter.submit(request('run-p5'), stop.signal)).rejects.toMatchObject({ code: 'aborted' });
    expect(api.submitCalls).toBe(0);
  });

  it('stops at its next attempt when the signal is aborted during a back-off, calling Batch no more', async () => {
    const api = new ScriptedApi([{ status: 429, name: 'TooManyRequestsException' }]);
    const stop = new AbortController();
    const submitter = new JobSubmitter(api, { retry: FAST, ratePerSecond: 1000, log: { warn: () => stop.abort() } as never });

    const error = await submitter.submit(request('run-p6'), stop.signal).catch((err: unknown) => err);

    expect(error).toMatchObject({ code: 'aborted' });
    expect([api.submitCalls, api.created]).toEqual([1, []]);
  });

  it('looks the job up again when the lookup after a 5xx fails too, and creates it once', async () => {
    const api = new ScriptedApi([{ status: 502, name: 'ServerException', afterCreate: true }]);
    const lookUp = api.listJobsByName.bind(api);
    let lookups = 0;
    api.listJobsByName = async (queue, prefix) => {
      lookups += 1;
      if (lookups === 1) throw classifyBatchError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'ListJobs');
      return lookUp(queue, prefix);
    };
    const submitter = new JobSubmitter(api, { retry: FAST, ratePerSecond: 1000 });

    const job = await submitter.submit(request('run-p7'));

    expect(api.created).toEqual([job]);
    expect([api.submitCalls, lookups]).toEqual([1, 2]);
  });

  it('returns the job a 5xx created when the signal stops it before its retry, without submitting again', async () => {
    const api = new ScriptedApi([{ status: 500, name: 'ServerException', afterCreate: true }]);
    const stop = new AbortController();
    const submitter = new JobSubmitter(api, { retry: FAST, ratePerSecond: 1000, log: { warn: () => stop.abort() } as never });

    const job = await submitter.submit(request('run-p8'), stop.signal);

    expect(api.created).toEqual([job]);
    expect(api.submitCalls).toBe(1);
  });

  it('stops when the signal came and the lookup after a 5xx fails', async () => {
    const api = new ScriptedApi([{ status: 500, name: 'ServerException', afterCreate: true }]);
    let lookups = 0;
    api.listJobsByName = async () => {
      lookups += 1;
      throw classifyBatchError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'ListJobs');
    };
    const stop = new AbortController();
    const submitter = new JobSubmitter(api, { retry: FAST, ratePerSecond: 1000, log: { warn: () => stop.abort() } as never });

    const error = await submitter.submit(request('run-p9'), stop.signal).catch((err: unknown) => err);

    expect(error).toMatchObject({ code: 'aborted' });
    expect([api.submitCalls, lookups]).toEqual([1, 1]);
  });
});

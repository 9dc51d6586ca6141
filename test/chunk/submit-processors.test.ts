import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { BatchApi, JobRequest, SubmittedJob } from '../../src/batch/batch-client.js';
import { classifyBatchError } from '../../src/batch/batch-errors.js';
import { BATCH_RETRY, JobSubmitter } from '../../src/batch/submitter.js';
import { PartitionRecorder } from '../../src/chunk/partition-recorder.js';
import type { ChunkPlan } from '../../src/chunk/plan.js';
import { plannedSubmissions } from '../../src/chunk/submissions.js';
import { submitProcessorJobs } from '../../src/chunk/submit-processors.js';
import type { PartitionRecord } from '../../src/results/result-store.js';

const log = pino({ level: 'silent' });
const FAST = { ...BATCH_RETRY, minTimeout: 1, maxTimeout: 2, randomize: false };
const target = { runId: 'r1', jobQueue: 'q', jobDefinition: 'processor' };
const plan = (partitions: number): ChunkPlan => ({ inventory: 's3://bucket/repos.csv', inventoryShown: 's3://bucket/repos.csv', rows: partitions, sha256: 'f'.repeat(64), bytes: 1, partitionSize: 1, partitions });

type Answer = 'created' | 'refused' | 'created_then_5xx';

/** Batch answering each job name as `answerOf` says; the jobs it created. */
class ScriptedBatch implements BatchApi {
  readonly created: SubmittedJob[] = [];
  constructor(private readonly answerOf: (jobName: string) => Answer | Promise<Answer>) {}

  async submitJob(request: JobRequest): Promise<SubmittedJob> {
    const answer = await this.answerOf(request.jobName);
    if (answer === 'refused') throw classifyBatchError(Object.assign(new Error('JobQueue q not found'), { name: 'ClientException', $metadata: { httpStatusCode: 400 } }), 'SubmitJob');
    const job = { jobId: `id-${request.jobName}`, jobName: request.jobName };
    this.created.push(job);
    if (answer === 'created_then_5xx') throw classifyBatchError(Object.assign(new Error('Internal'), { name: 'ServerException', $metadata: { httpStatusCode: 500 } }), 'SubmitJob');
    return job;
  }

  async listJobsByName(_queue: string, prefix: string): Promise<SubmittedJob[]> {
    return this.created.filter((job) => job.jobName.startsWith(prefix));
  }

  destroy(): void {}
}

async function submit(batch: ScriptedBatch, partitions: number, signal = new AbortController().signal) {
  const recorded: PartitionRecord[] = [];
  const recorder = new PartitionRecorder(async (records) => void recorded.push(...records), log);
  const submitter = new JobSubmitter(batch, { retry: FAST, ratePerSecond: 10_000, signal, log });
  const submissions = plannedSubmissions(plan(partitions), target.runId, 'jobs', new Set());
  const result = await submitProcessorJobs(submissions, { plan: plan(partitions), mode: 'jobs', target, submitter, recorder, log, signal }).catch((err: unknown) => err);
  return { result, recorded: recorded.map((r) => r.batchJobId).sort(), created: batch.created.map((job) => job.jobId).sort() };
}

describe('submitProcessorJobs when a submission fails part way', () => {
  it('stops at the first refused job, records every job created, and fails with the refusal', async () => {
    const batch = new ScriptedBatch((jobName) => (jobName === 'r1-p20' ? 'refused' : 'created'));

    const { result, recorded, created } = await submit(batch, 100);

    expect((result as { code?: string }).code).toBe('batch_rejected');
    expect(recorded).toEqual(created);
    expect(created.length).toBeLessThan(99);
  });

  it('stops on the signal with AbortedError, every job created recorded', async () => {
    const controller = new AbortController();
    const batch = new ScriptedBatch((jobName) => {
      if (jobName === 'r1-p20') controller.abort();
      return 'created';
    });

    const { result, recorded, created } = await submit(batch, 100, controller.signal);

    expect((result as { code?: string }).code).toBe('aborted');
    expect(recorded).toEqual(created);
    expect(created.length).toBeLessThan(100);
  });

  it('records a job created by a call that failed with a 5xx while another job was refused', async () => {
    let refused = () => undefined as void;
    const refusal = new Promise<void>((resolve) => (refused = resolve));
    const batch = new ScriptedBatch(async (jobName) => {
      if (jobName === 'r1-p1') return (refused(), 'refused');
      if (jobName === 'r1-p0') return refusal.then(() => 'created_then_5xx' as const);
      return 'created';
    });

    const { result, recorded, created } = await submit(batch, 2);

    expect((result as { code?: string }).code).toBe('batch_rejected');
    expect([recorded, created]).toEqual([['id-r1-p0'], ['id-r1-p0']]);
  });
});

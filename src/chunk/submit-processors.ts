import type { SubmittedJob } from '../batch/job-request.js';
import type { JobSubmitter } from '../batch/submitter.js';
import { AbortedError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { PartitionRecorder } from './partition-recorder.js';
import { partitionRange, type ChunkPlan } from './plan.js';
import { childJobId, jobRequest, partitionsOf, type Submission, type SubmitMode, type Target } from './submissions.js';

export interface ProcessorSubmitResult {
  /** Top-level job ids (array parents, plain jobs) submitted by this call. */
  readonly jobIds: string[];
  readonly submitted: number;
}

/**
 * Submits every submission through the rate-limited, retrying submitter (all in flight at
 * once, the limiter paces them) and records each partition as soon as its job exists. The
 * first permanent failure stops the rest; a stop signal ends it with exit 143.
 */
export async function submitProcessorJobs(
  submissions: readonly Submission[],
  input: { plan: ChunkPlan; mode: SubmitMode; target: Target; submitter: JobSubmitter; recorder: PartitionRecorder; log: Logger; signal: AbortSignal },
): Promise<ProcessorSubmitResult> {
  const { plan, mode, target, submitter, recorder, log, signal } = input;
  const jobIds: string[] = [];
  let failure: unknown;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  signal.addEventListener('abort', onSignal, { once: true });
  const submitOne = async (submission: Submission): Promise<void> => {
    let job: SubmittedJob;
    try {
      job = await submitter.submit(jobRequest(submission, mode, plan, target), stop.signal);
    } catch (err) {
      if (!stop.signal.aborted) failure = err;
      stop.abort();
      return;
    }
    jobIds.push(job.jobId);
    recorder.add(
      partitionsOf(submission).map((partition) => {
        const { start, end } = partitionRange(plan, partition);
        return { runId: target.runId, partition, startRow: start, endRow: end, status: 'submitted' as const, batchJobId: childJobId(submission, job.jobId, partition) };
      }),
    );
    log.debug({ jobName: job.jobName, jobId: job.jobId }, 'Job submitted');
  };
  try {
    await Promise.all(submissions.map(submitOne));
  } finally {
    signal.removeEventListener('abort', onSignal);
    await recorder.close();
  }
  if (failure !== undefined) throw failure;
  if (signal.aborted) throw new AbortedError('Stopped by a termination signal while submitting: the jobs submitted so far are recorded; run the chunk job again with the same --run-id to submit the rest');
  return { jobIds, submitted: jobIds.length };
}

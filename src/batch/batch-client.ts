import { BatchClient, ListJobsCommand, SubmitJobCommand, type SubmitJobCommandInput } from '@aws-sdk/client-batch';
import type { Config } from '../config/config.js';
import { classifyBatchError } from './batch-errors.js';
import type { JobRequest, SubmittedJob } from './job-request.js';
import { withoutSdkNodeVersionWarning } from './sdk-warning.js';

export type { JobRequest, SubmittedJob } from './job-request.js';

/** The seam between the chunk job and AWS Batch: one attempt per call, errors classified. */
export interface BatchApi {
  submitJob(request: JobRequest): Promise<SubmittedJob>;
  /** Jobs of the queue whose name starts with `prefix` (any status; array parents, not children). */
  listJobsByName(jobQueue: string, prefix: string): Promise<SubmittedJob[]>;
  destroy(): void;
}

const LIST_PAGE_LIMIT = 1000;

/**
 * How long one call may take. Batch answers in well under a second; an endpoint that accepts the
 * connection and never answers would otherwise hold the chunk job (and a SIGTERM waiting for the
 * call) forever. A call that times out is a lost connection: retried, and a SubmitJob reconciled.
 */
export interface BatchTimeouts {
  readonly connectMs: number;
  readonly requestMs: number;
}
const TIMEOUTS: BatchTimeouts = { connectMs: 5_000, requestMs: 20_000 };

/**
 * A client for the standard variables (`AWS_REGION`, `AWS_ENDPOINT_URL_BATCH`, credentials).
 * The SDK's own retries are off: `src/batch/submitter.ts` retries with a tested schedule and
 * knows which failures may have created a job.
 */
export function createBatchApi(config: Config, timeouts: BatchTimeouts = TIMEOUTS): BatchApi {
  const region = config.env.AWS_REGION ?? config.env.AWS_DEFAULT_REGION;
  const endpoint = config.env.AWS_ENDPOINT_URL_BATCH ?? config.env.AWS_ENDPOINT_URL;
  const client = withoutSdkNodeVersionWarning(
    () =>
      new BatchClient({
        ...(region ? { region } : {}),
        ...(endpoint ? { endpoint } : {}),
        maxAttempts: 1,
        requestHandler: { connectionTimeout: timeouts.connectMs, requestTimeout: timeouts.requestMs, throwOnRequestTimeout: true },
      }),
  );
  return new SdkBatchApi(client);
}

class SdkBatchApi implements BatchApi {
  constructor(private readonly client: BatchClient) {}

  async submitJob(request: JobRequest): Promise<SubmittedJob> {
    try {
      const output = await this.client.send(new SubmitJobCommand(request as SubmitJobCommandInput));
      return { jobId: output.jobId ?? '', jobName: output.jobName ?? request.jobName };
    } catch (err) {
      throw classifyBatchError(err, 'SubmitJob');
    }
  }

  async listJobsByName(jobQueue: string, prefix: string): Promise<SubmittedJob[]> {
    const found: SubmittedJob[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < LIST_PAGE_LIMIT; page += 1) {
      let output;
      try {
        output = await this.client.send(new ListJobsCommand({ jobQueue, filters: [{ name: 'JOB_NAME', values: [`${prefix}*`] }], nextToken }));
      } catch (err) {
        throw classifyBatchError(err, 'ListJobs');
      }
      for (const job of output.jobSummaryList ?? []) {
        // The filter is case-insensitive; our names are not.
        if (job.jobId && job.jobName?.startsWith(prefix)) found.push({ jobId: job.jobId, jobName: job.jobName });
      }
      nextToken = output.nextToken;
      if (!nextToken) break;
    }
    return found;
  }

  destroy(): void {
    this.client.destroy();
  }
}

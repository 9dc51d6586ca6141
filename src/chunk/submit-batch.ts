import type { BatchApi } from '../batch/batch-client.js';
import { BATCH_RETRY, JobSubmitter } from '../batch/submitter.js';
import { withRetry } from '../retry.js';
import type { Logger } from '../logging/logger.js';
import type { Database } from '../results/database.js';
import type { PartitionRecord, ResultStore, RunTrigger } from '../results/result-store.js';
import { PartitionRecorder } from './partition-recorder.js';
import { allPartitions, partitionRecords, plannedRun, type ChunkPlan } from './plan.js';
import { reportJobName, submitReportJob, topLevelJobIds } from './report-job.js';
import { checkSamePlan, loadPartitionState, recordSubmitted, type PartitionState } from './run-state.js';
import { partitionsOfJobName, plannedSubmissions, type SubmitMode, type Target } from './submissions.js';
import { submitProcessorJobs } from './submit-processors.js';

export interface BatchSubmitInput {
  readonly plan: ChunkPlan;
  readonly mode: SubmitMode;
  readonly trigger: RunTrigger;
  readonly target: Target;
  readonly reportJobDefinition: string | undefined;
  readonly database: Database;
  readonly results: ResultStore;
  readonly api: BatchApi;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly ratePerSecond?: number;
}

export interface BatchSubmitSummary {
  readonly jobsSubmitted: number;
  readonly partitionsSkipped: number;
  readonly submitCalls: number;
  readonly reportJobId: string | undefined;
}

/**
 * Records the run and its partitions, then submits what is not submitted yet. A retry of the
 * same run id (a retried chunk job: the run exists) skips partitions with a `batch_job_id`, and
 * first asks Batch (ListJobs by name) for jobs an earlier attempt submitted but did not live to
 * record.
 */
export async function submitToBatch(input: BatchSubmitInput): Promise<BatchSubmitSummary> {
  const { plan, mode, target, results, log } = input;
  const retried = await runExists(input.database, target.runId);
  const stored = await results.ensureRun({ id: target.runId, trigger: input.trigger, mode, ...plannedRun(plan) });
  checkSamePlan(stored, plan);
  const state = retried ? await loadPartitionState(input.database, target.runId) : new Map<number, PartitionState>();
  const jobOf = new Map<number, string>();
  for (const [partition, { batchJobId }] of state) if (batchJobId) jobOf.set(partition, batchJobId);
  const existing = retried ? await reconcile(input, jobOf) : new Map<string, string>();
  // The partitions still to submit are recorded `planned` first, with where each begins in the
  // inventory: an array child may start before its array's call is recorded.
  if (state.size < plan.partitions) {
    await results.upsertPartitions(partitionRecords(plan, target.runId, allPartitions(plan).filter((p) => !state.has(p)), 'planned'));
  }

  const submissions = plannedSubmissions(plan, target.runId, mode, new Set(jobOf.keys()));
  log.info({ mode, partitions: plan.partitions, alreadySubmitted: jobOf.size, jobs: submissions.length }, 'Submitting processor jobs');
  const submitter = new JobSubmitter(input.api, { ratePerSecond: input.ratePerSecond, signal: input.signal, log });
  const recorder = new PartitionRecorder((records) => recordSubmitted(input.database, records), log);
  const processors = await submitProcessorJobs(submissions, { plan, mode, target, submitter, recorder, log, signal: input.signal });

  let reportJobId: string | undefined;
  if (input.reportJobDefinition) {
    const recorded = await loadPartitionState(input.database, target.runId);
    const dependencies = topLevelJobIds([...recorded.entries()].sort(([a], [b]) => a - b).flatMap(([, p]) => (p.batchJobId ? [p.batchJobId] : [])));
    const report = await submitReportJob({ ...target, jobDefinition: input.reportJobDefinition, dependencies, existing }, submitter, input.signal);
    reportJobId = report.jobId;
    log.info({ jobId: report.jobId, jobName: reportJobName(target.runId), barriers: report.barriers, dependencies: dependencies.length }, 'Report job submitted');
  }
  return { jobsSubmitted: processors.submitted, partitionsSkipped: jobOf.size, submitCalls: submitter.calls, reportJobId };
}

async function runExists(database: Database, runId: string): Promise<boolean> {
  const { rows } = await database.query('SELECT 1 FROM ingest_runs WHERE id = $1', [runId]);
  return rows.length > 0;
}

/** Jobs of this run that Batch knows by name; partitions they cover are recorded now. */
async function reconcile(input: BatchSubmitInput, jobOf: Map<number, string>): Promise<Map<string, string>> {
  const { plan, target, api } = input;
  const jobs = await withRetry(BATCH_RETRY, () => api.listJobsByName(target.jobQueue, `${target.runId}-`), { signal: input.signal });
  const existing = new Map(jobs.map((job) => [job.jobName, job.jobId]));
  const found: PartitionRecord[] = [];
  for (const job of jobs) {
    for (const [partition, batchJobId] of partitionsOfJobName(plan, target.runId, job.jobName, job.jobId)) {
      if (jobOf.has(partition)) continue;
      jobOf.set(partition, batchJobId);
      found.push(...partitionRecords(plan, target.runId, [partition], 'submitted', () => batchJobId));
    }
  }
  if (found.length > 0) {
    await recordSubmitted(input.database, found);
    input.log.info({ partitions: found.length }, 'Found jobs submitted by an earlier attempt');
  }
  return existing;
}

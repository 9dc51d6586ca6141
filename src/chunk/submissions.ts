import type { JobRequest } from '../batch/job-request.js';
import { MAX_ARRAY_SIZE, partitionRange, type ChunkPlan } from './plan.js';

/**
 * The SubmitJob calls of a run (DESIGN §9). Array mode: one array per 10,000 partitions named
 * `<runId>-a<k>`, parameters inventory/partitionSize/partitionOffset/runId/inventorySha256; a
 * group of one partition is a plain job (AWS refuses arrays of size 1) named `<runId>-p<i>`.
 * Jobs mode: one job per partition named `<runId>-p<i>` with an exact `--start/--end`.
 */
export type Submission =
  | { readonly kind: 'array'; readonly jobName: string; readonly offset: number; readonly size: number }
  | { readonly kind: 'partition'; readonly jobName: string; readonly partition: number };

export type SubmitMode = 'array' | 'jobs';

export interface Target {
  readonly runId: string;
  readonly jobQueue: string;
  readonly jobDefinition: string;
}

export function arrayJobName(runId: string, group: number): string {
  return `${runId}-a${group}`;
}

export function partitionJobName(runId: string, partition: number): string {
  return `${runId}-p${partition}`;
}

/** Groups of the full plan: group k holds partitions k·10,000 … min((k+1)·10,000, n) − 1. */
export function arrayGroups(partitions: number): Array<{ group: number; offset: number; size: number }> {
  const groups = [];
  for (let offset = 0, group = 0; offset < partitions; offset += MAX_ARRAY_SIZE, group += 1) {
    groups.push({ group, offset, size: Math.min(MAX_ARRAY_SIZE, partitions - offset) });
  }
  return groups;
}

/**
 * The submissions still needed when `done` partitions already have a job. An array group is
 * submitted whole or, when some of its partitions already ran (a retry after a mode change),
 * its missing partitions go one job each, so that no partition runs twice.
 */
export function plannedSubmissions(plan: Pick<ChunkPlan, 'partitions'>, runId: string, mode: SubmitMode, done: ReadonlySet<number>): Submission[] {
  const submissions: Submission[] = [];
  const single = (partition: number) => submissions.push({ kind: 'partition', jobName: partitionJobName(runId, partition), partition });
  if (mode === 'jobs') {
    for (let partition = 0; partition < plan.partitions; partition += 1) if (!done.has(partition)) single(partition);
    return submissions;
  }
  for (const { group, offset, size } of arrayGroups(plan.partitions)) {
    const missing = [];
    for (let partition = offset; partition < offset + size; partition += 1) if (!done.has(partition)) missing.push(partition);
    if (missing.length === size && size > 1) submissions.push({ kind: 'array', jobName: arrayJobName(runId, group), offset, size });
    else missing.forEach(single);
  }
  return submissions;
}

export function partitionsOf(submission: Submission): number[] {
  if (submission.kind === 'partition') return [submission.partition];
  return Array.from({ length: submission.size }, (_, index) => submission.offset + index);
}

/** The job id of partition `p` once `submission` got `jobId`: array children are `<parent>:<index>`. */
export function childJobId(submission: Submission, jobId: string, partition: number): string {
  return submission.kind === 'array' ? `${jobId}:${partition - submission.offset}` : jobId;
}

export function jobRequest(submission: Submission, mode: SubmitMode, plan: ChunkPlan, target: Target): JobRequest {
  const base = { jobName: submission.jobName, jobQueue: target.jobQueue, jobDefinition: target.jobDefinition };
  if (mode === 'jobs' && submission.kind === 'partition') {
    const { start, end } = partitionRange(plan, submission.partition);
    return { ...base, containerOverrides: { command: processCommand(plan, target.runId, submission.partition, start, end) } };
  }
  const offset = submission.kind === 'array' ? submission.offset : submission.partition;
  const parameters = {
    inventory: plan.inventory,
    partitionSize: String(plan.partitionSize),
    partitionOffset: String(offset),
    runId: target.runId,
    inventorySha256: plan.sha256,
  };
  return submission.kind === 'array' ? { ...base, arrayProperties: { size: submission.size }, parameters } : { ...base, parameters };
}

export function processCommand(plan: ChunkPlan, runId: string, partition: number, start: number, end: number): string[] {
  return ['process', plan.inventory, '--start', String(start), '--end', String(end), '--run-id', runId, '--partition', String(partition), '--inventory-sha256', plan.sha256];
}

/** Which partitions a job found by name (ListJobs) stands for, and their job ids. */
export function partitionsOfJobName(plan: Pick<ChunkPlan, 'partitions'>, runId: string, jobName: string, jobId: string): Array<[number, string]> {
  const match = new RegExp(`^${escapeRegExp(runId)}-(a|p)(\\d+)$`).exec(jobName);
  if (!match) return [];
  const index = Number(match[2]);
  if (match[1] === 'p') return index < plan.partitions ? [[index, jobId]] : [];
  const group = arrayGroups(plan.partitions)[index];
  if (!group) return [];
  return Array.from({ length: group.size }, (_, child) => [group.offset + child, `${jobId}:${child}`]);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

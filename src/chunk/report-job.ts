import type { JobRequest } from '../batch/job-request.js';
import type { JobSubmitter } from '../batch/submitter.js';

/**
 * The run's final `report` job, started by Batch once every processor job succeeded. A job can
 * depend on at most 20 jobs (AWS Batch service quotas), and a dependency on an array parent
 * waits for all its children; with more than 20 processor jobs (jobs mode) the report waits
 * on "barrier" jobs (`<runId>-w<level>-<i>`, the report definition running `--version`), each
 * depending on up to 20 jobs of the level below.
 */
export const MAX_DEPENDENCIES = 20;

export interface ReportJobInput {
  readonly runId: string;
  readonly jobQueue: string;
  readonly jobDefinition: string;
  /** Top-level processor job ids, in partition order. */
  readonly dependencies: readonly string[];
  /** Jobs of this run that already exist (a retried chunk job), by name. */
  readonly existing: ReadonlyMap<string, string>;
}

export interface ReportJobResult {
  readonly jobId: string;
  readonly barriers: number;
  readonly submitted: number;
}

export function reportJobName(runId: string): string {
  return `${runId}-report`;
}

export function reportCommand(runId: string): string[] {
  return ['report', '--run', runId, '--format', 'html', '--publish'];
}

export async function submitReportJob(input: ReportJobInput, submitter: Pick<JobSubmitter, 'submit'>, signal?: AbortSignal): Promise<ReportJobResult> {
  let submitted = 0;
  let barriers = 0;
  const ensure = async (request: JobRequest): Promise<string> => {
    const known = input.existing.get(request.jobName);
    if (known) return known;
    submitted += 1;
    return (await submitter.submit(request, signal)).jobId;
  };
  let level = 0;
  let waitingOn = [...input.dependencies];
  while (waitingOn.length > MAX_DEPENDENCIES) {
    const groups = chunk(waitingOn, MAX_DEPENDENCIES);
    barriers += groups.length;
    const currentLevel = level;
    waitingOn = await Promise.all(
      groups.map((group, index) =>
        ensure({
          jobName: `${input.runId}-w${currentLevel}-${index}`,
          jobQueue: input.jobQueue,
          jobDefinition: input.jobDefinition,
          containerOverrides: { command: ['--version'] },
          dependsOn: group.map((jobId) => ({ jobId })),
        }),
      ),
    );
    level += 1;
  }
  const jobId = await ensure({
    jobName: reportJobName(input.runId),
    jobQueue: input.jobQueue,
    jobDefinition: input.jobDefinition,
    containerOverrides: { command: reportCommand(input.runId) },
    dependsOn: waitingOn.map((dependency) => ({ jobId: dependency })),
  });
  return { jobId, barriers, submitted };
}

/** Top-level job ids of recorded partitions: an array child `<parent>:<i>` depends through its parent. */
export function topLevelJobIds(batchJobIds: Iterable<string>): string[] {
  const ids = new Set<string>();
  for (const id of batchJobIds) ids.add(id.split(':')[0] ?? id);
  return [...ids];
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let index = 0; index < items.length; index += size) out.push(items.slice(index, index + size));
  return out;
}

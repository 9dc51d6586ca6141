import { partitionRange, type ChunkPlan } from './plan.js';
import { MAX_DEPENDENCIES, reportJobName } from './report-job.js';
import { jobRequest, partitionsOf, plannedSubmissions, type Submission, type SubmitMode, type Target } from './submissions.js';

/** How many calls `--dry-run` lists at each end before eliding the middle. */
const SHOWN_CALLS = 3;

export interface PrintablePlan {
  readonly plan: ChunkPlan;
  readonly mode: SubmitMode | 'local';
  readonly runId: string;
  readonly jobQueue: string | undefined;
  readonly jobDefinition: string | undefined;
  readonly reportJobDefinition: string | undefined;
  readonly parallel: number;
}

/** `chunk --dry-run`: the plan in plain text with plain integers (DESIGN §9: `10000`, not `10,000`). */
export function renderPlan(input: PrintablePlan): string {
  const { plan } = input;
  const last = plan.partitions - 1;
  const first = partitionRange(plan, 0);
  const final = partitionRange(plan, last);
  const lines = [
    `Run ${input.runId}`,
    `Inventory ${plan.inventoryShown}: ${plan.rows} rows, ${plan.bytes} bytes, sha256 ${plan.sha256}`,
    `Partitions: ${plan.partitions} of up to ${counted(plan.partitionSize, 'row')}; partition 0 = rows ${first.start}-${first.end}${last > 0 ? `, partition ${last} = rows ${final.start}-${final.end}` : ''}`,
  ];
  if (input.mode === 'local') {
    lines.push(`Mode local: ${counted(plan.partitions, 'child process', 'child processes')}, ${input.parallel} at a time`);
    return `${lines.join('\n')}\n`;
  }
  const submissions = plannedSubmissions(plan, input.runId, input.mode, new Set());
  const target: Target = { runId: input.runId, jobQueue: input.jobQueue ?? '<JOB_QUEUE>', jobDefinition: input.jobDefinition ?? '<JOB_DEFINITION>' };
  lines.push(`Mode ${input.mode}: ${submissions.length} SubmitJob call${submissions.length === 1 ? '' : 's'} to queue ${target.jobQueue}, definition ${target.jobDefinition}`);
  submissions.forEach((submission, index) => {
    if (index === SHOWN_CALLS && submissions.length > 2 * SHOWN_CALLS) lines.push(`  … ${submissions.length - 2 * SHOWN_CALLS} more`);
    if (index >= SHOWN_CALLS && index < submissions.length - SHOWN_CALLS) return;
    lines.push(`  ${describeCall(submission, input.mode as SubmitMode, plan, target)}`);
  });
  lines.push(describeReport(input, submissions.length));
  return `${lines.join('\n')}\n`;
}

function counted(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

function describeCall(submission: Submission, mode: SubmitMode, plan: ChunkPlan, target: Target): string {
  const partitions = partitionsOf(submission);
  const firstPartition = partitions[0] ?? 0;
  const lastPartition = partitions.at(-1) ?? firstPartition;
  const rows = `rows ${partitionRange(plan, firstPartition).start}-${partitionRange(plan, lastPartition).end}`;
  const request = jobRequest(submission, mode, plan, target);
  if (request.arrayProperties) {
    return `SubmitJob ${request.jobName}: array size ${request.arrayProperties.size}, partitionOffset ${request.parameters?.partitionOffset} (partitions ${firstPartition}-${lastPartition}, ${rows})`;
  }
  if (request.containerOverrides) return `SubmitJob ${request.jobName}: ${request.containerOverrides.command.join(' ')} (${rows})`;
  return `SubmitJob ${request.jobName}: plain job, partitionOffset ${request.parameters?.partitionOffset} (partition ${firstPartition}, ${rows})`;
}

function describeReport(input: PrintablePlan, processorJobs: number): string {
  if (!input.reportJobDefinition) return 'Report job: none (REPORT_JOB_DEFINITION is not set)';
  let barriers = 0;
  for (let waiting = processorJobs; waiting > MAX_DEPENDENCIES; waiting = Math.ceil(waiting / MAX_DEPENDENCIES)) barriers += Math.ceil(waiting / MAX_DEPENDENCIES);
  const via = barriers > 0 ? ` through ${barriers} barrier jobs (a job depends on at most ${MAX_DEPENDENCIES})` : '';
  return `Report job: SubmitJob ${reportJobName(input.runId)} on ${input.reportJobDefinition}, after the ${processorJobs} processor job${processorJobs === 1 ? '' : 's'}${via}`;
}

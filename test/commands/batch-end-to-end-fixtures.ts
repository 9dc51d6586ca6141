import fs from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { baseEnv, runCli, spawnCli, type CliResult } from '../harness/cli.js';
import { batchCommand, type PlannedDeployment } from '../harness/terraform.js';
import type { FakeJob } from '../fakes/batch-api.js';

export type JobKind = 'chunk' | 'processor' | 'report';

/** What AWS Batch hands one container: the SubmitJob's parameters or command override, and its AWS_BATCH_* variables. */
export interface ContainerStart {
  readonly parameters?: Record<string, string>;
  readonly command?: readonly string[] | undefined;
  readonly batchEnv: Record<string, string>;
}

/**
 * Starts containers the way AWS Batch would for the planned job definitions: the definition's
 * command with its `Ref::` placeholders filled in, its `environment`, the secrets (here only
 * DATABASE_URL), and `local` for what stands in for AWS (the fake Batch API, a file:// target
 * in place of the S3 bucket, the work directory).
 */
export class BatchContainers {
  constructor(
    private readonly deployment: PlannedDeployment,
    private readonly local: Record<string, string>,
  ) {}

  argv(kind: JobKind, start: Omit<ContainerStart, 'batchEnv'>): string[] {
    return batchCommand(this.deployment.jobs[kind], start);
  }

  env(kind: JobKind, batchEnv: Record<string, string>): Record<string, string> {
    return baseEnv({ ...this.deployment.jobs[kind].environment, ...this.local, ...batchEnv });
  }

  run(kind: JobKind, start: ContainerStart): Promise<CliResult> {
    return runCli(this.argv(kind, start), { env: this.env(kind, start.batchEnv) });
  }

  spawn(kind: JobKind, start: ContainerStart) {
    return spawnCli(this.argv(kind, start), { env: this.env(kind, start.batchEnv) });
  }
}

/** One container of a submitted job: a plain job, or one child of an array. */
export interface JobContainer {
  readonly job: FakeJob;
  readonly arrayIndex: number | undefined;
  readonly start: ContainerStart;
}

/** The containers Batch starts for `job`, each with the variables Batch sets; `indexes` picks array children. */
export function containersOf(job: FakeJob, attempt = 1, indexes?: (size: number) => number[]): JobContainer[] {
  const common = { parameters: job.parameters, command: job.command };
  if (job.arraySize === undefined) {
    return [{ job, arrayIndex: undefined, start: { ...common, batchEnv: { AWS_BATCH_JOB_ID: job.jobId, AWS_BATCH_JOB_ATTEMPT: String(attempt) } } }];
  }
  const chosen = indexes ? indexes(job.arraySize) : Array.from({ length: job.arraySize }, (_, index) => index);
  return chosen.map((index) => ({
    job,
    arrayIndex: index,
    start: {
      ...common,
      batchEnv: { AWS_BATCH_JOB_ID: `${job.jobId}:${index}`, AWS_BATCH_JOB_ARRAY_INDEX: String(index), AWS_BATCH_JOB_ARRAY_SIZE: String(job.arraySize), AWS_BATCH_JOB_ATTEMPT: String(attempt) },
    },
  }));
}

/** The rows a processor run worked on, from its one `Repository finished` line per row. */
export function rowsProcessed(result: CliResult): number[] {
  return result.logs.filter((line) => line.msg === 'Repository finished').map((line) => Number(line.row)).sort((a, b) => a - b);
}

/** `rows` data rows, all cloning `cloneUrl` under distinct paths (one repository each). */
export function sameRepositoryInventory(cloneUrl: string, rows: number): string {
  const lines = ['cloneUrl,branch,origin,path'];
  for (let row = 1; row <= rows; row += 1) lines.push(`${cloneUrl},main,local.test,acme/r${row}`);
  return `${lines.join('\n')}\n`;
}

/** Serves the files of `dir` over HTTP on 127.0.0.1, as an https:// inventory would be. */
export async function startInventoryServer(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    const file = path.join(dir, path.basename(request.url ?? '/'));
    fs.readFile(file).then(
      (body) => response.writeHead(200, { 'content-type': 'text/csv', 'content-length': body.length }).end(body),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

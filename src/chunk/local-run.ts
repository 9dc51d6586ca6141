import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import { EXIT, type ExitCode } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { Database } from '../results/database.js';
import type { ResultStore } from '../results/result-store.js';
import { allPartitions, partitionRecords, type ChunkPlan } from './plan.js';
import { checkSamePlan, loadPartitionState } from './run-state.js';

/**
 * `chunk --local`: every partition runs as a child `process`, started exactly as the processor
 * job definition starts an array child (`process <inventory> --partition-size P
 * --partition-offset 0 --run-id R --inventory-sha256 S`, AWS_BATCH_JOB_ARRAY_INDEX = i,
 * AWS_BATCH_JOB_ID = R:i, AWS_BATCH_JOB_ATTEMPT = n), at most `parallel` at once. Like the job
 * definition's retry strategy, a partition that exits 3 (infrastructure) is started again, up
 * to LOCAL_ATTEMPTS attempts. A rerun with the same run id skips partitions that succeeded.
 */
export const LOCAL_ATTEMPTS = 3;

export interface LocalRunInput {
  readonly plan: ChunkPlan;
  readonly runId: string;
  readonly parallel: number;
  /** Environment of the children: config.env plus the shared database. */
  readonly env: Readonly<Record<string, string>>;
  /** Processor flags passed on (--concurrency, --force, --workdir, …). */
  readonly flags: readonly string[];
  readonly database: Database;
  readonly results: ResultStore;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
/** Which exit code wins when partitions end differently (DESIGN §8). */
const PRECEDENCE: readonly ExitCode[] = [EXIT.terminated, EXIT.infrastructure, EXIT.usage, EXIT.strictFailures, EXIT.ok];

export async function runLocal(input: LocalRunInput): Promise<ExitCode> {
  const { plan, runId, results, log } = input;
  const stored = await results.ensureRun({ id: runId, trigger: 'local', mode: 'local', inventoryUri: plan.inventoryShown, inventorySha256: plan.sha256, inventoryRows: plan.rows, partitionSize: plan.partitionSize, partitions: plan.partitions });
  checkSamePlan(stored, plan);
  const state = await loadPartitionState(input.database, runId);
  const todo = allPartitions(plan).filter((partition) => state.get(partition)?.status !== 'succeeded');
  await results.upsertPartitions(partitionRecords(plan, runId, todo, 'planned'));
  log.info({ partitions: plan.partitions, toRun: todo.length, parallel: input.parallel }, 'Running partitions locally');

  const limit = pLimit(input.parallel);
  const running = new Set<ChildProcess>();
  const stopAll = () => running.forEach((child) => child.kill('SIGTERM'));
  input.signal.addEventListener('abort', stopAll, { once: true });
  const codes = await Promise.all(todo.map((partition) => limit(() => runAttempts(input, partition, running)))).finally(() => input.signal.removeEventListener('abort', stopAll));
  const failed = todo.filter((_, index) => codes[index] !== EXIT.ok && codes[index] !== EXIT.strictFailures);
  if (failed.length > 0) await results.upsertPartitions(partitionRecords(plan, runId, failed, 'failed'));
  const exitCode = PRECEDENCE.find((code) => codes.includes(code)) ?? EXIT.ok;
  if (!input.signal.aborted) await results.finishRun(runId);
  log.info({ partitions: todo.length, failed: failed.length, exitCode }, 'Local run finished');
  return exitCode;
}

async function runAttempts(input: LocalRunInput, partition: number, running: Set<ChildProcess>): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT.terminated;
  for (let attempt = 1; attempt <= LOCAL_ATTEMPTS && !input.signal.aborted; attempt += 1) {
    exitCode = await runChild(input, partition, attempt, running);
    if (exitCode !== EXIT.infrastructure) break;
  }
  return exitCode;
}

function runChild(input: LocalRunInput, partition: number, attempt: number, running: Set<ChildProcess>): Promise<ExitCode> {
  const { plan, runId } = input;
  const args = [CLI, 'process', plan.inventory, '--partition-size', String(plan.partitionSize), '--partition-offset', '0', '--run-id', runId, '--inventory-sha256', plan.sha256, ...input.flags];
  const env = { ...input.env, AWS_BATCH_JOB_ID: `${runId}:${partition}`, AWS_BATCH_JOB_ARRAY_INDEX: String(partition), AWS_BATCH_JOB_ATTEMPT: String(attempt) };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    forwardLines(child.stdout, input.stdout);
    forwardLines(child.stderr, input.stderr);
    child.once('error', (err) => {
      input.log.error({ err, partition }, 'Partition process could not start');
      resolve(EXIT.infrastructure);
    });
    child.once('close', (code, signal) => {
      running.delete(child);
      const exitCode = (signal ? EXIT.terminated : code ?? EXIT.infrastructure) as ExitCode;
      input.log.info({ partition, attempt, exitCode }, 'Partition process exited');
      resolve(PRECEDENCE.includes(exitCode) ? exitCode : EXIT.infrastructure);
    });
  });
}

/** Whole lines only, so that the partitions' JSON log lines never interleave mid-line. */
function forwardLines(from: NodeJS.ReadableStream, to: NodeJS.WritableStream): void {
  createInterface({ input: from, crlfDelay: Infinity }).on('line', (line) => to.write(`${line}\n`));
}

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import { EXIT, signalNotice, type ExitCode } from '../errors.js';
import type { InventoryOptions } from '../inventory/source.js';
import type { Logger } from '../logging/logger.js';
import type { Scrubber } from '../logging/scrub.js';
import type { Database } from '../results/database.js';
import type { ResultStore, RunRecord } from '../results/result-store.js';
import { outcomeCounts } from '../results/report-queries.js';
import { allPartitions, partitionRecords, plannedRun, type ChunkPlan } from './plan.js';
import { checkSamePlan, loadPartitionState } from './run-state.js';
import { recordUnstartedRows } from './unstarted-rows.js';

/**
 * `chunk --local`: every partition runs as a child `process`, started as the processor job
 * definition starts an array child (`process --partition-size P --partition-offset 0 --run-id R
 * --inventory-sha256 S`, the inventory in MASS_INGEST_INVENTORY, AWS_BATCH_JOB_ARRAY_INDEX = i,
 * AWS_BATCH_JOB_ID = R:i, AWS_BATCH_JOB_ATTEMPT = n), at most `parallel` at once. Like the job
 * definition's retry strategy, a partition that exits 3 (infrastructure) is started again, up
 * to LOCAL_ATTEMPTS attempts. A rerun with the same run id skips partitions that succeeded.
 *
 * On SIGINT/SIGTERM the running children get one SIGTERM each and record their own rows; the
 * rows of partitions never started (or whose first child that SIGTERM killed as it loaded) are
 * recorded `aborted` / `not_started` here, and those partitions stay `planned` (they never ran;
 * `failed` would say a processor did).
 */
export const LOCAL_ATTEMPTS = 3;

export interface LocalRunInput {
  readonly plan: ChunkPlan;
  readonly runId: string;
  /** `--only`: the run whose rows this one reruns (recorded on the run). */
  readonly rerunOf?: RunRecord['rerunOf'];
  readonly parallel: number;
  /** Environment of the children: config.env plus the shared database. */
  readonly env: Readonly<Record<string, string>>;
  /** Processor flags passed on (--concurrency, --force, --workdir, …). */
  readonly flags: readonly string[];
  readonly database: Database;
  readonly results: ResultStore;
  /** For reading the rows of partitions a signal stopped before they started. */
  readonly source: InventoryOptions;
  readonly scrub: Scrubber;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** The script each child runs (tests); mass-ingest's own CLI by default. */
  readonly cli?: string;
}

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
/** The stopped children's own notice of the SIGTERM sent here: the user saw ours. */
const CHILD_SIGNAL_NOTICE = signalNotice('SIGTERM');
/** Which exit code wins when partitions end differently (DESIGN §8). */
const PRECEDENCE: readonly ExitCode[] = [EXIT.terminated, EXIT.infrastructure, EXIT.usage, EXIT.strictFailures, EXIT.ok];

export async function runLocal(input: LocalRunInput): Promise<ExitCode> {
  const { plan, runId, results, log } = input;
  const stored = await results.ensureRun({ id: runId, trigger: 'local', mode: 'local', ...plannedRun(plan), rerunOf: input.rerunOf });
  checkSamePlan(stored, plan);
  const state = await loadPartitionState(input.database, runId);
  const todo = allPartitions(plan).filter((partition) => state.get(partition)?.status !== 'succeeded');
  await results.upsertPartitions(partitionRecords(plan, runId, todo, 'planned'));
  log.info({ partitions: plan.partitions, toRun: todo.length, parallel: input.parallel }, 'Running partitions locally');

  const limit = pLimit(input.parallel);
  const running = new Set<ChildProcess>();
  const stopAll = () => running.forEach((child) => child.kill('SIGTERM'));
  input.signal.addEventListener('abort', stopAll, { once: true });
  const ends = await Promise.all(todo.map((partition) => limit(() => runAttempts(input, partition, running)))).finally(() => input.signal.removeEventListener('abort', stopAll));
  const codes = ends.map((end) => end.exitCode);
  const unstarted = todo.filter((_, index) => !ends[index]?.started);
  const failed = todo.filter((_, index) => ends[index]?.started && codes[index] !== EXIT.ok && codes[index] !== EXIT.strictFailures);
  if (failed.length > 0) await results.upsertPartitions(partitionRecords(plan, runId, failed, 'failed'));
  if (unstarted.length > 0) await recordUnstarted(input, unstarted);
  const exitCode = PRECEDENCE.find((code) => codes.includes(code)) ?? EXIT.ok;
  if (!input.signal.aborted) await results.finishRun(runId);
  // What the whole run did, as `process` ends each partition: the outcomes of every row recorded.
  const counts = await outcomeCounts(input.database, runId).catch(() => undefined);
  log.info({ partitions: todo.length, failed: failed.length, notStarted: unstarted.length, counts, exitCode }, 'Local run finished');
  return exitCode;
}

/** A stopped run still exits 143: rows it cannot read now stay without a result, as before a retry. */
async function recordUnstarted(input: LocalRunInput, partitions: readonly number[]): Promise<void> {
  const { plan, runId, results, log } = input;
  try {
    const rows = await recordUnstartedRows({ plan, runId, partitions, source: input.source, scrub: input.scrub, results });
    log.info({ partitions: partitions.length, rows }, 'Partitions not started: rows recorded aborted');
  } catch (err) {
    log.error({ err, partitions: partitions.length }, 'Recording the rows of partitions not started failed');
  }
}

interface PartitionEnd {
  readonly exitCode: ExitCode;
  /** Whether a child process was started for it: a signal may come first. */
  readonly started: boolean;
}

async function runAttempts(input: LocalRunInput, partition: number, running: Set<ChildProcess>): Promise<PartitionEnd> {
  let exitCode: ExitCode = EXIT.terminated;
  let started = false;
  for (let attempt = 1; attempt <= LOCAL_ATTEMPTS && !input.signal.aborted; attempt += 1) {
    const ended = await runChild(input, partition, attempt, running);
    // Killed before it began: the partition is as never started, unless an earlier attempt ran.
    if (ended === undefined) return { exitCode: EXIT.terminated, started };
    started = true;
    exitCode = ended.exitCode;
    if (!ended.retry) break;
  }
  return { exitCode, started };
}

/**
 * The child's exit code (one this command does not know counts as 3), and whether Batch would try
 * it again (exit 3 itself, or a child that could not start: terraform/jobs.tf's retry strategy);
 * undefined when the SIGTERM sent here killed it before it began any row.
 */
function runChild(input: LocalRunInput, partition: number, attempt: number, running: Set<ChildProcess>): Promise<{ exitCode: ExitCode; retry: boolean } | undefined> {
  const { plan, runId } = input;
  const args = [input.cli ?? CLI, 'process', '--partition-size', String(plan.partitionSize), '--partition-offset', '0', '--run-id', runId, '--inventory-sha256', plan.sha256, ...input.flags];
  // The inventory goes in the child's environment, never its argv: every user of the machine reads
  // argv (`ps`), and a pre-signed or token URL is a secret. The child removes MASS_INGEST_* from
  // the environment of git and of the builds it runs (src/config/build-env.ts).
  const env = { ...input.env, MASS_INGEST_INVENTORY: plan.inventory, AWS_BATCH_JOB_ID: `${runId}:${partition}`, AWS_BATCH_JOB_ARRAY_INDEX: String(partition), AWS_BATCH_JOB_ATTEMPT: String(attempt) };
  return new Promise((resolve) => {
    // Its own process group: a Ctrl-C on the terminal reaches this process only, which stops
    // each child with one SIGTERM. A child signalled twice exits at once, before recording its rows.
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.add(child);
    forwardLines(child.stdout, input.stdout);
    forwardLines(child.stderr, input.stderr, (line) => !(input.signal.aborted && line === CHILD_SIGNAL_NOTICE));
    child.once('error', (err) => {
      input.log.error({ err, partition }, 'Partition process could not start');
      resolve({ exitCode: EXIT.infrastructure, retry: true });
    });
    child.once('close', (code, signal) => {
      running.delete(child);
      const exitCode = (signal ? EXIT.terminated : code ?? EXIT.infrastructure) as ExitCode;
      input.log.info({ partition, attempt, exitCode }, 'Partition process exited');
      // `process` handles SIGTERM once its modules are loaded (src/cli.ts), exiting 143 once its
      // rows are recorded; killed by it, it was still loading them (~100 ms) and recorded nothing.
      if (signal === 'SIGTERM' && input.signal.aborted) resolve(undefined);
      else resolve({ exitCode: PRECEDENCE.includes(exitCode) ? exitCode : EXIT.infrastructure, retry: exitCode === EXIT.infrastructure });
    });
  });
}

/** Whole lines only, so that the partitions' JSON log lines never interleave mid-line. */
function forwardLines(from: NodeJS.ReadableStream, to: NodeJS.WritableStream, keep: (line: string) => boolean = () => true): void {
  createInterface({ input: from, crlfDelay: Infinity }).on('line', (line) => {
    if (keep(line)) to.write(`${line}\n`);
  });
}

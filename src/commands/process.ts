import { setMaxListeners } from 'node:events';
import type { CommandContext } from './context.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../logging/logger.js';
import type { Database } from '../results/database.js';
import { commandLogger, openResults } from './context.js';
import { EXIT, UsageError, type ExitCode } from '../errors.js';
import { checkInventory, readInventory } from '../inventory/reader.js';
import { readPlannedRows, type VerifiedRows } from '../inventory/planned.js';
import { descriptorsNeeded } from '../pipeline/resource-limits.js';
import { openFileLimit } from '../open-file-limit.js';
import { resolveRange, type ResolvedRange } from '../inventory/range.js';
import { prepareGitCredentials, type GitCredentialSetup } from '../git/credentials.js';
import { SimpleGitClient } from '../git/git-client.js';
import { assertGitLfsInstalled } from '../git/lfs.js';
import { createLayout, createStore } from '../artifacts/publisher.js';
import { publishFailureKind } from '../artifacts/publish-errors.js';
import { SqlResultStore, type RunRecord } from '../results/result-store.js';
import { assertEmbeddedUnlocked } from '../results/pglite-open.js';
import { runPartition, type PartitionSummary } from '../pipeline/run-partition.js';
import { claimRunWorkdir, type RunWorkdir } from '../pipeline/run-workdir.js';
import { prepareBuildUsers } from '../build/build-user.js';
import type { BuildUserPool } from '../build/build-user-pool.js';
import { ProgressLine } from '../logging/progress.js';
import { scrubUrlSecrets } from '../logging/scrub.js';
import { isFailure, type Outcome } from '../results/outcome.js';

export interface ProcessOptions {
  readonly inventory: string;
  readonly start?: number | undefined;
  readonly end?: number | undefined;
  readonly partitionSize?: number | undefined;
  readonly partitionOffset?: number | undefined;
  readonly partition?: number | undefined;
  readonly inventorySha256?: string | undefined;
}

/** `mass-ingest process`: one partition of the inventory, cloned, built, published, recorded. */
export async function runProcess(options: ProcessOptions, context: CommandContext): Promise<ExitCode> {
  const { config } = context;
  const range = resolveRange(
    { start: options.start, end: options.end, partitionSize: options.partitionSize, partitionOffset: options.partitionOffset, arrayIndex: config.batch.arrayIndex },
    options.partition,
  );
  const inventoryUri = scrubUrlSecrets(options.inventory);
  const log = commandLogger(context, 1, { runId: config.runId, partition: range.partition });
  log.info({ inventory: inventoryUri, start: range.start, end: Number.isFinite(range.end) ? range.end : 'last' }, 'Partition started');

  // The database opens (the embedded one in a process of its own) while the rest gets ready.
  // A second process on the same embedded database is refused before it does anything.
  if (!config.databaseUrl) await assertEmbeddedUnlocked(config.dataDir);
  const opening = openResults(context, log, { hosted: true });
  opening.catch(() => undefined);
  // Repositories stop starting when a signal comes, or when the database cannot be set up.
  const stop = new AbortController();
  // Every git call and upload in flight listens to it (simple-git, the stores): node warns past 10.
  setMaxListeners(Math.max(32, 4 * (config.concurrency + config.cloneAhead + 8)), stop.signal);
  const onSignal = () => stop.abort();
  context.signal.addEventListener('abort', onSignal, { once: true });
  if (context.signal.aborted) stop.abort();
  let credentials: GitCredentialSetup | undefined;
  let setup: Promise<RunSetup> | undefined;
  let runWorkdir: RunWorkdir | undefined;
  try {
    await checkInventory(options.inventory, { s3: config.s3 });
    runWorkdir = await claimRunWorkdir(config.workdir, config.runId, log);
    const buildUsers = await buildUsersOf(config, runWorkdir.dir, log);
    const fileLimit = openFileLimit();
    const needed = descriptorsNeeded(config.concurrency, config.cloneAhead);
    if (fileLimit !== undefined && fileLimit < needed) {
      log.warn({ limit: fileLimit, needed, concurrency: config.concurrency, cloneAhead: config.cloneAhead }, 'The limit on open files (ulimit -n) is low for this concurrency: repositories may fail (fd_exhausted); raise it or lower --concurrency');
    }
    if (config.lfs === 'fetch') await assertGitLfsInstalled(config.gitEnv);
    credentials = await prepareGitCredentials(config.gitCredentials, config.gitSsh);
    const artifacts = await createStore(config, log, stop.signal);
    // Checks need the open database only; recording needs the run recorded too.
    const store = opening.then((database) => new SqlResultStore(database));
    const running = setUpRun(store, options, config, range, inventoryUri, log);
    setup = running;
    running.catch(() => stop.abort());
    // A run that may exist already (a run id given or from Batch, a planned inventory) is checked
    // before any repository starts; a new local run starts cloning while the database opens.
    const startAtOnce = config.runIdSource === 'generated' && !options.inventorySha256;
    const checked = startAtOnce ? undefined : (await running).checked;

    const progress = new ProgressLine(context.stderr, context.stderrIsTty && config.logFormat === 'pretty');
    // A checked range comes with its rows, but an open s3:// one: read here with If-Match on what was hashed.
    const reading = checked?.reading ?? readInventory(options.inventory, range, { s3: config.s3, ...(checked?.ifMatch === undefined ? {} : { ifMatch: checked.ifMatch }) });
    const summary = await runPartition(
      reading.entries,
      {
        git: new SimpleGitClient({
          env: { ...config.gitEnv, ...credentials.env },
          scrub: config.scrub,
          cloneTimeoutMs: config.cloneTimeoutMs,
          submodules: config.submodules !== 'none',
          // A repository's own clone gets the credentials; what it names (its submodules), only when the operator says so.
          submoduleEnv: config.submodules === 'recursive-with-credentials' || !hasGitCredentials(config) ? undefined : credentials.anonymousEnv,
          lfs: config.lfs === 'fetch',
        }),
        results: {
          lastPublishedSha: async (origin, path, branch) => (await store).lastPublishedSha(origin, path, branch),
          recordOutcomes: async (outcomes) => (await running).results.recordOutcomes(outcomes),
        },
        layout: createLayout(config, artifacts, log),
        concurrency: config.concurrency,
        cloneAhead: config.cloneAhead,
        log,
        onOutcome: (outcome) => progress.update(outcome.outcome),
        settings: {
          runId: config.runId,
          attempt: config.batch.attempt,
          workdir: config.workdir,
          force: config.force,
          buildTimeoutMs: config.buildTimeoutMs,
          buildEnv: config.buildEnv,
          scrub: config.scrub,
          buildUsers,
        },
      },
      stop.signal,
    );
    progress.done();

    const { rows, complete } = reading.summary();
    const lastRow = complete ? Math.min(range.end, rows) : range.end;
    // A range past the last row reads nothing: said, rather than a silent empty partition.
    if (complete && rows === 0) log.warn({ start: range.start, rows }, 'The inventory has no rows, only its header');
    else if (complete && rows < range.start) log.warn({ start: range.start, rows }, 'The range starts after the last row of the inventory');
    const exitCode = exitCodeOf(summary, config.strict);
    if (summary.fdExhausted > 0) log.error({ repositories: summary.fdExhausted, limit: fileLimit, needed }, 'The processor ran out of file descriptors: exit 3, so that the partition is tried again; raise the limit on open files (ulimit -n) or lower --concurrency');
    if (summary.workdirFull > 0) log.error({ repositories: summary.workdirFull, workdir: config.workdir }, 'The work directory filled up: exit 3, so that the partition is tried again; give it more room (root_volume_size_gib on Batch)');
    if (summary.databaseFailed > 0) log.error({ repositories: summary.databaseFailed }, 'The database failed some repositories\' checks: exit 3, so that the partition is tried again');
    await endPartition(await running, range.start, Number.isFinite(lastRow) ? lastRow : finiteEnd(range), exitCode === EXIT.ok || exitCode === EXIT.strictFailures ? 'succeeded' : 'failed');
    log.info({ counts: summary.counts, total: summary.total, exitCode }, 'Partition finished');
    return exitCode;
  } catch (err) {
    if (setup) await recordFailedPartition(setup, range);
    // A range given by rows alone has no partition the chunk job recorded.
    else if (options.partitionSize !== undefined || options.partition !== undefined) await failSubmittedPartition(opening, config.runId, range.partition);
    throw err;
  } finally {
    context.signal.removeEventListener('abort', onSignal);
    await credentials?.dispose();
    await setup?.then((ready) => ready.checked?.release?.(), () => undefined);
    await opening.then((database) => database.close(), () => undefined);
    // Each repository removes its own workspace; the run's directory goes too when it is empty.
    await runWorkdir?.release();
  }
}

/** Anything git could authenticate with: GIT_CREDENTIALS, GIT_SSH_KEY, the operator's ssh command or agent. */
function hasGitCredentials(config: Config): boolean {
  return config.gitCredentials !== undefined || config.gitSsh?.key !== undefined || config.gitEnv.GIT_SSH_COMMAND !== undefined || config.gitEnv.SSH_AUTH_SOCK !== undefined;
}

/** BUILD_USER, checked before any repository starts; a root processor without it says what it risks. */
async function buildUsersOf(config: Config, runDir: string, log: Logger): Promise<BuildUserPool | undefined> {
  if (config.buildUser === undefined) {
    if (process.getuid?.() === 0) log.warn('Builds run as root, with access to the credentials: set BUILD_USER to run them as an unprivileged user');
    return undefined;
  }
  const pool = await prepareBuildUsers(config.buildUser, config.workdir, runDir);
  for (const user of pool.users) log.info({ buildUser: user.name, uid: user.uid, gid: user.gid, home: user.home }, 'Builds run as an unprivileged user');
  if (config.concurrency > pool.users.length) {
    const shared = pool.shared ? 'share it and can change each other\'s clones' : 'wait for a free one';
    log.warn({ concurrency: config.concurrency, buildUsers: pool.users.length }, `Fewer build users than concurrent builds: builds ${shared}; give BUILD_USER one user per build (e.g. 10001-10004)`);
  }
  return pool;
}

/**
 * A partition stopped by an error (the inventory unreadable part way, the database gone) is
 * recorded `failed`, and a run of its own finished: the rows it did are recorded already. When
 * the database itself failed there is nothing more to record.
 */
async function recordFailedPartition(setup: Promise<RunSetup>, range: ResolvedRange): Promise<void> {
  try {
    const ready = await setup;
    await endPartition(ready, range.start, recordedEnd(range, ready.run), 'failed');
  } catch {
    // The database is what failed: the error on its way up says so.
  }
}

/**
 * A processor that stops before its run is set up (the inventory missing or unreachable, the work
 * directory unusable) fails the partition the chunk job recorded for it, as `chunk --local` does
 * for its children; a partition nobody recorded stays unrecorded.
 */
async function failSubmittedPartition(opening: Promise<Database>, runId: string, partition: number): Promise<void> {
  try {
    await new SqlResultStore(await opening).failRecordedPartition(runId, partition);
  } catch {
    // The database is what failed, or never opened: the error on its way up says what went wrong.
  }
}

/** The partition's final status and rows; a run of its own (`process` alone) ends with it. */
async function endPartition({ results, run, partition }: RunSetup, startRow: number, endRow: number, status: 'succeeded' | 'failed'): Promise<void> {
  await results.upsertPartitions([{ runId: run.id, partition, startRow, endRow, status }]);
  if (run.mode === 'process') await results.finishRun(run.id);
}

interface RunSetup {
  readonly results: SqlResultStore;
  readonly run: RunRecord;
  /** How the inventory was checked against the run: the partition's rows read meanwhile (bounded partitions), or the ETag to read an open range with. */
  readonly checked: VerifiedRows | undefined;
  /** the partition number the range is recorded as. */
  readonly partition: number;
}

/** Once the database is open: the run and the partition recorded, the inventory checked against the run. */
async function setUpRun(store: Promise<SqlResultStore>, options: ProcessOptions, config: Config, range: ResolvedRange, inventoryUri: string, log: Logger): Promise<RunSetup> {
  const results = await store;
  // A run this process creates records the sha256 it was given; a run that exists keeps its own.
  const run = await results.ensureRun({ id: config.runId, trigger: 'process', mode: 'process', inventoryUri, inventorySha256: options.inventorySha256 || undefined, partitionSize: options.partitionSize, createdAt: config.startedAt });
  if (run.inventoryUri !== inventoryUri) log.warn({ recordedInventory: run.inventoryUri, inventory: inventoryUri }, 'The run was recorded over another inventory: its rows are numbered in that one');
  // A range given by rows alone gets a partition of its own, so ranges of one run do not overwrite each other.
  const byRows = options.partitionSize === undefined && options.partition === undefined;
  // An array index past the run's last row (a hand-made submit, a wrong offset) is refused, not a
  // partition `succeeded` over no rows.
  if (!byRows && run.inventoryRows !== undefined && range.start > Math.max(run.inventoryRows, 1)) {
    throw new UsageError('partition_out_of_range', `Partition ${range.partition} starts at row ${range.start}, past the last row (${run.inventoryRows}) of run ${run.id}${run.partitions === undefined ? '' : `, which has ${run.partitions} partitions`}: check the array index and --partition-offset`);
  }
  const partition = byRows ? await results.partitionStartingAt(run.id, range.start) : range.partition;
  const rows = { runId: run.id, partition, startRow: range.start, endRow: recordedEnd(range, run) };
  // A partition refused here (the inventory changed, or cannot be read) ends `failed`, not
  // `submitted`; one an earlier attempt finished stays `succeeded` (this one changed no row).
  const checked = await verifyInventory(options, run, config, { ...range, partition }, results, log).catch(async (err: unknown) => {
    await results.failUnstartedPartition(rows).catch(() => undefined);
    throw err;
  });
  await results.upsertPartitions([{ ...rows, status: 'running' }]);
  return { results, run, checked, partition };
}

/** The run's inventory must be the file the chunk job planned (DESIGN §9): src/inventory/planned.ts. */
async function verifyInventory(options: ProcessOptions, run: RunRecord, config: Config, range: ResolvedRange, results: SqlResultStore, log: Logger): Promise<VerifiedRows | undefined> {
  const sha256 = options.inventorySha256 || run.inventorySha256;
  if (!sha256) return undefined;
  // The ETag counts only beside the sha256 it was recorded with: another --inventory-sha256 is checked by hashing.
  const etag = run.inventorySha256 === sha256 ? run.inventoryEtag : undefined;
  // Where the partition begins, for reading its own rows alone: only under the ETag that pins the bytes indexed.
  const start = etag !== undefined && Number.isFinite(range.end) ? await results.partitionStart(run, range.partition, range.start, recordedEnd(range, run)) : undefined;
  const checked = await readPlannedRows(options.inventory, range, { runId: run.id, sha256, etag, start }, { s3: config.s3 }, log);
  const { proof, bytesRead, etagRefused } = checked;
  log.info({ proof, sha256, etag, bytesRead, fromByte: checked.fromByte, ...(etagRefused ? { etagRefused } : {}) }, 'Inventory checked against the run');
  return checked;
}

/** The last row the partition can have: an array's last partition ends at the run's last row, as the chunk job recorded it. */
function recordedEnd(range: ResolvedRange, run: RunRecord): number {
  return Math.min(finiteEnd(range), run.inventoryRows ?? Number.POSITIVE_INFINITY);
}

function finiteEnd(range: ResolvedRange): number {
  return Number.isFinite(range.end) ? range.end : 2_147_483_647;
}

/** DESIGN §8: repository failures are data; a dead or refusing publish target is not. */
export function exitCodeOf(summary: PartitionSummary, strict: boolean): ExitCode {
  if (summary.aborted) return EXIT.terminated;
  // The machine's disk, not the repositories: another attempt (on Batch, perhaps on an instance
  // whose shared disk is emptier) publishes what did not fit, and a job that keeps failing shows
  // that the disk is too small, where exit 0 would hide it in the report.
  if (summary.workdirFull > 0) return EXIT.infrastructure;
  // A database that failed some checks (a restart, a failover): another attempt checks those
  // repositories again; the rest are `unchanged` by then, or published commits not built twice.
  if (summary.databaseFailed > 0) return EXIT.infrastructure;
  // The same for the limit on open files: the rows it stopped are done by the next attempt.
  if (summary.fdExhausted > 0) return EXIT.infrastructure;
  // A target that refuses every repository (credentials, a certificate, a wrong URL) stopped the
  // partition's builds: a retry meets the same refusal, whatever the rows before it did (a failed
  // build's log refused counts toward it, and would otherwise make this exit 0).
  if (summary.publishRefused !== undefined) return EXIT.usage;
  const attempted = Object.entries(summary.counts)
    .filter(([outcome]) => !['invalid', 'unchanged', 'no_build_tool', 'clone_failed'].includes(outcome))
    .reduce((sum, [, count]) => sum + (count ?? 0), 0);
  const publishFailed = summary.counts.publish_failed ?? 0;
  if (publishFailed > 0 && publishFailed === attempted) {
    const kinds = summary.publishErrorCodes.map(publishFailureKind);
    if (kinds.every((kind) => kind === 'configuration')) return EXIT.usage;
    if (kinds.every((kind) => kind === 'outage')) return EXIT.infrastructure;
  }
  if (strict && Object.entries(summary.counts).some(([outcome, count]) => (count ?? 0) > 0 && isFailure(outcome as Outcome))) return EXIT.strictFailures;
  return EXIT.ok;
}

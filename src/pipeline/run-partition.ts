import pLimit from 'p-limit';
import { publishFailureKind } from '../artifacts/publish-errors.js';
import { FD_EXHAUSTED, MassIngestError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { InventoryEntry, InvalidRow, RepositoryRow } from '../inventory/rows.js';
import { DATABASE_FAILURES, unbuiltOutcome, type Outcome, type RepositoryOutcome } from '../results/outcome.js';
import type { ResultStore } from '../results/result-store.js';
import { NOT_STARTED, NOT_STARTED_WITHOUT_DESCRIPTORS, processRepository, type PipelineDeps } from './process-repository.js';
import { RecordBuffer } from './record-buffer.js';

export interface PartitionDeps extends PipelineDeps {
  readonly results: Pick<ResultStore, 'lastPublishedSha' | 'recordOutcomes'>;
  /** Build commands at a time. */
  readonly concurrency: number;
  /** Repositories that may clone (and publish) beyond the `concurrency` that build. */
  readonly cloneAhead: number;
  readonly log: Logger;
  readonly onOutcome?: (outcome: RepositoryOutcome) => void;
}

export interface PartitionSummary {
  readonly counts: Readonly<Partial<Record<Outcome, number>>>;
  readonly total: number;
  readonly aborted: boolean;
  /** error codes of the publish_failed outcomes, to tell a dead target from a bad password. */
  readonly publishErrorCodes: readonly string[];
  /** Repositories that found the work directory full (`workdir_full`). */
  readonly workdirFull: number;
  /** Repositories the database failed (`aborted` with `db_unreachable` or `db_disk_full`). */
  readonly databaseFailed: number;
  /** Repositories that met the limit on open files (`fd_exhausted`); the rows after them did not start. */
  readonly fdExhausted: number;
  /**
   * The error code of a publish target found to refuse every repository (src/artifacts/refusing-target.ts):
   * the rest of the partition was not built for it.
   */
  readonly publishRefused?: string;
}

const CHECK_AHEAD = 8;
/** The repositories the partition's warning names of those whose build the target already had; the rest say so in their own final line. */
const KEPT_EXAMPLES = 5;
/** One warning for a partition (a forced rerun can drop thousands of builds), not one a repository. */
const ALREADY_PUBLISHED_WARNING =
  'Commit already published at the target: the rebuilt artifacts were not uploaded, the target keeps its own (each such repository\'s "Repository finished" line says alreadyPublished; to publish a commit again, remove its directory at the target first)';

/**
 * Runs the selected rows with bounded concurrency (STYLE 8). Once `signal` fires no new
 * repository starts, running builds are killed, and every row not finished is recorded `aborted`.
 */
export async function runPartition(entries: AsyncIterable<InventoryEntry>, deps: PartitionDeps, signal: AbortSignal): Promise<PartitionSummary> {
  const buffer = new RecordBuffer(deps.results, deps.log);
  const counts: Partial<Record<Outcome, number>> = {};
  const publishErrorCodes: string[] = [];
  let workdirFull = 0;
  let databaseFailed = 0;
  let fdExhausted = 0;
  const kept = { repositories: 0, examples: [] as Array<Pick<RepositoryOutcome, 'origin' | 'path' | 'commitSha' | 'logUrl'> & { row: number }> };
  // Starting more would only fail more: the partition's next attempt (exit 3) does those.
  const holdBack = new AbortController();
  let total = 0;
  const record = (outcome: RepositoryOutcome) => {
    total += 1;
    counts[outcome.outcome] = (counts[outcome.outcome] ?? 0) + 1;
    if (outcome.outcome === 'publish_failed' && outcome.errorCode) publishErrorCodes.push(outcome.errorCode);
    if (outcome.errorCode === 'workdir_full') workdirFull += 1;
    if (outcome.outcome === 'aborted' && DATABASE_FAILURES.has(outcome.errorCode ?? '')) databaseFailed += 1;
    if (outcome.alreadyPublished && kept.repositories++ < KEPT_EXAMPLES) {
      kept.examples.push({ row: outcome.rowNumber, origin: outcome.origin, path: outcome.path, commitSha: outcome.commitSha, logUrl: outcome.logUrl });
    }
    if (outcome.errorCode === FD_EXHAUSTED && fdExhausted++ === 0) {
      deps.log.error('Out of file descriptors: no new repository starts; the ones started finish');
      holdBack.abort();
    }
    buffer.add(outcome);
    deps.onOutcome?.(outcome);
  };

  // Up to CHECK_AHEAD rows are checked (ls-remote, one query) while up to `concurrency +
  // cloneAhead` repositories are cloned, built or published; of these, `concurrency` clone and
  // `concurrency` run their build command at a time. So unchanged repositories never wait for a
  // build, and the next repositories clone while others build (cloning and building use different
  // resources: network and disk against CPU). Clones run in inventory order; builds take their
  // slots in the order their clones end: one long clone never holds a build slot free.
  const check = pLimit(Math.max(deps.concurrency, CHECK_AHEAD));
  const work = pLimit(deps.concurrency + deps.cloneAhead);
  const clone = pLimit(deps.concurrency);
  const build = pLimit(deps.concurrency);
  let previous: Promise<void> = Promise.resolve();
  const window = Math.max((deps.concurrency + deps.cloneAhead) * 2, CHECK_AHEAD * 2);
  const inFlight = new Set<Promise<void>>();
  let unreadable: { error: unknown } | undefined;
  try {
    for await (const entry of entries) {
      if (entry.kind === 'invalid') {
        record(invalidOutcome(entry.row, deps));
        continue;
      }
      if (signal.aborted) {
        record(abortedOutcome(entry.row, deps));
        continue;
      }
      if (holdBack.signal.aborted) {
        record(unbuiltOutcome(entry.row, NOT_STARTED_WITHOUT_DESCRIPTORS, deps.settings));
        continue;
      }
      let taken = () => undefined as void;
      const turn = { previous, taken: () => taken() };
      previous = new Promise<void>((resolve) => (taken = resolve));
      const task = processRepository(entry.row, { ...deps, slots: { check, work, clone, build, turn }, holdBack: holdBack.signal }, signal, deps.log).then(record);
      const tracked = task.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      // Read ahead only a little: the inventory stays a stream whatever the range.
      while (inFlight.size >= window) await Promise.race(inFlight);
    }
  } catch (error) {
    // The inventory cannot be read further (a malformed row, a dropped connection): the rows read
    // before it are finished and recorded, then the error goes up. Nothing done is lost.
    // (An open range read from its private copy checks the copy's sha256 once its rows end.)
    if (error instanceof MassIngestError && error.code === 'inventory_changed') deps.log.error({ rowsBegun: inFlight.size }, 'Inventory changed under its rows: finishing the rows already begun');
    else deps.log.error({ rowsBegun: inFlight.size }, 'Inventory unreadable: finishing the rows already begun');
    unreadable = { error };
  }
  await Promise.all(inFlight);
  // Said of the rows done, whatever stops the partition (an unreadable inventory, the database).
  if (kept.repositories > 0) deps.log.warn(kept, ALREADY_PUBLISHED_WARNING);
  await buffer.close();
  if (unreadable) throw unreadable.error;
  return { counts, total, aborted: signal.aborted, publishErrorCodes, workdirFull, databaseFailed, fdExhausted, publishRefused: refusedBy(deps) };
}

/** The layout's lasting refusal, if it has one; a target skipped for not answering (an outage) is not one. */
function refusedBy(deps: PipelineDeps): string | undefined {
  const down = deps.layout.down?.();
  return down && publishFailureKind(down.code) === 'configuration' ? down.code : undefined;
}

function invalidOutcome(row: InvalidRow, deps: PartitionDeps): RepositoryOutcome {
  deps.log.warn({ row: row.rowNumber, errorCode: row.errorCode, error: row.errorMessage }, 'Row is invalid');
  return unbuiltOutcome(row, { outcome: 'invalid', errorCode: row.errorCode, errorMessage: row.errorMessage }, deps.settings);
}

function abortedOutcome(row: RepositoryRow, deps: PipelineDeps): RepositoryOutcome {
  return unbuiltOutcome(row, NOT_STARTED, deps.settings);
}

import type { Scrubber } from '../logging/scrub.js';

/** Every repository ends in exactly one of these (DESIGN §5). */
export const OUTCOMES = [
  'published',
  'unchanged',
  'invalid',
  'clone_failed',
  'no_build_tool',
  'build_failed',
  'timed_out',
  'publish_failed',
  'aborted',
  'crashed',
] as const;

export type Outcome = (typeof OUTCOMES)[number];

/** What `--strict` does not count as failed (DESIGN §2). */
export const SUCCESSFUL_OUTCOMES: ReadonlySet<Outcome> = new Set(['published', 'unchanged', 'no_build_tool']);

/** Outcomes whose `error_message` is the tail of the build's log (src/build/run-build.ts). */
export const BUILD_LOG_OUTCOMES: ReadonlySet<string> = new Set<Outcome>(['build_failed', 'timed_out']);
/**
 * A line that says what went wrong in a build's output: a compiler's or tool's error line
 * (`file:3: error:`, `error[E0425]:`, `[ERROR]`, `npm ERR!`, go's `file:5:2: undefined:`). The
 * report's excerpt starts at the first; the `Repository finished` line quotes it.
 */
export const BUILD_ERROR_LINE = /^\s*(\[ERROR\]|ERROR\b|error(\[\w+\])?:|fatal( error)?:|npm ERR!)|:\s*(fatal )?error\b|\berror TS\d+|^\S+:\d+(:\d+)?: (undefined|cannot|error)\b/i;
/** The most of a build log's tail that `error_message` holds (DESIGN §7: 4 KiB). */
export const LOG_TAIL_BYTES = 4096;

/**
 * The error codes of a repository the database failed (src/results/database.ts): its check could not
 * be answered, or could not confirm the work begun before it answered. Neither the repository's
 * failure nor a bug: it is `aborted` (its count of failures stays), and the partition exits 3 so
 * that Batch tries it again (DESIGN §8).
 */
export const DATABASE_FAILURES: ReadonlySet<string> = new Set(['db_unreachable', 'db_disk_full']);

export function isFailure(outcome: Outcome): boolean {
  return !SUCCESSFUL_OUTCOMES.has(outcome);
}

export interface RepositoryOutcome {
  readonly runId: string;
  readonly rowNumber: number;
  readonly origin: string | undefined;
  readonly path: string | undefined;
  readonly branch: string | undefined;
  readonly cloneUrl: string | undefined;
  readonly outcome: Outcome;
  readonly commitSha: string | undefined;
  readonly builder: string | undefined;
  readonly artifacts: ReadonlyArray<{ name: string; size: number; sha256: string }> | undefined;
  readonly durationMs: number;
  readonly errorCode: string | undefined;
  readonly errorMessage: string | undefined;
  readonly logUrl: string | undefined;
  readonly attempt: number;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  /**
   * What this build made was dropped: the target had the commit already, and keeps its artifacts
   * (DESIGN §6; the row records the target's). Logged, not recorded.
   */
  readonly alreadyPublished?: true;
}

/** The run a row is recorded for, and how its text is cleaned of secrets. */
export interface RecordingFor {
  readonly runId: string;
  readonly attempt: number;
  readonly scrub: Scrubber;
}

/**
 * The outcome of a row no pipeline worked on (invalid, or stopped before it began): what the
 * inventory says of it, now as its time, nothing built.
 */
export function unbuiltOutcome(
  row: { readonly rowNumber: number; readonly origin: string | undefined; readonly path: string | undefined; readonly branch: string | undefined; readonly cloneUrl: string | undefined },
  ending: { readonly outcome: Outcome; readonly errorCode: string; readonly errorMessage: string },
  run: RecordingFor,
): RepositoryOutcome {
  const now = new Date();
  return {
    runId: run.runId,
    rowNumber: row.rowNumber,
    origin: row.origin,
    path: row.path,
    branch: row.branch,
    cloneUrl: row.cloneUrl === undefined ? undefined : run.scrub(row.cloneUrl),
    outcome: ending.outcome,
    commitSha: undefined,
    builder: undefined,
    artifacts: undefined,
    durationMs: 0,
    errorCode: ending.errorCode,
    errorMessage: run.scrub(ending.errorMessage),
    logUrl: undefined,
    attempt: run.attempt,
    startedAt: now,
    finishedAt: now,
  };
}

import type { Database } from './database.js';
import { OUTCOMES, SUCCESSFUL_OUTCOMES, type RepositoryOutcome } from './outcome.js';

/**
 * How SqlResultStore.recordOutcomes writes (issue 4, goal d: 100,000 outcomes in ≤ 3 s on
 * PostgreSQL and on PGlite; bench/lib/recording.js measures it):
 * - one statement per 5,000 outcomes writes both tables: the outcomes travel once, as one JSON
 *   parameter (JSON.stringify is the cheapest encoder in node; PostgreSQL's array literals cost
 *   the client ~4× more), and PostgreSQL decodes them once. The decoded rows (read by both
 *   INSERTs) stay within the default work_mem of 4 MB: 10,000 spilled them to a temporary file,
 *   ~40 MB written and read back per 100,000 outcomes, and took PGlite's host ~45 MiB more memory;
 * - two statements are in flight, so the next chunk is encoded and sent while one is written (on
 *   PostgreSQL both are written at once). A repository is written by one chunk only (its latest
 *   outcome), so chunks do not depend on each other;
 * - keys are expected to be new: a plain INSERT costs half an INSERT … ON CONFLICT on PGlite.
 *   The first unique violation on a table makes this recorder upsert that table from then on
 *   (a rerun of a run, repositories recorded by an earlier run), after writing that chunk again;
 * - a batch written again (RecordBuffer retries one whose statement failed) counts nothing twice:
 *   an outcome already recorded leaves `repositories` as it is.
 */
const CHUNK = 5_000;
const IN_FLIGHT = 2;
const FAILED = OUTCOMES.filter((outcome) => !SUCCESSFUL_OUTCOMES.has(outcome) && outcome !== 'aborted');
const UNIQUE_VIOLATION = '23505';
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

interface Upserts {
  readonly results: boolean;
  readonly repositories: boolean;
}

export class OutcomeRecorder {
  private upserts: Upserts = { results: false, repositories: false };

  constructor(private readonly db: Pick<Database, 'query'>) {}

  async record(outcomes: readonly RepositoryOutcome[]): Promise<void> {
    const { rows, latest } = planRows(outcomes);
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (!failed && next < rows.length) {
        const start = next;
        next += CHUNK;
        try {
          await this.writeChunk(encodeChunk(rows, latest, start, Math.min(start + CHUNK, rows.length)));
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    };
    // allSettled: a failed chunk must not return while the other is still being written.
    const settled = await Promise.allSettled(Array.from({ length: IN_FLIGHT }, worker));
    const rejected = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (rejected) throw rejected.reason;
  }

  private async writeChunk(chunk: EncodedChunk): Promise<void> {
    const upserts = this.upserts;
    try {
      await this.db.query(recordStatement(upserts), [chunk.json, chunk.runIds, FAILED]);
    } catch (err) {
      const next = upsertsAfter(upserts, err);
      if (next === undefined) throw err;
      this.upserts = { results: this.upserts.results || next.results, repositories: this.upserts.repositories || next.repositories };
      await this.writeChunk(chunk);
    }
  }
}

/** The upserts that a unique violation calls for, or undefined when upserting cannot help. */
function upsertsAfter(tried: Upserts, err: unknown): Upserts | undefined {
  const { code, constraint } = err as { code?: string; constraint?: string };
  if (code !== UNIQUE_VIOLATION) return undefined;
  // The constraint names the table; without one (another driver), upsert both.
  const next = {
    results: tried.results || constraint !== 'repositories_pkey',
    repositories: tried.repositories || constraint !== 'repository_results_pkey',
  };
  return next.results === tried.results && next.repositories === tried.repositories ? undefined : next;
}

/**
 * The outcomes to write, in order: the last one of each (run, row) (a batch never holds two
 * today, but chunks are written concurrently), and for each repository the position of its last
 * outcome, which alone updates `repositories` (invalid rows and rows without origin/path do not).
 */
function planRows(outcomes: readonly RepositoryOutcome[]): { rows: readonly RepositoryOutcome[]; latest: boolean[] } {
  // Nested maps keyed by values the outcomes already hold: 5× cheaper than joining them into one key.
  const lastOfRow = new Map<string, Map<number, number>>();
  outcomes.forEach((o, index) => mapIn(lastOfRow, o.runId).set(o.rowNumber, index));
  const distinct = [...lastOfRow.values()].reduce((sum, rows) => sum + rows.size, 0);
  const rows = distinct === outcomes.length ? outcomes : outcomes.filter((o, index) => lastOfRow.get(o.runId)?.get(o.rowNumber) === index);
  const lastOfRepository = new Map<string, Map<string, number>>();
  rows.forEach((o, index) => {
    if (o.origin && o.path && o.outcome !== 'invalid') mapIn(lastOfRepository, `${o.origin}\u0000${o.branch ?? ''}`).set(o.path, index);
  });
  const latest = new Array<boolean>(rows.length).fill(false);
  for (const repositories of lastOfRepository.values()) for (const index of repositories.values()) latest[index] = true;
  return { rows, latest };
}

function mapIn<K, V>(outer: Map<string, Map<K, V>>, key: string): Map<K, V> {
  let inner = outer.get(key);
  if (inner === undefined) outer.set(key, (inner = new Map<K, V>()));
  return inner;
}

interface EncodedChunk {
  readonly json: string;
  readonly runIds: string[];
}

/** One JSON array per outcome, in the order of INPUT's `e->n` below; undefined becomes null. */
function encodeChunk(rows: readonly RepositoryOutcome[], latest: readonly boolean[], start: number, end: number): EncodedChunk {
  const encoded: unknown[] = [];
  const runIds = new Set<string>();
  for (let index = start; index < end; index++) {
    const o = rows[index] as RepositoryOutcome;
    runIds.add(o.runId);
    encoded.push([
      o.runId, o.rowNumber, o.origin, o.path, o.branch, o.cloneUrl, o.outcome, o.commitSha, o.builder, o.artifacts,
      Math.round(o.durationMs), o.errorCode, cleanText(o.errorMessage), o.logUrl, o.attempt,
      o.startedAt.getTime(), o.finishedAt.getTime(), latest[index],
    ]);
  }
  return { json: JSON.stringify(encoded), runIds: [...runIds] };
}

/**
 * A build's output may hold what PostgreSQL text cannot (NUL) or what jsonb rejects (a lone
 * surrogate half, from text cut in the middle of a character).
 */
function cleanText(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const withoutNul = text.includes('\u0000') ? text.replaceAll('\u0000', '') : text;
  return withoutNul.replace(LONE_SURROGATE, '\uFFFD');
}

/**
 * Timestamps travel as epoch milliseconds: to_timestamp is exact to the microsecond and cheaper than
 * parsing ISO text. They are read as bigint, then made float8: the same value (integers below 2^53
 * are exact) without float8's input function, whose strtod cost PGlite ~0.2 s per 100,000 outcomes.
 */
const INPUT = `input AS (
    SELECT e->>0 AS run_id, (e->>1)::int AS row_number, e->>2 AS origin, e->>3 AS path, e->>4 AS branch,
      e->>5 AS clone_url, e->>6 AS outcome, e->>7 AS commit_sha, e->>8 AS builder, NULLIF(e->9, 'null') AS artifacts,
      (e->>10)::int AS duration_ms, e->>11 AS error_code, e->>12 AS error_message, e->>13 AS log_url, (e->>14)::int AS attempt,
      to_timestamp((e->>15)::bigint::float8 / 1000) AS started_at, to_timestamp((e->>16)::bigint::float8 / 1000) AS finished_at,
      (e->>17)::boolean AS latest
    FROM jsonb_array_elements($1::jsonb) AS e
  )`;

const RESULT_COLUMNS = `run_id, row_number, origin, path, branch, clone_url, outcome, commit_sha, builder, artifacts,
    duration_ms, error_code, error_message, log_url, attempt, started_at, finished_at`;

/**
 * Replaces the foreign key to ingest_runs (a trigger query per row: a third of the insert on
 * PGlite): a run that ensureRun never recorded has no `runs` row, its run_id becomes NULL and the
 * NOT NULL constraint rejects the whole statement.
 */
const RESULTS = `results AS (
    INSERT INTO repository_results (${RESULT_COLUMNS})
    SELECT runs.id, row_number, origin, path, branch, clone_url, outcome, commit_sha, builder, artifacts,
      duration_ms, error_code, error_message, log_url, attempt, started_at, finished_at
    FROM input LEFT JOIN (SELECT id FROM ingest_runs WHERE id = ANY($2::text[])) AS runs ON runs.id = input.run_id`;

/**
 * A retried attempt (Batch, after a lost Spot host or an exit 3) finds what an earlier attempt
 * of the same run published `unchanged`: the row keeps `published`, its artifacts and log, so the
 * run's report shows what the run did.
 */
const RESULTS_UPSERT = `
    ON CONFLICT (run_id, row_number) DO UPDATE SET
      origin = EXCLUDED.origin, path = EXCLUDED.path, branch = EXCLUDED.branch, clone_url = EXCLUDED.clone_url,
      outcome = EXCLUDED.outcome, commit_sha = EXCLUDED.commit_sha, builder = EXCLUDED.builder,
      artifacts = EXCLUDED.artifacts, duration_ms = EXCLUDED.duration_ms, error_code = EXCLUDED.error_code,
      error_message = EXCLUDED.error_message, log_url = EXCLUDED.log_url, attempt = EXCLUDED.attempt,
      started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at
    WHERE NOT (repository_results.outcome = 'published' AND EXCLUDED.outcome = 'unchanged'
      AND repository_results.commit_sha = EXCLUDED.commit_sha)`;

/**
 * Published and unchanged set last_published_sha; a failure counts one more consecutive failure,
 * aborted keeps the count, anything else resets it.
 */
const REPOSITORIES = `INSERT INTO repositories AS r (origin, path, branch, clone_url, last_commit_sha, last_published_sha,
    last_outcome, consecutive_failures, updated_at)
  SELECT origin, path, COALESCE(branch, ''), clone_url, commit_sha,
    CASE WHEN outcome IN ('published', 'unchanged') THEN commit_sha END, outcome,
    CASE WHEN outcome = ANY($3::text[]) THEN 1 ELSE 0 END, now()
  FROM input WHERE latest`;

/**
 * An outcome already recorded is not counted again: a batch is written again after one of its
 * statements failed (RecordBuffer), and a statement whose answer was lost may have been committed.
 * The repository_results this reads are those before the statement (its INSERT above is not seen).
 */
const REPOSITORIES_UPSERT = `
    AND NOT EXISTS (SELECT 1 FROM repository_results AS done
      WHERE done.run_id = input.run_id AND done.row_number = input.row_number AND done.outcome = input.outcome
        AND done.attempt = input.attempt AND done.finished_at = input.finished_at)
  ON CONFLICT (origin, path, branch) DO UPDATE SET
    clone_url = EXCLUDED.clone_url,
    last_commit_sha = COALESCE(EXCLUDED.last_commit_sha, r.last_commit_sha),
    last_published_sha = COALESCE(EXCLUDED.last_published_sha, r.last_published_sha),
    last_outcome = EXCLUDED.last_outcome,
    consecutive_failures = CASE WHEN EXCLUDED.last_outcome = ANY($3::text[]) THEN r.consecutive_failures + 1
                                WHEN EXCLUDED.last_outcome = 'aborted' THEN r.consecutive_failures ELSE 0 END,
    updated_at = now()`;

function recordStatement(upserts: Upserts): string {
  return `WITH ${INPUT},
  ${RESULTS}${upserts.results ? RESULTS_UPSERT : ''}
  )
  ${REPOSITORIES}${upserts.repositories ? REPOSITORIES_UPSERT : ''}`;
}

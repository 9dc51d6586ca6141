import { UsageError } from '../errors.js';
import type { Database } from './database.js';
import { SUCCESSFUL_OUTCOMES, OUTCOMES, type Outcome } from './outcome.js';

/** One query layer for every report format (table, csv, json, html). Aggregates are computed in SQL. */
export interface RunInfo {
  readonly id: string;
  readonly trigger: string;
  readonly mode: string;
  readonly inventoryUri: string;
  readonly inventorySha256: string | null;
  readonly inventoryRows: number | null;
  readonly partitionSize: number | null;
  readonly partitions: number | null;
  readonly createdAt: string;
  readonly finishedAt: string | null;
  /** A run of `chunk --only`: the run whose rows it reran, and which rows. */
  readonly rerunOf?: { readonly runId: string; readonly rows: string };
}

export interface ReportRepository {
  readonly rowNumber: number;
  readonly origin: string | null;
  readonly path: string | null;
  readonly branch: string | null;
  readonly cloneUrl: string | null;
  readonly outcome: Outcome;
  readonly commitSha: string | null;
  readonly builder: string | null;
  readonly durationMs: number | null;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  readonly logUrl: string | null;
}

export const FAILED_OUTCOMES: readonly Outcome[] = OUTCOMES.filter((outcome) => !SUCCESSFUL_OUTCOMES.has(outcome));

export async function findRun(db: Database, run: string): Promise<RunInfo> {
  const { rows } =
    run === 'last'
      ? await db.query<Record<string, unknown>>('SELECT * FROM ingest_runs ORDER BY created_at DESC, id DESC LIMIT 1')
      : await db.query<Record<string, unknown>>('SELECT * FROM ingest_runs WHERE id = $1', [run]);
  const row = rows[0];
  if (!row) throw new UsageError('run_not_found', run === 'last' ? 'No run is recorded yet: run `mass-ingest process` first' : `Run "${run}" is not recorded in this database`);
  return {
    id: String(row.id),
    trigger: String(row.trigger),
    mode: String(row.mode),
    inventoryUri: String(row.inventory_uri),
    inventorySha256: (row.inventory_sha256 as string | null) ?? null,
    inventoryRows: (row.inventory_rows as number | null) ?? null,
    partitionSize: (row.partition_size as number | null) ?? null,
    partitions: (row.partitions as number | null) ?? null,
    createdAt: toIso(row.created_at),
    finishedAt: row.finished_at ? toIso(row.finished_at) : null,
    ...(row.rerun_of ? { rerunOf: { runId: String(row.rerun_of), rows: String(row.rerun_rows ?? 'failed') } } : {}),
  };
}

export async function outcomeCounts(db: Database, runId: string): Promise<Partial<Record<Outcome, number>>> {
  const { rows } = await db.query<{ outcome: Outcome; n: number | string }>(
    'SELECT outcome, count(*)::int AS n FROM repository_results WHERE run_id = $1 GROUP BY outcome ORDER BY outcome',
    [runId],
  );
  return Object.fromEntries(rows.map((row) => [row.outcome, Number(row.n)]));
}

/** `afterRow` and `limit` page through a big run in row order (report streams csv and json this way). */
export async function repositories(db: Database, runId: string, options: { failedOnly?: boolean; afterRow?: number; limit?: number } = {}): Promise<ReportRepository[]> {
  const params: unknown[] = [runId];
  const param = (value: unknown) => `$${params.push(value)}`;
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT row_number, origin, path, branch, clone_url, outcome, commit_sha, builder, duration_ms, error_code, error_message, log_url
     FROM repository_results WHERE run_id = $1 ${options.failedOnly ? `AND outcome = ANY(${param(FAILED_OUTCOMES)}::text[])` : ''}
     ${options.afterRow === undefined ? '' : `AND row_number > ${param(options.afterRow)}::int`}
     ORDER BY row_number ${options.limit === undefined ? '' : `LIMIT ${param(options.limit)}::int`}`,
    params,
  );
  return rows.map((row) => ({
    rowNumber: Number(row.row_number),
    origin: (row.origin as string | null) ?? null,
    path: (row.path as string | null) ?? null,
    branch: (row.branch as string | null) ?? null,
    cloneUrl: (row.clone_url as string | null) ?? null,
    outcome: row.outcome as Outcome,
    commitSha: (row.commit_sha as string | null) ?? null,
    builder: (row.builder as string | null) ?? null,
    durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
    errorCode: (row.error_code as string | null) ?? null,
    errorMessage: (row.error_message as string | null) ?? null,
    logUrl: (row.log_url as string | null) ?? null,
  }));
}

function toIso(value: unknown): string {
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();
}

import { UsageError } from '../errors.js';
import type { Database } from '../results/database.js';
import type { PlannerSnapshot } from './planner.js';
import type { DiscoveredRepository, StreamSource, StreamState } from './types.js';

/**
 * Discovery progress in the database (migrations/1764222100000_discovery.sql). Every answered
 * request is saved by ONE statement — its repositories, the streams' cursors and the planner —
 * so an interruption at any point resumes without fetching an answered page again.
 */
export interface SavedDiscovery {
  readonly id: string;
  readonly planner: PlannerSnapshot | null;
  readonly requests: number;
  readonly streams: StreamState[];
  readonly repositories: number;
}

export interface Checkpoint {
  readonly planner: PlannerSnapshot | undefined;
  readonly streams: readonly StreamState[];
  readonly repositories: readonly DiscoveredRepository[];
}

const SAVE = `
WITH run AS (
  UPDATE discovery_runs SET planner = COALESCE($2::jsonb, planner), requests = requests + $5, updated_at = now()
  WHERE id = $1 AND ($6::text IS NULL OR owner = $6) RETURNING id
), streams AS (
  INSERT INTO discovery_streams (discovery_id, key, position, source, expected, goal, fetched, cursor, exhausted)
  SELECT $1, s.key, s.position, s.source, s.expected, s.goal, s.fetched, s.cursor, s.exhausted
  FROM jsonb_to_recordset($3::jsonb) AS s(key text, position integer, source jsonb, expected integer, goal integer, fetched integer, cursor text, exhausted boolean)
  WHERE EXISTS (SELECT 1 FROM run)
  ON CONFLICT (discovery_id, key) DO UPDATE SET expected = EXCLUDED.expected, goal = EXCLUDED.goal, fetched = EXCLUDED.fetched, cursor = EXCLUDED.cursor, exhausted = EXCLUDED.exhausted
  RETURNING 1
), items AS (
  INSERT INTO discovery_items (discovery_id, origin, path, branch, clone_url, stars, pushed_at)
  SELECT $1, i.origin, i.path, i.branch, i."cloneUrl", i.stars, i."pushedAt"
  FROM jsonb_to_recordset($4::jsonb) AS i(origin text, path text, branch text, "cloneUrl" text, stars integer, "pushedAt" timestamptz)
  WHERE EXISTS (SELECT 1 FROM run)
  ON CONFLICT (discovery_id, origin, path) DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM items)::int AS inserted, (SELECT count(*) FROM run)::int AS runs`;

/**
 * The end of a discovery, also one statement: repositories upserted with their stars (branch =
 * default branch), one star_history row per repository in the CSV, the run marked finished and
 * its working rows removed. All of it only while the run is still the owner's (`owned`, as
 * assertOwned checks): the row lock holds off a take-over until the statement commits, and one
 * that committed first leaves `owned` empty and the statement writing nothing.
 */
const FINISH = `
WITH owned AS MATERIALIZED (
  SELECT id FROM discovery_runs WHERE id = $1 AND ($4::text IS NULL OR (owner = $4 AND status = 'running')) FOR UPDATE
), chosen AS MATERIALIZED (
  SELECT origin, path, branch, clone_url, stars FROM discovery_items WHERE discovery_id = $1 AND EXISTS (SELECT 1 FROM owned)
  ORDER BY stars DESC, origin, path LIMIT $2
), upserted AS (
  INSERT INTO repositories (origin, path, branch, clone_url, stars, updated_at)
  SELECT origin, path, branch, clone_url, stars, $3::timestamptz FROM chosen
  ON CONFLICT (origin, path, branch) DO UPDATE SET clone_url = EXCLUDED.clone_url, stars = EXCLUDED.stars, updated_at = EXCLUDED.updated_at
  RETURNING 1
), history AS (
  INSERT INTO star_history (origin, path, observed_at, stars) SELECT origin, path, $3::timestamptz, stars FROM chosen RETURNING 1
), dropped_items AS (
  DELETE FROM discovery_items WHERE discovery_id = $1 AND EXISTS (SELECT 1 FROM owned) RETURNING 1
), dropped_streams AS (
  DELETE FROM discovery_streams WHERE discovery_id = $1 AND EXISTS (SELECT 1 FROM owned) RETURNING 1
), finished AS (
  UPDATE discovery_runs SET status = 'finished', planner = NULL, finished_at = $3::timestamptz, updated_at = $3::timestamptz,
    repositories = (SELECT count(*) FROM chosen) WHERE id IN (SELECT id FROM owned) RETURNING 1
)
SELECT (SELECT count(*) FROM history)::int AS recorded, (SELECT count(*) FROM owned)::int AS runs`;

interface QueuedCheckpoint {
  readonly planner: string | null;
  readonly streams: StreamState[];
  readonly repositories: readonly DiscoveredRepository[];
  readonly requests: number;
  readonly done: { resolve(): void; reject(err: unknown): void };
}

/** Checkpoints that queued up while one was written go together (one statement, still atomic). */
const MAX_BATCH = 32;

export class CheckpointStore {
  private queue: QueuedCheckpoint[] = [];
  private writing: Promise<void> | undefined;
  /**
   * Set by the first write that failed: later checkpoints are refused with it, since one written
   * after it would move a stream's cursor past the pages that failed, whose repositories a
   * resume would then never fetch again.
   */
  private failed: { readonly err: unknown } | undefined;
  /** Repositories saved for the current discovery (set on resume, grown by every write). */
  repositoryCount = 0;

  /**
   * `owner`: the process that claimed the discovery (discovery-claim.ts). A checkpoint is written
   * only while the run is still this process's: one that another process took over (after this
   * one's heartbeat stopped) is not written into.
   */
  constructor(
    private readonly db: Database,
    private readonly owner: string | null = null,
  ) {}

  /** What an interrupted discovery saved (its id from claimDiscovery). */
  async load(id: string): Promise<SavedDiscovery | undefined> {
    const { rows } = await this.db.query<{ id: string; planner: PlannerSnapshot | null; requests: number }>("SELECT id, planner, requests FROM discovery_runs WHERE id = $1 AND status = 'running'", [id]);
    const run = rows[0];
    if (!run) return undefined;
    const streams = await this.db.query<{ key: string; position: number; source: StreamSource; expected: number; goal: number; fetched: number; cursor: string | null; exhausted: boolean }>(
      'SELECT key, position, source, expected, goal, fetched, cursor, exhausted FROM discovery_streams WHERE discovery_id = $1 ORDER BY position',
      [run.id],
    );
    const items = await this.db.query<{ count: number }>('SELECT count(*)::int AS count FROM discovery_items WHERE discovery_id = $1', [run.id]);
    this.repositoryCount = items.rows[0]?.count ?? 0;
    return { id: run.id, planner: parseJson(run.planner), requests: run.requests, streams: streams.rows.map((row) => ({ ...row, source: parseJson(row.source) as StreamSource })), repositories: items.rows[0]?.count ?? 0 };
  }

  /**
   * Saves one answered request (`requests` 1) or a planning step (0). The state is copied now
   * and written in call order, so a later checkpoint never lands under an earlier one (nor after
   * one that failed).
   */
  save(id: string, checkpoint: Checkpoint, requests: 0 | 1 = 1): Promise<void> {
    // After a failed write, refused at once (as a checkpoint queued behind it is, in drain).
    if (this.failed) return Promise.reject(this.failed.err);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({
        planner: checkpoint.planner === undefined ? null : JSON.stringify(checkpoint.planner),
        streams: checkpoint.streams.map((stream) => ({ ...stream })),
        repositories: checkpoint.repositories,
        requests,
        done: { resolve, reject },
      });
      if (!this.writing) this.startDrain(id);
    });
  }

  /** Resolves once every checkpoint asked for so far is written (or failed). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /**
   * `writing` is cleared once the drain has ended, never by the drain itself: one that ends without
   * waiting (nothing written) would clear it before it was set, and `flush` would wait on it for
   * ever. A checkpoint asked for meanwhile starts the next drain.
   */
  private startDrain(id: string): void {
    const current: Promise<void> = this.drain(id).finally(() => {
      if (this.writing !== current) return;
      this.writing = undefined;
      if (this.queue.length > 0) this.startDrain(id);
    });
    this.writing = current;
  }

  private async drain(id: string): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      const streams = new Map(batch.flatMap((entry) => entry.streams.map((stream) => [stream.key, stream] as const)));
      const planner = batch.map((entry) => entry.planner).filter((value) => value !== null).at(-1) ?? null;
      const params = [id, planner, JSON.stringify([...streams.values()]), JSON.stringify(batch.flatMap((entry) => entry.repositories)), batch.reduce((sum, entry) => sum + entry.requests, 0), this.owner];
      try {
        if (this.failed) throw this.failed.err;
        const { rows } = await this.db.query<{ inserted: number; runs: number }>(SAVE, params);
        if (rows[0]?.runs === 0) throw takenOver(id);
        this.repositoryCount += rows[0]?.inserted ?? 0;
        for (const entry of batch) entry.done.resolve();
      } catch (err) {
        this.failed ??= { err };
        for (const entry of batch) entry.done.reject(err);
      }
    }
  }

  /** The repositories found, most stars first, a page at a time (keyset: 100,000 rows never sit in memory at once). */
  async *repositories(id: string, limit: number | null, pageSize = 5000): AsyncGenerator<DiscoveredRepository[]> {
    let after: { stars: number; origin: string; path: string } | undefined;
    let left = limit ?? Number.POSITIVE_INFINITY;
    while (left > 0) {
      const { rows } = await this.db.query<{ origin: string; path: string; branch: string; clone_url: string; stars: number; pushed_at: string | Date | null }>(
        `SELECT origin, path, branch, clone_url, stars, pushed_at FROM discovery_items
         WHERE discovery_id = $1 AND ($2::int IS NULL OR (-stars, origin, path) > (-$2::int, $3::text, $4::text))
         ORDER BY -stars, origin, path LIMIT $5`,
        [id, after?.stars ?? null, after?.origin ?? '', after?.path ?? '', Math.min(pageSize, left)],
      );
      if (rows.length === 0) return;
      left -= rows.length;
      const last = rows[rows.length - 1] as (typeof rows)[number];
      after = { stars: last.stars, origin: last.origin, path: last.path };
      yield rows.map((row) => ({ cloneUrl: row.clone_url, branch: row.branch, origin: row.origin, path: row.path, stars: row.stars, pushedAt: isoOrNull(row.pushed_at) }));
      if (rows.length < pageSize) return;
    }
  }

  /** Before the CSV and the end: a discovery another process took over is not finished from here. */
  async assertOwned(id: string): Promise<void> {
    if (this.owner === null) return;
    const { rows } = await this.db.query("UPDATE discovery_runs SET updated_at = now() WHERE id = $1 AND owner = $2 AND status = 'running' RETURNING id", [id, this.owner]);
    if (rows.length === 0) throw takenOver(id);
  }

  /** The end (FINISH); a discovery another process took over since assertOwned is left to it, untouched. */
  async finish(id: string, limit: number | null, observedAt: Date): Promise<number> {
    const { rows } = await this.db.query<{ recorded: number; runs: number }>(FINISH, [id, limit, observedAt.toISOString(), this.owner]);
    if (this.owner !== null && rows[0]?.runs === 0) throw takenOver(id);
    return rows[0]?.recorded ?? 0;
  }
}

function takenOver(id: string): UsageError {
  return new UsageError('discover_taken_over', `Discovery ${id} is no longer this process's: its heartbeat stopped long enough for another discover to resume or replace it, which carries on; this one stops without writing`);
}

function parseJson<T>(value: T | string | null): T | null {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}

function isoOrNull(value: string | Date | null): string | null {
  if (value === null) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString().replace(/\.000Z$/, 'Z');
}

import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/discovery/checkpoint-store.js';
import type { DiscoveredRepository, StreamState } from '../../src/discovery/types.js';
import { openDatabase, type Database } from '../../src/results/database.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { waitFor } from '../harness/wait.js';

const OWNER = 'host-a/4026531836:100';

function stream(fetched: number, cursor: string | null): StreamState {
  return { key: 'owner:organization:acme', position: 0, source: { kind: 'owner', ownerType: 'organization', login: 'acme', filter: { includeForks: false, includeArchived: false } }, expected: 300, goal: 300, fetched, cursor, exhausted: false };
}

function repos(...names: string[]): DiscoveredRepository[] {
  return names.map((name, index) => ({ cloneUrl: `https://github.com/acme/${name}.git`, branch: 'main', origin: 'github.com', path: `acme/${name}`, stars: 10 - index, pushedAt: null }));
}

/** The database, with the checkpoint writes (the SAVE statement) refused while `refuse` is true. */
function refusing(database: Database) {
  const control = { refuse: false, refused: 0 };
  const db: Database = {
    kind: database.kind,
    query: async (text, params) => {
      if (control.refuse && text.includes('discovery_items (discovery_id')) {
        control.refused += 1;
        throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
      }
      return database.query(text, params);
    },
    session: (work) => database.session(work),
    close: () => database.close(),
  };
  return { db, control };
}

describe('CheckpointStore', () => {
  let dir: TempDir;
  let database: Database;
  let sequence = 0;
  let id: string;

  beforeAll(async () => {
    dir = await createTempDir('checkpoint-store-');
    database = await openDatabase({ databaseUrl: undefined, dataDir: path.join(dir.path, 'db') }, pino({ level: 'silent' }));
  });

  afterAll(async () => {
    await database?.close();
    await dir?.remove();
  });

  beforeEach(async () => {
    id = `discovery-${(sequence += 1)}`;
    await database.query("INSERT INTO discovery_runs (id, fingerprint, arguments, status, owner) VALUES ($1, $2, '{}'::jsonb, 'running', $3)", [id, `fp-${id}`, OWNER]);
  });

  async function savedPaths(store: CheckpointStore): Promise<string[]> {
    const out: string[] = [];
    for await (const page of store.repositories(id, null)) out.push(...page.map((repo) => repo.path));
    return out.sort();
  }

  it('saves pages in call order, so a resume continues after the last page with every repository of the pages before', async () => {
    const store = new CheckpointStore(database, OWNER);

    await Promise.all([
      store.save(id, { planner: undefined, streams: [stream(2, 'c1')], repositories: repos('a', 'b') }),
      store.save(id, { planner: undefined, streams: [stream(4, 'c2')], repositories: repos('c', 'd') }),
    ]);
    const saved = await new CheckpointStore(database, OWNER).load(id);

    expect(saved).toMatchObject({ requests: 2, repositories: 4, streams: [{ key: 'owner:organization:acme', fetched: 4, cursor: 'c2' }] });
    expect(await savedPaths(store)).toEqual(['acme/a', 'acme/b', 'acme/c', 'acme/d']);
  });

  it('writes nothing after a checkpoint that failed: a later cursor saved without that page would lose its repositories on resume', async () => {
    const { db, control } = refusing(database);
    const store = new CheckpointStore(db, OWNER);

    control.refuse = true;
    const first = store.save(id, { planner: undefined, streams: [stream(2, 'c1')], repositories: repos('a', 'b') });
    const firstFailed = first.then(() => undefined, (err: unknown) => err);
    control.refuse = false;
    const second = store.save(id, { planner: undefined, streams: [stream(4, 'c2')], repositories: repos('c', 'd') }).then(() => undefined, (err: unknown) => err);
    await store.flush();

    expect(await firstFailed).toBeInstanceOf(Error);
    expect(await second).toBeInstanceOf(Error);
    const saved = await new CheckpointStore(database, OWNER).load(id);
    expect(saved).toMatchObject({ requests: 0, repositories: 0, streams: [] });
    expect(await savedPaths(store)).toEqual([]);
  });

  it('refuses a checkpoint asked for after the failure was known, and its flush ends', async () => {
    const { db, control } = refusing(database);
    const store = new CheckpointStore(db, OWNER);
    control.refuse = true;
    await store.save(id, { planner: undefined, streams: [stream(2, 'c1')], repositories: repos('a') }).catch(() => undefined);
    await store.flush();
    control.refuse = false;

    const later = await store.save(id, { planner: undefined, streams: [stream(4, 'c2')], repositories: repos('b') }).then(() => undefined, (err: unknown) => err);
    const flushed = await Promise.race([store.flush().then(() => 'flushed'), new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5000))]);

    expect(later).toMatchObject({ code: '57P01' });
    expect(flushed).toBe('flushed');
    expect(await savedPaths(store)).toEqual([]);
  });

  it('refuses to write into a discovery another process took over, and writes none of its repositories', async () => {
    const store = new CheckpointStore(database, OWNER);
    await database.query("UPDATE discovery_runs SET owner = 'host-b:7' WHERE id = $1", [id]);

    const err = await store.save(id, { planner: undefined, streams: [stream(2, 'c1')], repositories: repos('a') }).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'discover_taken_over' });
    expect(await savedPaths(store)).toEqual([]);
    await expect(store.assertOwned(id)).rejects.toMatchObject({ code: 'discover_taken_over' });
  });

  it('finishes nothing of a discovery another process took over after assertOwned, and says so as assertOwned does', async () => {
    const store = new CheckpointStore(database, OWNER);
    await store.save(id, { planner: undefined, streams: [stream(1, 'c1')], repositories: repos('taken-over') });
    await store.assertOwned(id);
    await database.query("UPDATE discovery_runs SET owner = 'host-b:7' WHERE id = $1", [id]);

    const err = await store.finish(id, null, new Date()).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'discover_taken_over' });
    const { rows } = await database.query('SELECT status, owner FROM discovery_runs WHERE id = $1', [id]);
    expect(rows).toEqual([{ status: 'running', owner: 'host-b:7' }]);
    expect(await savedPaths(store)).toEqual(['acme/taken-over']);
    const written = await database.query("SELECT (SELECT count(*)::int FROM star_history WHERE path = 'acme/taken-over') AS history, (SELECT count(*)::int FROM repositories WHERE path = 'acme/taken-over') AS repositories", []);
    expect(written.rows).toEqual([{ history: 0, repositories: 0 }]);
  });

  it('finishes a discovery still its own: the repositories recorded, the run finished', async () => {
    const store = new CheckpointStore(database, OWNER);
    await store.save(id, { planner: undefined, streams: [stream(1, 'c1')], repositories: repos('kept-a', 'kept-b') });

    const recorded = await store.finish(id, null, new Date());

    expect(recorded).toBe(2);
    const { rows } = await database.query('SELECT status FROM discovery_runs WHERE id = $1', [id]);
    expect(rows).toEqual([{ status: 'finished' }]);
    expect(await savedPaths(store)).toEqual([]);
  });

  it('counts a repository found again by another page once, and lists repositories a page at a time without repeating one', async () => {
    const store = new CheckpointStore(database, OWNER);

    await store.save(id, { planner: undefined, streams: [stream(3, 'c1')], repositories: repos('a', 'b', 'c') });
    await store.save(id, { planner: undefined, streams: [stream(6, 'c2')], repositories: [...repos('b'), ...repos('x', 'y')] });
    const pages: string[][] = [];
    for await (const page of store.repositories(id, null, 2)) pages.push(page.map((repo) => repo.path));

    expect(store.repositoryCount).toEqual(5);
    expect(pages.flat().sort()).toEqual(['acme/a', 'acme/b', 'acme/c', 'acme/x', 'acme/y']);
    expect(pages.every((page) => page.length <= 2)).toBe(true);
  });
});

describe('CheckpointStore.finish on PostgreSQL, while another process takes the discovery over', () => {
  let postgres: PostgresServer;
  let database: Database;

  beforeAll(async () => {
    postgres = await startPostgres();
    database = await openDatabase({ databaseUrl: postgres.url, dataDir: '' }, pino({ level: 'silent' }));
  }, 120_000);

  afterAll(async () => {
    await database?.close();
    await postgres?.stop();
  });

  it('waits for the take-over to commit, then finishes nothing and says it was taken over', async () => {
    const id = 'discovery-race';
    await database.query("INSERT INTO discovery_runs (id, fingerprint, arguments, status, owner) VALUES ($1, 'fp-race', '{}'::jsonb, 'running', $2)", [id, OWNER]);
    const store = new CheckpointStore(database, OWNER);
    await store.save(id, { planner: undefined, streams: [stream(1, 'c1')], repositories: repos('raced') });
    await store.assertOwned(id);
    const taker = new pg.Client({ connectionString: postgres.url });
    await taker.connect();
    try {
      // The take-over's transaction holds the run's row when the finishing statement starts.
      await taker.query('BEGIN');
      await taker.query("UPDATE discovery_runs SET owner = 'host-b:7', updated_at = now() WHERE id = $1", [id]);
      const finishing = store.finish(id, null, new Date()).catch((e: unknown) => e);
      await waitFor(async () => (await database.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%discovery_items%'", [])).rows[0], { what: 'finish to wait for the take-over', timeoutMs: 10_000, intervalMs: 50 });
      await taker.query('COMMIT');

      const err = await finishing;

      expect(err).toMatchObject({ code: 'discover_taken_over' });
      const { rows } = await database.query('SELECT status, owner FROM discovery_runs WHERE id = $1', [id]);
      expect(rows).toEqual([{ status: 'running', owner: 'host-b:7' }]);
      const written = await database.query("SELECT (SELECT count(*)::int FROM star_history WHERE path = 'acme/raced') AS history, (SELECT count(*)::int FROM discovery_items WHERE path = 'acme/raced') AS items", []);
      expect(written.rows).toEqual([{ history: 0, items: 1 }]);
    } finally {
      await taker.query('ROLLBACK').catch(() => undefined);
      await taker.end();
    }
  });
});

import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointStore, type SavedDiscovery } from '../../src/discovery/checkpoint-store.js';
import { Crawler } from '../../src/discovery/crawler.js';
import { DiscoveryPlanner } from '../../src/discovery/planner.js';
import type { RequestExecutor } from '../../src/discovery/request-executor.js';
import { TokenPool, type Lease } from '../../src/discovery/token-pool.js';
import type { DiscoveredRepository, RequestPlan, RequestResult } from '../../src/discovery/types.js';
import { InfrastructureError } from '../../src/errors.js';
import { openDatabase, type Database } from '../../src/results/database.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

const OWNER = 'host-a:100';
const REPOSITORIES = 50;
const LIMITS = { pageSize: 10, maxSegments: 4 };
const rateLimit = { cost: 1, remaining: 4999, resetAt: new Date(Date.now() + 3_600_000).toISOString() };

function repository(index: number): DiscoveredRepository {
  return { cloneUrl: `https://github.com/acme/r${index}.git`, branch: 'main', origin: 'github.com', path: `acme/r${index}`, stars: index, pushedAt: null };
}

/** GitHub for one organization of REPOSITORIES repositories, cursors being offsets; `onPage(offset)` sees every page it answers. */
function fakeGithub(onPage: (offset: number) => void = () => undefined) {
  const pages: number[] = [];
  const executor = {
    attempts: 0,
    async execute(plan: RequestPlan, lease: Lease): Promise<RequestResult> {
      await new Promise((resolve) => setImmediate(resolve));
      lease.release();
      const segments = plan.segments.map(({ stream, first }) => {
        const offset = Number(stream.cursor ?? 0);
        const end = Math.min(REPOSITORIES, offset + first);
        pages.push(offset);
        onPage(offset);
        return { key: stream.key, repositories: Array.from({ length: end - offset }, (_, i) => repository(offset + i)), received: end - offset, count: REPOSITORIES, hasNextPage: end < REPOSITORIES, endCursor: String(end) };
      });
      return { segments, probes: plan.probes.map((probe) => ({ key: probe.key, count: REPOSITORIES })), rateLimit };
    },
  };
  return { executor: executor as unknown as RequestExecutor, pages };
}

/** A crawler for discovery `id`, resuming what `store` loaded when `saved` is given (as discover does). */
function crawler(db: Database, id: string, executor: RequestExecutor, resuming?: { store: CheckpointStore; saved: SavedDiscovery | undefined }) {
  const store = resuming?.store ?? new CheckpointStore(db, OWNER);
  const saved = resuming?.saved;
  const planner = new DiscoveryPlanner({ scope: undefined, limit: null, orgs: ['acme'], users: [], filter: { includeForks: false, includeArchived: false }, nowSeconds: 1_700_000_000 }, saved?.planner ?? undefined);
  const run = new Crawler({
    discoveryId: id,
    planner,
    store,
    executor,
    pool: new TokenPool(['tok'], { perToken: 2, maxWaitMs: undefined }),
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    onProgress: () => undefined,
    maxProbes: 4,
    limits: LIMITS,
    restored: { streams: saved?.streams ?? [], requests: saved?.requests ?? 0 },
  });
  return { run, store };
}

describe('Crawler', () => {
  let dir: TempDir;
  let database: Database;

  beforeAll(async () => {
    dir = await createTempDir('crawler-');
    database = await openDatabase({ databaseUrl: undefined, dataDir: path.join(dir.path, 'db') }, pino({ level: 'silent' }));
  });

  afterAll(async () => {
    await database?.close();
    await dir?.remove();
  });

  async function newDiscovery(id: string): Promise<void> {
    await database.query("INSERT INTO discovery_runs (id, fingerprint, arguments, status, owner) VALUES ($1, $2, '{}'::jsonb, 'running', $3)", [id, `fp-${id}`, OWNER]);
  }

  async function found(store: CheckpointStore, id: string): Promise<string[]> {
    const out: string[] = [];
    for await (const page of store.repositories(id, null)) out.push(...page.map((repo) => repo.path));
    return out;
  }

  it('finds every repository of an organization, page by page', async () => {
    await newDiscovery('whole');
    const github = fakeGithub();
    const { run, store } = crawler(database, 'whole', github.executor);

    const summary = await run.run();

    expect(summary).toMatchObject({ stopped: false, repositories: REPOSITORIES });
    expect(new Set(await found(store, 'whole')).size).toBe(REPOSITORIES);
  });

  it('stops when a checkpoint cannot be written, and the resumed run finds every repository once (the page whose checkpoint failed included)', async () => {
    await newDiscovery('blip');
    let releaseFailure: () => void = () => undefined;
    const nextPageAnswered = new Promise<void>((resolve) => (releaseFailure = resolve));
    let saves = 0;
    // The third checkpoint (page 20..29) fails once the next page is answered: PostgreSQL restarted meanwhile.
    const flaky: Database = {
      ...database,
      kind: database.kind,
      query: async (text, params) => {
        if (!text.includes('discovery_items (discovery_id')) return database.query(text, params);
        saves += 1;
        if (saves !== 3) return database.query(text, params);
        await nextPageAnswered;
        throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
      },
      session: (work) => database.session(work),
      close: async () => undefined,
    };
    const first = fakeGithub((offset) => offset === 30 && releaseFailure());

    await expect(crawler(flaky, 'blip', first.executor).run.run()).rejects.toMatchObject({ code: '57P01' });
    const store = new CheckpointStore(database, OWNER);
    const saved = await store.load('blip');
    const second = fakeGithub();
    const resumed = crawler(database, 'blip', second.executor, { store, saved });
    const summary = await resumed.run.run();

    const paths = await found(resumed.store, 'blip');
    expect(paths.length).toBe(REPOSITORIES);
    expect(new Set(paths).size).toBe(REPOSITORIES);
    expect(summary.repositories).toBe(REPOSITORIES);
    expect(second.pages).toContain(20);
  });

  it('stops when a request fails after others were answered, and the resumed run asks only for the pages not saved', async () => {
    await newDiscovery('outage');
    const first = fakeGithub((offset) => {
      if (offset === 30) throw new InfrastructureError('github_unreachable', 'GitHub GraphQL failed 5 times: progress is saved, rerun with --resume');
    });

    await expect(crawler(database, 'outage', first.executor).run.run()).rejects.toMatchObject({ code: 'github_unreachable' });
    const store = new CheckpointStore(database, OWNER);
    const saved = await store.load('outage');
    const second = fakeGithub();
    const summary = await crawler(database, 'outage', second.executor, { store, saved }).run.run();

    const paths = await found(store, 'outage');
    expect(new Set(paths).size).toBe(REPOSITORIES);
    expect(paths.length).toBe(REPOSITORIES);
    expect(summary).toMatchObject({ repositories: REPOSITORIES, requests: 6 });
    expect(first.pages).toEqual([0, 10, 20, 30]);
    expect(second.pages).toEqual([30, 40]);
  });
});

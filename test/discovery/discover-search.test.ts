import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGithub, type FakeGithub } from '../fakes/github-graphql.js';
import { generatePopulation } from '../fakes/github-population.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { discover, discoverEnv, duplicates, eligible, fetchedPages, readCsv, withDatabase } from './discover-fixtures.js';

const population = generatePopulation({ size: 8000, seed: 11 });
let fake: FakeGithub;
let postgres: PostgresServer;
let tmp: TempDir;
let env: Record<string, string>;

beforeAll(async () => {
  [fake, postgres, tmp] = await Promise.all([startFakeGithub({ population, tokens: ['token-alpha-1111', 'token-beta-2222'] }), startPostgres(), createTempDir('mass-ingest-discover-')]);
  env = discoverEnv(fake, tmp.path, 'token-alpha-1111,token-beta-2222', { DATABASE_URL: postgres.url });
});

afterAll(async () => {
  await Promise.all([fake?.stop(), postgres?.stop(), tmp?.remove()]);
});

describe('mass-ingest discover --query', () => {
  it('finds every repository exactly once although more than 1,000 share one star value, with few requests beyond the minimum', async () => {
    const expected = eligible(population);

    const result = await discover(['--query', '', '--out', 'repos.csv'], env, tmp.path);

    expect(result.code, result.stderr).toBe(0);
    expect(expected.filter((repo) => repo.stars === 0).length).toBeGreaterThan(1000);
    expect(expected.filter((repo) => repo.stars === 1).length).toBeGreaterThan(1000);
    const rows = await readCsv(path.join(tmp.path, 'repos.csv'));
    expect(rows.length).toBe(expected.length);
    expect(new Set(rows.map((row) => row.path))).toEqual(new Set(expected.map((repo) => repo.nameWithOwner)));
    expect(rows[0]).toEqual({ cloneUrl: `${expected.sort((a, b) => b.stars - a.stars)[0]?.url}.git`, branch: expect.stringMatching(/^(main|master)$/), origin: 'github.com', path: expected[0]?.nameWithOwner, stars: expected[0]?.stars, pushedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) });
    expect(rows.map((row) => row.stars)).toEqual([...rows.map((row) => row.stars)].sort((a, b) => b - a));
    expect(fake.invalid).toEqual([]);
    expect(duplicates(fetchedPages(fake))).toEqual([]);
    const finished = result.logs.find((line) => line.msg === 'Discovery finished');
    expect(finished).toMatchObject({ repositories: expected.length, requests: fake.requests.length });
    expect(fake.requests.length).toBeLessThanOrEqual(Math.ceil(1.1 * Math.ceil(expected.length / 100)));
  });

  it('upserts repositories with their stars and default branch, and appends one star_history row per repository per run', async () => {
    const count = eligible(population).length;
    fake.index.mutate((repos) => {
      for (const repo of repos) if (repo.nameWithOwner === eligible(population)[0]?.nameWithOwner) repo.stars += 5;
    });

    const second = await discover(['--query', '', '--out', 'repos.csv'], env, tmp.path);

    expect(second.code, second.stderr).toBe(0);
    await withDatabase(tmp.path, async (db) => {
      const history = await db.query<{ runs: number; rows: number }>('SELECT count(DISTINCT observed_at)::int AS runs, count(*)::int AS rows FROM star_history');
      const perRepository = await db.query<{ max: number }>('SELECT max(n)::int AS max FROM (SELECT count(*) AS n FROM star_history GROUP BY origin, path) counts');
      const repositories = await db.query<{ count: number }>('SELECT count(*)::int AS count FROM repositories');
      const bumped = eligible(population)[0];
      const stars = await db.query<{ stars: number; branch: string }>('SELECT stars, branch FROM repositories WHERE origin = $1 AND path = $2', ['github.com', bumped?.nameWithOwner]);
      const series = await db.query<{ stars: number }>('SELECT stars FROM star_history WHERE path = $1 ORDER BY observed_at', [bumped?.nameWithOwner]);
      const leftovers = await db.query<{ count: number }>('SELECT (SELECT count(*) FROM discovery_items) + (SELECT count(*) FROM discovery_streams) AS count');
      expect(history.rows).toEqual([{ runs: 2, rows: 2 * count }]);
      expect(perRepository.rows).toEqual([{ max: 2 }]);
      expect(repositories.rows).toEqual([{ count }]);
      expect(stars.rows).toEqual([{ stars: bumped?.stars, branch: bumped?.defaultBranch }]);
      expect(series.rows.map((row) => row.stars)).toEqual([(bumped?.stars ?? 0) - 5, bumped?.stars]);
      expect(Number(leftovers.rows[0]?.count)).toBe(0);
    }, postgres.url);
  });
});

import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGithub, type FakeGithub, type FakeGithubOptions } from '../fakes/github-graphql.js';
import { generatePopulation } from '../fakes/github-population.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { discover, discoverEnv, duplicates, eligible, fetchedPages, readCsv, withDatabase } from './discover-fixtures.js';

const population = generatePopulation({ size: 2500, seed: 31 });
const expected = new Set(eligible(population).map((repo) => repo.nameWithOwner));
let postgres: PostgresServer;
let tmp: TempDir;
let fake: FakeGithub | undefined;

beforeAll(async () => {
  [postgres, tmp] = await Promise.all([startPostgres(), createTempDir('mass-ingest-discover-tokens-')]);
});

afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});

afterAll(async () => {
  await Promise.all([postgres?.stop(), tmp?.remove()]);
});

async function start(options: Omit<FakeGithubOptions, 'population'>): Promise<FakeGithub> {
  fake = await startFakeGithub({ population, ...options });
  return fake;
}

async function paths(file: string): Promise<Set<string>> {
  return new Set((await readCsv(path.join(tmp.path, file))).map((row) => row.path));
}

describe('mass-ingest discover and GitHub tokens', () => {
  it('leaves a rejected token of a pool out, finishes with the others, and never prints it', async () => {
    const github = await start({ tokens: ['the-good-token-4444'] });
    const env = discoverEnv(github, tmp.path, 'wrong-token-5555,the-good-token-4444', { DATABASE_URL: postgres.url });

    const pooled = await discover(['--query', 'language:Go', '--out', 'pooled.csv'], env, tmp.path);

    expect(pooled.code).toBe(0);
    expect(await paths('pooled.csv')).toEqual(new Set(eligible(population, (repo) => repo.language === 'Go').map((repo) => repo.nameWithOwner)));
    const rejected = pooled.stdout.split('\n').filter((line) => line.includes('GitHub rejected a token')).map((line) => JSON.parse(line));
    expect(rejected).toEqual([expect.objectContaining({ level: 50, tokenNumber: 1, poolSize: 2 })]);
    expect(github.requests.filter((request) => request.outcome === 'unauthorized')).toHaveLength(1);
    for (const output of [pooled.stdout, pooled.stderr]) {
      expect(output).not.toContain('wrong-token-5555');
      expect(output).not.toContain('the-good-token-4444');
    }
  });

  it('exits 2 naming the token when GitHub rejects the only one, and never prints it', async () => {
    const github = await start({ tokens: ['the-good-token-4444'] });
    const env = discoverEnv(github, tmp.path, 'wrong-token-5555', { DATABASE_URL: postgres.url });

    const result = await discover(['--query', 'language:Go', '--out', 'bad.csv'], env, tmp.path);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('GitHub rejected token 1 of 1 in GITHUB_TOKENS/GITHUB_TOKEN (401 Bad credentials)');
    for (const output of [result.stdout, result.stderr]) expect(output).not.toContain('wrong-token-5555');
  });

  it('exits 2 before any request when no token is set', async () => {
    const github = await start({ tokens: ['unused-6666'] });

    const result = await discover(['--query', 'language:Go'], discoverEnv(github, tmp.path, undefined, { DATABASE_URL: postgres.url }), tmp.path);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('discover needs a GitHub token: set GITHUB_TOKEN, or GITHUB_TOKENS=t1,t2 for a pool');
    expect(github.requests).toEqual([]);
  });

  it('rotates over the tokens under a tiny budget, resting each at zero until its reset', async () => {
    const github = await start({ tokens: ['tiny-a-7777', 'tiny-b-8888'], points: 6, windowMs: 1500 });
    const env = discoverEnv(github, tmp.path, 'tiny-a-7777,tiny-b-8888', { DATABASE_URL: postgres.url });

    const result = await discover(['--query', '', '--out', 'rotated.csv'], env, tmp.path);

    expect(result.code, result.stderr).toBe(0);
    expect(await paths('rotated.csv')).toEqual(expected);
    const answered = github.requests.filter((request) => request.outcome === 'ok');
    expect(answered.length).toBeGreaterThan(12);
    expect(new Set(answered.map((request) => request.token))).toEqual(new Set([1, 2]));
    expect(duplicates(fetchedPages(github))).toEqual([]);
  });

  it('backs off and retries after a secondary rate limit with retry-after', async () => {
    const github = await start({ tokens: ['second-9999'], secondary: { onRequests: [2, 3], retryAfterSeconds: 1, status: 403 } });
    const env = discoverEnv(github, tmp.path, 'second-9999', { DATABASE_URL: postgres.url });

    const result = await discover(['--query', '', '--out', 'secondary.csv'], env, tmp.path);

    expect(result.code, result.stderr).toBe(0);
    expect(await paths('secondary.csv')).toEqual(expected);
    expect(github.requests.filter((request) => request.outcome === 'secondary').map((request) => request.n)).toEqual([2, 3]);
    expect(result.logs.filter((line) => line.msg === 'GitHub secondary rate limit, backing off').map((line) => line.delayMs)).toEqual([1000, 1000]);
  });

  it('exits 3 with progress saved when every token is spent beyond --max-wait, and --resume finishes without fetching a page twice', async () => {
    const github = await start({ tokens: ['spent-1010'], points: 5, windowMs: 3_600_000 });
    const env = discoverEnv(github, tmp.path, 'spent-1010', { DATABASE_URL: postgres.url });

    const stopped = await discover(['--query', '', '--max-wait', '1', '--out', 'waited.csv'], env, tmp.path);
    const saved = await withDatabase(tmp.path, async (db) => (await db.query<{ count: number }>("SELECT count(*)::int AS count FROM discovery_items i JOIN discovery_runs r ON r.id = i.discovery_id WHERE r.status = 'running'")).rows[0]?.count, postgres.url);
    github.resetBudgets(5000);
    const firstRun = github.requests.length;
    const resumed = await discover(['--query', '', '--max-wait', '1', '--out', 'waited.csv', '--resume'], { ...env }, tmp.path);

    expect(stopped.code).toBe(3);
    expect(stopped.stderr).toMatch(/Every GitHub token is rate-limited until .* more than --max-wait 1 s away: progress is saved, rerun with --resume/);
    expect(saved).toBeGreaterThan(0);
    expect(github.requests.slice(0, firstRun).filter((request) => request.outcome === 'ok').length).toBe(5);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.logs.find((line) => line.msg === 'Discovery resumed')).toMatchObject({ repositories: saved });
    expect(await paths('waited.csv')).toEqual(expected);
    expect(duplicates(fetchedPages(github))).toEqual([]);
  });
});

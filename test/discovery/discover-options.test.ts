import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGithub, type FakeGithub } from '../fakes/github-graphql.js';
import { generatePopulation, type OwnerSpec } from '../fakes/github-population.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { discover, discoverEnv, duplicates, eligible, fetchedPages, readCsv } from './discover-fixtures.js';

const owners: OwnerSpec[] = [
  { login: 'acme', type: 'organization', repositories: 230 },
  { login: 'octo', type: 'user', repositories: 40 },
];
const population = generatePopulation({ size: 3000, seed: 21, owners });
const TOKEN = 'token-options-3333';
let fake: FakeGithub;
let postgres: PostgresServer;
let tmp: TempDir;
let env: Record<string, string>;

beforeAll(async () => {
  [fake, postgres, tmp] = await Promise.all([startFakeGithub({ population, owners, tokens: [TOKEN] }), startPostgres(), createTempDir('mass-ingest-discover-options-')]);
  env = discoverEnv(fake, tmp.path, TOKEN, { DATABASE_URL: postgres.url });
});

afterAll(async () => {
  await Promise.all([fake?.stop(), postgres?.stop(), tmp?.remove()]);
});

describe('mass-ingest discover options', () => {
  it('--limit N takes the N most-starred repositories in order, and asks for little more than N', async () => {
    const from = fake.requests.length;

    const result = await discover(['--query', 'language:Python', '--limit', '250', '--out', 'top.csv'], env, tmp.path);

    expect(result.code, result.stderr).toBe(0);
    const rows = await readCsv(path.join(tmp.path, 'top.csv'));
    const python = eligible(population, (repo) => repo.language === 'Python').sort((a, b) => b.stars - a.stars);
    const cutoff = python[249]?.stars ?? 0;
    expect(rows.length).toBe(250);
    expect(rows.map((row) => row.stars)).toEqual(python.slice(0, 250).map((repo) => repo.stars));
    expect(new Set(rows.filter((row) => row.stars > cutoff).map((row) => row.path))).toEqual(new Set(python.filter((repo) => repo.stars > cutoff).map((repo) => repo.nameWithOwner)));
    expect(fake.requests.length - from).toBeLessThanOrEqual(5);
  });

  it('--since keeps only repositories pushed since the date (the nightly delta)', async () => {
    const result = await discover(['--query', 'language:Java', '--since', '2025-06-01', '--out', 'delta.csv'], env, tmp.path);

    expect(result.code, result.stderr).toBe(0);
    const since = Date.UTC(2025, 5, 1) / 1000;
    const rows = await readCsv(path.join(tmp.path, 'delta.csv'));
    const expected = eligible(population, (repo) => repo.language === 'Java' && repo.pushedAt >= since);
    expect(expected.length).toBeGreaterThan(0);
    expect(new Set(rows.map((row) => row.path))).toEqual(new Set(expected.map((repo) => repo.nameWithOwner)));
    expect(fake.requests.at(-1)?.calls.some((call) => call.query?.includes('pushed:>=2025-06-01'))).toBe(true);
  });

  it('refuses --since with --org or --user (GitHub lists owners without a pushed filter), naming the search that does it', async () => {
    const from = fake.requests.length;

    const result = await discover(['--org', 'acme', '--since', '2025-06-01', '--out', 'owner-delta.csv'], env, tmp.path);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--since works with --query only');
    expect(result.stderr).toContain('--query "org:acme" --since');
    expect(fake.requests.length).toBe(from);
  });

  it.each([
    ['a missing directory', ['--out', 'no-such-dir/repos.csv'], 'is missing or not writable'],
    ['a directory', ['--out', '.'], 'is a directory'],
    ['an option given twice', ['--out', 'a.csv', '--out', 'b.csv'], '--out may be given once'],
    ['fine but --limit is beyond what the database can count', ['--out', 'huge.csv', '--limit', '100000000000000000000'], '--limit must be a whole number from 1 to 9007199254740991, got 100000000000000000000'],
  ])('exits 2 before asking GitHub anything when --out is %s', async (_case, args, message) => {
    const from = fake.requests.length;

    const result = await discover(['--query', 'language:Java', ...args], env, tmp.path);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(fake.requests.length).toBe(from);
  });

  it('--org and --user list every repository of the owners, without forks, archived or empty ones unless asked', async () => {
    const from = fake.requests.length;
    const plain = await discover(['--org', 'acme', '--user', 'octo', '--out', 'owners.csv'], env, tmp.path);
    const between = fake.requests.length;

    const all = await discover(['--org', 'acme', '--include-forks', '--include-archived', '--out', 'acme-all.csv'], env, tmp.path);

    expect(plain.code, plain.stderr).toBe(0);
    expect(all.code, all.stderr).toBe(0);
    const owned = (login: string) => (repo: { owner: string }) => repo.owner === login;
    const plainRows = await readCsv(path.join(tmp.path, 'owners.csv'));
    const allRows = await readCsv(path.join(tmp.path, 'acme-all.csv'));
    expect(new Set(plainRows.map((row) => row.path))).toEqual(new Set(eligible(population, (repo) => repo.owner === 'acme' || repo.owner === 'octo').map((repo) => repo.nameWithOwner)));
    expect(new Set(allRows.map((row) => row.path))).toEqual(new Set(population.filter((repo) => owned('acme')(repo) && !repo.isEmpty).map((repo) => repo.nameWithOwner)));
    expect(allRows.some((row) => population.find((repo) => repo.nameWithOwner === row.path)?.isFork)).toBe(true);
    expect(duplicates(fetchedPages(fake, from, between))).toEqual([]);
    expect(duplicates(fetchedPages(fake, between))).toEqual([]);
    expect(fake.invalid).toEqual([]);
  });

  it('writes each repository once when stars change mid-crawl and repositories move into buckets not fetched yet', async () => {
    // Once the top bucket is fetched, its 40 most-starred repositories lose every star: they move
    // into the zero-star buckets, which then hold them a second time (and shift by them).
    const movers = new Set([...eligible(population)].sort((a, b) => b.stars - a.stars).slice(0, 40).map((repo) => repo.id));
    const from = fake.requests.length;
    let moved = false;
    fake.setBeforeRequest(() => {
      const pages = fake.requests.slice(from).filter((request) => request.outcome === 'ok' && request.answered).flatMap((request) => request.calls).filter((call) => (call.first ?? 0) > 0);
      const top = pages[0]?.query;
      if (moved || !top) return;
      const served = pages.filter((call) => call.query === top).reduce((sum, call) => sum + (call.first ?? 0), 0);
      if (served < fake.index.count(top)) return;
      moved = true;
      fake.index.mutate((repos) => {
        for (const repo of repos) if (movers.has(repo.id)) repo.stars = 0;
      });
    });

    const result = await discover(['--query', '', '--out', 'drift.csv'], env, tmp.path);
    fake.setBeforeRequest(undefined);

    expect(result.code, result.stderr).toBe(0);
    expect(moved).toBe(true);
    const rows = await readCsv(path.join(tmp.path, 'drift.csv'));
    const fetched = fake.requests.slice(from).flatMap((request) => request.calls).reduce((sum, call) => sum + (call.first ?? 0), 0);
    expect(rows.length).toBe(new Set(rows.map((row) => row.path)).size);
    expect(new Set(rows.map((row) => row.path))).toEqual(new Set(eligible(population).map((repo) => repo.nameWithOwner)));
    expect(fetched).toBeGreaterThan(rows.length + 40);
  });

  it('talks to a GitHub Enterprise Server base /api/v3 at /api/graphql, taking the origin from the repositories’ URLs', async () => {
    const from = fake.requests.length;

    const result = await discover(['--user', 'octo', '--out', 'ghes.csv'], { ...env, GITHUB_API_URL: `${fake.url}/api/v3` }, tmp.path);

    expect(result.code, result.stderr).toBe(0);
    expect(new Set(fake.requests.slice(from).map((request) => request.path))).toEqual(new Set(['/api/graphql']));
    expect(new Set((await readCsv(path.join(tmp.path, 'ghes.csv'))).map((row) => row.origin))).toEqual(new Set(['github.com']));
  });

  it('names an organization GitHub does not know and exits 2', async () => {
    const result = await discover(['--org', 'acme,no-such-org'], env, tmp.path);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('GitHub has no organization "no-such-org" (--org)');
  });
});

import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGithub, type FakeGithub, type FakeGithubOptions } from '../fakes/github-graphql.js';
import { generatePopulation, type OwnerSpec } from '../fakes/github-population.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { discover, discoverEnv, eligible, readCsv, withDatabase } from './discover-fixtures.js';

const owners: OwnerSpec[] = [{ login: 'acme', type: 'organization', repositories: 150 }];
const population = generatePopulation({ size: 1500, seed: 71, owners });
const go = new Set(eligible(population, (repo) => repo.language === 'Go').map((repo) => repo.nameWithOwner));
const acme = new Set(eligible(population, (repo) => repo.nameWithOwner.startsWith('acme/')).map((repo) => repo.nameWithOwner));
const SSO_TOKEN = 'sso-unauthorized-2121';
const GOOD_TOKEN = 'sso-authorized-2222';
let postgres: PostgresServer;
let tmp: TempDir;
let fake: FakeGithub | undefined;

beforeAll(async () => {
  [postgres, tmp] = await Promise.all([startPostgres(), createTempDir('mass-ingest-discover-refusals-')]);
});

afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});

afterAll(async () => {
  await Promise.all([postgres?.stop(), tmp?.remove()]);
});

async function start(options: Omit<FakeGithubOptions, 'population' | 'owners' | 'tokens'>): Promise<FakeGithub> {
  fake = await startFakeGithub({ population, owners, tokens: [SSO_TOKEN, GOOD_TOKEN], ...options });
  return fake;
}

async function run(github: FakeGithub, tokens: string, args: string[]) {
  const dir = await fs.mkdtemp(path.join(tmp.path, 'run-'));
  const result = await discover([...args, '--out', 'repos.csv'], discoverEnv(github, dir, tokens, { DATABASE_URL: postgres.url }), dir);
  const csv = await readCsv(path.join(dir, 'repos.csv')).catch(() => undefined);
  return { result, csv: csv && new Set(csv.map((row) => row.path)), dir };
}

function fingerprint(token: string): string {
  return `sha256:${createHash('sha256').update(token).digest('hex').slice(0, 8)}`;
}

describe('mass-ingest discover with tokens GitHub refuses (SAML SSO)', () => {
  it.each(['http', 'graphql'] as const)('leaves a token refused for SAML SSO (%s answer) out, logs it once, and finishes with the other token', async (as) => {
    const github = await start({ refused: { tokens: [1], as } });
    const started = new Date();

    const { result, csv } = await run(github, `${SSO_TOKEN},${GOOD_TOKEN}`, ['--query', 'language:Go']);

    expect(result.code, result.stderr).toBe(0);
    expect(csv).toEqual(go);
    const refusals = result.logs.filter((line) => line.msg === 'GitHub refused a token: it is left out and the other tokens carry on');
    expect(refusals).toEqual([expect.objectContaining({ level: 50, tokenNumber: 1, tokenFingerprint: fingerprint(SSO_TOKEN), poolSize: 2, reason: 'sso', detail: expect.stringContaining('SAML enforcement') })]);
    expect(github.requests.filter((request) => request.outcome === 'refused').length).toBeGreaterThanOrEqual(1);
    expect(github.requests.filter((request) => request.outcome === 'ok').every((request) => request.token === 2)).toBe(true);
    const history = await withDatabase(tmp.path, async (db) => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM star_history WHERE observed_at >= $1', [started])).rows[0]?.n, postgres.url);
    expect(history).toBe(go.size);
    for (const output of [result.stdout, result.stderr]) {
      expect(output).not.toContain(SSO_TOKEN);
      expect(output).not.toContain(GOOD_TOKEN);
    }
  });

  it('exits 2 when the only token is refused for SAML SSO, naming it by position and saying what to do', async () => {
    const github = await start({ refused: { tokens: [1], as: 'http' } });

    const { result, csv } = await run(github, SSO_TOKEN, ['--query', 'language:Go']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('GitHub refused token 1 of 1 in GITHUB_TOKENS/GITHUB_TOKEN (403 Resource protected by organization SAML enforcement.');
    expect(result.stderr).toContain('authorize it (GitHub › Settings › Tokens › Configure SSO) or replace it; no other token is left (token values are not shown) [github_token_refused]');
    expect(github.requests).toHaveLength(1);
    expect(csv).toBeUndefined();
    expect(result.stderr).not.toContain(SSO_TOKEN);
  });

  it('asks another token for an organization that refuses the first (FORBIDDEN with a path), without leaving the first out', async () => {
    const github = await start({ samlOrgs: { acme: [2] } });

    const { result, csv } = await run(github, `${SSO_TOKEN},${GOOD_TOKEN}`, ['--org', 'acme']);

    expect(result.code, result.stderr).toBe(0);
    expect(csv).toEqual(acme);
    expect(result.logs.some((line) => line.msg === 'GitHub refused a token: it is left out and the other tokens carry on')).toBe(false);
    expect(result.logs.filter((line) => line.msg === 'GitHub refused part of a request to a token, asking another token')).toEqual([expect.objectContaining({ level: 40, tokenNumber: 1, resources: ['organization acme'], sso: true })]);
    expect(github.requests.filter((request) => request.token === 1)).toHaveLength(1);
    expect(github.requests.filter((request) => request.token === 2).length).toBeGreaterThan(1);
  });

  it('exits 2 naming the organization when it refuses every token', async () => {
    const github = await start({ samlOrgs: { acme: [] } });

    const { result, csv } = await run(github, `${SSO_TOKEN},${GOOD_TOKEN}`, ['--org', 'acme']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("GitHub refused organization acme to every token in GITHUB_TOKENS/GITHUB_TOKEN (Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization.): authorize a token in GITHUB_TOKENS for that organization's SAML single sign-on");
    expect(github.requests.filter((request) => request.outcome === 'ok').map((request) => request.token).sort()).toEqual([1, 2]);
    expect(csv).toBeUndefined();
  });
});

describe('mass-ingest discover and GraphQL errors that a retry cannot fix', () => {
  const answer = (type: string, message: string) => ({ status: 200, body: JSON.stringify({ data: null, errors: [{ type, message }] }) });

  it('exits 2 after asking twice when GitHub answers an unknown error type the same way twice, with progress saved', async () => {
    const github = await start({ override: (n) => (n >= 2 ? answer('SOMETHING_NEW', 'A kind of error nobody documented') : undefined) });

    const { result, dir } = await run(github, GOOD_TOKEN, ['--query', 'language:Go']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('GitHub answered the same request twice with an error of type SOMETHING_NEW (A kind of error nobody documented): retrying cannot help');
    expect(result.logs.filter((line) => line.msg === 'GitHub request failed, retrying').map((line) => line.detail)).toEqual(['SOMETHING_NEW: A kind of error nobody documented']);
    expect(github.requests.filter((request) => request.outcome === 'overridden').length).toBeLessThanOrEqual(2 * 2);
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('exits 2 at once, without retrying, when GitHub rejects the query for its own limits', async () => {
    const github = await start({ override: (n) => (n === 1 ? answer('MAX_NODE_LIMIT_EXCEEDED', 'This query requests up to 1,010,000 possible nodes which exceeds the maximum limit of 500,000.') : undefined) });

    const { result } = await run(github, GOOD_TOKEN, ['--query', 'language:Go']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('GitHub rejected the query: This query requests up to 1,010,000 possible nodes');
    expect(github.requests).toHaveLength(1);
  });

  it('still retries an error type of GitHub’s own side and finishes', async () => {
    const github = await start({ override: (n) => (n === 2 ? answer('SERVICE_UNAVAILABLE', 'Service temporarily unavailable') : undefined) });

    const { result, csv } = await run(github, GOOD_TOKEN, ['--query', 'language:Go']);

    expect(result.code, result.stderr).toBe(0);
    expect(csv).toEqual(go);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGithub, type FakeGithub } from './github-graphql.js';
import { cursor } from './github-index.js';
import { generatePopulation } from './github-population.js';

const population = generatePopulation({ size: 4000, seed: 2 });
let fake: FakeGithub;

beforeAll(async () => {
  fake = await startFakeGithub({ population, owners: [], tokens: ['fake-token-1', 'fake-token-2'], points: 3, secondary: { onRequests: [], maxConcurrentPerToken: 100 } });
});

afterAll(async () => {
  await fake?.stop();
});

async function post(query: string, variables: Record<string, unknown> = {}, token = 'fake-token-1') {
  const response = await fetch(`${fake.url}/graphql`, { method: 'POST', headers: { authorization: `bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return { status: response.status, headers: response.headers, body: (await response.json()) as { data?: Record<string, any>; errors?: Array<Record<string, any>>; message?: string } };
}

describe('the fake GitHub GraphQL API', () => {
  it('keeps GitHub’s 1,000-result cap: repositoryCount tells the truth, results stop', async () => {
    const zeros = population.filter((repo) => repo.stars === 0 && !repo.isFork).length;

    const { body } = await post('query($q: String!, $a: String) { search(type: REPOSITORY, query: $q, first: 100, after: $a) { repositoryCount pageInfo { hasNextPage endCursor } nodes { ... on Repository { nameWithOwner } } } }', { q: 'stars:0', a: cursor(950) });

    expect(zeros).toBeGreaterThan(1000);
    expect(body.data?.search.repositoryCount).toBe(zeros);
    expect(body.data?.search.nodes.length).toBe(50);
    expect(body.data?.search.pageInfo).toEqual({ hasNextPage: false, endCursor: cursor(1000) });
  });

  it('rejects a query that does not match GitHub’s public schema, and remembers it', async () => {
    const { status, body } = await post('{ search(type: REPOSITORY, query: "x", first: 1) { repositoryCount stargazers } }', {}, 'fake-token-2');

    expect(status).toBe(200);
    expect(body.errors?.[0]?.message).toMatch(/Cannot query field "stargazers" on type "SearchResultItemConnection"/);
    expect(fake.invalid.at(-1)).toMatch(/stargazers/);
  });

  it('answers 401 to an unknown token', async () => {
    const { status, body } = await post('{ rateLimit { remaining } }', {}, 'nope');

    expect(status).toBe(401);
    expect(body.message).toBe('Bad credentials');
  });

  it('charges points per request and answers RATE_LIMITED once a token has none left', async () => {
    const query = '{ rateLimit { cost remaining resetAt } search(type: REPOSITORY, query: "stars:>=100", first: 0) { repositoryCount } }';

    const answers = [await post(query), await post(query), await post(query)];

    expect(answers[0]?.body.data?.rateLimit).toMatchObject({ cost: 1, remaining: 1 });
    expect(answers[1]?.body.data?.rateLimit).toMatchObject({ cost: 1, remaining: 0 });
    expect(answers[2]?.body.errors?.[0]?.type).toBe('RATE_LIMITED');
    expect(answers[2]?.headers.get('x-ratelimit-remaining')).toBe('0');
  });
});

import { describe, expect, it } from 'vitest';
import { GithubRequestError } from '../../src/discovery/github-client.js';
import { buildDocument, parseResponse } from '../../src/discovery/request-document.js';
import type { RequestPlan, StreamState } from '../../src/discovery/types.js';
import { githubSchema } from '../fakes/github-graphql.js';
import { graphql } from '../fakes/graphql-realm.js';

const filter = { includeForks: false, includeArchived: false };
const search: StreamState = { key: 'search:stars:10-20', position: 0, source: { kind: 'search', query: 'stars:10..19 sort:stars-desc' }, expected: 500, goal: 500, fetched: 463, cursor: 'Y3Vyc29yOjQ2Mw==', exhausted: false };
const owner: StreamState = { key: 'owner:organization:acme', position: 1, source: { kind: 'owner', ownerType: 'organization', login: 'acme', filter }, expected: 80, goal: 80, fetched: 0, cursor: null, exhausted: false };
const plan: RequestPlan = {
  segments: [{ stream: search, first: 37 }, { stream: owner, first: 63 }],
  probes: [
    { key: 'stars:5', kind: 'search', query: 'stars:>=5 sort:stars-desc' },
    { key: 'owner:user:octo', kind: 'owner', ownerType: 'user', login: 'octo', filter: { includeForks: true, includeArchived: true } },
  ],
};

describe('request documents', () => {
  it('are valid against GitHub’s public schema, with values passed as variables', () => {
    const { document, variables } = buildDocument(plan);

    const problems = graphql.validate(githubSchema(), graphql.parse(document));

    expect(problems.map((problem) => problem.message)).toEqual([]);
    expect(variables).toEqual({ s0k: 'stars:10..19 sort:stars-desc', s0a: 'Y3Vyc29yOjQ2Mw==', s1k: 'acme', s1a: null, p0k: 'stars:>=5 sort:stars-desc', p1k: 'octo' });
    expect(document).toContain('rateLimit { cost remaining resetAt }');
    expect(document).toContain('first: 37, after: $s0a');
    expect(document).toContain('isFork: false, isArchived: false');
  });

  it('stays valid with probes only (no fragment left unused)', () => {
    const { document } = buildDocument({ segments: [], probes: plan.probes });

    expect(graphql.validate(githubSchema(), graphql.parse(document))).toEqual([]);
  });

  it('turns an answer into pages and counts, leaving empty repositories out but counting them as received', () => {
    const node = (name: string, extra: Record<string, unknown> = {}) => ({ nameWithOwner: `acme/${name}`, url: `https://github.com/acme/${name}`, stargazerCount: 12, pushedAt: '2026-01-02T03:04:05Z', isEmpty: false, defaultBranchRef: { name: 'main' }, ...extra });
    const data = {
      rateLimit: { cost: 1, remaining: 4990, resetAt: '2026-11-27T07:00:00Z' },
      s0: { repositoryCount: 500, pageInfo: { hasNextPage: false, endCursor: 'Y3Vyc29yOjUwMA==' }, nodes: [node('a'), {}, node('b', { isEmpty: true, defaultBranchRef: null })] },
      s1: { repositories: { totalCount: 80, pageInfo: { hasNextPage: true, endCursor: 'Y3Vyc29yOjYz' }, nodes: [node('c')] } },
      p0: { repositoryCount: 1234 },
      p1: null,
    };

    const result = parseResponse(plan, data);

    expect(result.segments.map((page) => [page.key, page.received, page.repositories.map((repo) => repo.path), page.hasNextPage, page.endCursor])).toEqual([
      ['search:stars:10-20', 3, ['acme/a'], false, 'Y3Vyc29yOjUwMA=='],
      ['owner:organization:acme', 1, ['acme/c'], true, 'Y3Vyc29yOjYz'],
    ]);
    expect(result.segments[0]?.repositories[0]).toEqual({ cloneUrl: 'https://github.com/acme/a.git', branch: 'main', origin: 'github.com', path: 'acme/a', stars: 12, pushedAt: '2026-01-02T03:04:05Z' });
    expect(result.probes).toEqual([{ key: 'stars:5', count: 1234 }, { key: 'owner:user:octo', count: undefined, missing: true }]);
    expect(result.rateLimit).toEqual({ cost: 1, remaining: 4990, resetAt: '2026-11-27T07:00:00Z' });
  });

  it.each([
    ['without data (a proxy’s HTML page)', undefined, 'GitHub answered without data'],
    ['with data: null and no errors', null, 'GitHub answered without data'],
    ['with a page or a search count missing', { s0: null, s1: { repositories: { totalCount: 80, nodes: [] } }, p1: null }, "GitHub's answer lacks s0, p0"],
  ])('asks again when GitHub answers %s, rather than reading it as the end of the results', (_case, data, detail) => {
    let thrown: unknown;

    try {
      parseResponse(plan, data as Record<string, unknown> | null | undefined);
    } catch (err) {
      thrown = err;
    }

    expect(thrown).toBeInstanceOf(GithubRequestError);
    expect((thrown as GithubRequestError).failure).toEqual({ kind: 'transient', detail });
  });
});

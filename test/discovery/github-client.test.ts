import { GraphqlResponseError } from '@octokit/graphql';
import { describe, expect, it } from 'vitest';
import { classifyGithubError } from '../../src/discovery/github-client.js';

function graphqlError(errors: Array<Record<string, unknown>>, headers: Record<string, string> = {}) {
  return new GraphqlResponseError({ method: 'POST', url: '/graphql', headers: {} } as never, headers as never, { data: null, errors } as never);
}

function httpError(status: number, headers: Record<string, string>, message: string) {
  return Object.assign(new Error(message), { status, response: { status, url: '/graphql', headers, data: { message } } });
}

describe('classifyGithubError', () => {
  it('reads RATE_LIMITED answers with the reset time GitHub sends', () => {
    const failure = classifyGithubError(graphqlError([{ type: 'RATE_LIMITED', message: 'API rate limit exceeded' }], { 'x-ratelimit-reset': '1800000000' }));

    expect(failure).toEqual({ kind: 'rate_limited', resetAtMs: 1_800_000_000_000 });
  });

  it('reads GitHub’s newer RATE_LIMIT answer (code graphql_rate_limit) as the primary limit, not as a failure to retry at once', () => {
    const failure = classifyGithubError(graphqlError([{ type: 'RATE_LIMIT', code: 'graphql_rate_limit', message: 'API rate limit already exceeded for user ID 1.' }], { 'x-ratelimit-reset': '1800000000' }));

    expect(failure).toEqual({ kind: 'rate_limited', resetAtMs: 1_800_000_000_000 });
  });

  it('names the reason a request could not be sent, not fetch’s "fetch failed" around it', () => {
    const wrapped = Object.assign(new Error('getaddrinfo ENOTFOUND api.github.com'), { status: 500, cause: Object.assign(new TypeError('fetch failed'), { cause: new Error('getaddrinfo ENOTFOUND api.github.com') }) });

    expect(classifyGithubError(wrapped)).toEqual({ kind: 'transient', detail: 'getaddrinfo ENOTFOUND api.github.com' });
  });

  it('reads 403 and 429 with retry-after, or with the secondary-limit message, as a secondary limit', () => {
    expect(classifyGithubError(httpError(403, { 'retry-after': '30' }, 'slow down'))).toEqual({ kind: 'secondary_limit', retryAfterMs: 30_000 });
    expect(classifyGithubError(httpError(429, {}, 'Too many requests'))).toEqual({ kind: 'secondary_limit', retryAfterMs: undefined });
    expect(classifyGithubError(httpError(403, {}, 'You have exceeded a secondary rate limit.'))).toEqual({ kind: 'secondary_limit', retryAfterMs: undefined });
  });

  it('reads a 403 with no points left as the primary limit, and any other 403 as forbidden', () => {
    expect(classifyGithubError(httpError(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1800000000' }, 'API rate limit exceeded'))).toEqual({ kind: 'rate_limited', resetAtMs: 1_800_000_000_000 });
    expect(classifyGithubError(httpError(403, {}, 'Resource protected by organization SAML enforcement'))).toMatchObject({ kind: 'forbidden', status: 403 });
  });

  it('reads 401 as bad credentials', () => {
    expect(classifyGithubError(httpError(401, {}, 'Bad credentials'))).toEqual({ kind: 'bad_credentials', status: 401, detail: '401 Bad credentials' });
  });

  it('retries 5xx, timeouts and network errors, but not a query GitHub cannot parse', () => {
    expect(classifyGithubError(httpError(502, {}, 'Bad gateway')).kind).toBe('transient');
    expect(classifyGithubError(Object.assign(new Error('fetch failed'), { status: 500, cause: new Error('connect ECONNREFUSED 127.0.0.1:9') }))).toEqual({ kind: 'transient', detail: 'connect ECONNREFUSED 127.0.0.1:9' });
    expect(classifyGithubError(graphqlError([{ message: 'Something went wrong while executing your query. This may be the result of a timeout.' }])).kind).toBe('transient');
    expect(classifyGithubError(graphqlError([{ message: "Field 'bogus' doesn't exist on type 'Query'", extensions: { code: 'undefinedField' } }])).kind).toBe('rejected');
  });

  it('names the aliases GitHub could not resolve', () => {
    const failure = classifyGithubError(graphqlError([{ type: 'NOT_FOUND', path: ['p1'], message: "Could not resolve to an Organization with the login of 'nope'." }]));

    expect(failure).toMatchObject({ kind: 'not_found', aliases: ['p1'] });
  });
});

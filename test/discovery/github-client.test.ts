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

  it('tells a certificate Node does not trust, under Octokit\'s and fetch\'s wrappers, from a network failure', () => {
    const wrapped = Object.assign(new Error('self-signed certificate'), { status: 500, cause: Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }) }) });

    expect(classifyGithubError(wrapped)).toEqual({ kind: 'untrusted_certificate', detail: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  });

  it('reads 403 and 429 with retry-after, or with the secondary-limit message, as a secondary limit', () => {
    expect(classifyGithubError(httpError(403, { 'retry-after': '30' }, 'slow down'))).toEqual({ kind: 'secondary_limit', retryAfterMs: 30_000 });
    expect(classifyGithubError(httpError(429, {}, 'Too many requests'))).toEqual({ kind: 'secondary_limit', retryAfterMs: undefined });
    expect(classifyGithubError(httpError(403, {}, 'You have exceeded a secondary rate limit.'))).toEqual({ kind: 'secondary_limit', retryAfterMs: undefined });
  });

  it('reads a 403 with no points left as the primary limit, and any other 403 as the token refused', () => {
    expect(classifyGithubError(httpError(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1800000000' }, 'API rate limit exceeded'))).toEqual({ kind: 'rate_limited', resetAtMs: 1_800_000_000_000 });
    expect(classifyGithubError(httpError(403, { 'x-github-sso': 'required; url=https://github.com/orgs/acme/sso?authorization_request=x' }, 'Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization.'))).toMatchObject({ kind: 'token_refused', reason: 'sso', status: 403 });
    expect(classifyGithubError(httpError(403, {}, 'Resource protected by organization SAML enforcement. You must grant your OAuth token access to an organization within this business.'))).toMatchObject({ kind: 'token_refused', reason: 'sso' });
    expect(classifyGithubError(httpError(403, {}, 'Although you appear to have the correct authorization credentials, the `acme` organization has an IP allow list enabled'))).toMatchObject({ kind: 'token_refused', reason: 'forbidden' });
  });

  it('tells a FORBIDDEN about one resource (with a path) from one refusing the whole request to the token', () => {
    const saml = { type: 'FORBIDDEN', extensions: { saml_failure: true }, message: 'Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization.' };

    expect(classifyGithubError(graphqlError([{ ...saml, path: ['p0', 'repositories'] }]))).toMatchObject({ kind: 'forbidden', aliases: ['p0'], sso: true });
    expect(classifyGithubError(graphqlError([saml]))).toMatchObject({ kind: 'token_refused', reason: 'sso', status: 200 });
    expect(classifyGithubError(graphqlError([{ type: 'FORBIDDEN', path: [], message: 'Forbidden' }]))).toMatchObject({ kind: 'token_refused', reason: 'forbidden' });
    expect(classifyGithubError(graphqlError([{ type: 'INSUFFICIENT_SCOPES', path: ['p0'], message: "Your token has not been granted the required scopes to execute this query. The 'repositories' field requires one of the following scopes: ['read:org']" }]))).toMatchObject({ kind: 'token_refused', reason: 'scopes' });
  });

  it('does not retry query errors that fail the same every time, retries GitHub’s own, and marks unknown types', () => {
    expect(classifyGithubError(graphqlError([{ type: 'MAX_NODE_LIMIT_EXCEEDED', message: 'This query requests up to 1,010,000 possible nodes which exceeds the maximum limit of 500,000.' }])).kind).toBe('rejected');
    expect(classifyGithubError(graphqlError([{ type: 'EXCESSIVE_PAGINATION', path: ['s0'], message: 'Requesting 101 records on the `search` connection exceeds the `first` limit of 100 records.' }])).kind).toBe('rejected');
    expect(classifyGithubError(graphqlError([{ type: 'ARGUMENT_LIMIT', path: ['nodes'], message: 'You may not provide more than 100 node ids; you provided 101.' }])).kind).toBe('rejected');
    expect(classifyGithubError(graphqlError([{ type: 'SERVICE_UNAVAILABLE', message: 'Service unavailable' }])).kind).toBe('transient');
    expect(classifyGithubError(graphqlError([{ type: 'SOMETHING_NEW', message: 'A new kind of error' }]))).toEqual({ kind: 'unknown', type: 'SOMETHING_NEW', detail: 'A new kind of error' });
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

import { createHash } from 'node:crypto';
import { MassIngestError, UsageError, trustRemedy } from '../errors.js';
import type { GithubFailure } from './github-client.js';
import { notFound } from './owner-planner.js';
import { sourceOfAlias } from './request-document.js';
import type { RequestPlan, StreamSource } from './types.js';

/**
 * What a GitHub failure that retrying cannot fix becomes: an exit 2 naming the token (by its
 * position, never its value) or the resource, and what to do about it.
 */
export function permanentFailure(failure: GithubFailure, plan: RequestPlan, which: string, endpoint: string): Error {
  switch (failure.kind) {
    case 'bad_credentials':
      return new UsageError('github_token_rejected', `GitHub rejected ${which} (${failure.detail}): the token is wrong, expired or revoked; replace it (its value is not shown)`);
    case 'token_refused':
      return new UsageError('github_token_refused', `GitHub refused ${which} (${failure.detail}): ${REFUSAL_HINT[failure.reason]}; no other token is left (token values are not shown)`);
    case 'forbidden': {
      const hint = failure.sso ? 'authorize a token in GITHUB_TOKENS for that organization\'s SAML single sign-on (GitHub › Settings › Tokens › Configure SSO)' : 'give a token in GITHUB_TOKENS access to it';
      return new UsageError('github_forbidden', `GitHub refused ${describeAliases(plan, failure.aliases).join(', ')} to every token in GITHUB_TOKENS/GITHUB_TOKEN (${failure.detail}): ${hint}, or leave it out`);
    }
    case 'not_found': {
      const source = sourceOfAlias(plan, failure.aliases[0] ?? '');
      if (source?.kind === 'owner') return notFound(source.ownerType, source.login);
      return new UsageError('github_not_found', `GitHub could not resolve part of the query: ${failure.detail}`);
    }
    case 'untrusted_certificate':
      return new UsageError('github_tls', `GitHub GraphQL at ${endpoint} failed TLS verification (${failure.detail}): the server's certificate is not trusted; ${trustRemedy('GITHUB_API_URL')}`);
    case 'unknown':
      // Not a UsageError: the input is fine, but a retried job would ask the same question.
      return new MassIngestError('github_error_unknown', `GitHub answered the same request twice with an error of type ${failure.type} (${failure.detail}): retrying cannot help; progress is saved, rerun with --resume once the cause is fixed, and report it if it persists`, { exitCode: 2 });
    case 'rejected':
      // GITHUB_API_URL set to the GraphQL URL itself (…/graphql/graphql) or to a web page.
      if (failure.status === 404) return new UsageError('github_endpoint_not_found', `Nothing answers GitHub GraphQL at ${endpoint} (${failure.detail}): GITHUB_API_URL is the API base, https://api.github.com or https://HOST/api/v3`);
      return new UsageError('github_query_rejected', `GitHub rejected the query: ${failure.detail}`);
    default:
      return new UsageError('github_query_rejected', `GitHub rejected the query: ${'detail' in failure ? failure.detail : failure.kind}`);
  }
}

const REFUSAL_HINT = {
  sso: 'the token is not authorized for an organization or enterprise enforcing SAML single sign-on; authorize it (GitHub › Settings › Tokens › Configure SSO) or replace it',
  scopes: 'the token lacks a scope this query needs; give it the scopes GitHub names, or replace it',
  forbidden: 'the token may not use the API here (an IP allow list, a suspended account, a blocked app); check it or replace it',
} as const;

/** The resources behind GraphQL aliases, for messages: `organization acme`, `search "language:go stars:5"`. */
export function describeAliases(plan: RequestPlan, aliases: readonly string[]): string[] {
  return aliases.map((alias) => {
    const source = sourceOfAlias(plan, alias);
    if (!source) return `part ${alias} of the query`;
    return source.kind === 'owner' ? `${source.ownerType} ${source.login}` : `search "${source.query}"`;
  });
}

/** The resources a request asks for, as keys that stay the same from one request to the next. */
export function planResources(plan: RequestPlan): string[] {
  return [...plan.segments.map((segment) => resourceKey(segment.stream.source)), ...plan.probes.map((_, index) => resourceKey(sourceOfAlias(plan, `p${index}`)))];
}

/** The resources behind GraphQL aliases, as planResources names them. */
export function aliasResources(plan: RequestPlan, aliases: readonly string[]): string[] {
  return aliases.map((alias) => resourceKey(sourceOfAlias(plan, alias)));
}

function resourceKey(source: StreamSource | undefined): string {
  if (!source) return 'unknown';
  return source.kind === 'owner' ? `${source.ownerType}:${source.login.toLowerCase()}` : `search:${source.query}`;
}

/** Tells tokens apart in logs without showing them: the first 8 hex digits of their SHA-256. */
export function tokenFingerprint(token: string): string {
  return `sha256:${createHash('sha256').update(token).digest('hex').slice(0, 8)}`;
}

import { graphql, GraphqlResponseError } from '@octokit/graphql';
import { errorMessage, untrustedCertificateCode } from '../errors.js';

/**
 * Sends one GraphQL document with one token, through @octokit/graphql (GraphQL only, no REST),
 * and turns every failure into a GithubFailure. This is the one boundary that reads GitHub's
 * error texts (the secondary-limit message has no code of its own).
 */
export type GithubFailure =
  | { readonly kind: 'rate_limited'; readonly resetAtMs: number | undefined }
  | { readonly kind: 'secondary_limit'; readonly retryAfterMs: number | undefined }
  | { readonly kind: 'bad_credentials'; readonly status: number; readonly detail: string }
  /** The token may not be used at all (SAML SSO enforced on the whole request, scopes, 403): retire it. */
  | { readonly kind: 'token_refused'; readonly reason: TokenRefusal; readonly status: number; readonly detail: string }
  /** The token may not see one resource of the request (GraphQL FORBIDDEN with a path): another token may. */
  | { readonly kind: 'forbidden'; readonly aliases: readonly string[]; readonly sso: boolean; readonly detail: string }
  | { readonly kind: 'not_found'; readonly aliases: readonly string[]; readonly detail: string }
  | { readonly kind: 'rejected'; readonly detail: string; readonly status?: number }
  /** A typed GraphQL error GitHub has not documented (to us): asked once more, then treated as permanent. */
  | { readonly kind: 'unknown'; readonly type: string; readonly detail: string }
  | { readonly kind: 'transient'; readonly detail: string }
  /** TLS verification failed (Node's code): every attempt meets the same certificate. */
  | { readonly kind: 'untrusted_certificate'; readonly detail: string };

export type TokenRefusal = 'sso' | 'scopes' | 'forbidden';

export class GithubRequestError extends Error {
  constructor(readonly failure: GithubFailure) {
    super(`GitHub request failed (${failure.kind})`);
    this.name = 'GithubRequestError';
  }
}

export interface GraphqlTransport {
  send(document: string, variables: Record<string, unknown>, token: string): Promise<Record<string, unknown>>;
}

export function createGraphqlTransport(url: string, options: { timeoutMs: number; userAgent: string }): GraphqlTransport {
  const client = graphql.defaults({ url, headers: { 'user-agent': options.userAgent } });
  return {
    async send(document, variables, token) {
      try {
        return await client<Record<string, unknown>>(document, {
          ...variables,
          headers: { authorization: `bearer ${token}` },
          request: { signal: AbortSignal.timeout(options.timeoutMs) },
        });
      } catch (err) {
        throw new GithubRequestError(classifyGithubError(err));
      }
    },
  };
}

interface HttpLikeError {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | undefined>; data?: unknown };
}

const SECONDARY = /secondary rate limit|abuse detection/i;
/** GitHub: "Resource protected by organization SAML enforcement. You must grant your … token access …". */
const SSO = /SAML|single sign-on|\bSSO\b/i;
/**
 * Typed errors about the query itself (GitHub's resource limits): the same document fails the same
 * way however often it is sent.
 */
const QUERY_ERRORS = new Set(['MAX_NODE_LIMIT_EXCEEDED', 'EXCESSIVE_PAGINATION', 'ARGUMENT_LIMIT', 'UNPROCESSABLE', 'BAD_REQUEST']);
/** Typed errors of GitHub's own side (overload, timeouts): worth a retry. */
const SERVER_ERRORS = new Set(['SERVICE_UNAVAILABLE', 'INTERNAL', 'INTERNAL_ERROR', 'TIMEOUT']);

/** GitHub's answers can be long (HTML error pages); messages keep their start. */
const MAX_DETAIL = 300;

export function classifyGithubError(err: unknown): GithubFailure {
  const failure = classify(err);
  return 'detail' in failure && failure.detail.length > MAX_DETAIL ? { ...failure, detail: `${failure.detail.slice(0, MAX_DETAIL)}…` } : failure;
}

function classify(err: unknown): GithubFailure {
  if (err instanceof GraphqlResponseError) return classifyGraphqlErrors(err.errors ?? [], err.headers as Record<string, string | undefined>);
  const http = err as HttpLikeError;
  if (typeof http?.status === 'number' && http.response) return classifyHttp(http.status, http.response.headers ?? {}, describe(http));
  const certificate = untrustedCertificateCode(err);
  if (certificate !== undefined) return { kind: 'untrusted_certificate', detail: certificate };
  return { kind: 'transient', detail: innermostReason(err) };
}

/** fetch wraps the reason (`getaddrinfo ENOTFOUND …`, `connect ECONNREFUSED …`) in "fetch failed": the innermost message names it. */
function innermostReason(err: unknown): string {
  let reason = errorMessage(err);
  let inner = err;
  for (let depth = 0; depth < 5 && inner instanceof Error && inner.cause !== undefined; depth++) {
    inner = inner.cause;
    if (errorMessage(inner)) reason = errorMessage(inner);
  }
  return reason;
}

/**
 * GitHub has answered a spent budget with `type: "RATE_LIMITED"` and, since 2026, with
 * `type: "RATE_LIMIT", code: "graphql_rate_limit"` (yanyongyu/githubkit#271).
 */
function isRateLimit(error: { type?: string; code?: string }): boolean {
  return error.type === 'RATE_LIMITED' || error.type === 'RATE_LIMIT' || error.code === 'graphql_rate_limit';
}

type GraphqlError = { type?: string; code?: string; message: string; path?: readonly unknown[]; extensions?: Record<string, unknown> };

function classifyGraphqlErrors(errors: readonly GraphqlError[], headers: Record<string, string | undefined>): GithubFailure {
  const detail = errors.map((error) => error.message).join('; ');
  if (errors.some(isRateLimit)) return { kind: 'rate_limited', resetAtMs: resetOf(headers) };
  const missing = errors.filter((error) => error.type === 'NOT_FOUND');
  if (missing.length > 0) return { kind: 'not_found', aliases: missing.map((error) => String(error.path?.[0] ?? '')), detail };
  const refused = refusalOf(errors, headers, detail);
  if (refused) return refused;
  const typed = errors.find((error) => error.type !== undefined && !SERVER_ERRORS.has(error.type));
  if (typed?.type !== undefined) return QUERY_ERRORS.has(typed.type) ? { kind: 'rejected', detail } : { kind: 'unknown', type: typed.type, detail };
  // Validation errors (no `type`) mean the document itself is wrong: sending it again cannot help.
  if (errors.some((error) => error.type === undefined && (error.extensions?.code !== undefined || /^(Field|Argument|Variable|Fragment|Parse error)/.test(error.message)))) {
    return { kind: 'rejected', detail };
  }
  return { kind: 'transient', detail };
}

/**
 * FORBIDDEN and INSUFFICIENT_SCOPES. Scopes belong to the token. A FORBIDDEN with a path names the
 * one resource the token may not see (e.g. an organization enforcing SAML SSO the token is not
 * authorized for: `extensions.saml_failure`); one without a path refuses the whole request.
 */
function refusalOf(errors: readonly GraphqlError[], headers: Record<string, string | undefined>, detail: string): GithubFailure | undefined {
  if (errors.some((error) => error.type === 'INSUFFICIENT_SCOPES')) return { kind: 'token_refused', reason: 'scopes', status: 200, detail };
  const forbidden = errors.filter((error) => error.type === 'FORBIDDEN');
  if (forbidden.length === 0) return undefined;
  const sso = forbidden.some((error) => error.extensions?.saml_failure === true || SSO.test(error.message)) || /^required\b/i.test(headers['x-github-sso'] ?? '');
  if (forbidden.some((error) => (error.path?.length ?? 0) === 0)) return { kind: 'token_refused', reason: sso ? 'sso' : 'forbidden', status: 200, detail };
  return { kind: 'forbidden', aliases: [...new Set(forbidden.map((error) => String(error.path?.[0])))], sso, detail };
}

function classifyHttp(status: number, headers: Record<string, string | undefined>, detail: string): GithubFailure {
  if (status === 401) return { kind: 'bad_credentials', status, detail };
  if (status === 403 || status === 429) {
    const retryAfter = Number(headers['retry-after']);
    if (headers['retry-after'] !== undefined && Number.isFinite(retryAfter)) return { kind: 'secondary_limit', retryAfterMs: retryAfter * 1000 };
    if (headers['x-ratelimit-remaining'] === '0') return { kind: 'rate_limited', resetAtMs: resetOf(headers) };
    if (status === 429 || SECONDARY.test(detail)) return { kind: 'secondary_limit', retryAfterMs: undefined };
    // The whole GraphQL request refused to this token: SAML SSO enforced by an enterprise or
    // organization (`X-GitHub-SSO: required; url=…`), an IP allow list, a suspended account.
    return { kind: 'token_refused', reason: headers['x-github-sso'] !== undefined || SSO.test(detail) ? 'sso' : 'forbidden', status, detail };
  }
  if (status >= 500 || status === 408) return { kind: 'transient', detail };
  return { kind: 'rejected', detail, status };
}

function resetOf(headers: Record<string, string | undefined>): number | undefined {
  const reset = Number(headers['x-ratelimit-reset']);
  return headers['x-ratelimit-reset'] !== undefined && Number.isFinite(reset) ? reset * 1000 : undefined;
}

function describe(err: HttpLikeError): string {
  const data = err.response?.data as { message?: unknown } | undefined;
  return typeof data?.message === 'string' ? `${err.status} ${data.message}` : `${err.status} ${err.message ?? ''}`.trim();
}

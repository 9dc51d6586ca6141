import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { schema as githubPublicSchema } from '@octokit/graphql-schema';
import type { DocumentNode, GraphQLSchema } from 'graphql';
import { graphql } from './graphql-realm.js';
import { FakeGithubIndex, type FakeSearchArgs, type FakeOwnerArgs } from './github-index.js';
import type { FakeRepository, OwnerSpec } from './github-population.js';
import { describeCalls, type FieldCall } from './github-calls.js';

/**
 * A fake GitHub GraphQL API on 127.0.0.1. Every query is validated against GitHub's real public
 * schema (@octokit/graphql-schema's schema.graphql) and executed with graphql-js; search keeps
 * GitHub's 1,000-result cap (repositoryCount tells the truth, results stop), tokens have a point
 * budget (RATE_LIMITED when spent), and a secondary limit answers 403/429 with retry-after.
 */
export interface FakeGithubOptions {
  readonly population: FakeRepository[];
  readonly owners?: readonly OwnerSpec[];
  readonly tokens: readonly string[];
  /** Points per token per window (GitHub: 5,000 an hour). */
  readonly points?: number;
  readonly windowMs?: number;
  readonly secondary?: {
    /** 1-based request numbers answered with the secondary limit. */
    readonly onRequests?: readonly number[];
    readonly retryAfterSeconds?: number;
    readonly status?: 403 | 429;
    /** More requests than this in flight on one token → secondary limit. */
    readonly maxConcurrentPerToken?: number;
  };
  readonly delayMs?: number;
  /**
   * Tokens (1-based) refused every request, as GitHub answers a token not authorized for the
   * SAML SSO its enterprise enforces: `http` a 403 with `X-GitHub-SSO: required; url=…`, `graphql`
   * a 200 with a FORBIDDEN error without a path (`extensions.saml_failure`).
   */
  readonly refused?: { readonly tokens: readonly number[]; readonly as: 'http' | 'graphql' };
  /** Organizations enforcing SAML SSO → the tokens (1-based) authorized for them; others get FORBIDDEN on the organization. */
  readonly samlOrgs?: Readonly<Record<string, readonly number[]>>;
  /** Answers request `n` (1-based) instead of GitHub when it returns an answer: proxies' pages, broken answers. */
  readonly override?: (n: number) => { readonly status: number; readonly headers?: Record<string, string>; readonly body: string } | undefined;
  /** Called before each request is answered, e.g. to change stars mid-crawl. */
  readonly beforeRequest?: (n: number, fake: FakeGithub) => void;
  /** Serves https with this key and certificate (a GitHub Enterprise Server with a private CA). */
  readonly tls?: { readonly key: string; readonly cert: string };
}

export interface FakeRequestRecord {
  readonly n: number;
  readonly path: string;
  /** 1-based index into options.tokens; undefined for an unknown token. */
  readonly token: number | undefined;
  outcome: 'ok' | 'unauthorized' | 'refused' | 'invalid' | 'rate_limited' | 'secondary' | 'overridden';
  readonly calls: FieldCall[];
  /** The answer has been sent (requests in flight are in the log already). */
  answered: boolean;
}

export interface FakeGithub {
  readonly url: string;
  readonly requests: FakeRequestRecord[];
  /** Validation errors of queries that did not match the schema (should stay empty). */
  readonly invalid: string[];
  readonly index: FakeGithubIndex;
  /** Gives every token a full budget again (of `points`, when given, from now on). */
  resetBudgets(points?: number): void;
  setDelay(ms: number): void;
  /** Replaces options.beforeRequest (undefined removes it). */
  setBeforeRequest(hook: FakeGithubOptions['beforeRequest']): void;
  stop(): Promise<void>;
}

interface Budget {
  remaining: number;
  resetAt: number;
}

let schemaCache: GraphQLSchema | undefined;

export async function startFakeGithub(options: FakeGithubOptions): Promise<FakeGithub> {
  const schema = githubSchema();
  const { parse, validate, execute } = graphql;
  const index = new FakeGithubIndex(options.population, options.owners ?? []);
  const requests: FakeRequestRecord[] = [];
  const invalid: string[] = [];
  let points = options.points ?? 5000;
  const windowMs = options.windowMs ?? 3_600_000;
  const budgets = new Map<number, Budget>();
  const inFlight = new Map<number, number>();
  let delayMs = options.delayMs ?? 0;
  let beforeRequest = options.beforeRequest;

  const budgetOf = (token: number): Budget => {
    const now = Date.now();
    let budget = budgets.get(token);
    if (!budget || budget.resetAt <= now) {
      budget = { remaining: points, resetAt: now + windowMs };
      budgets.set(token, budget);
    }
    return budget;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, body: string): Promise<void> => {
    const n = requests.length + 1;
    const token = tokenOf(req.headers.authorization, options.tokens);
    const record: FakeRequestRecord = { n, path: req.url ?? '/', token, outcome: 'ok', calls: [], answered: false };
    requests.push(record);
    res.once('finish', () => {
      record.answered = true;
    });
    if (delayMs > 0) await sleep(delayMs);
    const overridden = options.override?.(n);
    if (overridden) {
      record.outcome = 'overridden';
      res.writeHead(overridden.status, { 'content-type': 'application/json; charset=utf-8', ...overridden.headers }).end(overridden.body);
      return;
    }
    // GitHub's endpoints: github.com's /graphql and Enterprise Server's /api/graphql, nothing else.
    if (req.method !== 'POST' || !/^(\/api)?\/graphql$/.test(new URL(req.url ?? '/', 'http://x').pathname)) return send(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/graphql' });
    if (token === undefined) {
      record.outcome = 'unauthorized';
      return send(res, 401, { message: req.headers.authorization ? 'Bad credentials' : 'This endpoint requires you to be authenticated.', documentation_url: 'https://docs.github.com/graphql' });
    }
    if (options.refused?.tokens.includes(token)) {
      record.outcome = 'refused';
      const message = 'Resource protected by organization SAML enforcement. You must grant your Personal Access token access to an organization within this enterprise.';
      if (options.refused.as === 'http') return send(res, 403, { message, documentation_url: 'https://docs.github.com/articles/authenticating-to-a-github-organization-with-saml-single-sign-on/' }, { 'x-github-sso': 'required; url=https://github.com/enterprises/acme/sso?authorization_request=fake' });
      return send(res, 200, { data: null, errors: [{ type: 'FORBIDDEN', extensions: { saml_failure: true }, message }] });
    }
    const { query, variables } = JSON.parse(body) as { query: string; variables?: Record<string, unknown> };
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (err) {
      invalid.push(String(err));
      record.outcome = 'invalid';
      return send(res, 200, { errors: [{ message: (err as Error).message }] });
    }
    const problems = validate(schema, document);
    if (problems.length > 0) {
      invalid.push(...problems.map((problem) => problem.message));
      record.outcome = 'invalid';
      return send(res, 200, { errors: problems.map((problem) => ({ message: problem.message, locations: problem.locations })) });
    }
    record.calls.push(...describeCalls(document, variables ?? {}));
    beforeRequest?.(n, fake);
    const secondary = options.secondary;
    if (secondary && (secondary.onRequests?.includes(n) || (inFlight.get(token) ?? 0) > (secondary.maxConcurrentPerToken ?? Number.POSITIVE_INFINITY))) {
      record.outcome = 'secondary';
      return send(res, secondary.status ?? 403, { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.', documentation_url: 'https://docs.github.com/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api#secondary-rate-limits' }, { 'retry-after': String(secondary.retryAfterSeconds ?? 1) });
    }
    const budget = budgetOf(token);
    const cost = Math.max(1, Math.round(record.calls.filter((call) => call.field !== 'rateLimit').length / 100));
    const headers = (): Record<string, string> => ({ 'x-ratelimit-limit': String(points), 'x-ratelimit-remaining': String(budget.remaining), 'x-ratelimit-reset': String(Math.ceil(budget.resetAt / 1000)), 'x-ratelimit-resource': 'graphql' });
    if (budget.remaining < cost) {
      record.outcome = 'rate_limited';
      return send(res, 200, { errors: [{ type: 'RATE_LIMITED', code: 'graphql_rate_limit', message: `API rate limit already exceeded for user ID ${token}.` }] }, headers());
    }
    budget.remaining -= cost;
    const rateLimit = { cost, limit: points, remaining: budget.remaining, used: points - budget.remaining, resetAt: new Date(budget.resetAt).toISOString(), nodeCount: 0 };
    const result = await execute({ schema, document, variableValues: variables ?? {}, contextValue: { index, rateLimit, token, samlOrgs: options.samlOrgs ?? {} } });
    const errors = result.errors?.map((error) => {
      const { type, ...extensions } = error.extensions ?? {};
      return { type: (type as string | undefined) ?? 'INTERNAL', path: error.path, locations: error.locations, message: error.message, ...(Object.keys(extensions).length > 0 ? { extensions } : {}) };
    });
    invalid.push(...(errors ?? []).filter((error) => error.type !== 'NOT_FOUND' && error.type !== 'FORBIDDEN').map((error) => error.message));
    return send(res, 200, errors ? { data: result.data, errors } : { data: result.data }, headers());
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const token = tokenOf(req.headers.authorization, options.tokens);
      if (token !== undefined) inFlight.set(token, (inFlight.get(token) ?? 0) + 1);
      handle(req, res, Buffer.concat(chunks).toString('utf8'))
        .catch((err: unknown) => send(res, 500, { message: String(err) }))
        .finally(() => {
          if (token !== undefined) inFlight.set(token, (inFlight.get(token) ?? 1) - 1);
        });
    });
  };
  const server = options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, handler) : http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  const fake: FakeGithub = {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    invalid,
    index,
    resetBudgets: (newPoints) => {
      points = newPoints ?? points;
      budgets.clear();
    },
    setDelay: (ms) => {
      delayMs = ms;
    },
    setBeforeRequest: (hook) => {
      beforeRequest = hook;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return fake;
}

/** GitHub's public schema, built once per process (~2 s); its SDL repeats two enterprise fields, hence assumeValidSDL. */
export function githubSchema(): GraphQLSchema {
  if (schemaCache) return schemaCache;
  const typeDefs = githubPublicSchema.idl;
  type Context = { index: FakeGithubIndex; rateLimit: unknown; token: number; samlOrgs: Readonly<Record<string, readonly number[]>> };
  const owner = (type: 'organization' | 'user', label: string) => (_: unknown, args: { login: string }, context: Context) => {
    const found = context.index.owner(args.login, type);
    if (!found) throw new graphql.GraphQLError(`Could not resolve to ${label} with the login of '${args.login}'.`, { extensions: { type: 'NOT_FOUND' } });
    const authorized = context.samlOrgs[args.login.toLowerCase()];
    if (type === 'organization' && authorized && !authorized.includes(context.token)) {
      throw new graphql.GraphQLError('Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization.', { extensions: { type: 'FORBIDDEN', saml_failure: true } });
    }
    return found;
  };
  const repositories = (parent: { login: string }, args: FakeOwnerArgs, context: Context) => context.index.ownerRepositories(parent.login, args);
  schemaCache = makeExecutableSchema({
    typeDefs,
    assumeValidSDL: true,
    resolverValidationOptions: { requireResolversForResolveType: 'ignore' },
    resolvers: {
      Query: {
        search: (_: unknown, args: FakeSearchArgs, context: Context) => context.index.search(args),
        organization: owner('organization', 'an Organization'),
        user: owner('user', 'a User'),
        rateLimit: (_: unknown, __: unknown, context: Context) => context.rateLimit,
      },
      Organization: { repositories },
      User: { repositories },
    },
  });
  return schemaCache;
}

function tokenOf(header: string | undefined, tokens: readonly string[]): number | undefined {
  const match = /^(?:bearer|token)\s+(.+)$/i.exec(header ?? '');
  const index = match ? tokens.indexOf(match[1] as string) : -1;
  return index >= 0 ? index + 1 : undefined;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
}

import { GithubRequestError } from './github-client.js';
import { REPOSITORY_FRAGMENT, toRepository, type RepositoryNode } from './repository-node.js';
import type { DiscoveredRepository, OwnerFilter, Probe, ProbeResult, RateLimitInfo, RequestPlan, RequestResult, SegmentResult, StreamSource } from './types.js';

/**
 * One GraphQL document per request: aliased fields `s<i>` for pages of streams, `p<i>` for count
 * probes (`first: 0`), and `rateLimit { cost remaining resetAt }` so every answer updates the
 * token's budget. Values travel as variables, never spliced into the text.
 */
export interface BuiltRequest {
  readonly document: string;
  readonly variables: Record<string, string | null>;
}

const PAGE_INFO = 'pageInfo { hasNextPage endCursor }';

export function buildDocument(plan: RequestPlan): BuiltRequest {
  const declarations: string[] = [];
  const fields: string[] = ['rateLimit { cost remaining resetAt }'];
  const variables: Record<string, string | null> = {};
  plan.segments.forEach(({ stream, first }, index) => {
    const alias = `s${index}`;
    declarations.push(`$${alias}k: String!`, `$${alias}a: String`);
    variables[`${alias}k`] = sourceValue(stream.source);
    variables[`${alias}a`] = stream.cursor;
    fields.push(sourceField(alias, stream.source, `first: ${first}, after: $${alias}a`, `${PAGE_INFO} nodes { ...RepositoryFields }`));
  });
  plan.probes.forEach((probe, index) => {
    const alias = `p${index}`;
    declarations.push(`$${alias}k: String!`);
    variables[`${alias}k`] = probe.kind === 'search' ? probe.query : probe.login;
    fields.push(sourceField(alias, probeSource(probe), 'first: 0', ''));
  });
  const head = declarations.length > 0 ? `query Discover(${declarations.join(', ')})` : 'query Discover';
  const fragment = plan.segments.length > 0 ? `\n${REPOSITORY_FRAGMENT}` : '';
  return { document: `${head} {\n  ${fields.join('\n  ')}\n}${fragment}`, variables };
}

export function parseResponse(plan: RequestPlan, answer: Record<string, unknown> | null | undefined): RequestResult {
  const data = withEveryPage(plan, answer);
  const segments = plan.segments.map(({ stream }, index): SegmentResult => {
    const connection = connectionOf(stream.source, data[`s${index}`]);
    const nodes = connection?.nodes ?? [];
    const repositories = nodes.map(toRepository).filter((repo): repo is DiscoveredRepository => repo !== undefined);
    return {
      key: stream.key,
      repositories,
      received: nodes.length,
      count: connection?.count ?? stream.expected,
      hasNextPage: connection?.pageInfo?.hasNextPage ?? false,
      endCursor: connection?.pageInfo?.endCursor ?? null,
    };
  });
  const probes = plan.probes.map((probe, index): ProbeResult => {
    const connection = connectionOf(probeSource(probe), data[`p${index}`]);
    return connection ? { key: probe.key, count: connection.count } : { key: probe.key, count: undefined, missing: true };
  });
  return { segments, probes, rateLimit: data.rateLimit as RateLimitInfo | undefined };
}

/**
 * A page or a search count missing from an answer without `errors` (a proxy's HTML page parsed to
 * nothing, `data: null`) must not read as "no more results": the request is retried. Only an
 * owner probe may be null, which is how GitHub says the owner does not exist.
 */
function withEveryPage(plan: RequestPlan, data: Record<string, unknown> | null | undefined): Record<string, unknown> {
  const lacking = [
    ...plan.segments.map((_, index) => `s${index}`),
    ...plan.probes.flatMap((probe, index) => (probe.kind === 'search' ? [`p${index}`] : [])),
  ].filter((alias) => data?.[alias] === null || data?.[alias] === undefined);
  if (data && typeof data === 'object' && lacking.length === 0) return data;
  const detail = data && typeof data === 'object' ? `GitHub's answer lacks ${lacking.join(', ')}` : 'GitHub answered without data';
  throw new GithubRequestError({ kind: 'transient', detail });
}

/** Which stream or probe an alias (the first element of a GraphQL error path) stands for. */
export function sourceOfAlias(plan: RequestPlan, alias: string): StreamSource | undefined {
  const index = Number(alias.slice(1));
  if (alias.startsWith('s')) return plan.segments[index]?.stream.source;
  const probe = alias.startsWith('p') ? plan.probes[index] : undefined;
  return probe ? probeSource(probe) : undefined;
}

function sourceField(alias: string, source: StreamSource, args: string, selection: string): string {
  const count = source.kind === 'search' ? 'repositoryCount' : 'totalCount';
  const body = `{ ${count} ${selection}}`.replace(/\s+}$/, ' }');
  if (source.kind === 'search') return `${alias}: search(type: REPOSITORY, query: $${alias}k, ${args}) ${body}`;
  return `${alias}: ${source.ownerType}(login: $${alias}k) { repositories(${args}, ${ownerArguments(source.filter)}) ${body} }`;
}

/** Repositories the owner owns, oldest first: a new repository lands on the last page, not mid-way. */
function ownerArguments(filter: OwnerFilter): string {
  const parts = ['ownerAffiliations: [OWNER]', 'orderBy: { field: CREATED_AT, direction: ASC }'];
  if (!filter.includeForks) parts.push('isFork: false');
  if (!filter.includeArchived) parts.push('isArchived: false');
  return parts.join(', ');
}

function sourceValue(source: StreamSource): string {
  return source.kind === 'search' ? source.query : source.login;
}

function probeSource(probe: Probe): StreamSource {
  return probe.kind === 'search' ? { kind: 'search', query: probe.query } : { kind: 'owner', ownerType: probe.ownerType, login: probe.login, filter: probe.filter };
}

interface Connection {
  count: number;
  pageInfo?: { hasNextPage?: boolean; endCursor?: string | null };
  nodes?: Array<RepositoryNode | null>;
}

function connectionOf(source: StreamSource, value: unknown): Connection | undefined {
  if (value === null || value === undefined) return undefined;
  if (source.kind === 'search') {
    const search = value as { repositoryCount: number } & Omit<Connection, 'count'>;
    return { count: search.repositoryCount, pageInfo: search.pageInfo, nodes: search.nodes };
  }
  const repositories = (value as { repositories?: { totalCount: number } & Omit<Connection, 'count'> }).repositories;
  return repositories ? { count: repositories.totalCount, pageInfo: repositories.pageInfo, nodes: repositories.nodes } : undefined;
}

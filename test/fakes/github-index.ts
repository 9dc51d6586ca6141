import { graphql } from './graphql-realm.js';
import type { FakeRepository, OwnerSpec } from './github-population.js';
import { FakeSearchError, parseSearch } from './github-search.js';

export interface FakeSearchArgs {
  readonly query: string;
  readonly type: string;
  readonly first?: number | null;
  readonly after?: string | null;
  readonly last?: number | null;
}

export interface FakeOwnerArgs {
  readonly first?: number | null;
  readonly after?: string | null;
  readonly isFork?: boolean | null;
  readonly isArchived?: boolean | null;
  readonly orderBy?: { field: string; direction: 'ASC' | 'DESC' } | null;
}

/** GitHub search answers at most this many results, whatever the count says. */
export const SEARCH_CAP = 1000;
/** "Queries longer than 256 characters are not supported" (GitHub docs, Troubleshooting search queries). */
const MAX_QUERY_LENGTH = 256;

/**
 * The population sorted by stars (most first) so a `stars:` range is a slice found by binary
 * search; other qualifiers filter the slice. Answers search and owner listings like GitHub:
 * offset cursors ("cursor:N" in base64), `first` ≤ 100, search results capped at 1,000.
 */
export class FakeGithubIndex {
  private sorted: FakeRepository[];
  private readonly owners: Map<string, OwnerSpec>;
  /** Every search answered, with the results it matched (for assertions). */
  searches = 0;

  constructor(readonly population: FakeRepository[], owners: readonly OwnerSpec[]) {
    this.sorted = sortByStars(population);
    this.owners = new Map(owners.map((owner) => [owner.login.toLowerCase(), owner]));
  }

  /** Changes repositories (e.g. their stars) mid-crawl. */
  mutate(change: (population: FakeRepository[]) => void): void {
    change(this.population);
    this.sorted = sortByStars(this.population);
  }

  search(args: FakeSearchArgs) {
    this.searches += 1;
    if (args.type !== 'REPOSITORY') throw new graphql.GraphQLError(`The fake searches repositories only, not ${args.type}`);
    const first = pageSize(args.first, 'search', args.last);
    if (args.query.length > MAX_QUERY_LENGTH) throw new graphql.GraphQLError(`The search query is longer than ${MAX_QUERY_LENGTH} characters`, { extensions: { type: 'INVALID_SEARCH' } });
    let parsed;
    try {
      parsed = parseSearch(args.query);
    } catch (err) {
      if (err instanceof FakeSearchError) throw new graphql.GraphQLError(err.message, { extensions: { type: 'INVALID_SEARCH' } });
      throw err;
    }
    const slice = this.slice(parsed.minStars, parsed.maxStars);
    const offset = offsetOf(args.after);
    if (first === 0) {
      let count = 0;
      for (const repo of slice) if (parsed.matches(repo)) count += 1;
      return { repositoryCount: count, pageInfo: { hasNextPage: count > offset, endCursor: null, hasPreviousPage: false, startCursor: null }, nodes: [] };
    }
    const matched = slice.filter(parsed.matches);
    if (parsed.ascending) matched.reverse();
    return connection(matched, Math.min(matched.length, SEARCH_CAP), offset, first, 'repositoryCount');
  }

  /** How many repositories a search query matches (repositoryCount), without counting it as a search. */
  count(query: string): number {
    const parsed = parseSearch(query);
    return this.slice(parsed.minStars, parsed.maxStars).filter(parsed.matches).length;
  }

  owner(login: string, type: OwnerSpec['type']): { login: string } | undefined {
    const owner = this.owners.get(login.toLowerCase());
    return owner && owner.type === type ? { login: owner.login } : undefined;
  }

  ownerRepositories(login: string, args: FakeOwnerArgs) {
    const first = pageSize(args.first, 'repositories');
    const owned = this.population.filter(
      (repo) => repo.owner === login && (args.isFork == null || repo.isFork === args.isFork) && (args.isArchived == null || repo.isArchived === args.isArchived),
    );
    const field = args.orderBy?.field ?? 'CREATED_AT';
    const sign = args.orderBy?.direction === 'DESC' ? -1 : 1;
    const key = (repo: FakeRepository): number | string => (field === 'NAME' ? repo.name : field === 'STARGAZERS' ? repo.stars : field === 'PUSHED_AT' ? repo.pushedAt : repo.createdAt);
    owned.sort((a, b) => sign * (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.id - b.id));
    return connection(owned, owned.length, offsetOf(args.after), first, 'totalCount');
  }

  private slice(minStars: number, maxStars: number): FakeRepository[] {
    const start = firstIndex(this.sorted, (repo) => repo.stars <= maxStars);
    const end = firstIndex(this.sorted, (repo) => repo.stars < minStars);
    return this.sorted.slice(start, end);
  }
}

function connection(items: FakeRepository[], available: number, offset: number, first: number, countField: string) {
  const nodes = items.slice(offset, Math.max(offset, Math.min(offset + first, available))).map(toNode);
  return {
    [countField]: items.length,
    pageInfo: {
      hasNextPage: offset + nodes.length < available,
      endCursor: nodes.length > 0 ? cursor(offset + nodes.length) : null,
      hasPreviousPage: offset > 0,
      startCursor: nodes.length > 0 ? cursor(offset + 1) : null,
    },
    nodes,
  };
}

function toNode(repo: FakeRepository) {
  return {
    __typename: 'Repository',
    id: `R_${repo.id}`,
    databaseId: repo.id,
    name: repo.name,
    nameWithOwner: repo.nameWithOwner,
    url: repo.url,
    stargazerCount: repo.stars,
    createdAt: iso(repo.createdAt),
    pushedAt: iso(repo.pushedAt),
    isFork: repo.isFork,
    isArchived: repo.isArchived,
    isEmpty: repo.isEmpty,
    isPrivate: false,
    defaultBranchRef: repo.defaultBranch ? { name: repo.defaultBranch } : null,
  };
}

/** GitHub's limit on `first`: 0 to 100 (0 answers counts only). */
function pageSize(first: number | null | undefined, connectionName: string, last?: number | null): number {
  if (last != null) throw new graphql.GraphQLError('The fake pages forward only (first/after)');
  if (first == null) throw new graphql.GraphQLError(`You must provide a \`first\` or \`last\` value to properly paginate the \`${connectionName}\` connection.`);
  if (first < 0 || first > 100) throw new graphql.GraphQLError(`Requesting ${first} records on the \`${connectionName}\` connection exceeds the \`first\` limit of 100 records.`);
  return first;
}

export function cursor(offset: number): string {
  return Buffer.from(`cursor:${offset}`).toString('base64');
}

function offsetOf(after: string | null | undefined): number {
  if (!after) return 0;
  const match = /^cursor:(\d+)$/.exec(Buffer.from(after, 'base64').toString('utf8'));
  if (!match) throw new graphql.GraphQLError(`\`${after}\` does not appear to be a valid cursor.`);
  return Number(match[1]);
}

function sortByStars(population: FakeRepository[]): FakeRepository[] {
  return [...population].sort((a, b) => b.stars - a.stars || a.id - b.id);
}

function firstIndex(sorted: FakeRepository[], predicate: (repo: FakeRepository) => boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (predicate(sorted[mid] as FakeRepository)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

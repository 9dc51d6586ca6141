/**
 * The vocabulary of discovery (issue 8). A *stream* is one paginated listing: a search bucket
 * (≤ 1,000 results, GitHub's cap) or an owner's repositories. A *probe* asks for a count only.
 * A *request* packs segments of several streams (≤ 100 nodes together) and probes into one
 * GraphQL document, so that nearly every request carries a full page.
 */

/** One row of repos.csv, as discovery writes it (DESIGN §4 plus stars and pushedAt). */
export interface DiscoveredRepository {
  readonly cloneUrl: string;
  readonly branch: string;
  readonly origin: string;
  readonly path: string;
  readonly stars: number;
  readonly pushedAt: string | null;
}

export type OwnerType = 'organization' | 'user';

export interface OwnerFilter {
  readonly includeForks: boolean;
  readonly includeArchived: boolean;
}

export type StreamSource =
  | { readonly kind: 'search'; readonly query: string }
  | { readonly kind: 'owner'; readonly ownerType: OwnerType; readonly login: string; readonly filter: OwnerFilter };

/** Mutable progress of one stream; persisted as a discovery_streams row. */
export interface StreamState {
  readonly key: string;
  readonly position: number;
  readonly source: StreamSource;
  /** The count known when it was planned (search: ≤ the cap). */
  expected: number;
  /** How many nodes to fetch: `expected`, or fewer for the last bucket under --limit. */
  goal: number;
  fetched: number;
  cursor: string | null;
  /** No further page (or the search cap reached). */
  exhausted: boolean;
}

export type Probe =
  | { readonly key: string; readonly kind: 'search'; readonly query: string }
  | { readonly key: string; readonly kind: 'owner'; readonly ownerType: OwnerType; readonly login: string; readonly filter: OwnerFilter };

export type ProbeResult = { readonly key: string; readonly count: number } | { readonly key: string; readonly count: undefined; readonly missing: true };

export interface Segment {
  readonly stream: StreamState;
  readonly first: number;
}

export interface RequestPlan {
  readonly segments: readonly Segment[];
  readonly probes: readonly Probe[];
}

export interface SegmentResult {
  readonly key: string;
  /** Repositories to keep (empty repositories already left out). */
  readonly repositories: readonly DiscoveredRepository[];
  /** Nodes the page held, kept or not: the stream's offset advances by this. */
  readonly received: number;
  readonly count: number;
  readonly hasNextPage: boolean;
  readonly endCursor: string | null;
}

export interface RateLimitInfo {
  readonly cost: number;
  readonly remaining: number;
  readonly resetAt: string;
}

export interface RequestResult {
  readonly segments: readonly SegmentResult[];
  readonly probes: readonly ProbeResult[];
  readonly rateLimit: RateLimitInfo | undefined;
}

/** GitHub search returns at most this many results per query, whatever repositoryCount says. */
export const SEARCH_CAP = 1000;
/** Nodes per request: GitHub's `first` limit, and the unit of the request minimum ceil(N/100). */
export const PAGE_SIZE = 100;

export function remainingOf(stream: StreamState): number {
  if (stream.exhausted) return 0;
  const ceiling = stream.source.kind === 'search' ? Math.min(stream.goal, SEARCH_CAP) : stream.goal;
  return Math.max(0, ceiling - stream.fetched);
}

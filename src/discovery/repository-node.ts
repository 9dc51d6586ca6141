import type { DiscoveredRepository } from './types.js';

/** The Repository fields discovery reads; every page's nodes spread this fragment. */
export const REPOSITORY_FRAGMENT = `fragment RepositoryFields on Repository {
  nameWithOwner
  url
  stargazerCount
  pushedAt
  isEmpty
  defaultBranchRef { name }
}`;

export interface RepositoryNode {
  readonly nameWithOwner?: string;
  readonly url?: string;
  readonly stargazerCount?: number;
  readonly pushedAt?: string | null;
  readonly isEmpty?: boolean;
  readonly defaultBranchRef?: { readonly name?: string } | null;
}

/**
 * A node as a repos.csv row: `cloneUrl` the https URL, `branch` the default branch, `origin` the
 * URL's host (github.com or the Enterprise host), `path` owner/name — the keys the processor
 * records, so results and stars join. Empty repositories (no default branch) have nothing to
 * build and give undefined, as do search items that are not repositories.
 */
export function toRepository(node: RepositoryNode | null | undefined): DiscoveredRepository | undefined {
  if (!node?.nameWithOwner || !node.url) return undefined;
  const branch = node.defaultBranchRef?.name;
  if (node.isEmpty || !branch) return undefined;
  let origin: string;
  try {
    origin = new URL(node.url).host;
  } catch {
    return undefined;
  }
  return {
    cloneUrl: `${node.url.replace(/\/+$/, '')}.git`,
    branch,
    origin,
    path: node.nameWithOwner,
    stars: node.stargazerCount ?? 0,
    pushedAt: node.pushedAt ?? null,
  };
}

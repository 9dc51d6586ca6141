import { UsageError } from '../errors.js';
import type { OwnerFilter, OwnerType, Probe, ProbeResult, StreamState } from './types.js';

/**
 * `--org` / `--user`: one stream per owner, its size probed first (`totalCount` with the fork
 * and archived filters applied by GitHub) so its pages can be packed with others.
 */
export interface OwnerPlanState {
  readonly owners: Array<{ readonly ownerType: OwnerType; readonly login: string; count: number | null; pending: boolean }>;
}

export function initialOwnerState(orgs: readonly string[], users: readonly string[]): OwnerPlanState {
  const seen = new Set<string>();
  const owners: OwnerPlanState['owners'] = [];
  for (const [ownerType, logins] of [['organization', orgs], ['user', users]] as const) {
    for (const login of logins) {
      const key = `${ownerType}:${login.toLowerCase()}`;
      if (seen.has(key)) continue;
      seen.add(key);
      owners.push({ ownerType, login, count: null, pending: false });
    }
  }
  return { owners };
}

export class OwnerPlanner {
  constructor(
    readonly state: OwnerPlanState,
    private readonly filter: OwnerFilter,
    private readonly nextPosition: () => number,
  ) {}

  probes(max: number): Probe[] {
    const out: Probe[] = [];
    for (const owner of this.state.owners) {
      if (out.length >= max) break;
      if (owner.count !== null || owner.pending) continue;
      owner.pending = true;
      out.push({ key: probeKey(owner.ownerType, owner.login), kind: 'owner', ownerType: owner.ownerType, login: owner.login, filter: this.filter });
    }
    return out;
  }

  record(results: readonly ProbeResult[]): StreamState[] {
    const out: StreamState[] = [];
    for (const result of results) {
      const owner = this.state.owners.find((candidate) => probeKey(candidate.ownerType, candidate.login) === result.key);
      if (!owner) continue;
      owner.pending = false;
      if (result.count === undefined) throw notFound(owner.ownerType, owner.login);
      owner.count = result.count;
      if (result.count === 0) continue;
      out.push({
        key: `owner:${owner.ownerType}:${owner.login.toLowerCase()}`,
        position: this.nextPosition(),
        source: { kind: 'owner', ownerType: owner.ownerType, login: owner.login, filter: this.filter },
        expected: result.count,
        goal: result.count,
        fetched: 0,
        cursor: null,
        exhausted: false,
      });
    }
    return out;
  }

  complete(): boolean {
    return this.state.owners.every((owner) => owner.count !== null);
  }

  total(): number | undefined {
    return this.complete() ? this.state.owners.reduce((sum, owner) => sum + (owner.count ?? 0), 0) : undefined;
  }
}

export function probeKey(ownerType: OwnerType, login: string): string {
  return `owner:${ownerType}:${login.toLowerCase()}`;
}

export function notFound(ownerType: OwnerType, login: string): UsageError {
  return ownerType === 'organization'
    ? new UsageError('github_owner_not_found', `GitHub has no organization "${login}" (--org): check the name, or pass a user account with --user`)
    : new UsageError('github_owner_not_found', `GitHub has no user "${login}" (--user): check the name, or pass an organization with --org`);
}

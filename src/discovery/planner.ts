import { initialOwnerState, OwnerPlanner, type OwnerPlanState } from './owner-planner.js';
import { SearchPlanner, type SearchPlanState } from './search-planner.js';
import type { SearchScope } from './search-query.js';
import type { OwnerFilter, Probe, ProbeResult, StreamState } from './types.js';

/** Everything planning needs to continue after an interruption (discovery_runs.planner). */
export interface PlannerSnapshot {
  readonly version: 1;
  readonly nextPosition: number;
  readonly nowSeconds: number;
  readonly search: SearchPlanState | null;
  readonly owners: OwnerPlanState;
}

export interface PlannerSettings {
  readonly scope: SearchScope | undefined;
  readonly limit: number | null;
  readonly orgs: readonly string[];
  readonly users: readonly string[];
  readonly filter: OwnerFilter;
  readonly nowSeconds: number;
}

/** The search planner and the owner planner behind one face for the crawler. */
export class DiscoveryPlanner {
  private position: number;
  private readonly nowSeconds: number;
  private readonly search: SearchPlanner | undefined;
  private readonly owners: OwnerPlanner;

  constructor(settings: PlannerSettings, saved?: PlannerSnapshot) {
    const snapshot = saved ? withoutPending(saved) : undefined;
    this.position = snapshot?.nextPosition ?? 0;
    this.nowSeconds = snapshot?.nowSeconds ?? settings.nowSeconds;
    const nextPosition = () => this.position++;
    this.owners = new OwnerPlanner(snapshot?.owners ?? initialOwnerState(settings.orgs, settings.users), settings.filter, nextPosition);
    this.search = settings.scope
      ? new SearchPlanner({ scope: settings.scope, limit: settings.limit, nowSeconds: this.nowSeconds, nextPosition }, snapshot?.search ?? undefined)
      : undefined;
  }

  attach(streams: ReadonlyMap<string, StreamState>): void {
    this.search?.attach(streams);
  }

  /** Up to `max` probes not asked yet; each is pending until `record` gets its answer. */
  probes(max: number): Probe[] {
    const owners = this.owners.probes(max);
    return this.search ? [...owners, ...this.search.probes(max - owners.length)] : owners;
  }

  record(results: readonly ProbeResult[]): StreamState[] {
    if (results.length === 0) return [];
    const owners = this.owners.record(results.filter((result) => result.key.startsWith('owner:')));
    const search = this.search?.record(results.filter((result) => !result.key.startsWith('owner:'))) ?? [];
    return [...owners, ...search];
  }

  /** --limit: `skipped` nodes (duplicates, empty repositories) did not count; plan further. */
  grow(skipped: number): StreamState[] {
    return this.search?.grow(skipped) ?? [];
  }

  complete(): boolean {
    return this.owners.complete() && (this.search?.complete() ?? true);
  }

  /** Repositories expected in all, once the first counts are known (for progress). */
  total(): number | undefined {
    const owners = this.owners.total();
    const search = this.search ? this.search.total() : 0;
    return owners === undefined || search === undefined ? undefined : owners + search;
  }

  unreachable(): number {
    return this.search?.state.unreachable ?? 0;
  }

  snapshot(): PlannerSnapshot {
    return { version: 1, nextPosition: this.position, nowSeconds: this.nowSeconds, search: this.search?.state ?? null, owners: this.owners.state };
  }
}

/** Probes that were in flight when the checkpoint was written got no answer: ask again. */
function withoutPending(saved: PlannerSnapshot): PlannerSnapshot {
  const snapshot = structuredClone(saved);
  for (const owner of snapshot.owners.owners) owner.pending = false;
  if (snapshot.search) {
    snapshot.search.stars.pending = [];
    for (const axis of Object.values(snapshot.search.created)) axis.pending = [];
  }
  return snapshot;
}

import { AbortedError, MassIngestError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { CheckpointStore } from './checkpoint-store.js';
import { DEFAULT_LIMITS, RequestComposer, type ComposerLimits } from './composer.js';
import type { DiscoveryPlanner } from './planner.js';
import type { ProgressState } from './progress.js';
import type { RequestExecutor } from './request-executor.js';
import type { Lease, TokenPool } from './token-pool.js';
import { remainingOf, SEARCH_CAP, type DiscoveredRepository, type RequestPlan, type RequestResult, type StreamState } from './types.js';

export interface CrawlerDeps {
  readonly discoveryId: string;
  readonly planner: DiscoveryPlanner;
  readonly store: CheckpointStore;
  readonly executor: RequestExecutor;
  readonly pool: TokenPool;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly onProgress: (state: ProgressState) => void;
  /** Count probes per request: each is a search GitHub runs, so not too many at once. */
  readonly maxProbes: number;
  readonly limits?: ComposerLimits;
  /** What an interrupted run saved. */
  readonly restored: { readonly streams: readonly StreamState[]; readonly requests: number };
}

export interface CrawlSummary {
  readonly stopped: boolean;
  /** Answered requests, over every run of this discovery. */
  readonly requests: number;
  readonly repositories: number;
  readonly streams: number;
  readonly probes: number;
}

/**
 * The request loop: compose a full request (pages of several streams plus pending probes), send
 * it on a leased token, apply the answer, checkpoint it. A request that is not full waits while
 * others are in flight, since their answers may plan more buckets; so only the very end of a
 * discovery sends partly filled pages.
 */
export class Crawler {
  private readonly streams = new Map<string, StreamState>();
  private readonly composer: RequestComposer;
  private readonly pageSize: number;
  private requests: number;
  private probes = 0;
  private failure: unknown;

  constructor(private readonly deps: CrawlerDeps) {
    const limits = deps.limits ?? DEFAULT_LIMITS;
    this.pageSize = limits.pageSize;
    this.composer = new RequestComposer(limits);
    this.requests = deps.restored.requests;
    this.register(deps.restored.streams);
    deps.planner.attach(this.streams);
  }

  async run(): Promise<CrawlSummary> {
    const inflight = new Set<Promise<void>>();
    while (this.failure === undefined && !this.deps.signal.aborted) {
      const plan = this.compose(inflight.size);
      if (!plan) {
        if (inflight.size > 0) await Promise.race(inflight);
        else if (!(await this.planFurther())) break;
        continue;
      }
      const lease = await this.deps.pool.acquire(this.deps.signal).catch((err: unknown) => {
        this.composer.release(plan.segments);
        if (!this.deps.signal.aborted) this.failure ??= err;
        return undefined;
      });
      if (!lease) break;
      const sending = this.send(plan, lease);
      inflight.add(sending);
      void sending.finally(() => inflight.delete(sending));
    }
    await Promise.all(inflight);
    await this.deps.store.flush();
    if (this.failure !== undefined) throw this.failure;
    return { stopped: this.deps.signal.aborted, requests: this.requests, repositories: this.deps.store.repositoryCount, streams: this.streams.size, probes: this.probes };
  }

  progress(): ProgressState {
    let done = 0;
    for (const stream of this.streams.values()) if (remainingOf(stream) === 0) done += 1;
    return { streamsDone: done, streamsPlanned: this.streams.size, repositories: this.deps.store.repositoryCount, expected: this.deps.planner.total(), requests: this.requests, budgets: this.deps.pool.budgets() };
  }

  private compose(inflight: number): RequestPlan | undefined {
    if (this.composer.available() < this.pageSize && inflight > 0) return undefined;
    const segments = this.composer.take();
    const probes = this.deps.planner.probes(this.deps.maxProbes);
    return segments.length === 0 && probes.length === 0 ? undefined : { segments, probes };
  }

  private async send(plan: RequestPlan, lease: Lease): Promise<void> {
    try {
      const result = await this.deps.executor.execute(plan, lease);
      this.apply(plan, result);
    } catch (err) {
      if (!(err instanceof AbortedError && this.deps.signal.aborted)) this.failure ??= err;
    } finally {
      this.composer.release(plan.segments);
    }
  }

  private apply(plan: RequestPlan, result: RequestResult): void {
    const touched: StreamState[] = [];
    const found = new Map<string, DiscoveredRepository>();
    for (const page of result.segments) {
      const stream = this.streams.get(page.key);
      if (!stream) continue;
      advance(stream, page.received, page.hasNextPage, page.endCursor, page.count);
      touched.push(stream);
      for (const repo of page.repositories) found.set(`${repo.origin}/${repo.path}`, repo);
    }
    const planned = this.register(this.deps.planner.record(result.probes));
    this.requests += 1;
    this.probes += plan.probes.length;
    this.checkpoint([...touched, ...planned], [...found.values()], plan.probes.length > 0 || planned.length > 0, 1);
    this.deps.onProgress(this.progress());
  }

  /** Nothing left to send: once every answer is saved, a --limit short of repositories plans further. */
  private async planFurther(): Promise<boolean> {
    await this.deps.store.flush();
    if (this.failure !== undefined) return false;
    let received = 0;
    for (const stream of this.streams.values()) received += stream.fetched;
    const grown = this.register(this.deps.planner.grow(received - this.deps.store.repositoryCount));
    if (grown.length > 0) {
      this.checkpoint(grown, [], true, 0);
      return true;
    }
    if (!this.deps.planner.complete()) {
      throw new MassIngestError('discovery_stalled', 'Discovery planned no further buckets although the search is not covered: this is a bug, please report it with the log', { exitCode: 3 });
    }
    return false;
  }

  private register(streams: readonly StreamState[]): StreamState[] {
    for (const stream of streams) this.streams.set(stream.key, stream);
    this.composer.add(streams);
    return [...streams];
  }

  private checkpoint(streams: readonly StreamState[], repositories: readonly DiscoveredRepository[], withPlanner: boolean, requests: 0 | 1): void {
    const planner = withPlanner ? this.deps.planner.snapshot() : undefined;
    this.deps.store.save(this.deps.discoveryId, { planner, streams, repositories }, requests).catch((err: unknown) => {
      this.failure ??= err;
    });
  }
}

/** A page moved the stream on; its count may have grown since it was planned (stars change). */
function advance(stream: StreamState, received: number, hasNextPage: boolean, endCursor: string | null, count: number): void {
  stream.fetched += received;
  if (endCursor) stream.cursor = endCursor;
  const capped = stream.source.kind === 'search' && stream.fetched >= SEARCH_CAP;
  if (!hasNextPage || received === 0 || capped) {
    stream.exhausted = true;
    return;
  }
  if (stream.goal === stream.expected && count > stream.expected) {
    stream.expected = stream.source.kind === 'search' ? Math.min(count, SEARCH_CAP) : count;
    stream.goal = stream.expected;
  }
}

import { countAt, createAxis, hasPendingWithin, nextStep, overflowingGaps, recordPoint, splitCandidates, type AxisState } from './axis.js';
import { composeQuery, createdQualifier, starsQualifier, type SearchScope } from './search-query.js';
import { SEARCH_CAP, type Probe, type ProbeResult, type StreamState } from './types.js';

/**
 * Plans a search beyond GitHub's 1,000-result cap (issue 8): buckets by `stars:` ranges, and by
 * `created:` ranges where one star value alone holds more than the cap, walked from the most
 * stars down so that --limit N takes the N most-starred. Counts come from probes that the
 * crawler packs, many at a time, into its requests.
 */
export interface SearchPlanState {
  readonly stars: AxisState;
  /** Sub-axes of single star values that overflow, keyed by star value. */
  readonly created: Record<string, AxisState>;
  lastBucket: { readonly key: string; readonly plannedAbove: number } | null;
  /** Results no query can reach: more than the cap created within one second. */
  unreachable: number;
}

/** First probes: the total and a coarse grid the counts are interpolated between. */
const STAR_GRID = [1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 300_000];
const STARS_TOP = 1_000_000_000;
/**
 * Buckets are planned to hold at most this many, below the cap of 1,000: stars change and new
 * repositories appear while a crawl runs, and a bucket that grows past the cap loses results.
 * Packing makes the margin free: a smaller bucket costs no partly filled page.
 */
export const PLAN_CAP = 950;
/** Where creation time starts when the query sets no bound (before GitHub existed). */
const CREATED_FLOOR = Date.UTC(2007, 0, 1) / 1000;

export interface SearchPlannerOptions {
  readonly scope: SearchScope;
  readonly limit: number | null;
  readonly nowSeconds: number;
  readonly nextPosition: () => number;
}

export class SearchPlanner {
  readonly state: SearchPlanState;
  private lastStream: StreamState | undefined;
  private needed: number;

  constructor(private readonly options: SearchPlannerOptions, state?: SearchPlanState) {
    const { stars } = options.scope;
    this.state = state ?? {
      // Never an empty axis (`stars:>1000000000`): a probe at or above its top is not recorded,
      // so it would be asked again and again.
      stars: createAxis('stars', stars.lo, stars.hi ?? Math.max(STARS_TOP, stars.lo + 1), 'log'),
      created: {},
      lastBucket: null,
      unreachable: 0,
    };
    this.needed = options.limit ?? Number.POSITIVE_INFINITY;
  }

  /** After a resume: the stream objects the crawler holds, so a growing --limit can reach them. */
  attach(streams: ReadonlyMap<string, StreamState>): void {
    this.lastStream = this.state.lastBucket ? streams.get(this.state.lastBucket.key) : undefined;
  }

  /** Results planned so far, counted from the top. */
  planned(): number {
    const stars = this.state.stars;
    const above = countAt(stars, stars.frontier) ?? 0;
    const sub = this.state.created[String(stars.frontier - 1)];
    return above + (sub ? (countAt(sub, sub.frontier) ?? 0) : 0);
  }

  total(): number | undefined {
    const total = countAt(this.state.stars, this.state.stars.lo);
    return total === undefined ? undefined : Math.min(total, this.needed);
  }

  complete(): boolean {
    return this.state.stars.frontier <= this.state.stars.lo || this.planned() >= this.needed;
  }

  probes(max: number): Probe[] {
    const stars = this.state.stars;
    if (countAt(stars, stars.lo) === undefined) {
      if (stars.pending.length > 0) return [];
      const grid = [stars.lo, ...STAR_GRID.filter((x) => x > stars.lo && x < stars.hi)].slice(0, Math.max(1, max));
      stars.pending.push(...grid);
      return grid.map((x) => this.starsProbe(x));
    }
    const out: Probe[] = [];
    for (const gap of overflowingGaps(stars, PLAN_CAP, this.needed)) {
      if (out.length >= max) break;
      if (gap.hi - gap.lo === 1) {
        out.push(...this.createdProbes(gap.lo, gap.count, max - out.length));
      } else if (!hasPendingWithin(stars, gap)) {
        const points = splitCandidates(stars, gap, PLAN_CAP, max - out.length, this.needed);
        stars.pending.push(...points);
        out.push(...points.map((x) => this.starsProbe(x)));
      }
    }
    return out;
  }

  /** Takes probe answers (keys this planner made) and returns the buckets they complete. */
  record(results: readonly ProbeResult[]): StreamState[] {
    for (const result of results) {
      const [axisName, ...rest] = result.key.split(':');
      if (axisName === 'stars') recordPoint(this.state.stars, Number(rest[0]), result.count ?? 0);
      const sub = axisName === 'created' ? this.state.created[rest[0] ?? ''] : undefined;
      if (sub) recordPoint(sub, Number(rest[1]), result.count ?? 0);
    }
    return this.advance();
  }

  /** --limit counts repositories kept: duplicates and empty repositories make it reach further. */
  grow(skipped: number): StreamState[] {
    if (this.options.limit === null) return [];
    this.needed = this.options.limit + skipped;
    const changed: StreamState[] = [];
    const last = this.lastStream;
    const lastBucket = this.state.lastBucket;
    if (last && lastBucket && last.goal < last.expected) {
      const goal = Math.min(last.expected, this.needed - lastBucket.plannedAbove);
      if (goal > last.goal) {
        last.goal = goal;
        changed.push(last);
      }
    }
    return [...changed, ...this.advance()];
  }

  private advance(): StreamState[] {
    const out: StreamState[] = [];
    const stars = this.state.stars;
    while (this.planned() < this.needed) {
      const step = nextStep(stars, PLAN_CAP);
      if (step.kind === 'bucket') {
        const above = this.planned();
        stars.frontier = step.lo;
        this.emit(out, `search:stars:${step.lo}-${step.hi}`, this.starsQuery(step.lo, step.hi), step.count, above);
      } else if (step.kind === 'overflow') {
        if (!this.advanceCreated(out, step.value, step.count)) break;
        delete this.state.created[String(step.value)];
        stars.frontier = step.value;
      } else {
        break;
      }
    }
    return out;
  }

  /** Plans the created-time buckets of one star value; true once the whole value is planned. */
  private advanceCreated(out: StreamState[], value: number, count: number): boolean {
    const sub = this.subAxis(value, count);
    while (this.planned() < this.needed) {
      const step = nextStep(sub, PLAN_CAP);
      if (step.kind === 'done') return true;
      if (step.kind === 'wait') return false;
      const above = this.planned();
      const [lo, hi, found] = step.kind === 'bucket' ? [step.lo, step.hi, step.count] : [step.value, step.value + 1, step.count];
      if (found > SEARCH_CAP) this.state.unreachable += found - SEARCH_CAP;
      sub.frontier = lo;
      this.emit(out, `search:created:${value}:${lo}-${hi}`, this.createdQuery(value, lo, hi), found, above);
    }
    return sub.frontier <= sub.lo;
  }

  private emit(out: StreamState[], key: string, query: string, count: number, plannedAbove: number): void {
    if (count <= 0) return;
    const goal = Math.min(count, this.needed - plannedAbove);
    const stream: StreamState = { key, position: this.options.nextPosition(), source: { kind: 'search', query }, expected: count, goal, fetched: 0, cursor: null, exhausted: false };
    this.state.lastBucket = { key, plannedAbove };
    this.lastStream = stream;
    out.push(stream);
  }

  private createdProbes(value: number, count: number, max: number): Probe[] {
    const sub = this.subAxis(value, count);
    const out: Probe[] = [];
    const budget = this.needed - (countAt(this.state.stars, value + 1) ?? 0);
    for (const gap of overflowingGaps(sub, PLAN_CAP, budget)) {
      if (out.length >= max) break;
      if (gap.hi - gap.lo === 1 || hasPendingWithin(sub, gap)) continue;
      const points = splitCandidates(sub, gap, PLAN_CAP, max - out.length, budget);
      sub.pending.push(...points);
      out.push(...points.map((t) => ({ key: `created:${value}:${t}`, kind: 'search' as const, query: this.createdProbeQuery(value, t) })));
    }
    return out;
  }

  private subAxis(value: number, count: number): AxisState {
    const key = String(value);
    const { created } = this.options.scope;
    this.state.created[key] ??= createAxis(`created:${value}`, created.lo ?? CREATED_FLOOR, created.hi ?? this.options.nowSeconds + 86_400, 'linear', count);
    return this.state.created[key];
  }

  private starsProbe(x: number): Probe {
    return { key: `stars:${x}`, kind: 'search', query: this.starsQuery(x, this.state.stars.hi) };
  }

  private starsQuery(lo: number, hi: number): string {
    const { scope } = this.options;
    const top = hi === this.state.stars.hi && scope.stars.hi === null ? null : hi;
    return composeQuery(scope.base, starsQualifier(lo, top), createdQualifier(scope.created.lo, scope.created.hi));
  }

  private createdQuery(value: number, lo: number, hi: number): string {
    const { scope } = this.options;
    const sub = this.state.created[String(value)] as AxisState;
    const from = lo === sub.lo && scope.created.lo === null ? null : lo;
    const to = hi === sub.hi && scope.created.hi === null ? null : hi;
    return composeQuery(scope.base, starsQualifier(value, value + 1), createdQualifier(from, to));
  }

  private createdProbeQuery(value: number, t: number): string {
    const { scope } = this.options;
    return composeQuery(scope.base, starsQualifier(value, value + 1), createdQualifier(t, scope.created.hi));
  }
}

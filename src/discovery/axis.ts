/**
 * One dimension the search is split along: star values, or creation seconds within one star
 * value. An axis knows suffix counts S(x) = results in [x, hi) at the points probed so far and
 * is planned from the top down: [frontier, hi) is already cut into buckets of ≤ cap results.
 * Pure data and functions, so the state is a checkpoint (JSON) as it is.
 */
export interface AxisState {
  readonly id: string;
  readonly lo: number;
  readonly hi: number;
  readonly scale: 'log' | 'linear';
  /** [x, S(x)] sorted by x; [hi, 0] from the start. */
  points: Array<[number, number]>;
  frontier: number;
  /** Points asked for and not answered yet. */
  pending: number[];
}

export type AxisStep =
  | { readonly kind: 'bucket'; readonly lo: number; readonly hi: number; readonly count: number }
  | { readonly kind: 'overflow'; readonly value: number; readonly count: number }
  | { readonly kind: 'wait' }
  | { readonly kind: 'done' };

/** Probes aim at pieces of about half the cap, so one round usually yields buckets near the cap. */
const PIECE_SHARE = 0.5;

export function createAxis(id: string, lo: number, hi: number, scale: AxisState['scale'], total?: number): AxisState {
  const points: Array<[number, number]> = total === undefined ? [[hi, 0]] : [[lo, total], [hi, 0]];
  return { id, lo, hi, scale, points, frontier: hi, pending: [] };
}

export function countAt(axis: AxisState, x: number): number | undefined {
  const index = indexOf(axis, x);
  return index >= 0 ? axis.points[index]?.[1] : undefined;
}

/** Records S(x), clamped between its neighbours so drift between probes cannot break monotony. */
export function recordPoint(axis: AxisState, x: number, count: number): void {
  axis.pending = axis.pending.filter((p) => p !== x);
  if (x < axis.lo || x >= axis.hi) return;
  let at = axis.points.findIndex(([px]) => px >= x);
  if (at === -1) at = axis.points.length;
  if (axis.points[at]?.[0] === x) axis.points.splice(at, 1);
  const above = axis.points[at]?.[1] ?? 0;
  const below = at > 0 ? (axis.points[at - 1]?.[1] ?? Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER;
  axis.points.splice(at, 0, [x, Math.min(below, Math.max(above, count))]);
}

/** The next bucket below the frontier: as wide as the known points allow within the cap. */
export function nextStep(axis: AxisState, cap: number): AxisStep {
  const upper = axis.frontier;
  if (upper <= axis.lo) return { kind: 'done' };
  const atUpper = countAt(axis, upper) ?? 0;
  const below = axis.points.filter(([x]) => x < upper).reverse();
  const nearest = below[0];
  if (!nearest) return { kind: 'wait' };
  if (nearest[1] - atUpper > cap) {
    return nearest[0] === upper - 1 ? { kind: 'overflow', value: nearest[0], count: nearest[1] - atUpper } : { kind: 'wait' };
  }
  let best = nearest;
  for (const point of below) {
    if (point[1] - atUpper > cap) break;
    best = point;
  }
  return { kind: 'bucket', lo: best[0], hi: upper, count: best[1] - atUpper };
}

export interface Gap {
  readonly lo: number;
  readonly hi: number;
  readonly count: number;
}

/**
 * Intervals between known points below the frontier that hold more than the cap, top down,
 * while their top lies within `budget` results (--limit). Single values are included: the
 * caller splits those along another axis.
 */
export function overflowingGaps(axis: AxisState, cap: number, budget: number): Gap[] {
  const gaps: Gap[] = [];
  for (let i = axis.points.length - 1; i > 0; i--) {
    const [hi, atHi] = axis.points[i] as [number, number];
    const [lo, atLo] = axis.points[i - 1] as [number, number];
    if (hi > axis.frontier) continue;
    if (atHi >= budget) break;
    if (atLo - atHi > cap) gaps.push({ lo, hi, count: atLo - atHi });
  }
  return gaps;
}

export function hasPendingWithin(axis: AxisState, gap: Gap): boolean {
  return axis.pending.some((x) => x > gap.lo && x < gap.hi);
}

/**
 * Points inside a gap to probe: the interpolated places where the suffix count crosses every
 * half cap (log–log for stars, whose counts fall like a power law; linear for time).
 */
export function splitCandidates(axis: AxisState, gap: Gap, cap: number, max: number, budget: number): number[] {
  const atLo = countAt(axis, gap.lo) ?? gap.count;
  const atHi = atLo - gap.count;
  const width = gap.hi - gap.lo;
  const pieces = Math.min(Math.ceil(gap.count / (cap * PIECE_SHARE)), width);
  const found = new Set<number>();
  if (pieces >= width) {
    for (let x = gap.hi - 1; x > gap.lo && found.size < max; x--) found.add(x);
    return [...found];
  }
  for (let j = 1; j < pieces && found.size < max; j++) {
    const target = atHi + (j * gap.count) / pieces;
    if (target - (gap.count / pieces) >= budget) break;
    const x = Math.round(interpolate(axis.scale, gap, atLo, atHi, target));
    if (x > gap.lo && x < gap.hi) found.add(x);
  }
  // Where the model piles points onto one value, spread the rest evenly (in log space for stars).
  for (let j = 1; found.size < Math.min(pieces - 1, max); j++) {
    if (j >= pieces) break;
    const x = Math.round(evenly(axis.scale, gap, j / pieces));
    if (x > gap.lo && x < gap.hi) found.add(x);
  }
  if (found.size === 0) found.add(gap.lo + Math.floor(width / 2));
  return [...found];
}

function evenly(scale: AxisState['scale'], gap: Gap, share: number): number {
  if (scale === 'linear') return gap.lo + share * (gap.hi - gap.lo);
  return Math.exp(Math.log(gap.lo + 1) + share * (Math.log(gap.hi + 1) - Math.log(gap.lo + 1))) - 1;
}

function interpolate(scale: AxisState['scale'], gap: Gap, atLo: number, atHi: number, target: number): number {
  if (scale === 'linear') return gap.lo + ((atLo - target) / (atLo - atHi)) * (gap.hi - gap.lo);
  const share = (Math.log(target + 1) - Math.log(atLo + 1)) / (Math.log(atHi + 1) - Math.log(atLo + 1));
  return Math.exp(Math.log(gap.lo + 1) + share * (Math.log(gap.hi + 1) - Math.log(gap.lo + 1))) - 1;
}

function indexOf(axis: AxisState, x: number): number {
  return axis.points.findIndex(([px]) => px === x);
}

import { describe, expect, it } from 'vitest';
import { createAxis, nextStep, overflowingGaps, recordPoint, splitCandidates } from '../../src/discovery/axis.js';

describe('axis planning', () => {
  it('takes the widest bucket the known points allow under the cap, from the top down', () => {
    const axis = createAxis('stars', 0, 100, 'log', 2500);
    recordPoint(axis, 10, 900);
    recordPoint(axis, 20, 300);
    recordPoint(axis, 5, 1600);

    const first = nextStep(axis, 1000);
    axis.frontier = 10;
    const second = nextStep(axis, 1000);

    expect(first).toEqual({ kind: 'bucket', lo: 10, hi: 100, count: 900 });
    expect(second).toEqual({ kind: 'bucket', lo: 5, hi: 10, count: 700 });
  });

  it('waits for probes inside a crowded gap, and reports a single crowded value as an overflow', () => {
    const axis = createAxis('stars', 0, 10, 'log', 5000);
    recordPoint(axis, 1, 1200);

    axis.frontier = 10;
    const above = nextStep(axis, 1000);
    axis.frontier = 1;
    const single = nextStep(axis, 1000);

    expect(above).toEqual({ kind: 'wait' });
    expect(single).toEqual({ kind: 'overflow', value: 0, count: 3800 });
  });

  it('keeps counts monotone when results moved between two probes', () => {
    const axis = createAxis('stars', 0, 100, 'log', 1000);
    recordPoint(axis, 50, 10);

    recordPoint(axis, 20, 5);
    recordPoint(axis, 30, 2000);

    expect(axis.points).toEqual([[0, 1000], [20, 10], [30, 10], [50, 10], [100, 0]]);
  });

  it('lists only the crowded gaps whose top is still needed by --limit', () => {
    const axis = createAxis('stars', 0, 1000, 'log', 9000);
    recordPoint(axis, 10, 6000);
    recordPoint(axis, 100, 1500);

    expect(overflowingGaps(axis, 1000, Number.POSITIVE_INFINITY).map((gap) => [gap.lo, gap.hi])).toEqual([[100, 1000], [10, 100], [0, 10]]);
    expect(overflowingGaps(axis, 1000, 1200).map((gap) => [gap.lo, gap.hi])).toEqual([[100, 1000]]);
  });

  it('proposes points inside a gap, about two per bucket it will become, and every value of a narrow gap', () => {
    const axis = createAxis('stars', 0, 1000, 'log', 4000);
    const wide = { lo: 0, hi: 1000, count: 4000 };
    const narrow = { lo: 3, hi: 6, count: 3000 };

    const points = splitCandidates(axis, wide, 1000, 20, Number.POSITIVE_INFINITY);

    expect(points.length).toBe(7);
    expect(points.every((x) => x > 0 && x < 1000)).toBe(true);
    expect(splitCandidates(axis, narrow, 1000, 20, Number.POSITIVE_INFINITY).sort()).toEqual([4, 5]);
  });
});

import { describe, expect, it } from 'vitest';
import type { ChunkPlan } from '../../src/chunk/plan.js';
import { partitionRange } from '../../src/chunk/plan.js';
import { arrayGroups, childJobId, jobRequest, partitionsOfJobName, plannedSubmissions } from '../../src/chunk/submissions.js';

const plan = (rows: number, partitionSize: number): ChunkPlan => ({
  inventory: 's3://bucket/repos.csv',
  inventoryShown: 's3://bucket/repos.csv',
  rows,
  sha256: 'f'.repeat(64),
  bytes: 1,
  partitionSize,
  partitions: Math.ceil(rows / partitionSize),
});
const target = { runId: 'r1', jobQueue: 'q', jobDefinition: 'processor' };

describe('partitionRange', () => {
  it('gives exact 1-based inclusive rows, the last partition ending at the last row', () => {
    expect([0, 1, 2].map((p) => partitionRange(plan(7, 3), p))).toEqual([
      { start: 1, end: 3 },
      { start: 4, end: 6 },
      { start: 7, end: 7 },
    ]);
  });
});

describe('arrayGroups', () => {
  it.each([
    [1, [[0, 1]]],
    [10_000, [[0, 10_000]]],
    [10_001, [[0, 10_000], [10_000, 1]]],
    [25_000, [[0, 10_000], [10_000, 10_000], [20_000, 5000]]],
  ])('splits %i partitions into arrays of at most 10,000', (partitions, expected) => {
    expect(arrayGroups(partitions).map((g) => [g.offset, g.size])).toEqual(expected);
  });
});

describe('plannedSubmissions', () => {
  it('makes one array per group and a plain job of a group of one', () => {
    expect(plannedSubmissions(plan(10_001, 1), 'r1', 'array', new Set())).toEqual([
      { kind: 'array', jobName: 'r1-a0', offset: 0, size: 10_000 },
      { kind: 'partition', jobName: 'r1-p10000', partition: 10_000 },
    ]);
  });

  it('never makes an array of size 1, even for a one-partition run', () => {
    expect(plannedSubmissions(plan(3, 50), 'r1', 'array', new Set())).toEqual([{ kind: 'partition', jobName: 'r1-p0', partition: 0 }]);
  });

  it('skips done partitions; a partly done group goes one job per missing partition', () => {
    expect(plannedSubmissions(plan(5, 1), 'r1', 'array', new Set([0, 2]))).toEqual([
      { kind: 'partition', jobName: 'r1-p1', partition: 1 },
      { kind: 'partition', jobName: 'r1-p3', partition: 3 },
      { kind: 'partition', jobName: 'r1-p4', partition: 4 },
    ]);
    expect(plannedSubmissions(plan(4, 1), 'r1', 'jobs', new Set([1]))).toEqual(
      [0, 2, 3].map((partition) => ({ kind: 'partition', jobName: `r1-p${partition}`, partition })),
    );
  });
});

describe('jobRequest', () => {
  it('gives an array the parameters of DESIGN §9', () => {
    const request = jobRequest({ kind: 'array', jobName: 'r1-a1', offset: 10_000, size: 5 }, 'array', plan(100_050, 10), target);

    expect(request).toEqual({
      jobName: 'r1-a1',
      jobQueue: 'q',
      jobDefinition: 'processor',
      arrayProperties: { size: 5 },
      parameters: { inventory: 's3://bucket/repos.csv', partitionSize: '10', partitionOffset: '10000', runId: 'r1', inventorySha256: 'f'.repeat(64) },
    });
  });

  it('gives a jobs-mode partition its exact --start/--end command', () => {
    const request = jobRequest({ kind: 'partition', jobName: 'r1-p2', partition: 2 }, 'jobs', plan(7, 3), target);

    expect(request.containerOverrides?.command).toEqual(['process', 's3://bucket/repos.csv', '--start', '7', '--end', '7', '--run-id', 'r1', '--partition', '2', '--inventory-sha256', 'f'.repeat(64)]);
    expect(request.parameters).toBeUndefined();
  });
});

describe('job names found by ListJobs', () => {
  it('map back to the partitions they cover, array children as <parent>:<index>', () => {
    const p = plan(10_003, 1);

    expect(partitionsOfJobName(p, 'r1', 'r1-a1', 'J')).toEqual([
      [10_000, 'J:0'],
      [10_001, 'J:1'],
      [10_002, 'J:2'],
    ]);
    expect(partitionsOfJobName(p, 'r1', 'r1-a2', 'J')).toEqual([]);
    expect(partitionsOfJobName(p, 'r1', 'r1-p10002', 'J')).toEqual([[10_002, 'J']]);
    expect(partitionsOfJobName(p, 'r1', 'r1-a0', 'J').slice(0, 2)).toEqual([
      [0, 'J:0'],
      [1, 'J:1'],
    ]);
    expect(partitionsOfJobName(p, 'r1', 'r1-report', 'J')).toEqual([]);
    expect(partitionsOfJobName(p, 'r1', 'r1-p1-p0', 'J')).toEqual([]);
    expect(childJobId({ kind: 'array', jobName: 'r1-a0', offset: 0, size: 3 }, 'J', 2)).toBe('J:2');
  });
});

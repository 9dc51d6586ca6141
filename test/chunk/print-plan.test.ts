import { describe, expect, it } from 'vitest';
import type { ChunkPlan } from '../../src/chunk/plan.js';
import { renderPlan } from '../../src/chunk/print-plan.js';
import { mergeRanges } from '../../src/chunk/only-subset.js';

const plan: ChunkPlan = { inventory: 'repos.csv', inventoryShown: 'repos.csv', rows: 100_000, sha256: 'a'.repeat(64), bytes: 1_234_567, partitionSize: 10, partitions: 10_000 };

describe('renderPlan', () => {
  it('prints the partitions, the first and last ranges and the calls, in plain integers', () => {
    const text = renderPlan({ plan, mode: 'array', runId: 'r1', jobQueue: 'q', jobDefinition: 'processor', reportJobDefinition: 'report', parallel: 2 });

    expect(text.split('\n')).toEqual([
      'Run r1',
      `Inventory repos.csv: 100000 rows, 1234567 bytes, sha256 ${'a'.repeat(64)}`,
      'Partitions: 10000 of up to 10 rows; partition 0 = rows 1-10, partition 9999 = rows 99991-100000',
      'Mode array: 1 SubmitJob call to queue q, definition processor',
      '  SubmitJob r1-a0: array size 10000, partitionOffset 0 (partitions 0-9999, rows 1-100000)',
      'Report job: SubmitJob r1-report on report, after the 1 processor job',
      '',
    ]);
  });

  it('elides the middle of a long jobs-mode list and counts the barrier jobs', () => {
    const text = renderPlan({ plan: { ...plan, rows: 2000, partitions: 2000, partitionSize: 1 }, mode: 'jobs', runId: 'r1', jobQueue: undefined, jobDefinition: undefined, reportJobDefinition: 'report', parallel: 2 });

    expect(text).toContain('Mode jobs: 2000 SubmitJob calls to queue <JOB_QUEUE>, definition <JOB_DEFINITION>');
    expect(text).toContain('  … 1994 more');
    expect(text).toContain('  SubmitJob r1-p1999: process repos.csv --start 2000 --end 2000');
    expect(text).toContain('after the 2000 processor jobs through 105 barrier jobs');
  });
});

describe('mergeRanges', () => {
  it('merges adjacent and overlapping partition ranges', () => {
    expect(mergeRanges([[11, 20], [1, 10], [31, 40], [35, 50]])).toEqual([
      [1, 20],
      [31, 50],
    ]);
  });
});

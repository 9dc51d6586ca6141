import { describe, expect, it } from 'vitest';
import type { ChunkPlan } from '../../src/chunk/plan.js';
import { checkSamePlan } from '../../src/chunk/run-state.js';
import type { RunRecord } from '../../src/results/result-store.js';

const plan: ChunkPlan = { inventory: 'repos.csv', inventoryShown: 'repos.csv', rows: 10, sha256: 'b'.repeat(64), bytes: 100, partitionSize: 5, partitions: 2 };
const stored = (fields: Partial<RunRecord>): RunRecord => ({ id: 'nightly', trigger: 'manual', mode: 'array', inventoryUri: 'repos.csv', inventorySha256: plan.sha256, partitionSize: plan.partitionSize, ...fields });

describe('checkSamePlan', () => {
  it('accepts the plan a run id was made with, and a run recorded without one', () => {
    expect(() => checkSamePlan(stored({}), plan)).not.toThrow();
    expect(() => checkSamePlan(stored({ inventorySha256: undefined, partitionSize: undefined }), plan)).not.toThrow();
  });

  it('names the one change when the inventory changed', () => {
    expect(() => checkSamePlan(stored({ inventorySha256: 'a'.repeat(64) }), plan)).toThrow(
      `Run nightly already exists with another plan: the inventory's sha256 is now ${'b'.repeat(64)}, the run was planned over ${'a'.repeat(64)}; start a new run (another --run-id)`,
    );
  });

  it('names each change once when the inventory and the partition size both changed', () => {
    const error = (() => {
      try {
        checkSamePlan(stored({ inventorySha256: 'a'.repeat(64), partitionSize: 3 }), plan);
      } catch (err) {
        return err as Error & { code?: string };
      }
    })();

    expect(error?.code).toBe('run_plan_changed');
    expect(error?.message.split('\n')).toEqual([
      'Run nightly already exists with another plan (2 changes): start a new run (another --run-id)',
      `  - the inventory's sha256 is now ${'b'.repeat(64)}, the run was planned over ${'a'.repeat(64)}`,
      '  - --partition-size is now 5, the run was planned with 3',
    ]);
  });
});

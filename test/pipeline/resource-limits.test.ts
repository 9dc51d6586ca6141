import { describe, expect, it } from 'vitest';
import { descriptorsNeeded } from '../../src/pipeline/resource-limits.js';

describe('descriptorsNeeded', () => {
  it('grows with the repositories in flight', () => {
    expect(descriptorsNeeded(1, 1)).toBe(128);
    expect(descriptorsNeeded(4, 4)).toBe(320);
  });
});

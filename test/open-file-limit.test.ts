import { describe, expect, it } from 'vitest';
import { openFileLimit } from '../src/open-file-limit.js';

const LIMITS = [
  'Limit                     Soft Limit           Hard Limit           Units     ',
  'Max processes             127431               127431               processes ',
  'Max open files            1024                 524288               files     ',
  'Max locked memory         8388608              8388608              bytes     ',
].join('\n');

describe('openFileLimit', () => {
  it('reads the soft limit on open files', () => {
    expect(openFileLimit(LIMITS)).toBe(1024);
  });

  it('has none when it is unlimited or cannot be read', () => {
    expect(openFileLimit(LIMITS.replace('1024  ', 'unlimited'))).toBeUndefined();
    expect(openFileLimit('')).toBeUndefined();
  });

  it('reads this process\'s own limit', () => {
    expect(openFileLimit()).toBeGreaterThan(0);
  });
});

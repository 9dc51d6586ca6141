import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { UsageError } from '../../src/errors.js';

const base = { cwd: '/work/project', stdoutIsTty: false, now: new Date('2026-11-27T01:02:03Z'), flags: {} };

function problemOf(env: Record<string, string>): string {
  try {
    loadConfig({ ...base, env });
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  return 'no problem';
}

describe('loadConfig timeouts', () => {
  // Node's timers hold at most 2^31-1 ms: a longer one fires after 1 ms (or throws past 2^32-1),
  // so every clone would end at once as git_clone_timeout, every build as timed out.
  it('refuses a CLONE_TIMEOUT longer than a timer can hold, saying the largest', () => {
    const problem = problemOf({ CLONE_TIMEOUT: '3000000' });

    expect(problem).toContain('CLONE_TIMEOUT must be at most 2147483 (seconds), got "3000000"');
  });

  it('refuses a BUILD_TIMEOUT longer than a timer can hold, saying the largest', () => {
    const problem = problemOf({ BUILD_TIMEOUT: '99999999' });

    expect(problem).toContain('BUILD_TIMEOUT must be at most 2147483 (seconds), got "99999999"');
  });

  it('holds the publish limits to what Terraform allows (an attempt\'s deadline is twice PUBLISH_TIMEOUT and more)', () => {
    expect(problemOf({ PUBLISH_TIMEOUT: '3601' })).toContain('PUBLISH_TIMEOUT must be at most 3600 (seconds), got "3601"');
    expect(problemOf({ PUBLISH_FAIL_FAST_FOR: '86401' })).toContain('PUBLISH_FAIL_FAST_FOR must be at most 86400 (seconds), got "86401"');
    expect(problemOf({ PUBLISH_TIMEOUT: '3600', PUBLISH_FAIL_FAST_FOR: '86400' })).toBe('no problem');
  });

  it('takes the longest timeouts a timer can hold', () => {
    const config = loadConfig({ ...base, env: { CLONE_TIMEOUT: '2147483', BUILD_TIMEOUT: '2147483' } });

    expect([config.cloneTimeoutMs, config.buildTimeoutMs]).toEqual([2_147_483_000, 2_147_483_000]);
  });
});

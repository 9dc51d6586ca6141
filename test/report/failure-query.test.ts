import { describe, expect, it } from 'vitest';
import { CLIENT_LOG_DECODER, commonAffixes, encodeLog, logAffixes, type LogAffixes, EXCERPT_MAX_CHARS, EXCERPT_MIN_CHARS, excerptChars, excerptOf } from '../../src/report/failure-query.js';

/** The decoder the browser runs, evaluated here for round trips. */
const decodeLog = new Function(`${CLIENT_LOG_DECODER}; return decodeLog;`)() as (
  encoded: string, affixes: LogAffixes, origin: string | null, path: string | null,
) => string | null;
const SHA = '0123456789abcdef0123456789abcdef01234567';

describe('excerptOf', () => {
  it('keeps the first three non-empty lines without terminal escapes or control characters', () => {
    const message = '\n\u001b[31merror:\u001b[0m first\r\n\n  second\u0007\nthird\nfourth\n';

    expect(excerptOf(message, 300)).toBe('error: first\n  second\nthird');
  });

  it('cuts a long excerpt at the limit with an ellipsis', () => {
    expect(excerptOf('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
  });

  it('gives null for a missing or blank message', () => {
    expect([excerptOf(null, 10), excerptOf(' \n\t\n', 10)]).toEqual([null, null]);
  });
});

describe('excerptChars', () => {
  it('shrinks the excerpt as failures grow, within its bounds', () => {
    expect([excerptChars(0), excerptChars(1000), excerptChars(30_000), excerptChars(100_000)]).toEqual([EXCERPT_MAX_CHARS, EXCERPT_MAX_CHARS, 139, EXCERPT_MIN_CHARS]);
  });
});

describe('log URL compaction', () => {
  it('finds the shared prefix up to a slash and the shared suffix from a slash', () => {
    const urls = ['https://repo.test/a/github.com/o/x/1111/build.log', 'https://repo.test/a/github.com/o/y/2222/build.log'];

    expect(commonAffixes(urls)).toEqual({ base: 'https://repo.test/a/github.com/o/', suffix: '/build.log' });
  });

  it('round-trips every log URL, whether or not it follows the default layout, shortening a commit sha to base64url', () => {
    const logs = [
      { url: 'https://repo.test/a/github.com/o/x/1111/build.log', origin: 'github.com', path: 'o/x' },
      { url: `https://repo.test/a/github.com/o/y/${SHA}/build.log`, origin: 'github.com', path: 'o/y' },
      { url: `https://repo.test/a/github.com/o/y/${SHA.toUpperCase()}/build.log`, origin: 'github.com', path: 'o/y' },
      { url: 'https://repo.test/a/com/github/o/y/3333/y-1-build.log', origin: 'github.com', path: 'o/y' },
      { url: null, origin: 'github.com', path: 'o/z' },
      { url: 'https://repo.test/a/x.log', origin: null, path: null },
    ];
    const affixes = logAffixes(logs);

    const encoded = logs.map((log) => encodeLog(log.url, affixes, log.origin, log.path));
    const decoded = logs.map((log, index) => decodeLog(encoded[index]!, affixes, log.origin, log.path));

    expect(decoded).toEqual(logs.map((log) => log.url));
    expect(affixes).toEqual({ base: 'https://repo.test/a/', suffix: '', layoutBase: 'https://repo.test/a/' });
    expect(encoded.slice(0, 2)).toEqual(['~1111/build.log', `#${Buffer.from(SHA, 'hex').toString('base64url')}/build.log`]);
  });

  it('round-trips URLs whose shared suffix covers the commit part', () => {
    const logs = [
      { url: `https://repo.test/github.com/o/x/${SHA}/build.log`, origin: 'github.com', path: 'o/x' },
      { url: `https://repo.test/github.com/o/y/${SHA}/build.log`, origin: 'github.com', path: 'o/y' },
    ];
    const affixes = logAffixes(logs);

    const encoded = logs.map((log) => encodeLog(log.url, affixes, log.origin, log.path));

    expect(affixes).toEqual({ base: 'https://repo.test/github.com/o/', suffix: `/${SHA}/build.log`, layoutBase: 'https://repo.test/' });
    expect(encoded.map((text, index) => decodeLog(text, affixes, logs[index]!.origin, logs[index]!.path))).toEqual(logs.map((log) => log.url));
    expect(encoded).toEqual(['=x', '=y']);
  });

  it('handles a single URL and URLs that share nothing', () => {
    expect(commonAffixes(['file:///d/x/build.log'])).toEqual({ base: 'file:///d/x/', suffix: '' });
    expect(commonAffixes(['a://x', 'b://y'])).toEqual({ base: '', suffix: '' });
  });
});

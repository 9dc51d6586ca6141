import { describe, expect, it } from 'vitest';
import { CLIENT_LOG_DECODER, commonAffixes, compactFailures, encodeLog, logAffixes, type LogAffixes, EXCERPT_MAX_CHARS, EXCERPT_MIN_CHARS, excerptChars, excerptOf } from '../../src/report/failure-query.js';
import type { Database } from '../../src/results/database.js';

/** The decoder the browser runs, evaluated here for round trips. */
const decodeLog = new Function(`${CLIENT_LOG_DECODER}; return decodeLog;`)() as (
  encoded: string, affixes: LogAffixes, origin: string | null, path: string | null,
) => string | null;
const SHA = '0123456789abcdef0123456789abcdef01234567';

describe('excerptOf', () => {
  it('removes bidirectional overrides and isolates, which make text read as something else', () => {
    const message = 'error: access \u202Eresu\u202C denied\nsee \u2067admin\u2069 guide';

    expect(excerptOf(message, 300)).toBe('error: access resu denied\nsee admin guide');
  });

  it('keeps the first three non-empty lines without terminal escapes or control characters', () => {
    const message = '\n\u001b[31merror:\u001b[0m first\r\n\n  second\u0007\nthird\nfourth\n';

    expect(excerptOf(message, 300)).toBe('error: first\n  second\nthird');
  });

  it("starts a failed build's excerpt at its first error line, not at the tool's summary", () => {
    const maven = [
      '[INFO] BUILD FAILURE', '[INFO] ------------------------------------------------------------------------', '[INFO] Total time:  1.234 s',
      '[ERROR] Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin:3.11.0:compile (default-compile) on project demo: Compilation failure',
      '[ERROR] /src/main/java/demo/App.java:[3,5] cannot find symbol', '[ERROR]   symbol:   class Strin', '[ERROR] -> [Help 1]',
    ].join('\n');
    const npm = ['> demo@1.0.0 build', '> tsc', '', "src/index.ts(1,7): error TS2322: Type 'number' is not assignable to type 'string'.", 'npm ERR! code 2', 'npm ERR! path /w/src'].join('\n');
    const cargo = ['   Compiling demo v0.1.0 (/w/src)', 'error[E0425]: cannot find value `x` in this scope', ' --> src/main.rs:2:5', '', 'error: could not compile `demo`'].join('\n');
    const go = ['# example.com/demo', './main.go:5:2: undefined: x', ''].join('\n');
    const make = ['Running the tests', 'cc -o demo demo.c', '/bin/sh: 1: cc: not found', 'make: *** [Makefile:2: all] Error 127'].join('\n');

    const excerpts = [maven, npm, cargo, go].map((message) => excerptOf(message, 1000, 'build_failed')?.split('\n')[0]);

    expect(excerpts).toEqual([
      '[ERROR] Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin:3.11.0:compile (default-compile) on project demo: Compilation failure',
      "src/index.ts(1,7): error TS2322: Type 'number' is not assignable to type 'string'.",
      'error[E0425]: cannot find value `x` in this scope',
      './main.go:5:2: undefined: x',
    ]);
    expect(excerptOf(make, 1000, 'build_failed')).toBe('Running the tests\ncc -o demo demo.c\n/bin/sh: 1: cc: not found');
    expect(excerptOf(`${'progress\n'.repeat(8)}expected 3, got 4\nmake: *** [Makefile:2: test] Error 1`, 1000, 'build_failed')).toBe('progress\nexpected 3, got 4\nmake: *** [Makefile:2: test] Error 1');
  });

  it("ends a timed-out build's excerpt at the line that says so, after what the build was doing", () => {
    const message = ['npm test', 'error: flaky retry 1', 'waiting for port 5432', 'waiting for port 5432', '', '[mass-ingest] build timed out after 1800 s; process group killed'].join('\n');

    expect(excerptOf(message, 1000, 'timed_out')).toBe('waiting for port 5432\nwaiting for port 5432\n[mass-ingest] build timed out after 1800 s; process group killed');
  });

  it('keeps the first lines of a build without an error line, and of other failures', () => {
    const message = 'first line\nsecond line\nthird line\n[ERROR] later';

    expect([excerptOf('step one\nstep two\nstep three\nstep four', 300, 'timed_out'), excerptOf(message, 300, 'publish_failed')]).toEqual([
      'step one\nstep two\nstep three',
      'first line\nsecond line\nthird line',
    ]);
  });

  it('cuts a long excerpt at the limit with an ellipsis', () => {
    expect(excerptOf('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
  });

  it('gives null for a missing or blank message', () => {
    expect([excerptOf(null, 10), excerptOf(' \n\t\n', 10)]).toEqual([null, null]);
  });
});

describe('compactFailures', () => {
  it('shows a branch without the bidirectional overrides that would make it read as another', async () => {
    const row = { row_number: 1, origin: 'git.test', path: 'acme/app', branch: 'fix-\u202Enigol\u202C', outcome: 'build_failed', error_code: 'build_exit_1', message: 'error: x', log_url: null };
    const db: Database = { kind: 'pglite', query: async <Row>() => ({ rows: [row] as Row[] }), session: () => Promise.reject(new Error('not used')), close: async () => undefined };

    const failures = await compactFailures(db, 'r1', 1);

    expect(failures.branches).toEqual(['fix-nigol']);
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

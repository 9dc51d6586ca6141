import { describe, expect, it } from 'vitest';
import { loadConfig, secretsOfEnvironment } from '../../src/config/config.js';
import { UsageError } from '../../src/errors.js';
import { scrubUrlSecrets } from '../../src/logging/scrub.js';

const base = { cwd: '/work/project', stdoutIsTty: false, now: new Date('2026-11-27T01:02:03Z') };

describe('loadConfig', () => {
  it('uses defaults when neither flags nor environment say anything', () => {
    const config = loadConfig({ ...base, flags: {}, env: {} });

    expect(config.publish.url).toBe('file:///work/project/artifacts');
    expect(config.dataDir).toBe('/work/project/.mass-ingest/db');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.buildTimeoutMs).toBe(1_800_000);
    expect(config.cloneTimeoutMs).toBe(1_800_000);
    expect(config.concurrency).toBe(1);
    expect(config.cloneAhead).toBe(1);
    expect(config.partitionSize).toBe(50);
    expect(config.logFormat).toBe('json');
    expect(config.runIdSource).toBe('generated');
    expect(config.runId).toMatch(/^run-20261127T010203-[0-9a-f]{6}$/);
  });

  it('lets flags win over the environment and the environment over defaults', () => {
    const config = loadConfig({
      ...base,
      flags: { 'partition-size': 7, 'log-level': 'debug' },
      env: { PARTITION_SIZE: '9', LOG_LEVEL: 'warn', BUILD_TIMEOUT: '60', LOG_FORMAT: 'pretty' },
    });

    expect(config.partitionSize).toBe(7);
    expect(config.logLevel).toBe('debug');
    expect(config.buildTimeoutMs).toBe(60_000);
    expect(config.logFormat).toBe('pretty');
  });

  it('clones as many repositories ahead as build at once unless told otherwise', () => {
    const defaulted = loadConfig({ ...base, flags: { concurrency: 4 }, env: {} });
    const told = loadConfig({ ...base, flags: { concurrency: 4 }, env: { CLONE_AHEAD: '0' } });
    const refused = () => loadConfig({ ...base, flags: { 'clone-ahead': -1 }, env: {} });

    expect(defaulted.cloneAhead).toBe(4);
    expect(told.cloneAhead).toBe(0);
    expect(refused).toThrow('--clone-ahead must be an integer ≥ 0, got "-1"');
  });

  it('checks out submodules unless told not to, and names a value it does not know', () => {
    const defaulted = loadConfig({ ...base, flags: {}, env: {} });
    const told = loadConfig({ ...base, flags: {}, env: { SUBMODULES: 'none' } });
    const flagWins = loadConfig({ ...base, flags: { submodules: 'recursive' }, env: { SUBMODULES: 'none' } });
    const refused = () => loadConfig({ ...base, flags: {}, env: { SUBMODULES: 'yes' } });

    expect(defaulted.submodules).toBe('recursive');
    expect(told.submodules).toBe('none');
    expect(flagWins.submodules).toBe('recursive');
    expect(loadConfig({ ...base, flags: {}, env: { SUBMODULES: 'recursive-with-credentials' } }).submodules).toBe('recursive-with-credentials');
    expect(refused).toThrow('SUBMODULES must be one of recursive, recursive-with-credentials, none, got "yes"');
  });

  it('leaves Git LFS files as pointers unless told to fetch them', () => {
    expect(loadConfig({ ...base, flags: {}, env: {} }).lfs).toBe('skip');
    expect(loadConfig({ ...base, flags: {}, env: { LFS: 'fetch' } }).lfs).toBe('fetch');
    expect(() => loadConfig({ ...base, flags: { lfs: 'always' }, env: {} })).toThrow('--lfs must be one of fetch, skip, got "always"');
  });

  it('reports every problem together', () => {
    const attempt = () =>
      loadConfig({
        ...base,
        flags: { concurrency: 0, 'run-id': 'bad id!' },
        env: { BUILD_TIMEOUT: 'soon', PUBLISH_URL: 'ftp://example.test/x', DATABASE_URL: 'mysql://x' },
      });

    expect(attempt).toThrow(UsageError);
    const problems = (() => {
      try {
        attempt();
        return [];
      } catch (err) {
        return (err as UsageError).problems;
      }
    })();
    expect(problems).toHaveLength(5);
    expect(problems.join('\n')).toContain('BUILD_TIMEOUT must be an integer ≥ 1, got "soon"');
    expect(problems.join('\n')).toContain('--run-id must match');
    expect(problems.join('\n')).toContain('unsupported scheme: "ftp"');
  });

  it('shows the form a GIT_CREDENTIALS line must have in a way the URL scrubber leaves readable', () => {
    const [problem] = problemsOf({ flags: {}, env: { GIT_CREDENTIALS: 'foo' } });

    expect(problem).toContain('GIT_CREDENTIALS line 1 is not an http(s) URL with a user name and a password or token before its host');
    expect(scrubUrlSecrets(problem!)).toBe(problem);
    expect(problem).toContain('user:token@github.com');
  });

  it('refuses a PUBLISH_URL file URL that names a host, and takes one of this machine', () => {
    expect(problemsOf({ flags: {}, env: { PUBLISH_URL: 'file://pubrel' } })).toEqual([
      'PUBLISH_URL file://pubrel is not a file URL of this machine (File URL host must be "localhost" or empty on linux): write file:///absolute/dir (three slashes) or a directory path',
    ]);
    expect(loadConfig({ ...base, flags: {}, env: { PUBLISH_URL: 'file:///srv/pub/' } }).publish.url).toBe('file:///srv/pub');
  });

  it('quotes the value as typed and names the flag or the variable it came from', () => {
    const problems = problemsOf({ flags: { concurrency: 'abc', start: '1.5', parallel: 'two' }, env: { BUILD_TIMEOUT: 'abc', PARTITION_SIZE: '0' } });

    expect(problems).toEqual([
      'BUILD_TIMEOUT must be an integer ≥ 1, got "abc"',
      'PARTITION_SIZE must be an integer ≥ 1, got "0"',
      '--start must be an integer ≥ 1, got "1.5"',
      '--concurrency must be an integer ≥ 1, got "abc"',
      '--parallel must be an integer ≥ 1, got "two"',
    ]);
  });

  it('states each problem once: alone in the headline, or as a list under it', () => {
    const one = messageOf({ flags: { concurrency: 'abc' }, env: {} });
    const two = messageOf({ flags: { concurrency: 'abc' }, env: { BUILD_TIMEOUT: 'abc' } });

    expect(one).toBe('Configuration is invalid: --concurrency must be an integer ≥ 1, got "abc"');
    expect(two).toBe('Configuration is invalid (2 problems):\n  - BUILD_TIMEOUT must be an integer ≥ 1, got "abc"\n  - --concurrency must be an integer ≥ 1, got "abc"');
  });

  it('takes the partition size of process from PARTITION_SIZE exactly as from --partition-size', () => {
    const fromEnv = loadConfig({ ...base, flags: {}, env: { PARTITION_SIZE: '3' } });
    const fromFlag = loadConfig({ ...base, flags: { 'partition-size': '4' }, env: { PARTITION_SIZE: '3' } });
    const neither = loadConfig({ ...base, flags: {}, env: {} });

    expect(fromEnv.selection.partitionSize).toBe(3);
    expect(fromEnv.partitionSize).toBe(3);
    expect(fromFlag.selection.partitionSize).toBe(4);
    expect(neither.selection.partitionSize).toBeUndefined();
    expect(neither.partitionSize).toBe(50);
  });

  it('parses the row selection flags of process', () => {
    const config = loadConfig({ ...base, flags: { start: '4', end: '9', 'partition-offset': '2', partition: '1' }, env: {} });

    expect(config.selection).toEqual({ start: 4, end: 9, partitionSize: undefined, partitionOffset: 2, partition: 1 });
  });

  it('takes the run id from the parent of an array child job id', () => {
    const config = loadConfig({ ...base, flags: {}, env: { AWS_BATCH_JOB_ID: '1f2e3d4c-aaaa-bbbb-cccc-0123456789ab:17', AWS_BATCH_JOB_ARRAY_INDEX: '17' } });

    expect(config.runId).toBe('1f2e3d4c-aaaa-bbbb-cccc-0123456789ab');
    expect(config.runIdSource).toBe('batch');
    expect(config.batch.arrayIndex).toBe(17);
  });

  it('uses a token listed twice in GITHUB_TOKENS once, keeping the order of first appearance', () => {
    const config = loadConfig({ flags: {}, env: { GITHUB_TOKENS: 'ghtokenA1, ghtokenB2,ghtokenA1,,ghtokenC3' }, cwd: '/tmp', stdoutIsTty: false });

    expect(config.github.tokens).toEqual(['ghtokenA1', 'ghtokenB2', 'ghtokenC3']);
  });

  it('counts GITHUB_TOKEN among the secrets when GITHUB_TOKENS is set too', () => {
    const secrets = secretsOfEnvironment({ GITHUB_TOKENS: 'ghtokenA1,ghtokenB2', GITHUB_TOKEN: 'ghtokenC3' });

    expect(secrets).toEqual(expect.arrayContaining(['ghtokenA1', 'ghtokenB2', 'ghtokenC3']));
  });

  it('keeps secrets out of the build environment but keeps the toolchains', () => {
    const config = loadConfig({
      ...base,
      flags: {},
      env: {
        PATH: '/usr/bin',
        HOME: '/home/u',
        JAVA_HOME: '/opt/jdk',
        DATABASE_URL: 'postgres://u:dbpass123@h/db',
        PUBLISH_PASSWORD: 'pubpass123',
        PUBLISH_USER: 'me',
        GIT_CREDENTIALS: 'https://x:gittoken123@git.example.test',
        GITHUB_TOKEN: 'ghtoken123',
        AWS_SECRET_ACCESS_KEY: 'awssecret123',
        PGPASSWORD: 'pgpass123',
        SOMETHING: 'contains pubpass123 inside',
      },
    });

    expect(config.buildEnv).toEqual({ PATH: '/usr/bin', HOME: '/home/u', JAVA_HOME: '/opt/jdk' });
    expect(config.scrub('a dbpass123 b gittoken123 c pubpass123 d ghtoken123')).toBe('a *** b *** c *** d ***');
  });

  it('drops the final newline a secret keeps when it was stored from a file', () => {
    const config = loadConfig({
      ...base,
      flags: {},
      env: { PUBLISH_USER: 'me', PUBLISH_PASSWORD: 'pubpass123\n', PUBLISH_TOKEN: 'pubtoken123\r\n', DATABASE_URL: 'postgres://u:dbpass123@h/db\n', GITHUB_TOKEN: 'ghtoken123\n' },
    });

    expect(config.publish).toMatchObject({ password: 'pubpass123', token: 'pubtoken123' });
    expect(config.databaseUrl).toBe('postgres://u:dbpass123@h/db');
    expect(config.github.tokens).toEqual(['ghtoken123']);
    expect(config.scrub('pubpass123 pubtoken123 dbpass123')).toBe('*** *** ***');
  });

  it('treats a plain directory as a file publish target', () => {
    const config = loadConfig({ ...base, flags: {}, env: { PUBLISH_URL: 'out/artifacts' } });

    expect(config.publish.url).toBe('file:///work/project/out/artifacts');
  });

  it('returns a frozen object', () => {
    const config = loadConfig({ ...base, flags: {}, env: {} });

    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.publish)).toBe(true);
  });
});

function messageOf(inputs: { flags: Record<string, unknown>; env: Record<string, string> }): string {
  try {
    loadConfig({ ...base, ...inputs });
    return '';
  } catch (err) {
    return (err as UsageError).message;
  }
}

function problemsOf(inputs: { flags: Record<string, unknown>; env: Record<string, string> }): readonly string[] {
  try {
    loadConfig({ ...base, ...inputs });
    return [];
  } catch (err) {
    return (err as UsageError).problems;
  }
}

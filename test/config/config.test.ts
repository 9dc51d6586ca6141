import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { UsageError } from '../../src/errors.js';

const base = { cwd: '/work/project', stdoutIsTty: false, now: new Date('2026-11-27T01:02:03Z') };

describe('loadConfig', () => {
  it('uses defaults when neither flags nor environment say anything', () => {
    const config = loadConfig({ ...base, flags: {}, env: {} });

    expect(config.publish.url).toBe('file:///work/project/artifacts');
    expect(config.dataDir).toBe('/work/project/.mass-ingest/db');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.buildTimeoutMs).toBe(1_800_000);
    expect(config.concurrency).toBe(1);
    expect(config.cloneAhead).toBe(1);
    expect(config.partitionSize).toBe(50);
    expect(config.logFormat).toBe('json');
    expect(config.runIdSource).toBe('generated');
    expect(config.runId).toMatch(/^local-20261127T010203-[0-9a-f]{6}$/);
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
    expect(refused).toThrow('--clone-ahead / CLONE_AHEAD must be an integer ≥ 0, got "-1"');
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

  it('takes the run id from the parent of an array child job id', () => {
    const config = loadConfig({ ...base, flags: {}, env: { AWS_BATCH_JOB_ID: '1f2e3d4c-aaaa-bbbb-cccc-0123456789ab:17', AWS_BATCH_JOB_ARRAY_INDEX: '17' } });

    expect(config.runId).toBe('1f2e3d4c-aaaa-bbbb-cccc-0123456789ab');
    expect(config.runIdSource).toBe('batch');
    expect(config.batch.arrayIndex).toBe(17);
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

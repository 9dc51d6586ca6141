import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { earlyHostDataDir, startEarlyHost } from '../../src/results/early-host.js';
import { acquireDirectoryLock } from '../../src/results/directory-lock.js';
import { assertEmbeddedUnlocked } from '../../src/results/pglite-open.js';
import { baseEnv, runCli } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

// The host is dist/results/embedded-host.js: `npm test` builds first.
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('earlyHostDataDir', () => {
  it('names the directory `process` will open, as the configuration reads it', () => {
    expect(earlyHostDataDir(['process', 'repos.csv'], {}, '/work')).toBe('/work/.mass-ingest/db');
    expect(earlyHostDataDir(['process', 'repos.csv'], { MASS_INGEST_DATA_DIR: 'state/db', DATABASE_URL: '' }, '/work')).toBe('/work/state/db');
  });

  it('starts nothing for other commands, PostgreSQL, help or version', () => {
    expect(earlyHostDataDir(['report'], {}, '/work')).toBeUndefined();
    expect(earlyHostDataDir(['chunk', 'repos.csv', '--local'], {}, '/work')).toBeUndefined();
    expect(earlyHostDataDir(['process', 'repos.csv'], { DATABASE_URL: 'postgres://u:p@db/x' }, '/work')).toBeUndefined();
    expect(earlyHostDataDir(['process', '--help'], {}, '/work')).toBeUndefined();
    expect(earlyHostDataDir(['process', 'repos.csv', '--version'], {}, '/work')).toBeUndefined();
  });
});

describe('startEarlyHost', () => {
  let tmp: TempDir;
  beforeEach(async () => {
    tmp = await createTempDir('mass-ingest-early-');
  });
  afterEach(async () => {
    await tmp.remove();
  });

  it('hands its host once, to the directory it serves, and gives the host none of the secrets', async () => {
    const env = { PATH: process.env.PATH, HOME: tmp.path, MASS_INGEST_DATA_DIR: 'db', GIT_CREDENTIALS: 'https://u:git-secret@example.test', PUBLISH_PASSWORD: 'publish-secret' };
    const early = await startEarlyHost(['process', 'repos.csv'], env, tmp.path);

    const other = early?.take(join(tmp.path, 'other'));
    const host = await early?.take(join(tmp.path, 'db'));
    const again = early?.take(join(tmp.path, 'db'));
    try {
      const environ = (await readFile(`/proc/${host!.pid}/environ`, 'utf8')).split('\0').filter(Boolean).sort();

      expect(other).toBeUndefined();
      expect(again).toBeUndefined();
      expect(environ).toEqual([`HOME=${tmp.path}`, `PATH=${process.env.PATH}`]);
    } finally {
      await host?.stop();
    }
  });

  it('stops a host nobody took, and the directory is free again', async () => {
    const early = await startEarlyHost(['process', 'repos.csv'], { PATH: process.env.PATH, MASS_INGEST_DATA_DIR: 'db' }, tmp.path);
    const server = early!.take(join(tmp.path, 'db'));
    const { pid } = await server!;
    // Taken: dispose leaves it alone.
    await early!.dispose();
    expect(alive(pid)).toBe(true);
    await (await server!).stop();

    const second = await startEarlyHost(['process', 'repos.csv'], { PATH: process.env.PATH, MASS_INGEST_DATA_DIR: 'db' }, tmp.path);
    await second!.dispose();

    await expect(assertEmbeddedUnlocked(join(tmp.path, 'db'))).resolves.toBeUndefined();
  });

  it('starts no host on a directory another process holds', async () => {
    const lock = await acquireDirectoryLock(`${join(tmp.path, 'db')}.lock`);
    try {
      const early = await startEarlyHost(['process', 'repos.csv'], { PATH: process.env.PATH, MASS_INGEST_DATA_DIR: 'db' }, tmp.path);

      expect(early).toBeUndefined();
    } finally {
      await lock.release();
    }
  });

  it('leaves no host behind when the command refuses its configuration', async () => {
    const env = baseEnv({ MASS_INGEST_DATA_DIR: join(tmp.path, 'db') });

    const result = await runCli(['process', join(tmp.path, 'repos.csv'), '--concurrency', '0'], { env, cwd: tmp.path });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--concurrency / CONCURRENCY must be an integer ≥ 1');
    await expect(assertEmbeddedUnlocked(join(tmp.path, 'db'))).resolves.toBeUndefined();
  });
});

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HOST_MIN_OPEN_FILES, hostEnvironment, hostMinOpenFiles, startEmbeddedServer } from '../../src/results/embedded-server.js';
import { acquireDirectoryLock } from '../../src/results/directory-lock.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { waitFor } from '../harness/wait.js';

// The host is dist/results/embedded-host.js: `npm test` builds first.
const hostEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', LANG: 'C.UTF-8' };

async function selectOne(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one;
  } finally {
    await client.end();
  }
}

describe('hostEnvironment', () => {
  it('keeps what node needs and nothing else: no secret reaches the host', () => {
    const env = { PATH: '/usr/bin', HOME: '/home/u', TMPDIR: '/tmp', LANG: 'C.UTF-8', TZ: 'UTC', DATABASE_URL: 'postgres://u:pw@db/x', GIT_CREDENTIALS: 'https://u:t@h', PUBLISH_PASSWORD: 'p', NODE_OPTIONS: '--require ./x.js', EMPTY: '' };

    expect(hostEnvironment(env)).toEqual({ PATH: '/usr/bin', HOME: '/home/u', TMPDIR: '/tmp', LANG: 'C.UTF-8', TZ: 'UTC' });
  });
});

describe('hostMinOpenFiles', () => {
  it('asks 96 for a processor and for chunk --local up to --parallel 4, then 4 more per processor', () => {
    const clients = [1, 2, 5, 6, 7, 9, 17];

    const limits = clients.map((count) => hostMinOpenFiles(count));

    expect(limits).toEqual([HOST_MIN_OPEN_FILES, 96, 96, 100, 104, 112, 144]);
  });
});

describe('the embedded database host', () => {
  let tmp: TempDir;
  beforeEach(async () => {
    tmp = await createTempDir('mass-ingest-host-');
  });
  afterEach(async () => {
    await tmp.remove();
  });

  it('serves a fresh directory over the wire protocol and frees it when stopped', async () => {
    const dataDir = join(tmp.path, 'db');

    const host = await startEmbeddedServer(dataDir, hostEnv);
    const answer = await selectOne(host.url);
    await host.stop();
    const lock = await acquireDirectoryLock(`${dataDir}.lock`);
    await lock.release();

    expect(answer).toBe(1);
    expect(host.fresh).toBe(true);
    expect(host.url).toMatch(/^postgres:\/\/mass_ingest:[0-9a-f]{48}@127\.0\.0\.1:\d+\/postgres$/);
  });

  it('runs with only the environment it is given, and its password is nowhere in argv', async () => {
    const host = await startEmbeddedServer(join(tmp.path, 'db'), { ...hostEnv, MARKER: 'host-env' });
    try {
      const environ = (await readFile(`/proc/${host.pid}/environ`, 'utf8')).split('\0').filter(Boolean).sort();
      const cmdline = await readFile(`/proc/${host.pid}/cmdline`, 'utf8');
      const password = new URL(host.url).password;

      expect(environ).toEqual(Object.entries({ ...hostEnv, MARKER: 'host-env' }).map(([k, v]) => `${k}=${v}`).sort());
      expect(cmdline).not.toContain(password);
    } finally {
      await host.stop();
    }
  });

  it('refuses a directory another process holds, naming the lock', async () => {
    const dataDir = join(tmp.path, 'db');
    const first = await startEmbeddedServer(dataDir, hostEnv);
    try {
      const second = startEmbeddedServer(dataDir, hostEnv);

      await expect(second).rejects.toMatchObject({ code: 'db_locked', exitCode: 2 });
      await expect(second).rejects.toThrow(`${dataDir}.lock`);
    } finally {
      await first.stop();
    }
  });

  it('reports why it cannot open a directory, as an infrastructure error (exit 3)', async () => {
    await writeFile(join(tmp.path, 'file'), 'not a directory');

    const opening = startEmbeddedServer(join(tmp.path, 'file', 'db'), hostEnv);

    await expect(opening).rejects.toMatchObject({ code: 'db_open_failed', exitCode: 3 });
    await expect(opening).rejects.toThrow(/^The embedded database cannot be opened: E[A-Z]+: .*\/file/);
  });

  it('ignores SIGTERM and SIGINT (its parent decides) and stops when its parent dies', async () => {
    const dataDir = join(tmp.path, 'db');
    const script = `
      import { startEmbeddedServer } from ${JSON.stringify(new URL('../../dist/results/embedded-server.js', import.meta.url).href)};
      const host = await startEmbeddedServer(${JSON.stringify(dataDir)}, ${JSON.stringify(hostEnv)});
      console.log(JSON.stringify({ pid: host.pid, url: host.url }));
      setInterval(() => undefined, 1000);`;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(parent.stdout, 'data')) as [Buffer];
    const { pid, url } = JSON.parse(line.toString()) as { pid: number; url: string };

    process.kill(pid, 'SIGTERM');
    process.kill(pid, 'SIGINT');
    const stillServing = await selectOne(url);
    parent.kill('SIGKILL');
    // Its stdin closed with the parent: it closes PGlite and releases the lock.
    const lock = await waitFor(() => acquireDirectoryLock(`${dataDir}.lock`).catch(() => undefined), { what: 'the host to release the lock', timeoutMs: 20_000 });
    await lock.release();

    expect(stillServing).toBe(1);
  });
});

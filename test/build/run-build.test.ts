import { chmod, lstat, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runBuild, type BuildRun } from '../../src/build/run-build.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

/** Whether a process still runs (a zombie, killed and not yet reaped by init, does not). */
async function isRunning(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== '' && state !== 'Z' && state !== 'X';
}

async function stillRunningAfterKill(pid: number): Promise<boolean> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    if (!(await isRunning(pid))) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

describe('runBuild', () => {
  let tmp: TempDir;
  beforeEach(async () => {
    tmp = await createTempDir('mass-ingest-run-build-');
  });
  afterEach(async () => {
    await tmp.remove();
  });

  const build = (command: string, extra: Partial<BuildRun> = {}) =>
    runBuild({
      command,
      cwd: tmp.path,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      logFile: join(tmp.path, 'build.log'),
      timeoutMs: 600_000,
      scrub: (text) => text.replaceAll('hunter2-secret', '***'),
      signal: new AbortController().signal,
      ...extra,
    });
  const pidOf = async (name: string) => Number((await readFile(join(tmp.path, name), 'utf8')).trim());

  it('ends when its shell exits, killing what it left running in the background', async () => {
    const result = await build('sleep 1000 & echo $! > bg.pid; echo built');

    expect(result).toEqual({ status: 'succeeded' });
    expect(await stillRunningAfterKill(await pidOf('bg.pid'))).toBe(false);
    expect(await readFile(join(tmp.path, 'build.log'), 'utf8')).toContain('built\n');
  }, 30_000);

  it('kills a process that left the build in a session of its own and still holds its output', async () => {
    const result = await build(`setsid sh -c 'echo $$ > daemon.pid; exec sleep 1000' & for i in $(seq 1 200); do test -s daemon.pid && break; sleep 0.05; done; echo built; exit 3`);

    expect(result).toEqual({ status: 'failed', exitCode: 3, signal: null });
    expect(await stillRunningAfterKill(await pidOf('daemon.pid'))).toBe(false);
  }, 30_000);

  it('cuts a line of several megabytes instead of holding it whole', async () => {
    const result = await build(`head -c 5000000 /dev/zero | tr '\\0' a; echo; echo hunter2-secret done`);

    const log = await readFile(join(tmp.path, 'build.log'), 'utf8');
    expect(result).toEqual({ status: 'succeeded' });
    expect(log.length).toBeLessThan(100_000);
    expect(log).toMatch(/a \[mass-ingest: \d+ more characters of this line left out\]\n\*\*\* done\n$/);
  }, 60_000);

  it('fails, saying why in build.log, when its shell cannot start', async () => {
    const result = await build('echo built', { cwd: join(tmp.path, 'missing') });

    expect(result).toEqual({ status: 'failed', exitCode: null, signal: null });
    expect(await readFile(join(tmp.path, 'build.log'), 'utf8')).toMatch(/\[mass-ingest\] the build could not start: .*ENOENT/);
  });

  it('sends no signal to its process group once a timed-out build has ended', async () => {
    const result = await build('echo $$ > shell.pid; sleep 1000', { timeoutMs: 200 });
    const group = -(await pidOf('shell.pid'));
    const kill = vi.spyOn(process, 'kill');

    await new Promise((resolve) => setTimeout(resolve, 5500));

    expect(result).toEqual({ status: 'timed_out' });
    expect(kill.mock.calls.filter(([pid]) => pid === group)).toEqual([]);
    kill.mockRestore();
  }, 30_000);

  it('fails with the log file error when build.log cannot be written, after reading all of the build output', async () => {
    const result = runBuild({
      command: 'seq 1 200000; echo $$ > shell.pid',
      cwd: tmp.path,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      logFile: '/dev/full',
      timeoutMs: 600_000,
      scrub: (text) => text,
      signal: new AbortController().signal,
    });

    await expect(result).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(await pidOf('shell.pid')).toBeGreaterThan(0);
  }, 30_000);
});

describe('runBuild and its log file', () => {
  let tmp: TempDir;
  beforeEach(async () => {
    tmp = await createTempDir('mass-ingest-run-build-log-');
  });
  afterEach(async () => {
    await tmp.remove();
  });

  it('puts back the log it wrote when the build replaced build.log with a link to a secret', async () => {
    const secret = join(tmp.path, 'secret.txt');
    await writeFile(secret, 'hunter2-secret\n');
    let replaced = 0;

    const result = await runBuild({
      command: `echo building; ln -sf ${secret} ${join(tmp.path, 'build.log')}; echo done`,
      cwd: tmp.path,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      logFile: join(tmp.path, 'build.log'),
      timeoutMs: 600_000,
      scrub: (text) => text,
      signal: new AbortController().signal,
      onLogReplaced: () => (replaced += 1),
    });

    expect(result).toEqual({ status: 'succeeded' });
    expect(replaced).toBe(1);
    expect((await lstat(join(tmp.path, 'build.log'))).isFile()).toBe(true);
    const log = await readFile(join(tmp.path, 'build.log'), 'utf8');
    expect(log).toContain('building\ndone\n');
    expect(log).toContain('[mass-ingest] the build replaced build.log; this is the log the processor wrote');
    expect(log).not.toContain('hunter2-secret');
    expect(await readFile(secret, 'utf8')).toBe('hunter2-secret\n');
  }, 30_000);
});

describe.skipIf(process.getuid?.() !== 0)('runBuild as another user', () => {
  let tmp: TempDir;
  beforeEach(async () => {
    tmp = await createTempDir('mass-ingest-run-build-user-');
    await chmod(tmp.path, 0o777);
  });
  afterEach(async () => {
    await tmp.remove();
  });

  const nobody = { uid: 65534, gid: 65534 };
  const asNobody = (command: string) =>
    runBuild({
      command,
      cwd: tmp.path,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      logFile: join(tmp.path, `build-${Math.random().toString(36).slice(2)}.log`),
      timeoutMs: 600_000,
      scrub: (text) => text,
      signal: new AbortController().signal,
      user: nobody,
    });

  it('kills what a build left in a session of its own with its environment cleared, and not a running build of the same user', async () => {
    const long = asNobody(`sleep 3 & echo $! > ${tmp.path}/long.pid; wait`);
    await new Promise((resolve) => setTimeout(resolve, 300));

    const short = await asNobody(`setsid env -i sh -c 'echo $$ > ${tmp.path}/stray.pid; exec sleep 300' & for i in $(seq 1 100); do test -s ${tmp.path}/stray.pid && break; sleep 0.05; done`);
    const longSleepAfterShort = await isRunning(Number((await readFile(join(tmp.path, 'long.pid'), 'utf8')).trim()));

    expect(short).toEqual({ status: 'succeeded' });
    expect(await stillRunningAfterKill(Number((await readFile(join(tmp.path, 'stray.pid'), 'utf8')).trim()))).toBe(false);
    expect(longSleepAfterShort).toBe(true);
    expect(await long).toEqual({ status: 'succeeded' });
  }, 30_000);
});

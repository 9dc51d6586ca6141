import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { claimRunWorkdir } from '../../src/pipeline/run-workdir.js';
import { baseEnv, runCli } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { makeFixture, MAKE_PROJECT, type Fixture } from '../commands/process-fixtures.js';

// What `process` does with the work directory it shares with earlier and concurrent processors.

let tmp: TempDir;
let fixture: Fixture;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-run-workdir-');
  fixture = await makeFixture(tmp.path, [['acme/app', MAKE_PROJECT]]);
});

afterAll(async () => {
  await tmp.remove();
});

const DEAD_PID = 2 ** 22 + 1; // above Linux's pid_max: never a live process
const longAgo = new Date(Date.now() - 10 * 60_000);

/** A run directory as a processor leaves it: workspaces with files, its owner file, nothing else. */
async function runDir(workdir: string, name: string, files: Record<string, string>, age: Date | 'now' = longAgo): Promise<string> {
  const dir = path.join(workdir, name);
  for (const [file, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await fs.writeFile(path.join(dir, file), text);
  }
  if (age !== 'now') await fs.utimes(dir, age, age);
  return dir;
}

const owner = (pid: number) => JSON.stringify({ pid, host: os.hostname() });
const deadOwner = `.owner-${os.hostname()}-${DEAD_PID}`;

/** An owner file whose heartbeat stopped long ago, as a killed processor leaves it. */
async function stopHeartbeat(dir: string): Promise<void> {
  await fs.utimes(path.join(dir, deadOwner), longAgo, longAgo);
  await fs.utimes(dir, longAgo, longAgo);
}

describe('mass-ingest process and its work directory', () => {
  it('removes the workspaces of stopped processors and keeps live ones, recent ones, ownerless ones and anything not its own', async () => {
    const workdir = path.join(tmp.path, 'work');
    const killed = await runDir(workdir, 'killed-run', { 'row-3/node_modules/a.js': 'x', 'row-4/target/b.o': 'x', [`.owner-${os.hostname()}-${DEAD_PID}`]: owner(DEAD_PID) });
    const olderVersion = await runDir(workdir, 'older-run', { 'row-1/src/c.c': 'x' });
    const live = await runDir(workdir, 'live-run', { 'row-9/d': 'x', [`.owner-${os.hostname()}-${process.pid}`]: owner(process.pid) });
    const starting = await runDir(workdir, 'starting-run', { 'row-2/e': 'x', [`.owner-${os.hostname()}-${DEAD_PID}`]: owner(DEAD_PID) }, 'now');
    const users = await runDir(workdir, 'my-notes', { 'row-1/f': 'x', 'todo.txt': 'x' });
    await stopHeartbeat(killed);
    const env = baseEnv({ MASS_INGEST_DATA_DIR: path.join(tmp.path, 'db'), PUBLISH_URL: path.join(tmp.path, 'artifacts'), MASS_INGEST_WORKDIR: workdir });

    const result = await runCli(['process', fixture.inventory, '--run-id', 'sweeper'], { env });

    expect(result.code).toBe(0);
    expect((await fs.readdir(workdir)).sort()).toEqual(['live-run', 'my-notes', 'older-run', 'starting-run']);
    await expect(fs.readdir(olderVersion)).resolves.toEqual(['row-1']);
    await expect(fs.readdir(live)).resolves.toContain('row-9');
    await expect(fs.readdir(starting)).resolves.toContain('row-2');
    await expect(fs.readdir(users)).resolves.toContain('todo.txt');
    const removed = result.logs.filter((line) => line.msg === 'Removed the workspaces of a stopped processor');
    expect(removed.map((line) => [line.dir, line.workspaces])).toEqual([[killed, 2]]);
  }, 60_000);

  it('kills the builds a killed processor left running, and no build of a live one or of another pid namespace', async () => {
    const namespace = /\[(\d+)\]/.exec(await fs.readlink('/proc/self/ns/pid'))?.[1];
    const start = (marker: string) => spawn('sleep', ['1000'], { env: { PATH: process.env.PATH, MASS_INGEST_BUILD: marker }, stdio: 'ignore' });
    const orphan = start(`${namespace}:${DEAD_PID}:6f1c0b7e`);
    const live = start(`${namespace}:${process.pid}:6f1c0b7e`);
    const otherNamespace = start(`4026530000:${DEAD_PID}:6f1c0b7e`);
    const orphanExit = new Promise((resolve) => orphan.once('exit', (_code, signal) => resolve(signal)));
    const env = baseEnv({ MASS_INGEST_DATA_DIR: path.join(tmp.path, 'db'), PUBLISH_URL: path.join(tmp.path, 'artifacts'), MASS_INGEST_WORKDIR: path.join(tmp.path, 'work-2') });

    const result = await runCli(['process', fixture.inventory, '--run-id', 'orphans', '--force'], { env });

    const running = [live, otherNamespace].map((child) => child.exitCode === null && child.signalCode === null);
    for (const child of [live, otherNamespace]) child.kill('SIGKILL');
    expect(result.code).toBe(0);
    await expect(orphanExit).resolves.toBe('SIGKILL');
    expect(running).toEqual([true, true]);
    // Not asserted: its 'Killed the build processes…' line. Any processor started on this machine
    // meanwhile (tests run in parallel) may have killed the orphan first.
  }, 60_000);
});

describe('claimRunWorkdir', () => {
  it('leaves alone the owner file and workspaces of a processor of the swept run that starts while the sweep removes', async () => {
    const workdir = path.join(tmp.path, 'work-3');
    const swept = await runDir(workdir, 'restarted-run', { 'row-3/a': 'x', 'row-4/b': 'x', [`.owner-${os.hostname()}-${DEAD_PID}`]: owner(DEAD_PID) });
    await stopHeartbeat(swept);
    const liveOwner = path.join(swept, `.owner-${os.hostname()}-${process.pid}`);
    const realRm = fs.rm.bind(fs);
    let arrived = false;
    const rm = vi.spyOn(fs, 'rm').mockImplementation(async (target, options) => {
      // A processor of run restarted-run claims the directory once the sweep has begun.
      if (!arrived && String(target).startsWith(swept)) {
        arrived = true;
        await fs.writeFile(liveOwner, owner(process.pid));
        await fs.mkdir(path.join(swept, 'row-7'));
      }
      return realRm(target, options);
    });

    const claimed = await claimRunWorkdir(workdir, 'sweeper', pino({ level: 'silent' })).finally(() => rm.mockRestore());
    await claimed.release();

    expect(arrived).toBe(true);
    // The stopped owner's file stays too: a later sweep, once the new processor is gone, finishes.
    expect((await fs.readdir(swept)).sort()).toEqual([deadOwner, path.basename(liveOwner), 'row-4', 'row-7'].sort());
  });

  it('refuses with workdir_unusable (exit 2) a run directory its owner file cannot be written in', async () => {
    const workdir = path.join(tmp.path, 'work-5');
    const open = vi.spyOn(fs, 'open').mockRejectedValueOnce(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES', syscall: 'open' }));

    const claiming = claimRunWorkdir(workdir, 'shared-run', pino({ level: 'silent' }));

    await expect(claiming.finally(() => open.mockRestore())).rejects.toMatchObject({ code: 'workdir_unusable', exitCode: 2 });
  });

  it('keeps the workspaces of an owner whose pid is not alive here but whose heartbeat goes on, as a processor in another pid namespace looks', async () => {
    const workdir = path.join(tmp.path, 'work-4');
    const otherNamespace = await runDir(workdir, 'container-run', { 'row-5/src/a': 'x', [deadOwner]: owner(DEAD_PID) });

    const claimed = await claimRunWorkdir(workdir, 'sweeper', pino({ level: 'silent' }));
    await claimed.release();

    expect((await fs.readdir(otherNamespace)).sort()).toEqual([deadOwner, 'row-5']);
  });
});

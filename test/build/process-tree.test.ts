import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { BUILD_MARKER, killMarked, killOrphanedBuilds, newBuildMarker, PID_NAMESPACE } from '../../src/build/process-tree.js';

/** Whether a process still runs (a zombie, killed and not yet reaped, does not). */
async function isRunning(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== '' && state !== 'Z' && state !== 'X';
}

/** A killed process leaves a moment later: a bounded wait, no timing assertion. */
async function settled(pid: number): Promise<boolean> {
  for (let attempt = 0; attempt < 50 && (await isRunning(pid)); attempt += 1) await new Promise((resolve) => setTimeout(resolve, 20));
  return isRunning(pid);
}

const started: ChildProcess[] = [];

/** `sleep` carrying `marker`, started once its environment is in /proc (exec done). */
async function sleeper(marker: string): Promise<number> {
  const child = spawn('sleep', ['1000'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', [BUILD_MARKER]: marker }, stdio: 'ignore' });
  started.push(child);
  const pid = child.pid ?? 0;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const environ = await readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '');
    if (environ.includes(`${BUILD_MARKER}=${marker}`)) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return pid;
}

/** The pid of a process that has ended. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await once(child, 'exit');
  return child.pid ?? 0;
}

afterEach(() => {
  for (const child of started.splice(0)) child.kill('SIGKILL');
});

describe('the processes of a build', () => {
  it('kills the processes carrying a build\'s marker, and none of another build', async () => {
    const mine = newBuildMarker();
    const other = await sleeper(newBuildMarker());
    const marked = await sleeper(mine);

    const killed = killMarked(mine);

    expect(killed).toBe(1);
    expect([await settled(marked), await settled(other)]).toEqual([false, true]);
  });

  it('kills the builds of a processor that is gone, and leaves those of a live one', async () => {
    const gone = await deadPid();
    const orphan = await sleeper(`${PID_NAMESPACE}:${gone}:build`);
    const ours = await sleeper(newBuildMarker());
    const otherNamespace = await sleeper(`not-${PID_NAMESPACE}:${gone}:build`);

    killOrphanedBuilds();

    expect([await settled(orphan), await settled(ours), await settled(otherNamespace)]).toEqual([false, true, true]);
  });
});

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { isOutOfDescriptors, outOfDescriptors } from '../errors.js';
import type { Scrubber } from '../logging/scrub.js';
import { BuildLog } from './build-log.js';
import { BUILD_MARKER, killGroup, killMarked, killStrays, newBuildMarker } from './process-tree.js';
import { LOG_TAIL_BYTES } from '../results/outcome.js';

export type BuildResult =
  | { readonly status: 'succeeded' }
  | { readonly status: 'failed'; readonly exitCode: number | null; readonly signal: string | null }
  | { readonly status: 'timed_out' }
  | { readonly status: 'aborted' };

export interface BuildRun {
  command: string;
  cwd: string;
  env: Readonly<Record<string, string>>;
  logFile: string;
  timeoutMs: number;
  scrub: Scrubber;
  signal: AbortSignal;
  /** Another user to run the build as (BUILD_USER, src/build/build-user.ts); the processor's own when absent. */
  user?: { readonly uid: number; readonly gid: number } | undefined;
  /** Called when the build had replaced build.log (a link to a secret, say): the processor's own log was put back. */
  onLogReplaced?: () => void;
}

const KILL_GRACE_MS = 5000;
/** How long the output pipes may stay open once the build's processes are killed. */
const PIPE_GRACE_MS = 5000;

/**
 * Runs a build in its own process group so a timeout or SIGTERM kills the whole tree
 * (DESIGN §5); stdout and stderr go, line by line and scrubbed, to the build log. The build ends
 * when its shell exits: what it left running (`sleep 1000 &`, a daemon, even one in a session of
 * its own) is killed then, and does not hold the build until its timeout.
 */
export async function runBuild(run: BuildRun): Promise<BuildResult> {
  // Opened without following a link, and kept open: what was written is checked against the path
  // once the build is over (keepLog), whatever the build did to the path meanwhile.
  const handle = await fs.promises.open(run.logFile, fs.constants.O_RDWR | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o644);
  try {
    return await buildWithLog(run, handle);
  } finally {
    await handle.close();
  }
}

async function buildWithLog(run: BuildRun, handle: fs.promises.FileHandle): Promise<BuildResult> {
  const file = fs.createWriteStream(run.logFile, { fd: handle.fd, autoClose: false });
  // Unheard, a write error (a full disk) would be an uncaught exception: the processor's end.
  let fileError: Error | undefined;
  file.on('error', (err) => (fileError ??= err));
  const log = new BuildLog(file, run.scrub);
  await log.write(`$ ${run.scrub(run.command)}\n`);
  const marker = newBuildMarker();
  const env = { ...run.env, [BUILD_MARKER]: marker };
  const child = spawn('sh', ['-c', run.command], { cwd: run.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...(run.user ? { uid: run.user.uid, gid: run.user.gid } : {}) });
  // Settled, never rejected: both copies are done writing before the log is closed.
  const copied = Promise.allSettled([log.copy(child.stdout), log.copy(child.stderr)]);

  let stoppedBy: 'timeout' | 'abort' | undefined;
  let killLater: NodeJS.Timeout | undefined;
  const stop = (reason: 'timeout' | 'abort') => {
    if (stoppedBy) return;
    stoppedBy = reason;
    killGroup(child.pid, 'SIGTERM');
    killLater = setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS).unref();
  };
  const timer = setTimeout(() => stop('timeout'), run.timeoutMs);
  const onAbort = () => stop('abort');
  run.signal.addEventListener('abort', onAbort);
  if (run.signal.aborted) onAbort();

  // A shell that never started (no process or descriptor left: EAGAIN, EMFILE) emits 'error', not 'exit'.
  let startError: Error | undefined;
  const [code, signal] = (await once(child, 'exit').catch((err: Error) => {
    startError = err;
    return [null, null];
  })) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  // Killed now: later, the group's id may be another process's (a concurrent build's shell).
  clearTimeout(killLater);
  run.signal.removeEventListener('abort', onAbort);
  killGroup(child.pid, 'SIGKILL');
  killMarked(marker);
  if (run.user) killStrays(run.user.uid);
  await drainPipes(copied, [child.stdout, child.stderr]);
  await log.flush();
  if (stoppedBy === 'timeout') file.write(`\n[mass-ingest] build timed out after ${Math.round(run.timeoutMs / 1000)} s; process group killed\n`);
  if (stoppedBy === 'abort') file.write('\n[mass-ingest] build stopped: the processor received a termination signal\n');
  if (startError) file.write(`\n[mass-ingest] the build could not start: ${startError.message}\n`);
  file.end();
  await finished(file).catch((err: Error) => (fileError ??= err));
  if (fileError) throw fileError;
  // Not the build's failure: the processor's.
  if (isOutOfDescriptors(startError)) throw outOfDescriptors('The build could not start', startError);
  if (await keepLog(run.logFile, handle)) run.onLogReplaced?.();

  if (stoppedBy === 'timeout') return { status: 'timed_out' };
  if (stoppedBy === 'abort') return { status: 'aborted' };
  return code === 0 ? { status: 'succeeded' } : { status: 'failed', exitCode: code, signal };
}

/**
 * build.log is read back by path (published, its tail recorded), and the build may have replaced
 * that path: with a link to a file only the processor can read (credentials, /proc/self/environ),
 * the processor would publish it. When the path is no longer the file written, what was written
 * is put back there from the open handle, in a new file. True when it had to be.
 */
async function keepLog(logFile: string, handle: fs.promises.FileHandle): Promise<boolean> {
  const [written, current] = await Promise.all([handle.stat(), fs.promises.lstat(logFile).catch(() => undefined)]);
  if (!written.isFile()) return false;
  if (current?.isFile() && current.ino === written.ino && current.dev === written.dev) return false;
  await fs.promises.rm(logFile, { recursive: true, force: true });
  const copy = await fs.promises.open(logFile, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o644);
  try {
    const buffer = Buffer.alloc(64 * 1024);
    for (let position = 0; ; ) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      await copy.write(buffer, 0, bytesRead);
      position += bytesRead;
    }
    await copy.write('\n[mass-ingest] the build replaced build.log; this is the log the processor wrote\n');
  } finally {
    await copy.close();
  }
  return true;
}

/**
 * The rest of the output, unless something outside our reach (a process with its environment
 * cleared) still holds a pipe. A shell that never started for want of descriptors has no pipes:
 * node sets them up after the spawn.
 */
async function drainPipes(copied: Promise<unknown>, pipes: ReadonlyArray<Readable | null | undefined>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, PIPE_GRACE_MS)));
  await Promise.race([copied, late]);
  clearTimeout(timer);
  for (const pipe of pipes) pipe?.destroy();
  await copied;
}

/** The last lines of a build log for `error_message` (DESIGN §7: up to 20 lines / 4 KiB, whole lines). */
export async function tailOfLog(logFile: string, maxLines = 20, maxBytes = LOG_TAIL_BYTES): Promise<string> {
  const handle = await fs.promises.open(logFile, 'r').catch(() => undefined);
  if (!handle) return '';
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, maxBytes + 1024);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    let lines = buffer.toString('utf8').split('\n');
    if (size > length) lines = lines.slice(1);
    lines = lines.filter((line) => line.trim() !== '').slice(-maxLines);
    while (lines.length > 1 && Buffer.byteLength(lines.join('\n')) > maxBytes) lines.shift();
    const text = lines.join('\n');
    return Buffer.byteLength(text) > maxBytes ? text.slice(-maxBytes) : text;
  } finally {
    await handle.close();
  }
}

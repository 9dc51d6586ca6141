import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import type { Scrubber } from '../logging/scrub.js';
import { BuildLog } from './build-log.js';
import { BUILD_MARKER, killGroup, killMarked, newBuildMarker } from './process-tree.js';
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
  const file = fs.createWriteStream(run.logFile, { flags: 'a' });
  // Unheard, a write error (a full disk) would be an uncaught exception: the processor's end.
  let fileError: Error | undefined;
  file.on('error', (err) => (fileError ??= err));
  const log = new BuildLog(file, run.scrub);
  await log.write(`$ ${run.scrub(run.command)}\n`);
  const marker = newBuildMarker();
  const env = { ...run.env, [BUILD_MARKER]: marker };
  const child = spawn('sh', ['-c', run.command], { cwd: run.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
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

  const [code, signal] = (await once(child, 'exit').catch(() => [null, null])) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  // Killed now: later, the group's id may be another process's (a concurrent build's shell).
  clearTimeout(killLater);
  run.signal.removeEventListener('abort', onAbort);
  killGroup(child.pid, 'SIGKILL');
  killMarked(marker);
  await drainPipes(copied, [child.stdout, child.stderr]);
  await log.flush();
  if (stoppedBy === 'timeout') file.write(`\n[mass-ingest] build timed out after ${Math.round(run.timeoutMs / 1000)} s; process group killed\n`);
  if (stoppedBy === 'abort') file.write('\n[mass-ingest] build stopped: the processor received a termination signal\n');
  await new Promise<void>((resolve) => file.end(resolve));
  if (fileError) throw fileError;

  if (stoppedBy === 'timeout') return { status: 'timed_out' };
  if (stoppedBy === 'abort') return { status: 'aborted' };
  return code === 0 ? { status: 'succeeded' } : { status: 'failed', exitCode: code, signal };
}

/** The rest of the output, unless something outside our reach (a process with its environment cleared) still holds a pipe. */
async function drainPipes(copied: Promise<unknown>, pipes: Readable[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, PIPE_GRACE_MS)));
  await Promise.race([copied, late]);
  clearTimeout(timer);
  for (const pipe of pipes) pipe.destroy();
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

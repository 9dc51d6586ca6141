import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { once } from 'node:events';
import readline from 'node:readline';
import type { Scrubber } from '../logging/scrub.js';
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

/**
 * Runs a build in its own process group so a timeout or SIGTERM kills the whole tree
 * (DESIGN §5); stdout and stderr go, line by line and scrubbed, to the build log.
 */
export async function runBuild(run: BuildRun): Promise<BuildResult> {
  const log = fs.createWriteStream(run.logFile, { flags: 'a' });
  log.write(`$ ${run.scrub(run.command)}\n`);
  const child = spawn('sh', ['-c', run.command], { cwd: run.cwd, env: run.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const copied = Promise.all([copyLines(child.stdout, log, run.scrub), copyLines(child.stderr, log, run.scrub)]);

  let stoppedBy: 'timeout' | 'abort' | undefined;
  const stop = (reason: 'timeout' | 'abort') => {
    if (stoppedBy) return;
    stoppedBy = reason;
    killGroup(child.pid, 'SIGTERM');
    setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS).unref();
  };
  const timer = setTimeout(() => stop('timeout'), run.timeoutMs);
  const onAbort = () => stop('abort');
  run.signal.addEventListener('abort', onAbort);
  if (run.signal.aborted) onAbort();

  const [code, signal] = (await once(child, 'close').catch(() => [null, null])) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  run.signal.removeEventListener('abort', onAbort);
  // Grandchildren may still hold the pipes open: make sure the group is gone.
  killGroup(child.pid, 'SIGKILL');
  await copied.catch(() => undefined);
  if (stoppedBy === 'timeout') log.write(`\n[mass-ingest] build timed out after ${Math.round(run.timeoutMs / 1000)} s; process group killed\n`);
  if (stoppedBy === 'abort') log.write('\n[mass-ingest] build stopped: the processor received a termination signal\n');
  await new Promise<void>((resolve) => log.end(resolve));

  if (stoppedBy === 'timeout') return { status: 'timed_out' };
  if (stoppedBy === 'abort') return { status: 'aborted' };
  return code === 0 ? { status: 'succeeded' } : { status: 'failed', exitCode: code, signal };
}

async function copyLines(stream: NodeJS.ReadableStream, log: fs.WriteStream, scrub: Scrubber): Promise<void> {
  const lines = readline.createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (!log.write(`${scrub(line)}\n`)) await once(log, 'drain');
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
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

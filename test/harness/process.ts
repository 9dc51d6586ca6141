import { spawn } from 'node:child_process';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode}`;
    super(`Command \`${command}\` ${how}\n--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}`);
    this.name = 'CommandError';
  }
}

/** Runs a command to completion (no shell) and resolves with its output; rejects with CommandError. */
export function runCommand(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const display = [command, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 60_000,
      killSignal: 'SIGKILL',
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin.on('error', () => {
      // EPIPE when the command exits without reading its input; the exit code tells the story.
    });
    child.once('error', (err) => reject(new Error(`Could not run \`${display}\`: ${err.message}`, { cause: err })));
    child.once('close', (code, signal) => {
      const result = { stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() };
      if (code === 0) resolve(result);
      else reject(new CommandError(display, code, signal, result.stdout, result.stderr));
    });
    child.stdin.end(options.input);
  });
}

const exitHooks = new Set<() => void>();
let exitListenerInstalled = false;

/**
 * Registers a synchronous last-resort cleanup for when the test process exits without calling
 * stop() (a crashed suite), so no server outlives the run. Returns the function that unregisters it.
 */
export function cleanUpOnExit(hook: () => void): () => void {
  if (!exitListenerInstalled) {
    exitListenerInstalled = true;
    process.once('exit', () => {
      for (const run of exitHooks) {
        try {
          run();
        } catch {
          // Best effort: the process is exiting and has nowhere to report to.
        }
      }
    });
  }
  exitHooks.add(hook);
  return () => exitHooks.delete(hook);
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

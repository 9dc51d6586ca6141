import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/cli.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON log lines (non-JSON lines skipped). */
  logs: Array<Record<string, unknown>>;
}

/**
 * The environment a CLI test starts from: PATH and HOME only, JSON logs, dummy AWS settings that
 * can never reach a real or metadata address.
 */
export function baseEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    LOG_FORMAT: 'json',
    GIT_CONFIG_NOSYSTEM: '1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test-secret-key',
    AWS_REGION: 'eu-west-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

export function spawnCli(args: string[], options: { env: Record<string, string>; cwd?: string }): ChildProcess {
  return killedWithTheTests(spawn(process.execPath, [CLI, ...args], { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** CLIs started by this test file and still running. */
const running = new Set<ChildProcess>();

/**
 * A CLI a test left running (the test timed out on it: a hang is what failed) is killed once its
 * test file ends (test/harness/setup.ts), instead of spinning on for the rest of the run and
 * beyond it: the pool ends a test file's process without its exit handlers.
 */
export function killedWithTheTests(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Kills the CLIs of this test file still running; returns how many. */
export function killLeftRunning(): number {
  const left = [...running].filter((child) => child.exitCode === null && child.signalCode === null);
  for (const child of left) child.kill('SIGKILL');
  running.clear();
  return left.length;
}

export async function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
  return { code, signal, stdout, stderr, logs: parseLogs(stdout) };
}

export async function runCli(args: string[], options: { env: Record<string, string>; cwd?: string }): Promise<CliResult> {
  return collect(spawnCli(args, options));
}

export function parseLogs(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

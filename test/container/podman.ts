import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface PodmanResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Rootful podman with the private configuration of scripts/podman-env.sh (runc, cgroupfs, ulimits
 * within the host's, no network by default, storage under /var/tmp): the one recipe that works on
 * this kind of host. Every command is bounded by a timeout.
 */
export class Podman {
  private constructor(readonly env: NodeJS.ProcessEnv) {}

  static load(): Podman {
    const script = 'source scripts/podman-env.sh && printf "%s\\n%s\\n" "$CONTAINERS_CONF" "$CONTAINERS_STORAGE_CONF"';
    const [conf, storage] = execFileSync('bash', ['-c', script], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n');
    if (!conf || !storage) throw new Error('scripts/podman-env.sh exported no CONTAINERS_CONF / CONTAINERS_STORAGE_CONF');
    return new Podman({ ...process.env, CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: storage });
  }

  /** Runs `podman ...args` to completion; never rejects on a non-zero exit (the caller asserts). */
  run(args: readonly string[], options: { timeoutMs?: number; cwd?: string } = {}): Promise<PodmanResult> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        'podman',
        args,
        { env: this.env, cwd: options.cwd ?? ROOT, timeout: options.timeoutMs ?? 120_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
        (err, stdout, stderr) => {
          if (err && typeof (err as NodeJS.ErrnoException).code === 'string') reject(new Error(`Could not run podman: ${err.message}`, { cause: err }));
          else resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr });
        },
      );
    });
  }

  /** Like run(), but throws with the output when the exit code is not 0. */
  async ok(args: readonly string[], options: { timeoutMs?: number; cwd?: string } = {}): Promise<string> {
    const result = await this.run(args, options);
    if (result.code !== 0) {
      throw new Error(`podman ${args.join(' ')} exited with ${result.code ?? result.signal}\n--- stderr ---\n${result.stderr}\n--- stdout ---\n${result.stdout}`);
    }
    return result.stdout;
  }

  spawn(args: readonly string[]): ChildProcess {
    return spawn('podman', args, { env: this.env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  }
}

/** The output and exit of a spawned `podman run`, once it has exited. */
export function collectExit(child: ChildProcess): Promise<PodmanResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/** Processes on this host whose command line contains `text` (the test's own pgrep excluded). */
export function processesMatching(text: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', text], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.includes('pgrep'));
  } catch {
    return [];
  }
}

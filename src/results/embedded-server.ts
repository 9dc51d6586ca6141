import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { InfrastructureError, MassIngestError, UsageError, errorMessage } from '../errors.js';
import { openPglite } from './pglite-open.js';
import { startPgliteServer } from './pglite-server.js';

/**
 * The embedded PGlite in a process of its own, served over the PostgreSQL wire protocol on
 * 127.0.0.1 (src/results/pglite-server.ts). PGlite is ~200 MiB of WebAssembly memory: inside the
 * processor it made every git and build process it spawns cost 4–5× more to start (fork copies
 * the page tables), and its start-up held up the first repository. In a process of its own it
 * opens while the first repositories are cloned, and the processor stays small.
 *
 * The host writes one JSON line on stdout ({ready} or {error}) and stops when its stdin closes:
 * when the parent closes it, or dies. The URL carries a random per-host password; it travels over
 * that pipe only, never argv, the environment or a log.
 */
export interface EmbeddedServer {
  readonly url: string;
  readonly pid: number;
  readonly fresh: boolean;
  readonly createMs: number;
  stop(): Promise<void>;
}

type HostMessage =
  | { ready: { url: string; fresh: boolean; createMs: number } }
  | { error: { code: string; message: string; exitCode: number } };

// dist/results/embedded-host.js, from dist/results/, dist/bundle/ (scripts/bundle.js) or src/results/ (tests).
const HOST = [new URL('../results/embedded-host.js', import.meta.url), new URL('../../dist/results/embedded-host.js', import.meta.url)]
  .map((url) => fileURLToPath(url))
  .find((file) => existsSync(file)) ?? fileURLToPath(new URL('../results/embedded-host.js', import.meta.url));
/**
 * V8 compiles PGlite's 9 MB of WebAssembly with its baseline compiler, then recompiles hot code
 * with TurboFan on background threads. Opening the database is hot enough to recompile much of
 * it: ~1.4 s of CPU and ~205 MiB peak, competing with the first clones and builds on a small
 * machine. A 55× larger tiering budget leaves start-up on baseline code (~0.8 s CPU, ~163 MiB, open
 * in ~0.45 s) while long statements still get optimised: 100,000 outcomes recorded in ~5.5 s
 * against ~6.2 s with baseline code only. Re-measured after the recording changes, budgets of
 * 5–50 M and V8's default all start slower and none records measurably faster (bench/db-startup,
 * bench/recording).
 */
const HOST_FLAGS = ['--wasm-tiering-budget=100000000'];
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;

/**
 * Open files the host needs at the least: node's own (~20), PostgreSQL's data files (54 at the
 * fewest it takes, src/results/pglite-open.ts) and the connections of a processor or a few. Below
 * it the files take what the connections need, and the host drops them (measured: `ulimit -n 64`,
 * `--concurrency 4`, 10 of 16 rows `crashed` on "Connection terminated unexpectedly").
 */
export const HOST_MIN_OPEN_FILES = 96;

/** Child side: open, serve, report, wait for the end of stdin, close. Returns the exit code. `fileLimit`: the host's `ulimit -n`. */
export async function serveEmbeddedDatabase(dataDir: string, input: NodeJS.ReadableStream, output: NodeJS.WritableStream, fileLimit?: number): Promise<number> {
  const send = (message: HostMessage) => output.write(`${JSON.stringify(message)}\n`);
  const ended = once(input, 'end').catch(() => undefined);
  input.resume();
  let opened: Awaited<ReturnType<typeof openPglite>> | undefined;
  try {
    if (fileLimit !== undefined && fileLimit < HOST_MIN_OPEN_FILES) {
      throw new UsageError('fd_limit_too_low', `The limit on open files (ulimit -n) is ${fileLimit}: the embedded database needs ${HOST_MIN_OPEN_FILES} or more (below it, it drops connections and repositories crash); raise it, or use PostgreSQL (DATABASE_URL)`);
    }
    opened = await openPglite(dataDir, { fileLimit });
    const server = await startPgliteServer(opened.db);
    send({ ready: { url: server.url, fresh: opened.fresh, createMs: opened.createMs } });
    await ended;
    await server.close();
    return 0;
  } catch (err) {
    const known = err instanceof MassIngestError ? err : undefined;
    send({ error: { code: known?.code ?? 'db_open_failed', message: errorMessage(err), exitCode: known?.exitCode ?? 3 } });
    return 1;
  } finally {
    await opened?.close();
  }
}

/** What the host's node needs of an environment; nothing else (no secret) reaches the host. */
const HOST_ENV = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'TZ'];

export function hostEnvironment(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(HOST_ENV.flatMap((name) => (env[name] ? [[name, env[name]]] : [])));
}

/** Parent side: starts the host and waits until it serves, or says why it cannot. */
export async function startEmbeddedServer(dataDir: string, env: Readonly<Record<string, string>>): Promise<EmbeddedServer> {
  const child = spawn(process.execPath, [...HOST_FLAGS, HOST, dataDir], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit').catch(() => undefined);
  const stop = async () => {
    child.stdin?.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  try {
    const ready = await readUntilReady(child);
    // Whatever the host prints later is read and dropped: a full pipe would stop it.
    child.stdout?.resume();
    return { ...ready, pid: child.pid ?? 0, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function readUntilReady(child: ChildProcess): Promise<{ url: string; fresh: boolean; createMs: number }> {
  const lines = createInterface({ input: child.stdout! });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    lines.close();
  }, READY_TIMEOUT_MS);
  try {
    // The lines end when the host exits (its stdout closes) or the timeout closes the reader.
    for await (const line of lines) {
      const message = parseMessage(line);
      if (message === undefined) continue;
      if ('ready' in message) return message.ready;
      const { code, message: text, exitCode } = message.error;
      throw exitCode === 2 ? new UsageError(code, text) : new InfrastructureError(code, `The embedded database cannot be opened: ${text}`);
    }
    throw new InfrastructureError(
      'db_open_failed',
      timedOut ? `The embedded database host was not ready after ${READY_TIMEOUT_MS / 1000} s` : 'The embedded database host exited before it was ready (its error is above)',
    );
  } finally {
    clearTimeout(timer);
    lines.close();
  }
}

/** A line of ours, or undefined for anything else the host's libraries may print. */
function parseMessage(line: string): HostMessage | undefined {
  try {
    const parsed = JSON.parse(line) as Partial<Record<'ready' | 'error', unknown>> | null;
    return parsed && (parsed.ready || parsed.error) ? (parsed as HostMessage) : undefined;
  } catch {
    return undefined;
  }
}

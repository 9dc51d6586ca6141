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

/** The connections each process that uses the database opens at most (its pool, src/results/database.ts). */
export const CONNECTIONS_PER_PROCESS = 4;

/**
 * The host's own open files at the fewest (its files, node's, its listening socket: ~70 measured)
 * with room to spare; each process it serves adds its connections.
 */
const HOST_OWN_OPEN_FILES = 76;

/**
 * The least `ulimit -n` under which the host serves `clients` processes: HOST_MIN_OPEN_FILES up
 * to 5 (`process` is 1; `chunk --local --parallel K` is K + 1: itself and its K processors), then
 * 4 more per process. Measured under `chunk --local --concurrency 8` (every pool full): 89 open at
 * `--parallel 4` (20 connections); at `--parallel 8` and 96 the host dropped connections
 * (`read ECONNRESET`, "Connection terminated unexpectedly").
 */
export function hostMinOpenFiles(clients: number): number {
  return Math.max(HOST_MIN_OPEN_FILES, HOST_OWN_OPEN_FILES + CONNECTIONS_PER_PROCESS * clients);
}

export interface HostLimits {
  /** The host's `ulimit -n`; undefined when it has none. */
  readonly fileLimit?: number | undefined;
  /** How many processes connect to it (default 1). */
  readonly clients?: number | undefined;
}

/** Child side: open, serve, report, wait for the end of stdin, close. Returns the exit code. */
export async function serveEmbeddedDatabase(dataDir: string, input: NodeJS.ReadableStream, output: NodeJS.WritableStream, { fileLimit, clients = 1 }: HostLimits = {}): Promise<number> {
  const send = (message: HostMessage) => output.write(`${JSON.stringify(message)}\n`);
  const ended = once(input, 'end').catch(() => undefined);
  input.resume();
  let opened: Awaited<ReturnType<typeof openPglite>> | undefined;
  try {
    if (fileLimit !== undefined && fileLimit < hostMinOpenFiles(clients)) throw fileLimitTooLow(fileLimit, clients);
    // The connections of processes beyond the first few come out of the limit before the data
    // files take their half: with many, half the limit left them too few.
    const beyond = hostMinOpenFiles(clients) - HOST_MIN_OPEN_FILES;
    opened = await openPglite(dataDir, { fileLimit: fileLimit === undefined ? undefined : fileLimit - beyond });
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

function fileLimitTooLow(fileLimit: number, clients: number): UsageError {
  const needed = hostMinOpenFiles(clients);
  // More than one process: chunk --local and the processors it runs at once.
  const served = clients > 1 ? ` to serve ${clients} processes (chunk --local --parallel ${clients - 1} and its processors)` : '';
  const remedy = clients > 1 ? 'raise it, lower --parallel, or use PostgreSQL (DATABASE_URL)' : 'raise it, or use PostgreSQL (DATABASE_URL)';
  return new UsageError('fd_limit_too_low', `The limit on open files (ulimit -n) is ${fileLimit}: the embedded database needs ${needed} or more${served} (below it, it drops connections and repositories crash); ${remedy}`);
}

/** What the host's node needs of an environment; nothing else (no secret) reaches the host. */
const HOST_ENV = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'TZ'];

export function hostEnvironment(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(HOST_ENV.flatMap((name) => (env[name] ? [[name, env[name]]] : [])));
}

/** Parent side: starts the host for `clients` processes and waits until it serves, or says why it cannot. */
export async function startEmbeddedServer(dataDir: string, env: Readonly<Record<string, string>>, clients = 1): Promise<EmbeddedServer> {
  const child = spawn(process.execPath, [...HOST_FLAGS, HOST, dataDir, String(clients)], { env, stdio: ['pipe', 'pipe', 'inherit'] });
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

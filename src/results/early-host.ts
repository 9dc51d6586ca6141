import path from 'node:path';
import type { EmbeddedServer } from './embedded-server.js';

/**
 * The embedded database's host, started by the entry point (src/cli.ts) before the CLI is
 * loaded, for the one command that needs the database at once: `process` without DATABASE_URL.
 * The command takes it when its configuration names the same data directory; otherwise the entry
 * point stops it.
 */
export interface EarlyHost {
  /** The host, once, when it serves `dataDir`; undefined for another directory or when taken. */
  take(dataDir: string): Promise<EmbeddedServer> | undefined;
  /** Stops the host unless a command took it. */
  dispose(): Promise<void>;
}

/**
 * The data directory `process` will open, read as src/config/config.ts reads it, or undefined
 * when no host should start early (another command, DATABASE_URL, --help or --version).
 */
export function earlyHostDataDir(args: readonly string[], env: Readonly<Record<string, string | undefined>>, cwd: string): string | undefined {
  if (args[0] !== 'process' || (env.DATABASE_URL ?? '') !== '') return undefined;
  if (args.some((arg) => arg === '--help' || arg === '-h' || arg === '--version')) return undefined;
  return path.resolve(cwd, env.MASS_INGEST_DATA_DIR || '.mass-ingest/db');
}

export async function startEarlyHost(args: readonly string[], env: Readonly<Record<string, string | undefined>>, cwd: string): Promise<EarlyHost | undefined> {
  const dataDir = earlyHostDataDir(args, env, cwd);
  if (dataDir === undefined) return undefined;
  const [{ startEmbeddedServer, hostEnvironment }, { assertEmbeddedUnlocked }] = await Promise.all([import('./embedded-server.js'), import('./pglite-open.js')]);
  try {
    await assertEmbeddedUnlocked(dataDir);
  } catch {
    // In use: the command refuses it itself, naming the process that holds it.
    return undefined;
  }
  const server = startEmbeddedServer(dataDir, hostEnvironment(env));
  // Its failure is the command's to report, when it takes the host.
  server.catch(() => undefined);
  let taken = false;
  return {
    take(requested) {
      if (taken || requested !== dataDir) return undefined;
      taken = true;
      return server;
    },
    async dispose() {
      if (taken) return;
      taken = true;
      await server.then((host) => host.stop(), () => undefined);
    },
  };
}

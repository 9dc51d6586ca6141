import type { Config } from '../config/config.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { openDatabase, type Database } from '../results/database.js';
import type { EarlyHost } from '../results/early-host.js';
import { hostEnvironment, type EmbeddedServer } from '../results/embedded-server.js';

/** What every command receives from the entry point: config parsed once, a stop signal, output streams. */
export interface CommandContext {
  readonly config: Config;
  readonly signal: AbortSignal;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stderrIsTty: boolean;
  /** The embedded database's host, when the entry point started it (src/cli.ts). */
  readonly earlyHost?: EarlyHost | undefined;
}

export function commandLogger(context: CommandContext, fd: 1 | 2, bindings: Record<string, unknown> = {}): Logger {
  const { config } = context;
  return createLogger({ level: config.logLevel, format: config.logFormat, scrub: config.scrub, fd }).child(bindings);
}

/**
 * DATABASE_URL, or the embedded database: inline, or with `hosted` in a process of its own
 * (for the commands that spawn many processes: git and builds start faster from a small process).
 */
export function openResults(context: CommandContext, log: Logger, options: { hosted?: boolean; started?: Promise<EmbeddedServer> | undefined } = {}): Promise<Database> {
  const { config } = context;
  return openDatabase(
    { databaseUrl: config.databaseUrl, dataDir: config.dataDir, embeddedHostEnv: options.hosted ? hostEnvironment(config.env) : undefined, embeddedHostStarted: options.started },
    log,
  );
}

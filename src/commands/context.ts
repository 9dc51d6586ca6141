import type { Config } from '../config/config.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { openDatabase, type Database } from '../results/database.js';
import { hostEnvironment } from '../results/embedded-server.js';

/** What every command receives from the entry point: config parsed once, a stop signal, output streams. */
export interface CommandContext {
  readonly config: Config;
  readonly signal: AbortSignal;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stderrIsTty: boolean;
}

export function commandLogger(context: CommandContext, fd: 1 | 2, bindings: Record<string, unknown> = {}): Logger {
  const { config } = context;
  return createLogger({ level: config.logLevel, format: config.logFormat, scrub: config.scrub, fd }).child(bindings);
}

/**
 * DATABASE_URL, or the embedded database: inline, or with `hosted` in a process of its own
 * (for the commands that spawn many processes: git and builds start faster from a small process).
 */
export function openResults(context: CommandContext, log: Logger, options: { hosted?: boolean } = {}): Promise<Database> {
  const { config } = context;
  return openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, embeddedHostEnv: options.hosted ? hostEnvironment(config.env) : undefined }, log);
}

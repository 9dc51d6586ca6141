import type { Config } from '../config/config.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { openDatabase, type Database } from '../results/database.js';

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

export function openResults(context: CommandContext, log: Logger): Promise<Database> {
  return openDatabase({ databaseUrl: context.config.databaseUrl, dataDir: context.config.dataDir }, log);
}

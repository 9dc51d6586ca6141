import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { UsageError } from '../errors.js';
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
  readonly stdoutIsTty?: boolean;
}

export function commandLogger(context: CommandContext, fd: 1 | 2, bindings: Record<string, unknown> = {}): Logger {
  const { config } = context;
  return createLogger({ level: config.logLevel, format: config.logFormat, scrub: config.scrub, fd }).child(bindings);
}

/**
 * DATABASE_URL, or the embedded database: inline, or with `hosted` in a process of its own
 * (for the commands that spawn many processes: git and builds start faster from a small process).
 * `existing`: the embedded database must exist already.
 */
export async function openResults(context: CommandContext, log: Logger, options: { hosted?: boolean; existing?: boolean } = {}): Promise<Database> {
  const { config } = context;
  // A command that only reads (report) does not make an empty embedded database where it finds none.
  if (options.existing && !config.databaseUrl && !existsSync(path.join(config.dataDir, 'PG_VERSION'))) {
    throw new UsageError(
      'db_not_found',
      `No embedded database at ${config.dataDir}: nothing was recorded there yet (run \`mass-ingest process\` first, or set MASS_INGEST_DATA_DIR or DATABASE_URL to where your runs are)`,
    );
  }
  return openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, embeddedHostEnv: options.hosted ? hostEnvironment(config.env) : undefined }, log);
}

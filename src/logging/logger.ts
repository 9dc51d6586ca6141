import { pino, type Logger, type LoggerOptions } from 'pino';
import { createRequire } from 'node:module';
import { isatty } from 'node:tty';
import type { Scrubber } from './scrub.js';
import { scrubDeep } from './scrub.js';

export type { Logger } from 'pino';

export interface LoggerSettings {
  level: string;
  format: 'json' | 'pretty';
  scrub: Scrubber;
  /** 1 = stdout (containers, DESIGN STYLE 18), 2 = stderr (when stdout carries data). */
  fd: 1 | 2;
}

/** Keys whose values never reach a log line, whatever they contain (STYLE 17). */
export const REDACTED_KEYS = [
  'password',
  'token',
  'tokens',
  'secret',
  'authorization',
  'databaseUrl',
  'gitCredentials',
  'publishPassword',
  'publishToken',
  'githubTokens',
  'env',
];

/**
 * pino runs `formatters.log` before its serializers: an Error copied by scrubDeep would keep only
 * its enumerable fields (no message, no stack). Serialized first, its message and stack are
 * scrubbed like any other string.
 */
function withSerializedErrors(object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) out[key] = value instanceof Error ? pino.stdSerializers.err(value) : value;
  return out;
}

export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: undefined,
    redact: {
      paths: [...REDACTED_KEYS, ...REDACTED_KEYS.map((key) => `*.${key}`)],
      censor: '***',
    },
    formatters: {
      log: (object) => scrubDeep(withSerializedErrors(object), settings.scrub),
    },
    hooks: {
      logMethod(args, method) {
        const scrubbed = args.map((arg) => (typeof arg === 'string' ? settings.scrub(arg) : arg));
        // Given no message, pino writes an error's own message as `msg`, which formatters.log never sees.
        const [first] = scrubbed as unknown[];
        const { err, msg } = (first instanceof Error ? { err: first } : (first ?? {})) as { err?: unknown; msg?: unknown };
        if (scrubbed.length === 1 && err instanceof Error && msg === undefined) scrubbed.push(settings.scrub(err.message));
        method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
    serializers: {
      // An Error reaches it only from a path formatters.log does not see; the rest came serialized.
      err: (err: unknown) => (err instanceof Error ? scrubDeep(pino.stdSerializers.err(err), settings.scrub) : err),
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (settings.format === 'pretty') {
    // Loaded only for a terminal: ~30 modules a JSON run does not need. `--log-format pretty` into
    // a file or a pipe gets no colour codes.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    return pino(options, pretty({ sync: true, destination: settings.fd, colorize: isatty(settings.fd), translateTime: 'HH:MM:ss', singleLine: true, ignore: 'runId,partition' }));
  }
  return pino(options, pino.destination({ fd: settings.fd, sync: true }));
}

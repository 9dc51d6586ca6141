#!/usr/bin/env node
import { openFileLimit } from '../open-file-limit.js';
import { serveEmbeddedDatabase } from './embedded-server.js';

/**
 * Entry point of the embedded-database host: `node embedded-host.js <dataDir>`, started by
 * startEmbeddedServer (src/results/embedded-server.ts), never by a user.
 */
const dataDir = process.argv[2];
if (!dataDir) {
  process.stderr.write('usage: embedded-host.js <dataDir>\n');
  process.exit(2);
}
// The parent decides when to stop (it still records `aborted` outcomes after a signal): a Ctrl-C
// that reaches the whole process group must not take the database away from under it.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);
process.exitCode = await serveEmbeddedDatabase(dataDir, process.stdin, process.stdout, openFileLimit());

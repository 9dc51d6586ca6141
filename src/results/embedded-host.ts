#!/usr/bin/env node
import { openFileLimit } from '../open-file-limit.js';
import { serveEmbeddedDatabase } from './embedded-server.js';

/**
 * Entry point of the embedded-database host: `node embedded-host.js <dataDir> [clients]`, started
 * by startEmbeddedServer (src/results/embedded-server.ts), never by a user. `clients`: how many
 * processes connect to it (1, or `chunk --local`'s processors and itself).
 */
const [dataDir, clients = '1'] = process.argv.slice(2);
if (!dataDir || !/^[1-9]\d*$/.test(clients)) {
  process.stderr.write('usage: embedded-host.js <dataDir> [clients]\n');
  process.exit(2);
}
// The parent decides when to stop (it still records `aborted` outcomes after a signal): a Ctrl-C
// that reaches the whole process group must not take the database away from under it.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);
process.exitCode = await serveEmbeddedDatabase(dataDir, process.stdin, process.stdout, { fileLimit: openFileLimit(), clients: Number(clients) });

#!/usr/bin/env node
/**
 * The chunk job's entry (DESIGN §2): `node dist/chunk.js <inventory> [options]` is exactly
 * `mass-ingest chunk <inventory> [options]`. No logic here: the command name is prepended and
 * the CLI parses, runs and exits.
 *
 * `npm run build` compiles this file to dist/chunk.js (tsconfig.chunk.json), next to dist/cli.js;
 * Node versions that run TypeScript directly (22.18+) may also start this file itself, which
 * then loads dist/cli.js.
 */
const here = new URL('.', import.meta.url);
const cli = here.pathname.endsWith('/dist/') ? new URL('cli.js', here) : new URL('dist/cli.js', here);
process.argv.splice(2, 0, 'chunk');
await import(cli.href);

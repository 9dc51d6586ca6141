#!/usr/bin/env node
/**
 * The entry point. A `process` run on the embedded database starts the database's host before
 * anything else, so it opens while node loads the rest of the CLI (~0.2 s of every start); then
 * src/cli-main.ts parses the command line and runs the command.
 */
const { startEarlyHost } = await import('./results/early-host.js');
const earlyHost = await startEarlyHost(process.argv.slice(2), process.env, process.cwd());
const { entry } = await import('./cli-main.js');
await entry(earlyHost);

import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeFixture, runEnv } from './commands/process-fixtures.js';
import { baseEnv, runCli } from './harness/cli.js';
import { createTempDir } from './harness/tmp.js';

// What yargs' own errors become (src/cli.ts): exit 2, naming what was typed, never "unexpected error".
const env = baseEnv();

describe('mass-ingest command line', () => {
  it.each([
    [['frobnicate'], 'Unknown command "frobnicate": name a command: process, chunk, report, discover, db migrate or db prune'],
    [[], 'Name a command: process, chunk, report, discover, db migrate or db prune'],
    [['process', 'repos.csv', '--dry-run'], 'Unknown option --dry-run (see mass-ingest process --help)'],
    [['process', 'a.csv', 'b.csv'], 'Unexpected argument "b.csv" (see mass-ingest process --help)'],
    [['report', '-z', '--no-such=3', 'extra'], 'Unknown options -z, --no-such; unexpected argument "extra" (see mass-ingest report --help)'],
  ])('exits 2 for %j, saying what is wrong', async (args, message) => {
    const result = await runCli(args, { env });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`mass-ingest: ${message} [usage]`);
    expect(result.stderr).not.toContain('dryRun');
  });

  it('reports a bad choice of a flag with every other problem, naming the flag', async () => {
    const result = await runCli(['process', 'repos.csv', '--submodules', 'maybe', '--layout', 'flat', '--concurrency', 'abc'], { env });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--submodules must be one of recursive, recursive-with-credentials, none, got "maybe"');
    expect(result.stderr).toContain('--layout must be one of default, maven, got "flat"');
    expect(result.stderr).toContain('--concurrency must be an integer ≥ 1, got "abc"');
    expect(result.stderr).toContain('[config_invalid]');
  });

  it('lists every problem of a chunk once, --parallel without --local among them', async () => {
    const result = await runCli(['chunk', 'repos.csv', '--parallel', '3'], { env: baseEnv({ AWS_REGION: '' }) });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      [
        'mass-ingest: Cannot chunk (4 problems):',
        '  - --parallel goes with --local: partitions run at once on this machine',
        '  - No job queue: set JOB_QUEUE or --job-queue (or use --dry-run / --local)',
        '  - No processor job definition: set JOB_DEFINITION or --job-definition (or use --dry-run / --local)',
        '  - No AWS region: set AWS_REGION [chunk_options_invalid]',
      ].join('\n'),
    );
  });

  it('lists every problem of a discover once under one headline', async () => {
    const result = await runCli(['discover'], { env: baseEnv({ GITHUB_TOKEN: '', GITHUB_TOKENS: '' }) });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      [
        'mass-ingest: discover cannot start (2 problems):',
        '  - name what to discover: --query "<search qualifiers>", --org a,b or --user c',
        '  - discover needs a GitHub token: set GITHUB_TOKEN, or GITHUB_TOKENS=t1,t2 for a pool [discover_invalid]',
      ].join('\n'),
    );
  });

  it('shows the choices and the variables of the flags in --help, and examples for db', async () => {
    const processHelp = await runCli(['process', '--help'], { env });
    const dbHelp = await runCli(['db', '--help'], { env });

    expect([processHelp.code, dbHelp.code]).toEqual([0, 0]);
    for (const text of ['recursive|recursive-with-credentials|none', 'fetch|skip', 'default|maven', 'env CONCURRENCY', 'env CLONE_AHEAD', 'env MASS_INGEST_WORKDIR', 'env PUBLISH_LAYOUT']) {
      expect(processHelp.stdout.replace(/\s+/g, ' ')).toContain(text);
    }
    expect(dbHelp.stdout).toContain('Examples:');
    expect(dbHelp.stdout).toContain('db prune --older-than 90 --dry-run');
  });

  it('exits 3, not 1, on an error nobody listened for (a library\'s, mid-run), saying what it was', async () => {
    const tmp = await createTempDir('mass-ingest-cli-uncaught-');
    try {
      // Bounded: the build waits at most 30 s; the error comes 2 s after start, once the CLI runs.
      const fixture = await makeFixture(tmp.path, [['acme/slow', { Makefile: 'all:\n\tsleep 30\n' }]]);
      const preload = path.join(tmp.path, 'uncaught.cjs');
      await fs.writeFile(preload, "setTimeout(() => { throw new Error('boom: an error event nobody listened for'); }, 2000).unref();\n");

      const result = await runCli(['process', fixture.inventory, '--run-id', 'uncaught'], { env: runEnv(tmp.path, 'uncaught', { NODE_OPTIONS: `--require ${preload}` }) });

      expect(result.code).toBe(3);
      expect(result.stderr).toContain('mass-ingest: unexpected error: Error: boom: an error event nobody listened for');
    } finally {
      await tmp.remove();
    }
  }, 60_000);
});

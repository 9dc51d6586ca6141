#!/usr/bin/env node
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadConfig, type Config } from './config/config.js';
import { EXIT, MassIngestError, UsageError, type ExitCode } from './errors.js';
import type { CommandContext } from './commands/context.js';
import { createScrubber } from './logging/scrub.js';

/**
 * The entry point: wires yargs, parses config once, maps errors to exit codes (DESIGN §8).
 * Only this file exits the process (STYLE 2).
 */
const COMMON_OPTIONS = {
  'run-id': { type: 'string', describe: 'Run id (default: AWS_BATCH_JOB_ID, else generated); [A-Za-z0-9][A-Za-z0-9_-]{0,63}' },
  concurrency: { type: 'number', describe: 'Repositories processed in parallel (default 1)' },
  workdir: { type: 'string', describe: 'Where clones and builds happen (default: $TMPDIR/mass-ingest-work)' },
  force: { type: 'boolean', describe: 'Ignore the incremental skip: rebuild unchanged repositories' },
  strict: { type: 'boolean', describe: 'Exit 1 when any repository failed' },
  layout: { choices: ['default', 'maven'], describe: 'Publish layout (DESIGN §6; default: default)' },
  'log-level': { choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], describe: 'Log level (env LOG_LEVEL; default info)' },
  'log-format': { choices: ['json', 'pretty'], describe: 'Log format (env LOG_FORMAT; default json unless a terminal)' },
} as const;

type Handler = (argv: Record<string, unknown>, context: CommandContext) => Promise<ExitCode>;

export async function main(args: string[], env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<ExitCode> {
  let outcome: Promise<ExitCode> | undefined;
  const run = (handler: Handler) => async (argv: unknown): Promise<void> => {
    const flags = argv as Record<string, unknown>;
    outcome = (async () => handler(flags, contextFor(flags, env, signal)))();
    await outcome;
  };

  const parser = yargs(args)
    .scriptName('mass-ingest')
    .usage('$0 <command> [options]\n\nClone, build, publish and record thousands of git repositories.')
    .command(
      'process <inventory>',
      'Process one partition of an inventory (repos.csv): clone, build, publish, record',
      (y: Argv) =>
        y
          .positional('inventory', { type: 'string', describe: 'repos.csv: a path, file://, http(s):// or s3:// URL', demandOption: true })
          .options(COMMON_OPTIONS)
          .options({
            start: { type: 'number', describe: 'First data row, 1-based, header excluded' },
            end: { type: 'number', describe: 'Last data row, inclusive (past the end = to the last row)' },
            'partition-size': { type: 'number', describe: 'Rows per partition: with AWS_BATCH_JOB_ARRAY_INDEX picks the partition' },
            'partition-offset': { type: 'number', describe: 'Added to AWS_BATCH_JOB_ARRAY_INDEX (several arrays per run)' },
            'inventory-sha256': { type: 'string', describe: 'Refuse the inventory unless its sha256 matches (set by chunk)' },
            partition: { type: 'number', hidden: true },
          })
          .example('$0 process repos.csv --start 1 --end 20', 'rows 1 to 20 with the embedded database')
          .example('AWS_BATCH_JOB_ARRAY_INDEX=3 $0 process s3://b/repos.csv --partition-size 50', 'rows 151 to 200 (an array child)')
          .example('DATABASE_URL=postgres://… $0 process repos.csv --concurrency 4 --strict', 'record in PostgreSQL, exit 1 on any failure'),
      run(async (argv, context) => {
        const { runProcess } = await import('./commands/process.js');
        return runProcess(
          {
            inventory: String(argv.inventory),
            start: argv.start as number | undefined,
            end: argv.end as number | undefined,
            partitionSize: context.config.partitionSize && argv['partition-size'] !== undefined ? context.config.partitionSize : undefined,
            partitionOffset: argv['partition-offset'] as number | undefined,
            partition: argv.partition as number | undefined,
            inventorySha256: argv['inventory-sha256'] as string | undefined,
          },
          context,
        );
      }),
    )
    .command(
      'report',
      'Show what a run did: outcomes, durations, failures',
      (y: Argv) =>
        y
          .options({
            run: { type: 'string', default: 'last', describe: 'Run id, or "last"' },
            format: { choices: ['table', 'csv', 'json', 'html'], default: 'table', describe: 'Output format' },
            out: { type: 'string', describe: 'Write to this file instead of stdout' },
            'failed-csv': { type: 'string', describe: 'Also write the failed rows as a repos.csv to rerun' },
            'log-level': COMMON_OPTIONS['log-level'],
            'log-format': COMMON_OPTIONS['log-format'],
          })
          .example('$0 report', 'the last run as a table')
          .example('$0 report --run 4f2c… --format json > run.json', 'one run as JSON (stdout holds only the JSON)')
          .example('$0 report --failed-csv failed.csv', 'the failed rows of the last run as an inventory to rerun'),
      run(async (argv, context) => {
        const { runReport } = await import('./commands/report.js');
        return runReport(
          { run: String(argv.run), format: argv.format as 'table', out: argv.out as string | undefined, failedCsv: argv['failed-csv'] as string | undefined },
          context,
        );
      }),
    )
    .command('db <action>', 'Database maintenance', (y: Argv) =>
      y
        .command(
          'migrate',
          'Apply the schema migrations (every command also does this on start)',
          (inner: Argv) => inner.options({ 'log-level': COMMON_OPTIONS['log-level'], 'log-format': COMMON_OPTIONS['log-format'] }).example('DATABASE_URL=postgres://… $0 db migrate', 'prepare a shared PostgreSQL'),
          run(async (_argv, context) => {
            const { runDbMigrate } = await import('./commands/db-migrate.js');
            return runDbMigrate(context);
          }),
        )
        .demandCommand(1, 'Name an action: migrate'),
    )
    .demandCommand(1, 'Name a command: process, report or db migrate')
    .strict()
    .exitProcess(false)
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .help()
    .version()
    .fail((message: string | undefined, err: Error | undefined) => {
      throw err ?? new UsageError('usage', message ?? 'Invalid command line');
    });

  await parser.parseAsync();
  return outcome ? await outcome : EXIT.ok;
}

function contextFor(argv: Record<string, unknown>, env: NodeJS.ProcessEnv, signal: AbortSignal): CommandContext {
  const config: Config = loadConfig({ flags: argv, env, cwd: process.cwd(), stdoutIsTty: Boolean(process.stdout.isTTY) });
  return { config, signal, stdout: process.stdout, stderr: process.stderr, stderrIsTty: Boolean(process.stderr.isTTY) };
}

function describeFailure(err: unknown, env: NodeJS.ProcessEnv): { code: ExitCode; text: string } {
  const scrub = createScrubber([env.DATABASE_URL, env.PUBLISH_PASSWORD, env.PUBLISH_TOKEN, env.GIT_CREDENTIALS, env.GITHUB_TOKEN, ...(env.GITHUB_TOKENS ?? '').split(',')].filter((v): v is string => Boolean(v)));
  if (err instanceof MassIngestError) return { code: err.exitCode, text: scrub(`mass-ingest: ${err.message} [${err.code}]`) };
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return { code: EXIT.infrastructure, text: scrub(`mass-ingest: unexpected error: ${message}`) };
}

async function entry(): Promise<void> {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (name: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) process.exit(EXIT.terminated);
    process.stderr.write(`mass-ingest: ${name} received: stopping new work, killing running builds, recording the rest as aborted\n`);
    controller.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  let code: ExitCode;
  try {
    code = await main(hideBin(process.argv), process.env, controller.signal);
  } catch (err) {
    const failure = describeFailure(err, process.env);
    process.stderr.write(`${failure.text}\n`);
    code = failure.code;
  }
  process.exitCode = code;
  // Pending timers of libraries (pg pools, PGlite) must not keep a finished run alive.
  setTimeout(() => process.exit(code), 200).unref();
}

await entry();

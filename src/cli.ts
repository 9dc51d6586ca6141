#!/usr/bin/env node
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadConfig, secretsOfEnvironment, type Config } from './config/config.js';
import { EXIT, MassIngestError, UsageError, signalNotice, type ExitCode } from './errors.js';
import type { CommandContext } from './commands/context.js';
import { createScrubber } from './logging/scrub.js';
import { assertBatchParametersFilled } from './batch/unfilled-parameters.js';
import { assertInventoryNamed } from './inventory/source.js';

/**
 * The entry point: wires yargs, parses config once, maps errors to exit codes (DESIGN §8).
 * Only this file exits the process (STYLE 2).
 *
 * Numbers are taken as strings and parsed in src/config, so a message quotes what was typed
 * (`got "abc"`, not `got "NaN"`): a count is declared both `string` (yargs-parser lets it win,
 * keeping the text) and `number` (what --help shows). `requiresArg` makes `--run-id -x` a missing
 * value, not the short flags -x (a value starting with '-' is written `--run-id=-x`).
 */
const INTEGER = { type: 'number', string: true, requiresArg: true } as const;
/** One of a few words, checked in src/config with every other problem (yargs' `choices` would stop first, naming no flag). */
const CHOICE = { type: 'string', requiresArg: true } as const;
const COMMON_OPTIONS = {
  'run-id': { type: 'string', requiresArg: true, describe: 'Run id (default: AWS_BATCH_JOB_ID, else generated); [A-Za-z0-9][A-Za-z0-9_-]{0,63}' },
  concurrency: { ...INTEGER, describe: 'Repositories built in parallel (env CONCURRENCY; default 1)' },
  'clone-ahead': { ...INTEGER, describe: 'Repositories cloned while the builds run, ready for the next free build slot (env CLONE_AHEAD; default: --concurrency; 0: clone only when a build slot is free)' },
  submodules: { ...CHOICE, describe: 'recursive|recursive-with-credentials|none: check out the submodules each repository pins, shallow and recursively, fetched without the credentials (default) or with them, or none (env SUBMODULES)' },
  lfs: { ...CHOICE, describe: 'fetch|skip: fetch Git LFS files after each clone (needs git-lfs), or leave them as pointers (env LFS; default skip)' },
  workdir: { type: 'string', requiresArg: true, describe: 'Where clones and builds happen (env MASS_INGEST_WORKDIR; default: $TMPDIR/mass-ingest-work)' },
  force: { type: 'boolean', describe: 'Ignore the incremental skip: rebuild unchanged repositories' },
  strict: { type: 'boolean', describe: 'Exit 1 when any repository failed' },
  layout: { ...CHOICE, describe: 'default|maven: publish layout (DESIGN §6; env PUBLISH_LAYOUT; default: default)' },
  'log-level': { ...CHOICE, describe: 'trace|debug|info|warn|error|fatal|silent (env LOG_LEVEL; default info)' },
  'log-format': { ...CHOICE, describe: 'json|pretty (env LOG_FORMAT; default json unless a terminal)' },
} as const;

type Handler = (argv: Record<string, unknown>, context: CommandContext) => Promise<ExitCode>;

export async function main(args: string[], env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<ExitCode> {
  // Handlers are kept here and run after parsing, not inside yargs' command handling.
  const handlers = new Map<string, Handler>();
  const run = (name: string, handler: Handler): undefined => {
    handlers.set(name, handler);
    return undefined;
  };

  const parser = yargs(args)
    .scriptName('mass-ingest')
    .usage('$0 <command> [options]\n\nClone, build, publish and record thousands of git repositories.')
    // Before yargs' validation: `--mode Ref::mode` is a job submitted without a parameter, not a bad choice.
    .middleware((argv) => assertBatchParametersFilled(argv, ['inventory', 'action']), true)
    .command(
      'process [inventory]',
      'Process one partition of an inventory (repos.csv): clone, build, publish, record',
      (y: Argv) =>
        y
          .positional('inventory', { type: 'string', describe: 'repos.csv: a path, file://, http(s):// or s3:// URL (default: env MASS_INGEST_INVENTORY, which keeps a signed URL out of argv)' })
          .options(COMMON_OPTIONS)
          .options({
            start: { ...INTEGER, describe: 'First data row, 1-based, header excluded' },
            end: { ...INTEGER, describe: 'Last data row, inclusive (past the end = to the last row)' },
            'partition-size': { ...INTEGER, describe: 'Rows per partition (env PARTITION_SIZE): partition --partition-offset + AWS_BATCH_JOB_ARRAY_INDEX (both default 0)' },
            'partition-offset': { ...INTEGER, describe: 'Added to AWS_BATCH_JOB_ARRAY_INDEX (several arrays per run)' },
            'inventory-sha256': { type: 'string', requiresArg: true, describe: 'Refuse the inventory unless its sha256 matches (set by chunk)' },
            'build-user': { type: 'string', requiresArg: true, describe: 'Run builds as this unprivileged user (env BUILD_USER; the processor must run as root)' },
            partition: { ...INTEGER, hidden: true },
          })
          .example('$0 process repos.csv --start 1 --end 20', 'rows 1 to 20 with the embedded database')
          .example('AWS_BATCH_JOB_ARRAY_INDEX=3 $0 process s3://b/repos.csv --partition-size 50', 'rows 151 to 200 (an array child)')
          .example('DATABASE_URL=postgres://… $0 process repos.csv --concurrency 4 --strict', 'record in PostgreSQL, exit 1 on any failure'),
      run('process', async (argv, context) => {
        const { runProcess } = await import('./commands/process.js');
        return runProcess(
          {
            inventory: inventoryOf(argv, context, 'process'),
            start: context.config.selection.start,
            end: context.config.selection.end,
            partitionSize: context.config.selection.partitionSize,
            partitionOffset: context.config.selection.partitionOffset,
            partition: context.config.selection.partition,
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
            run: { type: 'string', requiresArg: true, default: 'last', describe: 'Run id, or "last"' },
            format: { choices: ['table', 'csv', 'json', 'html'], requiresArg: true, default: 'table', describe: 'Output format' },
            out: { type: 'string', requiresArg: true, describe: 'Write to this file instead of stdout' },
            'failed-csv': { type: 'string', requiresArg: true, describe: 'Also write the failed rows as a repos.csv to rerun' },
            trend: { ...INTEGER, describe: 'Runs in the trend, this one included (default 30)' },
            finish: { type: 'boolean', describe: 'Set the run\'s finished_at (when its last result or partition ended)' },
            publish: { type: 'boolean', describe: 'Upload report.html and summary.json to <PUBLISH_URL>/_runs/<run id>/; implies --finish' },
            'log-level': COMMON_OPTIONS['log-level'],
            'log-format': COMMON_OPTIONS['log-format'],
          })
          .example('$0 report', 'the last run as a table')
          .example('$0 report --run 4f2c… --format json > run.json', 'one run as JSON (stdout holds only the JSON)')
          .example('$0 report --failed-csv failed.csv', 'the failed rows of the last run as an inventory to rerun')
          .example('$0 report --format html --out report.html', 'the last run as one self-contained page')
          .example('$0 report --run 4f2c… --format html --publish', 'the report job: finish the run, upload _runs/<id>/report.html and summary.json'),
      run('report', async (argv, context) => {
        const { runReport } = await import('./commands/report.js');
        const given = onceEach(argv, ['run', 'format', 'out', 'failed-csv', 'trend']);
        return runReport(
          {
            run: String(given.run),
            format: given.format as 'table',
            out: given.out as string | undefined,
            failedCsv: given['failed-csv'] as string | undefined,
            trendRuns: given.trend as string | undefined,
            finish: argv.finish === true,
            publish: argv.publish === true,
          },
          context,
        );
      }),
    )
    .command(
      'chunk [inventory]',
      'Plan partitions of an inventory and submit the processor jobs to AWS Batch (or run them here)',
      (y: Argv) =>
        y
          .positional('inventory', { type: 'string', describe: 'repos.csv: a path, file://, http(s):// or s3:// URL (default: env MASS_INGEST_INVENTORY, which keeps a signed URL out of argv)' })
          .options(COMMON_OPTIONS)
          .options({
            'partition-size': { ...INTEGER, describe: 'Rows per partition (env PARTITION_SIZE; default 50)' },
            mode: { choices: ['array', 'jobs'], default: 'array', describe: 'One array job (≤10,000 children each) or one job per partition' },
            'dry-run': { type: 'boolean', describe: 'Print the plan and submit nothing' },
            local: { type: 'boolean', describe: 'Run the partitions here as child processes, as Batch would' },
            parallel: { ...INTEGER, describe: 'With --local: partitions run at once (default 2)' },
            only: { choices: ['failed', 'changed'], describe: 'Resubmit only the rows whose last outcome failed (or changed)' },
            run: { type: 'string', describe: 'With --only: the run to take the rows from, or "last"' },
            'job-queue': { type: 'string', describe: 'Batch job queue (env JOB_QUEUE)' },
            'job-definition': { type: 'string', describe: 'Processor job definition (env JOB_DEFINITION)' },
            'report-job-definition': { type: 'string', describe: 'Report job definition (env REPORT_JOB_DEFINITION)' },
            trigger: { choices: ['schedule', 'manual'], describe: 'Recorded in ingest_runs (default: manual; EventBridge passes schedule)' },
          })
          .example('$0 chunk s3://bucket/repos.csv', 'plan and submit one array job (on Batch: JOB_QUEUE and JOB_DEFINITION set)')
          .example('$0 chunk repos.csv --dry-run --partition-size 10', 'print the plan only')
          .example('$0 chunk repos.csv --local --parallel 4', 'a whole run on this machine')
          .example('$0 chunk repos.csv --local --only failed --run last', 'rerun here what failed last time'),
      run('chunk', async (argv, context) => {
        const { runChunk } = await import('./commands/chunk.js');
        return runChunk(
          {
            inventory: inventoryOf(argv, context, 'chunk'),
            mode: argv.mode as 'array' | 'jobs',
            dryRun: argv['dry-run'] === true,
            local: argv.local === true,
            parallel: context.config.parallel,
            only: argv.only as 'failed' | 'changed' | undefined,
            run: argv.run as string | undefined,
            trigger: argv.trigger as 'schedule' | 'manual' | undefined,
            argv,
          },
          context,
        );
      }),
    )
    .command(
      'discover',
      'Build repos.csv from GitHub (GraphQL): a search, organisations or users',
      (y: Argv) =>
        y
          .options({
            query: { type: 'string', describe: 'GitHub search qualifiers, e.g. "language:java stars:>10"' },
            limit: { type: 'number', describe: 'At most this many repositories (most stars first)' },
            org: { type: 'string', describe: 'Comma-separated organisations: all their repositories' },
            user: { type: 'string', describe: 'Comma-separated users: all their repositories' },
            'include-forks': { type: 'boolean', describe: 'Keep forks' },
            'include-archived': { type: 'boolean', describe: 'Keep archived repositories' },
            since: { type: 'string', describe: 'Only repositories pushed since this date (YYYY-MM-DD): the nightly delta' },
            resume: { type: 'boolean', describe: 'Continue the last interrupted discovery with the same arguments' },
            'max-wait': { type: 'number', describe: 'Seconds to wait when every token is rate-limited, then exit 3 with progress saved' },
            out: { type: 'string', default: 'repos.csv', describe: 'Where to write the inventory (atomically)' },
            'log-level': COMMON_OPTIONS['log-level'],
            'log-format': COMMON_OPTIONS['log-format'],
          })
          .example('GITHUB_TOKEN=… $0 discover --query "language:java" --limit 100000', 'the 100,000 most-starred Java repositories')
          .example('GITHUB_TOKENS=t1,t2 $0 discover --org acme,widgets', 'every repository of two organisations')
          .example('$0 discover --query "language:go" --since 2026-11-01 --out delta.csv', 'only what was pushed since a date'),
      run('discover', async (argv, context) => {
        const { runDiscover } = await import('./commands/discover.js');
        const given = onceEach(argv, ['query', 'limit', 'since', 'out', 'max-wait']);
        return runDiscover(
          {
            query: given.query as string | undefined,
            limit: given.limit as number | undefined,
            orgs: splitList(argv.org),
            users: splitList(argv.user),
            includeForks: argv['include-forks'] === true,
            includeArchived: argv['include-archived'] === true,
            since: given.since as string | undefined,
            resume: argv.resume === true,
            maxWaitSeconds: given['max-wait'] as number | undefined,
            out: String(given.out),
          },
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
          run('db migrate', async (_argv, context) => {
            const { runDbMigrate } = await import('./commands/db-migrate.js');
            return runDbMigrate(context);
          }),
        )
        .command(
          'prune',
          'Remove runs older than --older-than days (their partitions and results); the newest --keep-runs stay',
          (inner: Argv) =>
            inner
              .options({
                'older-than': { type: 'number', describe: 'Days: runs created before then go (env RESULTS_RETENTION_DAYS)' },
                'keep-runs': { type: 'number', describe: 'The newest runs kept whatever their age (env RESULTS_KEEP_RUNS; default 10)' },
                'dry-run': { type: 'boolean', describe: 'List what would go; delete nothing' },
                'log-level': COMMON_OPTIONS['log-level'],
                'log-format': COMMON_OPTIONS['log-format'],
              })
              .example('$0 db prune --older-than 90 --dry-run', 'list the runs older than 90 days (the newest 10 stay)')
              .example('DATABASE_URL=postgres://… $0 db prune --older-than 30 --keep-runs 5', 'remove runs older than 30 days, keeping the newest 5'),
          run('db prune', async (argv, context) => {
            const { runDbPrune } = await import('./commands/db-prune.js');
            return runDbPrune({ dryRun: argv['dry-run'] === true }, context);
          }),
        )
        .demandCommand(1, 'Name an action: migrate or prune')
        .example('$0 db migrate', 'apply the migrations to the embedded database (or DATABASE_URL)')
        .example('$0 db prune --older-than 90 --dry-run', 'list the runs a prune would remove'),
    )
    .demandCommand(1, NAME_A_COMMAND)
    .strict()
    .exitProcess(false)
    // yargs renders the command's help on every run; wrapped only when it is shown (~60 ms).
    .wrap(args.includes('--help') ? Math.min(110, process.stdout.columns ?? 110) : null)
    .help()
    .version()
    .fail((message: string | undefined, err: Error | undefined) => {
      // yargs' own validation errors (YError) are usage errors; anything else is a handler's.
      throw err && err.name !== 'YError' ? err : usageError(message ?? err?.message, args);
    });

  if (!args.includes('--help')) skipHelpRendering(parser);
  const argv = (await parser.parseAsync()) as Record<string, unknown> & { _: unknown[] };
  // --help and --version were answered by yargs.
  if (argv.help === true || argv.version === true) return EXIT.ok;
  const handler = handlers.get(argv._.slice(0, argv._[0] === 'db' ? 2 : 1).join(' '));
  if (!handler) throw new UsageError('usage', NAME_A_COMMAND);
  return handler(argv, contextFor(argv, env, signal));
}

/**
 * yargs renders the running command's whole help text before running it, kept to be shown if the
 * command fails later (which our .fail() never asks for): ~25–50 ms of every start (bench/processor,
 * a CPU profile). Without --help it is not rendered; yargs 18's usage instance has the hook.
 */
function skipHelpRendering(parser: Argv): void {
  const usage = (parser as unknown as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } }).getInternalMethods?.().getUsageInstance?.();
  if (usage?.cacheHelpMessage) usage.cacheHelpMessage = () => undefined;
}

/** yargs' own wording, classified here at its boundary: a missing value names its flag, a missing argument what to give. */
function usageError(message: string | undefined, args: readonly string[]): UsageError {
  const command = args[0];
  const flag = /^Not enough arguments following: (\S+)$/.exec(message ?? '')?.[1];
  if (flag) return new UsageError('option_value_missing', `--${flag} needs a value (a value starting with '-' is written --${flag}=-…)`);
  const missing = /^Not enough non-option arguments/.test(message ?? '') ? MISSING_ARGUMENT[command ?? ''] : undefined;
  if (missing) return new UsageError('usage', missing);
  // yargs names an unknown flag twice (`dry-run, dryRun`), and an unknown command as an argument.
  const unknown = /^Unknown arguments?: (.*)$/.exec(message ?? '')?.[1]?.split(', ');
  if (unknown && command !== undefined && unknown.includes(command) && !COMMANDS.includes(command)) {
    return new UsageError('usage', `Unknown command "${command}": ${NAME_A_COMMAND.toLowerCase()}`);
  }
  if (unknown) {
    // Each as typed: a flag (`--dry-run`, `-z`), or an argument too many (`b.csv`).
    const typed = unknown
      .filter((name) => !/[A-Z]/.test(name) || !unknown.includes(name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)))
      .map((name) => [`--${name}`, `-${name}`].find((flag) => args.some((arg) => arg === flag || arg.startsWith(`${flag}=`))) ?? `"${name}"`);
    const flags = typed.filter((name) => name.startsWith('-'));
    const extra = typed.filter((name) => !name.startsWith('-'));
    const parts = [flags.length > 0 ? `unknown option${flags.length > 1 ? 's' : ''} ${flags.join(', ')}` : '', extra.length > 0 ? `unexpected argument${extra.length > 1 ? 's' : ''} ${extra.join(', ')}` : ''];
    const text = parts.filter(Boolean).join('; ');
    return new UsageError('usage', `${text[0]!.toUpperCase()}${text.slice(1)} (see ${command ? `mass-ingest ${command} ` : ''}--help)`);
  }
  return new UsageError('usage', message ?? 'Invalid command line');
}

const COMMANDS = ['process', 'chunk', 'report', 'discover', 'db'];
const NAME_A_COMMAND = 'Name a command: process, chunk, report, discover, db migrate or db prune';

/** What yargs' "Not enough non-option arguments" means, by command. */
const nameTheInventory = (command: string) => `Name the inventory: mass-ingest ${command} <repos.csv | file://… | http(s)://… | s3://bucket/key> [options] (see --help)`;
const MISSING_ARGUMENT: Record<string, string> = {
  process: nameTheInventory('process'),
  chunk: nameTheInventory('chunk'),
  db: 'Name an action: mass-ingest db migrate | db prune --older-than DAYS',
};

/**
 * The argument, else MASS_INGEST_INVENTORY; neither is the usage error yargs gives for a missing
 * argument. `-` is refused here, before the command logs that it started or opens a database.
 */
function inventoryOf(argv: Record<string, unknown>, context: CommandContext, command: 'process' | 'chunk'): string {
  const inventory = typeof argv.inventory === 'string' ? argv.inventory : context.config.inventory;
  if (inventory === undefined) throw new UsageError('usage', MISSING_ARGUMENT[command] ?? nameTheInventory(command));
  assertInventoryNamed(inventory);
  return inventory;
}

/** Lists may be given as `--org a,b` or `--org a --org b`. */
function splitList(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(splitList);
  return typeof value === 'string' ? value.split(',').map((item) => item.trim()).filter(Boolean) : [];
}

/** Options that take one value: given twice, yargs makes an array of them, which no command expects. */
function onceEach(argv: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const repeated = names.filter((name) => Array.isArray(argv[name]));
  if (repeated.length > 0) throw new UsageError('option_repeated', `${repeated.map((name) => `--${name}`).join(', ')} may be given once`);
  return Object.fromEntries(names.map((name) => [name, argv[name]]));
}

function contextFor(argv: Record<string, unknown>, env: NodeJS.ProcessEnv, signal: AbortSignal): CommandContext {
  const config: Config = loadConfig({ flags: argv, env, cwd: process.cwd(), stdoutIsTty: Boolean(process.stdout.isTTY) });
  return { config, signal, stdout: process.stdout, stderr: process.stderr, stderrIsTty: Boolean(process.stderr.isTTY), stdoutIsTty: Boolean(process.stdout.isTTY) };
}

function describeFailure(err: unknown, env: NodeJS.ProcessEnv): { code: ExitCode; text: string } {
  const scrub = createScrubber(secretsOfEnvironment(env));
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
    process.stderr.write(`${signalNotice(name)}\n`);
    controller.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // An error nobody listens for (a library's: simple-git's was, when git could not start for want
  // of descriptors, until src/git/spawn-errors.ts listened) would end node with exit 1, which
  // means "--strict and a repository failed" and is not retried on Batch: it is the machine's
  // trouble, exit 3. The next processor sweeps what this one left (run-workdir.ts).
  process.on('uncaughtException', (err) => {
    process.stderr.write(`${describeFailure(err, process.env).text}\n`);
    process.exit(EXIT.infrastructure);
  });
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

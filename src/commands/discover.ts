import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { CommandContext } from './context.js';
import { commandLogger, openResults } from './context.js';
import { errorMessage, EXIT, InfrastructureError, UsageError, type ExitCode } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { Database } from '../results/database.js';
import { CheckpointStore } from '../discovery/checkpoint-store.js';
import { Crawler, type CrawlSummary } from '../discovery/crawler.js';
import { removeStaleTemporaries, writeCsvAtomically } from '../discovery/csv-writer.js';
import { claimDiscovery, heartbeat, HEARTBEAT_MS, release, type Claim } from '../discovery/discovery-claim.js';
import { resolveGraphqlUrl } from '../discovery/endpoint.js';
import { createGraphqlTransport } from '../discovery/github-client.js';
import { DiscoveryPlanner } from '../discovery/planner.js';
import { DiscoveryProgress } from '../discovery/progress.js';
import { RequestExecutor } from '../discovery/request-executor.js';
import { parseSearchScope } from '../discovery/search-query.js';
import { TokenPool } from '../discovery/token-pool.js';
import { PAGE_SIZE } from '../discovery/types.js';

export interface DiscoverOptions {
  readonly query: string | undefined;
  readonly limit: number | undefined;
  readonly orgs: readonly string[];
  readonly users: readonly string[];
  readonly includeForks: boolean;
  readonly includeArchived: boolean;
  readonly since: string | undefined;
  readonly resume: boolean;
  readonly maxWaitSeconds: number | undefined;
  readonly out: string;
}

/** Requests in flight per token: GitHub's secondary limits punish concurrency, not volume. */
const PER_TOKEN_CONCURRENCY = 2;
/** Count probes per request (each is a search GitHub runs within the request's 10 s budget). */
const MAX_PROBES_PER_REQUEST = 20;
const REQUEST_TIMEOUT_MS = 60_000;

/** `mass-ingest discover`: GitHub GraphQL → repos.csv, `repositories` and `star_history` (issue 8). */
export async function runDiscover(options: DiscoverOptions, context: CommandContext): Promise<ExitCode> {
  const { config } = context;
  const endpoint = validate(options, config.github.tokens, config.github.apiUrl);
  await checkOutput(options.out);
  const scope = options.query === undefined ? undefined : parseSearchScope(options.query, options);
  const log = commandLogger(context, 1, { command: 'discover' });
  const started = Date.now();
  await removeLeftovers(options.out, log);
  const database = await openResults(context, log);
  let claim: Claim | undefined;
  let beating: NodeJS.Timeout | undefined;
  try {
    claim = await openDiscovery(database, options, endpoint, log, context.signal);
    const { id } = claim;
    const store = new CheckpointStore(database, claim.owner);
    const saved = claim.resumed ? await store.load(id) : undefined;
    beating = startHeartbeat(database, claim, log);
    const limit = options.limit ?? null;
    const planner = new DiscoveryPlanner(
      { scope, limit, orgs: options.orgs, users: options.users, filter: { includeForks: options.includeForks, includeArchived: options.includeArchived }, nowSeconds: Math.floor(Date.now() / 1000) },
      saved?.planner ?? undefined,
    );
    const progress = new DiscoveryProgress(context.stderr, context.stderrIsTty && config.logFormat === 'pretty', log);
    let crawler: Crawler | undefined;
    const pool = new TokenPool(config.github.tokens, {
      perToken: PER_TOKEN_CONCURRENCY,
      maxWaitMs: options.maxWaitSeconds === undefined ? undefined : options.maxWaitSeconds * 1000,
      onWait: (resumeAt) => crawler && progress.waiting(crawler.progress(), resumeAt),
    });
    const executor = new RequestExecutor({ transport: createGraphqlTransport(endpoint, { timeoutMs: REQUEST_TIMEOUT_MS, userAgent: 'mass-ingest' }), pool, log, signal: context.signal, endpoint });
    crawler = new Crawler({
      discoveryId: id,
      planner,
      store,
      executor,
      pool,
      log,
      signal: context.signal,
      onProgress: (state) => progress.update(state),
      maxProbes: MAX_PROBES_PER_REQUEST,
      restored: { streams: saved?.streams ?? [], requests: saved?.requests ?? 0 },
    });
    if (saved) log.info({ discoveryId: id, repositories: saved.repositories, requests: saved.requests, streams: saved.streams.length }, 'Discovery resumed');
    const summary = await crawler.run().finally(() => progress.done(crawler.progress()));
    if (summary.stopped) {
      log.warn({ discoveryId: id, repositories: summary.repositories, requests: summary.requests }, 'Discovery stopped, progress saved: rerun with --resume');
      return EXIT.terminated;
    }
    await finish(store, id, options, log, { summary, attempts: executor.attempts, unreachable: planner.unreachable(), started });
    return EXIT.ok;
  } finally {
    clearInterval(beating);
    if (claim) await release(database, claim.id, claim.owner).catch((err: unknown) => log.warn({ err }, 'Could not mark the discovery as stopped: a --resume waits for its heartbeat to go stale'));
    await database.close();
  }
}

/** `.repos.csv.<pid>.<hex>.tmp` of writers killed before their rename (kill -9): never a live process's. */
async function removeLeftovers(out: string, log: Logger): Promise<void> {
  for (const leftover of await removeStaleTemporaries(out)) log.warn(leftover, 'Removed a temporary CSV left by a process that is gone');
}

function startHeartbeat(database: Database, claim: Claim, log: Logger): NodeJS.Timeout {
  const timer = setInterval(() => {
    heartbeat(database, claim.id, claim.owner).then(
      (ours) => ours || log.error({ discoveryId: claim.id }, 'Discovery taken over by another process'),
      (err: unknown) => log.warn({ err }, 'Discovery heartbeat failed'),
    );
  }, HEARTBEAT_MS);
  timer.unref();
  return timer;
}

/**
 * The inventory is written at the end, by renaming a temporary file over `--out`: a path that
 * cannot take it is found before the crawl (exit 2), not after it. A symbolic link or a device
 * (`/dev/stdout`) would be replaced by the rename, so only a regular file or a new name will do.
 */
async function checkOutput(out: string): Promise<void> {
  const problem = await outputProblem(out);
  if (problem) throw new UsageError('discover_output_invalid', `--out ${out} ${problem}`);
}

async function outputProblem(out: string): Promise<string | undefined> {
  const existing = await fs.lstat(out).catch(() => undefined);
  if (existing && !existing.isFile()) return existing.isDirectory() ? 'is a directory: name the CSV file to write' : 'is not a regular file (a link or a device): name a file to write';
  try {
    await fs.access(path.dirname(path.resolve(out)), fsConstants.W_OK);
    return undefined;
  } catch (err) {
    return `cannot be written: its directory ${path.dirname(path.resolve(out))} is missing or not writable (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
  }
}

/** Every problem at once (STYLE 12); returns the GraphQL endpoint. */
function validate(options: DiscoverOptions, tokens: readonly string[], apiUrl: string): string {
  const problems: string[] = [];
  if (options.query === undefined && options.orgs.length === 0 && options.users.length === 0) problems.push('name what to discover: --query "<search qualifiers>", --org a,b or --user c');
  if (options.since !== undefined && (options.orgs.length > 0 || options.users.length > 0)) {
    problems.push('--since works with --query only (GitHub lists an owner\'s repositories without a pushed filter): search the owner instead, e.g. --query "org:acme" --since 2026-11-01');
  }
  if (options.limit !== undefined && (!Number.isSafeInteger(options.limit) || options.limit < 1)) problems.push(`--limit must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}, got ${options.limit}`);
  if (options.maxWaitSeconds !== undefined && !(options.maxWaitSeconds >= 0)) problems.push(`--max-wait must be a number of seconds ≥ 0, got ${options.maxWaitSeconds}`);
  if (tokens.length === 0) problems.push('discover needs a GitHub token: set GITHUB_TOKEN, or GITHUB_TOKENS=t1,t2 for a pool');
  let endpoint = '';
  try {
    endpoint = resolveGraphqlUrl(apiUrl);
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (problems.length > 0) throw UsageError.listing('discover_invalid', 'discover cannot start', problems);
  return endpoint;
}

/**
 * --resume continues the last interrupted discovery with the same arguments; otherwise a new one.
 * Either way a discovery with these arguments that is still running elsewhere is never touched:
 * exit 2 naming it (discovery-claim.ts).
 */
async function openDiscovery(database: Database, options: DiscoverOptions, endpoint: string, log: Logger, signal: AbortSignal): Promise<Claim> {
  const args = {
    query: options.query ?? null,
    limit: options.limit ?? null,
    orgs: [...options.orgs].map((o) => o.toLowerCase()).sort(),
    users: [...options.users].map((u) => u.toLowerCase()).sort(),
    includeForks: options.includeForks,
    includeArchived: options.includeArchived,
    since: options.since ?? null,
    endpoint,
  };
  const fingerprint = createHash('sha256').update(JSON.stringify(args)).digest('hex');
  const newId = `d-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}-${randomBytes(3).toString('hex')}`;
  const claim = await claimDiscovery(database, {
    id: newId,
    fingerprint,
    args,
    resume: options.resume,
    signal,
    onWatch: (run) => log.info(run, 'A discovery with these arguments ran on another host: watching its heartbeat before taking over'),
  });
  if (claim.resumed) return claim;
  if (options.resume) log.warn({ fingerprint }, 'Nothing to resume: no interrupted discovery has these arguments; starting afresh');
  if (claim.dropped > 0) log.warn({ dropped: claim.dropped }, 'The progress of an interrupted discovery with these arguments was dropped: add --resume to continue one');
  log.info({ discoveryId: claim.id, endpoint, query: options.query, orgs: options.orgs, users: options.users, limit: options.limit, since: options.since, dropped: claim.dropped, resumeAsked: options.resume }, 'Discovery started');
  return claim;
}

interface FinishStats {
  readonly summary: CrawlSummary;
  readonly attempts: number;
  readonly unreachable: number;
  readonly started: number;
}

/** CSV first (atomically), then the database in one statement: a crash between the two resumes into both. */
async function finish(store: CheckpointStore, id: string, options: DiscoverOptions, log: Logger, stats: FinishStats): Promise<void> {
  const limit = options.limit ?? null;
  await store.assertOwned(id);
  const rows = await writeCsvAtomically(options.out, store.repositories(id, limit)).catch((err: unknown) => {
    // The file system failed at the end (full, or --out's directory changed during the crawl): the
    // crawl itself is saved, so --resume writes the CSV without asking GitHub again.
    if ((err as NodeJS.ErrnoException).syscall === undefined) throw err;
    throw new InfrastructureError('discover_output_failed', `Could not write --out ${options.out} (${errorMessage(err)}): every repository found is saved; fix the disk or the path, then rerun with --resume`, err);
  });
  await store.finish(id, limit, new Date());
  const minimum = Math.ceil(rows / PAGE_SIZE);
  if (stats.unreachable > 0) log.warn({ unreachable: stats.unreachable }, 'Some search results cannot be reached: more than 1,000 created within one second');
  log.info(
    {
      discoveryId: id,
      out: options.out,
      repositories: rows,
      requests: stats.summary.requests,
      attempts: stats.attempts,
      minimumRequests: minimum,
      ratio: minimum > 0 ? Number((stats.summary.requests / minimum).toFixed(4)) : null,
      buckets: stats.summary.streams,
      probes: stats.summary.probes,
      durationMs: Date.now() - stats.started,
    },
    'Discovery finished',
  );
}

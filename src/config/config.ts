import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { errorMessage, UsageError } from '../errors.js';
import { createScrubber, secretsOfCredentialLines, secretsOfUrl, type Scrubber } from '../logging/scrub.js';
import { gitTransportEnvironment, scrubBuildEnvironment } from './build-env.js';
import { buildUserSpecs } from '../build/build-user-pool.js';
import { normalizeSshKey, secretsOfSshKey, sshKeyProblems, type GitSshKey } from './ssh-key.js';

/**
 * The one place that reads flags and the environment (STYLE 14). Everything below receives
 * the frozen `Config` it returns; nothing else reads `process.env`.
 */
export type Layout = 'default' | 'maven';
export type LogFormat = 'json' | 'pretty';
export type ReportFormat = 'table' | 'csv' | 'json' | 'html';

export interface Config {
  readonly cwd: string;
  readonly logLevel: string;
  readonly logFormat: LogFormat;
  readonly stdoutIsTty: boolean;
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly publish: {
    readonly url: string;
    readonly user: string | undefined;
    readonly password: string | undefined;
    readonly token: string | undefined;
    readonly layout: Layout;
    /** PUBLISH_TIMEOUT (s): no progress for this long abandons a publish attempt (src/artifacts/publish-timeouts.ts). */
    readonly timeoutMs: number;
    /** PUBLISH_FAIL_FAST_AFTER: attempts in a row without an answer before the target is skipped; 0 never. */
    readonly failFastAfter: number;
    /** PUBLISH_FAIL_FAST_FOR (s): how long it is skipped before one request tries it again. */
    readonly failFastForMs: number;
  };
  /** Path-style S3 addressing: on when AWS_ENDPOINT_URL_S3/AWS_ENDPOINT_URL points at an S3-compatible server (DESIGN §6). */
  readonly s3: { readonly forcePathStyle: boolean };
  readonly gitCredentials: string | undefined;
  /** GIT_SSH_KEY (normalised) and GIT_SSH_KNOWN_HOSTS. */
  readonly gitSsh: GitSshKey | undefined;
  readonly buildTimeoutMs: number;
  /** CLONE_TIMEOUT: a repository's clone, its submodules and LFS files included, ends within this. */
  readonly cloneTimeoutMs: number;
  /** BUILD_USER (`name`, `uid` or `uid:gid`): builds run as this user; the processor must be root. */
  readonly buildUser: string | undefined;
  readonly runId: string;
  readonly runIdSource: 'flag' | 'batch' | 'generated';
  /** When the command began (the config is read first): a run it records starts here. */
  readonly startedAt: Date;
  readonly batch: {
    readonly jobId: string | undefined;
    readonly arrayIndex: number | undefined;
    readonly attempt: number;
    readonly jobQueue: string | undefined;
    readonly jobDefinition: string | undefined;
    readonly reportJobDefinition: string | undefined;
  };
  readonly partitionSize: number;
  /**
   * `db prune --older-than` / RESULTS_RETENTION_DAYS: runs older than this many days are removed
   * (by `db prune`, and by a chunk job after it submitted); `--keep-runs` / RESULTS_KEEP_RUNS of the
   * newest stay whatever their age (src/results/prune.ts).
   */
  readonly retention: { readonly olderThanDays: number | undefined; readonly keepRuns: number };
  /** `process`'s rows (DESIGN §2); `partitionSize` is set only when --partition-size or PARTITION_SIZE is. */
  readonly selection: RowSelectionFlags;
  /** MASS_INGEST_INVENTORY: the inventory when no argument names it (how `chunk --local` hands a signed URL to its children, out of argv). */
  readonly inventory: string | undefined;
  readonly concurrency: number;
  /** Repositories cloned ahead of the builds: while `concurrency` build, up to this many more clone. */
  readonly cloneAhead: number;
  /**
   * `--submodules` / SUBMODULES: clones check out their submodules, fetched without the
   * credentials (`recursive`, the default) or with them (`recursive-with-credentials`), or not (`none`).
   */
  readonly submodules: 'recursive' | 'recursive-with-credentials' | 'none';
  /** `--lfs` / LFS: Git LFS files fetched after the clone (`fetch`), or left as pointers (`skip`, the default). */
  readonly lfs: 'fetch' | 'skip';
  /** `chunk --local`: partitions run at once. */
  readonly parallel: number;
  readonly workdir: string;
  readonly force: boolean;
  readonly strict: boolean;
  readonly github: { readonly tokens: readonly string[]; readonly apiUrl: string };
  /** The environment builds and child processes start from, secrets removed (DESIGN §5). */
  readonly buildEnv: Readonly<Record<string, string>>;
  /** git's environment: the build's plus GIT_SSL_CAINFO and the like (src/config/build-env.ts). */
  readonly gitEnv: Readonly<Record<string, string>>;
  /** The full environment, for child processes of our own (chunk --local). */
  readonly env: Readonly<Record<string, string>>;
  readonly secrets: readonly string[];
  readonly scrub: Scrubber;
}

export interface RowSelectionFlags {
  readonly start: number | undefined;
  readonly end: number | undefined;
  readonly partitionSize: number | undefined;
  readonly partitionOffset: number | undefined;
  readonly partition: number | undefined;
}

export type Flags = Record<string, unknown>;
export type Env = Record<string, string | undefined>;

export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export interface ConfigInputs {
  flags: Flags;
  env: Env;
  cwd: string;
  stdoutIsTty: boolean;
  now?: Date;
}

/** The longest timeout, in seconds, a Node timer holds (2^31-1 ms). */
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

export function loadConfig({ flags, env, cwd, stdoutIsTty, now = new Date() }: ConfigInputs): Config {
  const problems: string[] = [];
  const read = new Reader(flags, env, problems);

  const logLevel = read.choice('log-level', 'LOG_LEVEL', LOG_LEVELS, 'info');
  const logFormat = read.choice('log-format', 'LOG_FORMAT', ['json', 'pretty'], stdoutIsTty ? 'pretty' : 'json') as LogFormat;
  const databaseUrl = withoutLineEnd(read.string(undefined, 'DATABASE_URL'));
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must start with postgres:// or postgresql:// (the value is not shown: it is a secret)');
  }
  const publishUrl = resolvePublishUrl(read.string(undefined, 'PUBLISH_URL'), cwd, problems);
  const layout = read.choice('layout', 'PUBLISH_LAYOUT', ['default', 'maven'], 'default') as Layout;
  const publishUser = read.string(undefined, 'PUBLISH_USER');
  const publishPassword = withoutLineEnd(read.string(undefined, 'PUBLISH_PASSWORD'));
  const publishToken = withoutLineEnd(read.string(undefined, 'PUBLISH_TOKEN'));
  if (publishPassword !== undefined && publishUser === undefined) {
    problems.push('PUBLISH_PASSWORD is set but PUBLISH_USER is not: set both for basic auth, or use PUBLISH_TOKEN');
  }
  // Read in this order: the problems are listed as they are found.
  const publishTimeoutSeconds = read.integer(undefined, 'PUBLISH_TIMEOUT', 30, 1) ?? 30;
  const failFastAfter = read.integer(undefined, 'PUBLISH_FAIL_FAST_AFTER', 4, 0) ?? 4;
  const failFastForSeconds = read.integer(undefined, 'PUBLISH_FAIL_FAST_FOR', 60, 1) ?? 60;
  const publishLimits = { timeoutMs: publishTimeoutSeconds * 1000, failFastAfter, failFastForMs: failFastForSeconds * 1000 };
  const gitCredentials = read.string(undefined, 'GIT_CREDENTIALS');
  validateCredentialLines(gitCredentials, problems);
  const sshKey = read.string(undefined, 'GIT_SSH_KEY');
  const sshKnownHosts = read.string(undefined, 'GIT_SSH_KNOWN_HOSTS');
  problems.push(...sshKeyProblems(sshKey, sshKnownHosts, read.string(undefined, 'GIT_SSH_COMMAND')));
  const buildTimeoutSeconds = read.integer(undefined, 'BUILD_TIMEOUT', 1800, 1);
  const cloneTimeoutSeconds = read.integer(undefined, 'CLONE_TIMEOUT', 1800, 1) ?? 1800;
  // Node's timers hold 2^31-1 ms: a longer one fires after 1 ms (past 2^32-1 ms, AbortSignal.timeout
  // throws). A publish attempt's deadline is twice PUBLISH_TIMEOUT and more: both publish limits
  // are held to what Terraform allows them.
  const ceilings = [
    ['BUILD_TIMEOUT', buildTimeoutSeconds, MAX_TIMER_SECONDS, ' (24 days at most)'],
    ['CLONE_TIMEOUT', cloneTimeoutSeconds, MAX_TIMER_SECONDS, ' (24 days at most)'],
    ['PUBLISH_TIMEOUT', publishTimeoutSeconds, 3600, ''],
    ['PUBLISH_FAIL_FAST_FOR', failFastForSeconds, 86_400, ''],
  ] as const;
  for (const [name, seconds, most, hint] of ceilings) {
    if (seconds !== undefined && seconds > most) problems.push(`${name} must be at most ${most} (seconds), got "${seconds}": give a smaller number of seconds${hint}`);
  }
  const buildUser = read.string('build-user', 'BUILD_USER')?.trim();
  if (buildUser !== undefined && buildUserSpecs(buildUser) === undefined) {
    problems.push(`BUILD_USER must be a user name, a uid or uid:gid, or several for concurrent builds (a,b or a uid range such as 10001-10004, at most 256), got "${buildUser}"`);
  }

  const jobId = read.string(undefined, 'AWS_BATCH_JOB_ID');
  const arrayIndex = read.integer(undefined, 'AWS_BATCH_JOB_ARRAY_INDEX', undefined, 0);
  const attempt = read.integer(undefined, 'AWS_BATCH_JOB_ATTEMPT', 1, 1) ?? 1;
  const { runId, runIdSource } = resolveRunId(read.string('run-id', undefined), jobId, now, problems);

  // A token listed twice is one token: two would double the requests in flight on it.
  const githubTokens = [
    ...new Set(
      (read.string(undefined, 'GITHUB_TOKENS') ?? read.string(undefined, 'GITHUB_TOKEN') ?? '')
        .split(',')
        .map((token) => token.trim())
        .filter(Boolean),
    ),
  ];

  const fullEnv = definedEntries(env);
  const secrets = secretsOfEnvironment(env);
  const buildEnv = scrubBuildEnvironment(fullEnv, secrets);

  const dataDir = path.resolve(cwd, read.string(undefined, 'MASS_INGEST_DATA_DIR') ?? '.mass-ingest/db');
  const batch = {
    jobId,
    arrayIndex,
    attempt,
    jobQueue: read.string('job-queue', 'JOB_QUEUE'),
    jobDefinition: read.string('job-definition', 'JOB_DEFINITION'),
    reportJobDefinition: read.string('report-job-definition', 'REPORT_JOB_DEFINITION'),
  };
  const givenPartitionSize = read.integer('partition-size', 'PARTITION_SIZE', undefined, 1);
  const selection = {
    start: read.integer('start', undefined, undefined, 1),
    end: read.integer('end', undefined, undefined, 1),
    partitionSize: givenPartitionSize,
    partitionOffset: read.integer('partition-offset', undefined, undefined, 0),
    partition: read.integer('partition', undefined, undefined, 0),
  };
  const retention = {
    olderThanDays: read.integer('older-than', 'RESULTS_RETENTION_DAYS', undefined, 1),
    keepRuns: read.integer('keep-runs', 'RESULTS_KEEP_RUNS', 10, 1) ?? 10,
  };
  const concurrency = read.integer('concurrency', 'CONCURRENCY', 1, 1) ?? 1;
  const cloneAhead = read.integer('clone-ahead', 'CLONE_AHEAD', concurrency, 0) ?? concurrency;
  const submodules = read.choice('submodules', 'SUBMODULES', ['recursive', 'recursive-with-credentials', 'none'], 'recursive') as Config['submodules'];
  const lfs = read.choice('lfs', 'LFS', ['fetch', 'skip'], 'skip') as Config['lfs'];
  const parallel = read.integer('parallel', undefined, 2, 1) ?? 2;
  const workdir = path.resolve(cwd, read.string('workdir', 'MASS_INGEST_WORKDIR') ?? path.join(os.tmpdir(), 'mass-ingest-work'));
  const githubApiUrl = read.string(undefined, 'GITHUB_API_URL') ?? 'https://api.github.com';

  if (problems.length > 0) throw UsageError.listing('config_invalid', 'Configuration is invalid', problems);

  return deepFreeze({
    cwd,
    logLevel,
    logFormat,
    stdoutIsTty,
    databaseUrl,
    dataDir,
    publish: { url: publishUrl, user: publishUser, password: publishPassword, token: publishToken, layout, ...publishLimits },
    s3: { forcePathStyle: Boolean(read.string(undefined, 'AWS_ENDPOINT_URL_S3') ?? read.string(undefined, 'AWS_ENDPOINT_URL')) },
    gitCredentials,
    gitSsh: sshKey === undefined && sshKnownHosts === undefined ? undefined : { key: sshKey === undefined ? undefined : normalizeSshKey(sshKey), knownHosts: sshKnownHosts },
    buildTimeoutMs: (buildTimeoutSeconds ?? 1800) * 1000,
    cloneTimeoutMs: cloneTimeoutSeconds * 1000,
    buildUser,
    runId,
    runIdSource,
    startedAt: now,
    batch,
    partitionSize: givenPartitionSize ?? 50,
    retention,
    selection,
    inventory: read.string(undefined, 'MASS_INGEST_INVENTORY'),
    concurrency,
    cloneAhead,
    submodules,
    lfs,
    parallel,
    workdir,
    force: read.boolean('force'),
    strict: read.boolean('strict'),
    github: { tokens: githubTokens, apiUrl: githubApiUrl },
    buildEnv,
    gitEnv: { ...buildEnv, ...gitTransportEnvironment(fullEnv, secrets) },
    env: fullEnv,
    secrets,
    scrub: createScrubber(secrets),
  });
}

/** A value as the user typed it, and where: `--flag` or the environment variable's name. */
interface RawValue {
  readonly text: string;
  readonly from: string;
}

class Reader {
  constructor(
    private readonly flags: Flags,
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  string(flag: string | undefined, variable: string | undefined): string | undefined {
    return this.raw(flag, variable)?.text;
  }

  boolean(flag: string): boolean {
    return this.flags[flag] === true;
  }

  integer(flag: string | undefined, variable: string | undefined, fallback: number | undefined, min: number): number | undefined {
    // `--start "$START"` with START unset is a mistake, not "no --start" (which reads every row).
    const emptyFlag = flag !== undefined && this.flags[flag] === '';
    const raw = emptyFlag ? { text: '', from: `--${flag}` } : this.raw(flag, variable);
    if (raw === undefined) return fallback;
    const value = /^\s*[-+]?\d+\s*$/.test(raw.text) ? Number(raw.text) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min) {
      this.problems.push(`${raw.from} must be an integer ≥ ${min}, got "${raw.text}"`);
      return fallback;
    }
    return value;
  }

  choice(flag: string, variable: string | undefined, allowed: readonly string[], fallback: string): string {
    const raw = this.raw(flag, variable);
    if (raw === undefined) return fallback;
    if (!allowed.includes(raw.text)) {
      this.problems.push(`${raw.from} must be one of ${allowed.join(', ')}, got "${raw.text}"`);
      return fallback;
    }
    return raw.text;
  }

  /** Flags win over the environment (DESIGN §3); an empty value counts as not given. */
  private raw(flag: string | undefined, variable: string | undefined): RawValue | undefined {
    const fromFlag = flag === undefined ? undefined : this.flags[flag];
    // yargs makes an array of a flag given twice: `--workdir a --workdir b` would read as "a,b".
    if (Array.isArray(fromFlag)) {
      this.problems.push(`--${flag} may be given once, got ${fromFlag.map((value) => `"${String(value)}"`).join(' and ')}`);
      return undefined;
    }
    if (fromFlag !== undefined && fromFlag !== null && fromFlag !== '') return { text: String(fromFlag), from: `--${flag}` };
    const fromEnv = variable === undefined ? undefined : this.env[variable];
    if (fromEnv === undefined || fromEnv === '' || variable === undefined) return undefined;
    return { text: fromEnv, from: variable };
  }
}

function resolvePublishUrl(raw: string | undefined, cwd: string, problems: string[]): string {
  if (raw === undefined) return pathToFileURL(path.resolve(cwd, 'artifacts')).href;
  if (/^(https?|s3):\/\//i.test(raw)) return raw.replace(/\/+$/, '');
  if (/^file:\/\//i.test(raw)) {
    try {
      fileURLToPath(raw);
    } catch (err) {
      problems.push(`PUBLISH_URL ${raw} is not a file URL of this machine (${errorMessage(err)}): write file:///absolute/dir (three slashes) or a directory path`);
    }
    return raw.replace(/\/+$/, '');
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    problems.push(`PUBLISH_URL has an unsupported scheme: "${raw.split(':')[0]}" (use file://, http(s)://, s3:// or a directory path)`);
    return raw;
  }
  return pathToFileURL(path.resolve(cwd, raw)).href;
}

/**
 * Every secret value the environment holds, as the logs, build logs and rows are scrubbed of them;
 * src/cli.ts scrubs a failure it prints before (or without) a Config with the same list.
 */
export function secretsOfEnvironment(env: Readonly<Record<string, string | undefined>>): string[] {
  const value = (name: string) => env[name] || undefined;
  // Both: GITHUB_TOKEN is still a secret when GITHUB_TOKENS wins over it.
  const githubTokens = [value('GITHUB_TOKENS'), value('GITHUB_TOKEN')].join(',').split(',').map((token) => token.trim()).filter(Boolean);
  return [
    ...secretsOfUrl(withoutLineEnd(value('DATABASE_URL'))),
    ...secretsOfCredentialLines(value('GIT_CREDENTIALS')),
    ...secretsOfSshKey(value('GIT_SSH_KEY')),
    ...[withoutLineEnd(value('PUBLISH_PASSWORD')), withoutLineEnd(value('PUBLISH_TOKEN'))].filter((secret): secret is string => Boolean(secret)),
    ...githubTokens,
    ...[env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN].filter((secret): secret is string => Boolean(secret)),
  ];
}

/**
 * A secret stored from a file (`aws secretsmanager create-secret --secret-string file://…`) or
 * pasted into a console often keeps the file's final newline; no password, token or URL ends in
 * one, and with it every request fails (a 401, or Node refusing the header).
 */
function withoutLineEnd(value: string | undefined): string | undefined {
  return value?.replace(/[\r\n]+$/, '');
}

function resolveRunId(flag: string | undefined, jobId: string | undefined, now: Date, problems: string[]) {
  if (flag !== undefined) {
    if (!RUN_ID_PATTERN.test(flag)) {
      problems.push(`--run-id must match ${RUN_ID_PATTERN.source} (it prefixes Batch job names), got "${flag}"`);
    }
    return { runId: flag, runIdSource: 'flag' as const };
  }
  if (jobId !== undefined) {
    // An array child's job id is "<parent>:<index>": every child of one array belongs to one run.
    const parent = jobId.split(':')[0] ?? jobId;
    if (RUN_ID_PATTERN.test(parent)) return { runId: parent, runIdSource: 'batch' as const };
  }
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  return { runId: `run-${stamp}-${randomBytes(3).toString('hex')}`, runIdSource: 'generated' as const };
}

function validateCredentialLines(lines: string | undefined, problems: string[]): void {
  if (!lines) return;
  lines.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (!trimmed) return;
    let ok = false;
    try {
      const url = new URL(trimmed);
      ok = /^https?:$/.test(url.protocol) && url.username !== '' && url.password !== '';
    } catch {
      ok = false;
    }
    if (!ok) problems.push(`GIT_CREDENTIALS line ${index + 1} is not an http(s) URL with a user name and a password or token before its host, as git-credential-store writes them (https, ://, then user:token@github.com; the value is not shown: it is a secret)`);
  });
}

function definedEntries(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) if (typeof item !== 'function') deepFreeze(item);
  }
  return value;
}

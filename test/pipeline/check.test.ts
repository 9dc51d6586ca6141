import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PublishLayout, PublishRequest } from '../../src/artifacts/layout.js';
import { InfrastructureError, UsageError } from '../../src/errors.js';
import type { GitClient } from '../../src/git/git-client.js';
import type { RepositoryRow } from '../../src/inventory/rows.js';
import { checkChanged } from '../../src/pipeline/check.js';
import { processRepository, type PipelineDeps, type Resolved } from '../../src/pipeline/process-repository.js';
import type { RetryPolicy } from '../../src/retry.js';

const HEAD = 'b'.repeat(40);
const log = pino({ level: 'silent' });
const dbDown = () => new InfrastructureError('db_unreachable', 'PostgreSQL query failed: Connection terminated unexpectedly');
const diskFull = () => new InfrastructureError('db_disk_full', 'PostgreSQL has no disk space left (could not extend file): free space where the database keeps its files');
const authRefused = () => new UsageError('db_auth_failed', 'PostgreSQL refused DATABASE_URL (28P01): check the user, password and database name');
/** DATABASE_RETRY's shape (4 retries) without its waits. */
const QUICK_RETRY: RetryPolicy = { retries: 4, minTimeout: 1, maxTimeout: 1, factor: 1, randomize: false };

let workdir: string;
beforeEach(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), 'mass-ingest-check-'));
});
afterEach(async () => {
  await fs.rm(workdir, { recursive: true, force: true });
});

/** Clones a Makefile whose build touches `flag`. */
class FlagGit implements GitClient {
  constructor(private readonly flag: string) {}
  async headSha(): Promise<string> {
    return HEAD;
  }
  async clone(_url: string, _branch: string, dir: string): Promise<string> {
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'Makefile'), `all:\n\ttouch ${this.flag}\n\tmkdir -p dist && echo ok > dist/out.txt\n`);
    return HEAD;
  }
}

/** A target that lacks every commit, or whose answer fails (`failing`); what it published. */
class Target implements PublishLayout {
  published: PublishRequest[] = [];
  constructor(private readonly failing = false) {}
  async isPublished() {
    if (this.failing) throw new Error('socket hang up');
    return false;
  }
  async publish(request: PublishRequest) {
    this.published.push(request);
    return { logUrl: 'file:///x/build.log', artifacts: [], alreadyPublished: false };
  }
  async publishLog() {
    return 'file:///x/build.log';
  }
}

const row: RepositoryRow = { rowNumber: 1, cloneUrl: 'https://git.example.test/acme/r1.git', branch: 'main', origin: 'git.example.test', path: 'acme/r1', buildCommand: undefined, artifacts: 'dist/*' };

function deps(git: GitClient, layout: PublishLayout, lastPublishedSha: () => Promise<string | undefined>, databaseRetry = QUICK_RETRY): PipelineDeps {
  return {
    git,
    layout,
    results: { lastPublishedSha },
    settings: { runId: 'run-1', attempt: 1, workdir, force: false, buildTimeoutMs: 30_000, buildEnv: { PATH: process.env.PATH ?? '/usr/bin' }, scrub: (text) => text, databaseRetry },
  };
}

/** The result store's seam: fails with `failures` in turn, then answers `published`; counts the queries. */
class FlakyStore {
  calls = 0;
  constructor(
    private readonly failures: ReadonlyArray<() => Error>,
    private readonly published: string | undefined = undefined,
  ) {}
  readonly lastPublishedSha = async (): Promise<string | undefined> => {
    const failure = this.failures[this.calls++];
    if (failure) throw failure();
    return this.published;
  };
}

/** A logger whose warnings land in `lines`. */
function capturingLog(lines: Array<Record<string, unknown>>) {
  return pino({ level: 'warn' }, new Writable({ write: (chunk: Buffer, _encoding, done) => done(void lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)) }));
}

const resolved = (): Resolved => ({ row, repository: { cloneUrl: row.cloneUrl, branch: row.branch, origin: row.origin, path: row.path }, url: row.cloneUrl, workspace: path.join(workdir, 'row-1') });

/** Resolves once `file` exists (bounded: 5 s). */
async function fileAppears(file: string): Promise<void> {
  for (let i = 0; i < 100 && !(await fs.access(file).then(() => true, () => false)); i++) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('checkChanged when the database or the target fails', () => {
  it('fails with the database error when the database fails at once', async () => {
    const d = deps(new FlagGit(path.join(workdir, 'flag')), new Target(), async () => Promise.reject(dbDown()));

    await expect(checkChanged(resolved(), d, new AbortController().signal, log, () => undefined)).rejects.toThrow('Connection terminated unexpectedly');
  });

  it('waits for the database, saying the repository is likely unchanged, when the target cannot answer', async () => {
    let answer = (_sha: string | undefined) => undefined as void;
    const lookup = new Promise<string | undefined>((resolve) => (answer = resolve));
    const d = deps(new FlagGit(path.join(workdir, 'flag')), new Target(true), () => lookup);
    const calls: string[] = [];
    // The database answers (the commit is new to it) only once the check gave up on the target.
    const likelyUnchanged = () => {
      calls.push('likelyUnchanged');
      answer(undefined);
    };

    const result = await checkChanged(resolved(), d, new AbortController().signal, log, likelyUnchanged);

    expect(calls).toEqual(['likelyUnchanged']);
    expect('outcome' in result || result.early !== undefined).toBe(false);
  });
});

describe('processRepository when the database fails its check', () => {
  it('records aborted with the database error code, not crashed, when the database fails at once', async () => {
    const target = new Target();
    const d = deps(new FlagGit(path.join(workdir, 'built')), target, async () => Promise.reject(dbDown()));

    const result = await processRepository(row, d, new AbortController().signal, log);

    expect([result.outcome, result.errorCode, result.errorMessage, target.published.length]).toEqual(['aborted', 'db_unreachable', 'PostgreSQL query failed: Connection terminated unexpectedly', 0]);
  });
});

describe('processRepository when the database fails after work began without it', () => {
  it('publishes nothing and records aborted with the database error code, not crashed', async () => {
    const flag = path.join(workdir, 'built');
    const target = new Target();
    // The database answers only once the build ran (as one still opening would), and then fails.
    const d = deps(new FlagGit(flag), target, async () => {
      await fileAppears(flag);
      throw dbDown();
    });

    const result = await processRepository(row, d, new AbortController().signal, log);

    expect([result.outcome, result.errorCode, result.errorMessage, target.published.length]).toEqual(['aborted', 'db_unreachable', 'PostgreSQL query failed: Connection terminated unexpectedly', 0]);
  });
});

describe('processRepository when the database cannot be reached for a moment during its check', () => {
  it('asks again, warning each time, and goes on once the database answers', async () => {
    const store = new FlakyStore([dbDown, dbDown], HEAD);
    const lines: Array<Record<string, unknown>> = [];
    const target = new Target();

    const result = await processRepository(row, deps(new FlagGit(path.join(workdir, 'built')), target, store.lastPublishedSha), new AbortController().signal, capturingLog(lines));

    expect([result.outcome, result.errorCode, store.calls, target.published.length]).toEqual(['unchanged', undefined, 3, 0]);
    expect(lines.filter((line) => line.msg === 'Database query failed, retrying').map((line) => [line.level, line.attempt, (line.err as { message?: string }).message])).toEqual([
      [40, 1, 'PostgreSQL query failed: Connection terminated unexpectedly'],
      [40, 2, 'PostgreSQL query failed: Connection terminated unexpectedly'],
    ]);
  });

  it('builds and publishes a changed repository once the database answers', async () => {
    const store = new FlakyStore([dbDown]);
    const target = new Target();

    const result = await processRepository(row, deps(new FlagGit(path.join(workdir, 'built')), target, store.lastPublishedSha), new AbortController().signal, log);

    expect([result.outcome, store.calls, target.published.length]).toEqual(['published', 2, 1]);
  });

  it('gives up after the last retry: aborted with db_unreachable, nothing published', async () => {
    const store = new FlakyStore(Array.from({ length: 10 }, () => dbDown));
    const target = new Target();

    const result = await processRepository(row, deps(new FlagGit(path.join(workdir, 'built')), target, store.lastPublishedSha), new AbortController().signal, log);

    expect([result.outcome, result.errorCode, store.calls, target.published.length]).toEqual(['aborted', 'db_unreachable', 5, 0]);
  });

  it('does not ask again when the database is full or refuses the password', async () => {
    const full = new FlakyStore([diskFull]);
    const refused = new FlakyStore([authRefused]);
    const lines: Array<Record<string, unknown>> = [];

    const fullResult = await processRepository(row, deps(new FlagGit(path.join(workdir, 'built')), new Target(), full.lastPublishedSha), new AbortController().signal, capturingLog(lines));
    const refusedResult = await processRepository(row, deps(new FlagGit(path.join(workdir, 'built')), new Target(), refused.lastPublishedSha), new AbortController().signal, capturingLog(lines));

    expect([fullResult.outcome, fullResult.errorCode, full.calls]).toEqual(['aborted', 'db_disk_full', 1]);
    expect(refused.calls).toBe(1);
    expect(lines.filter((line) => line.msg === 'Database query failed, retrying')).toEqual([]);
  });

  it('does not ask again when the processor ran out of file descriptors: fd_exhausted at once, so the hold-back is not delayed', async () => {
    const emfile = () => new InfrastructureError('db_unreachable', 'PostgreSQL query failed: connect EMFILE 127.0.0.1:5432', Object.assign(new Error('connect EMFILE 127.0.0.1:5432'), { code: 'EMFILE' }));
    const store = new FlakyStore([emfile, emfile, emfile, emfile, emfile]);
    const lines: Array<Record<string, unknown>> = [];

    const result = await processRepository(row, deps(new FlagGit(path.join(workdir, 'built')), new Target(), store.lastPublishedSha), new AbortController().signal, capturingLog(lines));

    expect([result.errorCode, store.calls]).toEqual(['fd_exhausted', 1]);
    expect(lines.filter((line) => line.msg === 'Database query failed, retrying')).toEqual([]);
  });

  it('stops waiting for the next attempt when a termination signal comes: aborted, not db_unreachable', async () => {
    const stop = new AbortController();
    const store = new FlakyStore([dbDown]);
    const answered = store.lastPublishedSha;
    // The signal comes once the first query failed, during an hour's wait before the next.
    const failingThenSignalled = async () => answered().finally(() => setImmediate(() => stop.abort()));
    const hourly: RetryPolicy = { ...QUICK_RETRY, minTimeout: 3_600_000, maxTimeout: 3_600_000 };

    const result = await processRepository(row, deps(new FlagGit(path.join(workdir, 'built')), new Target(), failingThenSignalled, hourly), stop.signal, log);

    expect([result.outcome, result.errorCode, store.calls]).toEqual(['aborted', 'aborted', 1]);
  });
});

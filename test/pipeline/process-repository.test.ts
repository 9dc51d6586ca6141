import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { processRepository, type PipelineDeps } from '../../src/pipeline/process-repository.js';
import type { GitClient } from '../../src/git/git-client.js';
import type { PublishLayout, PublishRequest } from '../../src/artifacts/layout.js';
import { StepError } from '../../src/errors.js';
import { createScrubber } from '../../src/logging/scrub.js';
import type { RepositoryRow } from '../../src/inventory/rows.js';

const SHA = 'a'.repeat(40);
const log = pino({ level: 'silent' });

/** A git client that "clones" by writing the given files. */
class FakeGit implements GitClient {
  headCalls = 0;
  cloneCalls = 0;
  constructor(
    private readonly files: Record<string, string>,
    private readonly failures: { head?: StepError[]; clone?: StepError[] } = {},
  ) {}

  async headSha(): Promise<string> {
    this.headCalls += 1;
    const failure = this.failures.head?.shift();
    if (failure) throw failure;
    return SHA;
  }

  async clone(_url: string, _branch: string, dir: string): Promise<string> {
    this.cloneCalls += 1;
    const failure = this.failures.clone?.shift();
    if (failure) throw failure;
    for (const [name, content] of Object.entries(this.files)) {
      await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await fs.writeFile(path.join(dir, name), content);
    }
    return SHA;
  }
}

class FakeLayout implements PublishLayout {
  published: PublishRequest[] = [];
  logs: string[] = [];
  constructor(
    private readonly existing = false,
    private readonly failure?: StepError,
  ) {}
  async isPublished() {
    return this.existing;
  }
  async publish(request: PublishRequest) {
    if (this.failure) throw this.failure;
    this.published.push(request);
    return { logUrl: 'file:///x/build.log', artifacts: request.artifacts.map((a) => ({ name: a.name, size: a.size, sha256: 'f' })), alreadyPublished: false };
  }
  async publishLog(_r: unknown, _s: string, logFile: string) {
    this.logs.push(await fs.readFile(logFile, 'utf8'));
    return 'file:///x/build.log';
  }
}

let workdir: string;
beforeEach(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), 'mass-ingest-pipe-'));
});
afterEach(async () => {
  await fs.rm(workdir, { recursive: true, force: true });
});

const row: RepositoryRow = { rowNumber: 7, cloneUrl: 'https://user:hunter22@git.example.test/acme/widget.git', branch: 'main', origin: 'git.example.test', path: 'acme/widget', buildCommand: undefined, artifacts: undefined };

function deps(git: GitClient, layout: PublishLayout, overrides: Partial<PipelineDeps['settings']> = {}, lastPublished?: string): PipelineDeps {
  return {
    git,
    layout,
    results: { lastPublishedSha: async () => lastPublished },
    settings: {
      runId: 'run-1',
      attempt: 1,
      workdir,
      force: false,
      buildTimeoutMs: 30_000,
      buildEnv: { PATH: process.env.PATH ?? '/usr/bin' },
      scrub: createScrubber(['hunter22']),
      gitRetry: { retries: 2, minTimeout: 1, maxTimeout: 1, factor: 1, randomize: false },
      ...overrides,
    },
  };
}

const run = (d: PipelineDeps, r: RepositoryRow = row) => processRepository(r, d, new AbortController().signal, log);

/** A database still opening: answers `sha` once `flag` exists (or after 5 s); `byFlag` tells which. */
function slowDatabase(sha: string | undefined, flag: string) {
  const state = { byFlag: false };
  const lastPublishedSha = async () => {
    for (let i = 0; i < 100; i++) {
      if (await fs.access(flag).then(() => true, () => false)) {
        state.byFlag = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return sha;
  };
  return { state, lastPublishedSha };
}

describe('processRepository and a publish target that does not answer', () => {
  it('records publish_failed without cloning or building while the target is skipped', async () => {
    const git = new FakeGit({ Makefile: 'all:\n\tmkdir -p dist && echo hi > dist/hi.txt\n' });
    const down = new StepError('publish_target_down', 'Not cloned or built: the publish target http://repo.test gave no answer to 4 attempts in a row');
    const skipped = Object.assign(new FakeLayout(), { down: () => down });

    const result = await run(deps(git, skipped));

    expect(result).toMatchObject({ outcome: 'publish_failed', errorCode: 'publish_target_down', errorMessage: down.message });
    expect(git.cloneCalls).toBe(0);
    expect(skipped.published).toEqual([]);
  });
});

describe('processRepository while the database opens', () => {
  it('starts the work of a commit the target lacks before the database answers, and publishes once it confirms the change', async () => {
    const flag = path.join(workdir, 'built');
    const database = slowDatabase('b'.repeat(40), flag);
    const layout = new FakeLayout();

    const result = await run({ ...deps(new FakeGit({ Makefile: `all:\n\ttouch ${flag}\n\tmkdir -p dist && echo hi > dist/hi.txt\n` }), layout), results: database });

    expect(result.outcome).toBe('published');
    expect(database.state.byFlag).toBe(true);
    expect(layout.published).toHaveLength(1);
  });

  it('drops what it built, published nothing and records unchanged when the database then says unchanged', async () => {
    const flag = path.join(workdir, 'built');
    const database = slowDatabase(SHA, flag);
    const layout = new FakeLayout();
    const git = new FakeGit({ Makefile: `all:\n\ttouch ${flag}\n\texit 3\n` });

    const result = await run({ ...deps(git, layout), results: database });

    expect(result).toMatchObject({ outcome: 'unchanged', commitSha: SHA });
    expect(git.cloneCalls).toBe(1);
    expect(layout.published).toEqual([]);
    expect(layout.logs).toEqual([]);
  });

  it('records unchanged, not clone_failed, when a clone begun early fails and the database then says unchanged', async () => {
    const git = new FakeGit({}, { clone: [new StepError('git_not_found', 'Repository not found', { retryable: false })] });
    const slow = { lastPublishedSha: () => new Promise<string | undefined>((resolve) => setTimeout(() => resolve(SHA), 300)) };

    const result = await run({ ...deps(git, new FakeLayout()), results: slow });

    expect(result).toMatchObject({ outcome: 'unchanged', commitSha: SHA });
    expect(git.cloneCalls).toBe(1);
  });

  it('takes the database answer when it comes before a publish target that does not answer', async () => {
    const git = new FakeGit({ Makefile: 'all:\n\tfalse\n' });
    const silent = Object.assign(new FakeLayout(), { isPublished: () => new Promise<boolean>(() => undefined) });
    const slow = { lastPublishedSha: () => new Promise<string | undefined>((resolve) => setTimeout(() => resolve(SHA), 300)) };

    const result = await run({ ...deps(git, silent), results: slow });

    expect(result).toMatchObject({ outcome: 'unchanged', commitSha: SHA });
    expect(git.cloneCalls).toBe(0);
  });

  it('waits for the database, without cloning, when the target already has the commit', async () => {
    const database = slowDatabase(SHA, path.join(workdir, 'never'));
    const git = new FakeGit({ Makefile: 'all:\n\tfalse\n' });
    const slow = { ...database, lastPublishedSha: () => new Promise<string | undefined>((resolve) => setTimeout(() => resolve(SHA), 300)) };

    const result = await run({ ...deps(git, new FakeLayout(true)), results: slow });

    expect(result.outcome).toBe('unchanged');
    expect(git.cloneCalls).toBe(0);
  });
});

describe('processRepository', () => {
  it('publishes what a Makefile build produces', async () => {
    const layout = new FakeLayout();

    const result = await run(deps(new FakeGit({ Makefile: 'all:\n\tmkdir -p dist && echo hi > dist/hi.txt\n' }), layout));

    expect(result).toMatchObject({ outcome: 'published', builder: 'make', commitSha: SHA, logUrl: 'file:///x/build.log', cloneUrl: 'https://git.example.test/acme/widget.git' });
    expect(layout.published[0]?.artifacts.map((a) => a.name)).toEqual(['hi.txt']);
  });

  it('is unchanged without cloning when the head equals the last published sha', async () => {
    const git = new FakeGit({});

    const result = await run(deps(git, new FakeLayout(), {}, SHA));

    expect(result.outcome).toBe('unchanged');
    expect(git.cloneCalls).toBe(0);
  });

  it('rebuilds an unchanged repository with --force', async () => {
    const result = await run(deps(new FakeGit({ Makefile: 'all:\n\tmkdir -p out && touch out/a\n' }), new FakeLayout(), { force: true }, SHA));

    expect(result.outcome).toBe('published');
  });

  it('skips the build when the target already holds this commit', async () => {
    const layout = new FakeLayout(true);

    const result = await run(deps(new FakeGit({ Makefile: 'all:\n\tfalse\n' }), layout));

    expect(result.outcome).toBe('published');
    expect(layout.published).toEqual([]);
  });

  it('is no_build_tool when nothing is detected', async () => {
    expect((await run(deps(new FakeGit({ 'README.md': '#' }), new FakeLayout()))).outcome).toBe('no_build_tool');
  });

  it('records build_failed with the last lines of output and publishes the log', async () => {
    const layout = new FakeLayout();

    const result = await run(deps(new FakeGit({ Makefile: 'all:\n\t@echo step one\n\t@echo "it broke: hunter22" >&2\n\t@exit 3\n' }), layout));

    expect(result).toMatchObject({ outcome: 'build_failed', errorCode: 'build_exit_2', logUrl: 'file:///x/build.log' });
    expect(result.errorMessage).toContain('it broke: ***');
    expect(layout.logs[0]).toContain('it broke: ***');
    expect(layout.logs[0]).not.toContain('hunter22');
  });

  it('keeps the outcome of a failed build without a log_url, and warns, when its build.log cannot be published', async () => {
    const layout = new FakeLayout();
    layout.publishLog = async () => {
      throw new StepError('publish_unreachable', 'PUT build.log: connect ECONNREFUSED 127.0.0.1:9');
    };
    const lines: Array<Record<string, unknown>> = [];
    const capture = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });

    const result = await processRepository(row, deps(new FakeGit({ Makefile: 'all:\n\t@exit 3\n' }), layout), new AbortController().signal, capture);

    expect(result).toMatchObject({ outcome: 'build_failed', errorCode: 'build_exit_2', commitSha: SHA });
    expect(result.logUrl).toBeUndefined();
    expect(lines.find((line) => line.msg === 'Build log not published')).toMatchObject({ err: { code: 'publish_unreachable' } });
  });

  it('records what it published and warns when another processor published the commit at once from other bytes', async () => {
    const layout = new FakeLayout();
    const publish = layout.publish.bind(layout);
    layout.publish = async (request) => ({ ...(await publish(request)), replacedConcurrent: true });
    const lines: Array<Record<string, unknown>> = [];
    const capture = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });

    const result = await processRepository(row, deps(new FakeGit({ Makefile: 'all:\n\tmkdir -p dist && echo hi > dist/hi.txt\n' }), layout), new AbortController().signal, capture);

    expect(result).toMatchObject({ outcome: 'published', artifacts: [{ name: 'hi.txt', size: 3, sha256: 'f' }] });
    expect(lines.find((line) => String(line.msg).startsWith('Commit published at the same time by another processor'))).toMatchObject({ level: 40, commitSha: SHA, logUrl: 'file:///x/build.log' });
  });

  it('quotes the first error line of a failed build in its Repository finished line, as the report excerpt starts', async () => {
    const makefile = 'all:\n\t@echo "src/x.c:3: error: expected ; before }"\n\t@echo "compilation terminated."\n\t@exit 1\n';
    const lines: Array<Record<string, unknown>> = [];
    const capture = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });

    await processRepository(row, deps(new FakeGit({ Makefile: makefile }), new FakeLayout()), new AbortController().signal, capture);

    expect(lines.find((line) => line.msg === 'Repository finished')).toMatchObject({ outcome: 'build_failed', error: 'src/x.c:3: error: expected ; before }' });
  });

  it('is timed_out when the build outlives BUILD_TIMEOUT, and the whole tree is killed', async () => {
    const marker = path.join(workdir, 'grandchild-survived');
    const makefile = `all:\n\t(sleep 3; touch ${marker}) &\n\tsleep 30\n`;

    const result = await run(deps(new FakeGit({ Makefile: makefile }), new FakeLayout(), { buildTimeoutMs: 500 }));
    await new Promise((resolve) => setTimeout(resolve, 3500));

    expect(result).toMatchObject({ outcome: 'timed_out', errorCode: 'build_timeout' });
    await expect(fs.access(marker)).rejects.toThrow();
  });

  it('is build_failed with no_artifacts when the globs match nothing', async () => {
    const result = await run(deps(new FakeGit({ Makefile: 'all:\n\ttrue\n' }), new FakeLayout()));

    expect(result).toMatchObject({ outcome: 'build_failed', errorCode: 'no_artifacts' });
  });

  it('is build_failed with artifact_name_clash when two artifacts share a base name', async () => {
    const result = await run(deps(new FakeGit({ Makefile: 'all:\n\tmkdir -p dist out && touch dist/a.jar out/a.jar\n' }), new FakeLayout()));

    expect(result).toMatchObject({ outcome: 'build_failed', errorCode: 'artifact_name_clash' });
  });

  it('lets the row choose the command and the artifacts', async () => {
    const layout = new FakeLayout();

    const result = await run(deps(new FakeGit({ 'x.txt': 'x' }), layout), { ...row, buildCommand: 'mkdir -p pkg && cp x.txt pkg/y.bin', artifacts: 'pkg/*.bin' });

    expect(result).toMatchObject({ outcome: 'published', builder: 'custom' });
    expect(layout.published[0]?.artifacts.map((a) => a.name)).toEqual(['y.bin']);
  });

  it('retries a retryable clone failure and succeeds', async () => {
    const git = new FakeGit({ Makefile: 'all:\n\tmkdir -p bin && touch bin/tool\n' }, { clone: [new StepError('git_network', 'reset', { retryable: true })] });

    const result = await run(deps(git, new FakeLayout()));

    expect(result.outcome).toBe('published');
    expect(git.cloneCalls).toBe(2);
  });

  it('is clone_failed after one attempt for a permanent error', async () => {
    const git = new FakeGit({}, { head: [new StepError('git_auth_failed', 'Authentication failed for https://u:hunter22@h/')] });

    const result = await run(deps(git, new FakeLayout()));

    expect(result).toMatchObject({ outcome: 'clone_failed', errorCode: 'git_auth_failed' });
    expect(result.errorMessage).not.toContain('hunter22');
    expect(git.headCalls).toBe(1);
  });

  it('is publish_failed with the store error code', async () => {
    const layout = new FakeLayout(false, new StepError('publish_auth', 'PUT https://repo.test/x answered 401'));

    const result = await run(deps(new FakeGit({ Makefile: 'all:\n\tmkdir -p out && touch out/a\n' }), layout));

    expect(result).toMatchObject({ outcome: 'publish_failed', errorCode: 'publish_auth', commitSha: SHA });
  });

  it('is crashed, not thrown, when something unexpected breaks', async () => {
    const git: GitClient = { headSha: async () => SHA, clone: async () => { throw new TypeError('boom'); } };

    const result = await run(deps(git, new FakeLayout()));

    expect(result).toMatchObject({ outcome: 'crashed', errorCode: 'crashed', errorMessage: 'boom' });
  });

  it('is clone_failed with workdir_full, saying where to make room, when the work directory has no space left', async () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, mkdir'), { code: 'ENOSPC', errno: -28, syscall: 'mkdir' });
    const git: GitClient = { headSha: async () => SHA, clone: async () => Promise.reject(full) };

    const result = await run(deps(git, new FakeLayout()));

    expect(result).toMatchObject({ outcome: 'clone_failed', errorCode: 'workdir_full' });
    expect(result.errorMessage).toBe(`The work directory ${workdir} is full (ENOSPC: no space left on device, mkdir): free space there or give MASS_INGEST_WORKDIR (--workdir) more room`);
  });

  it('is aborted when the stop signal fires during the build', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);

    const result = await processRepository(row, deps(new FakeGit({ Makefile: 'all:\n\tsleep 30\n' }), new FakeLayout()), controller.signal, log);

    expect(result).toMatchObject({ outcome: 'aborted', commitSha: SHA });
  });

  it('logs no Repository finished line for a row the stop signal kept from starting', async () => {
    const controller = new AbortController();
    controller.abort();
    const lines: Array<Record<string, unknown>> = [];
    const capture = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });

    const result = await processRepository(row, deps(new FakeGit({ Makefile: 'all:\n\ttrue\n' }), new FakeLayout()), controller.signal, capture);

    expect(result).toMatchObject({ outcome: 'aborted', errorCode: 'not_started' });
    expect(lines.filter((line) => line.msg === 'Repository finished')).toEqual([]);
  });

  // The work slots bound the workspaces on disk (README: --clone-ahead 0 keeps at most N).
  it('deletes the workspace before it gives its work slot to the next repository', async () => {
    const workspace = path.join(workdir, 'run-1', `row-${row.rowNumber}`);
    let leftInSlot: boolean | undefined;
    const work = async <T>(task: () => Promise<T>) => {
      const result = await task();
      leftInSlot = await fs.access(workspace).then(() => true, () => false);
      return result;
    };
    const d = { ...deps(new FakeGit({ Makefile: 'all:\n\tmkdir -p out && touch out/a\n' }), new FakeLayout()), slots: { check: <T>(task: () => Promise<T>) => task(), work } };

    const result = await run(d);

    expect(result.outcome).toBe('published');
    expect(leftInSlot).toBe(false);
  });

  it('deletes the workspace afterwards', async () => {
    await run(deps(new FakeGit({ Makefile: 'all:\n\tmkdir -p out && touch out/a\n' }), new FakeLayout()));

    expect(await fs.readdir(path.join(workdir, 'run-1'))).toEqual([]);
  });
});

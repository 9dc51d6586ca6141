import { writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { runPartition, type PartitionDeps } from '../../src/pipeline/run-partition.js';
import type { GitClient } from '../../src/git/git-client.js';
import type { PublishRequest } from '../../src/artifacts/layout.js';
import type { RepositoryOutcome } from '../../src/results/outcome.js';
import type { InventoryEntry } from '../../src/inventory/rows.js';
import { MemoryLayout, rows } from './pipeline-fakes.js';

const OLD = 'a'.repeat(40);
const NEW = 'b'.repeat(40);

let workdir: string;
beforeEach(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), 'mass-ingest-partition-'));
});
afterEach(async () => {
  await fs.rm(workdir, { recursive: true, force: true });
});

/** Row 1 changed (its build waits for a flag file); the other rows are unchanged. */
class FlagGit implements GitClient {
  constructor(private readonly flag: string) {}

  async headSha(url: string): Promise<string> {
    if (url.endsWith('/r1.git')) return NEW;
    // Checking an unchanged repository lets row 1's build finish.
    await fs.writeFile(this.flag, 'checked');
    return OLD;
  }

  async clone(_url: string, _branch: string, dir: string): Promise<string> {
    await fs.mkdir(dir, { recursive: true });
    const waitForFlag = `for i in $$(seq 200); do test -f ${this.flag} && break; sleep 0.05; done; test -f ${this.flag}`;
    await fs.writeFile(path.join(dir, 'Makefile'), `all:\n\t${waitForFlag}\n\tmkdir -p dist && echo ok > dist/out.txt\n`);
    return NEW;
  }
}

/** Every row changed; row 1's check is the slowest; each build appends its row number to `order`. */
class OrderGit implements GitClient {
  constructor(private readonly order: string) {}

  async headSha(url: string): Promise<string> {
    if (url.endsWith('/r1.git')) await new Promise((resolve) => setTimeout(resolve, 300));
    return NEW;
  }

  async clone(url: string, _branch: string, dir: string): Promise<string> {
    await fs.mkdir(dir, { recursive: true });
    const row = /r(\d+)\.git$/.exec(url)?.[1];
    await fs.writeFile(path.join(dir, 'Makefile'), `all:\n\techo ${row} >> ${this.order}\n\tmkdir -p dist && echo ok > dist/out.txt\n`);
    return NEW;
  }
}

/** Every row changed; row 1's build waits for a flag that cloning row 2 writes. */
class CloneFlagGit implements GitClient {
  constructor(private readonly flag: string) {}

  async headSha(): Promise<string> {
    return NEW;
  }

  async clone(url: string, _branch: string, dir: string): Promise<string> {
    await fs.mkdir(dir, { recursive: true });
    const waitForFlag = `for i in $$(seq 100); do test -f ${this.flag} && break; sleep 0.05; done; test -f ${this.flag}`;
    if (url.endsWith('/r2.git')) await fs.writeFile(this.flag, 'cloned');
    await fs.writeFile(path.join(dir, 'Makefile'), `all:\n\t${url.endsWith('/r1.git') ? waitForFlag : 'true'}\n\tmkdir -p dist && echo ok > dist/out.txt\n`);
    return NEW;
  }
}

/**
 * --concurrency 1 (no clone ahead unless asked) over `git`; every repository was last published
 * at `lastPublished`; outcomes land in `recorded`.
 */
function partitionDeps(git: GitClient, lastPublished: string | undefined, recorded: RepositoryOutcome[], settings: { force?: boolean; cloneAhead?: number } = {}): PartitionDeps {
  return {
    git,
    layout: new MemoryLayout(),
    results: { lastPublishedSha: async () => lastPublished, recordOutcomes: async (outcomes) => void recorded.push(...outcomes) },
    concurrency: 1,
    cloneAhead: settings.cloneAhead ?? 0,
    log: pino({ level: 'silent' }),
    settings: { runId: 'run-1', attempt: 1, workdir, force: settings.force ?? false, buildTimeoutMs: 30_000, buildEnv: { PATH: process.env.PATH ?? '/usr/bin' }, scrub: (text) => text },
  };
}

/** Rows 1–3 unchanged (the target has their commit), row 4 changed: its build writes a flag. */
class OpeningGit implements GitClient {
  constructor(private readonly flag: string) {}

  async headSha(url: string): Promise<string> {
    return url.endsWith('/r4.git') ? NEW : OLD;
  }

  async clone(_url: string, _branch: string, dir: string): Promise<string> {
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'Makefile'), `all:\n\ttouch ${this.flag}\n\tmkdir -p dist && echo ok > dist/out.txt\n`);
    return NEW;
  }
}

describe('runPartition while the database opens', () => {
  it('builds a changed repository before the database answers, while the rows before it wait for it to confirm they are unchanged', async () => {
    const flag = path.join(workdir, 'built');
    const recorded: RepositoryOutcome[] = [];
    let answeredByFlag = false;
    const deps: PartitionDeps = {
      ...partitionDeps(new OpeningGit(flag), OLD, recorded),
      layout: Object.assign(new MemoryLayout(), { isPublished: async (_repository: unknown, sha: string) => sha === OLD }),
      results: {
        // Answers once row 4 has built (or after 5 s): only if that build did not wait for it.
        lastPublishedSha: async () => {
          for (let i = 0; i < 100 && !answeredByFlag; i++) {
            answeredByFlag = await fs.access(flag).then(() => true, () => false);
            if (!answeredByFlag) await new Promise((resolve) => setTimeout(resolve, 50));
          }
          return OLD;
        },
        recordOutcomes: async (outcomes) => void recorded.push(...outcomes),
      },
    };

    const summary = await runPartition(rows(4), deps, new AbortController().signal);

    expect(summary.counts).toEqual({ unchanged: 3, published: 1 });
    expect(answeredByFlag).toBe(true);
  });
});

describe('runPartition', () => {
  it('builds changed repositories in inventory order with --concurrency 1, whatever order their checks end in', async () => {
    const order = path.join(workdir, 'order');
    const deps = partitionDeps(new OrderGit(order), OLD, []);

    const summary = await runPartition(rows(3), deps, new AbortController().signal);

    expect(summary.counts).toEqual({ published: 3 });
    expect((await fs.readFile(order, 'utf8')).trim().split('\n')).toEqual(['1', '2', '3']);
  });

  it('checks unchanged repositories while another one builds, even with --concurrency 1', async () => {
    const recorded: RepositoryOutcome[] = [];
    const deps = partitionDeps(new FlagGit(path.join(workdir, 'flag')), OLD, recorded);

    const summary = await runPartition(rows(4), deps, new AbortController().signal);

    expect(summary.counts).toEqual({ published: 1, unchanged: 3 });
    expect(recorded.map((o) => [o.rowNumber, o.outcome]).sort()).toEqual([[1, 'published'], [2, 'unchanged'], [3, 'unchanged'], [4, 'unchanged']]);
  });

  it('clones the next repository while one builds with --concurrency 1 --clone-ahead 1', async () => {
    const recorded: RepositoryOutcome[] = [];
    const deps = partitionDeps(new CloneFlagGit(path.join(workdir, 'flag')), undefined, recorded, { force: true, cloneAhead: 1 });

    const summary = await runPartition(rows(2), deps, new AbortController().signal);

    expect(summary.counts).toEqual({ published: 2 });
    expect(recorded.map((o) => o.durationMs).every((ms) => ms >= 0)).toBe(true);
  });

  // Every row changed; the first build waits for a flag nobody writes, until the stop. Cloned
  // ahead, row 2 has started (aborted) but not built; the rows never begun are not_started.
  it.each([
    [0, 'not_started'],
    [1, 'aborted'],
  ])('records the rows stopped before their build as aborted with --clone-ahead %i (row 2: %s)', async (cloneAhead, secondRow) => {
    const recorded: RepositoryOutcome[] = [];
    const controller = new AbortController();
    const deps = partitionDeps(new FlagGit(path.join(workdir, 'never')), undefined, recorded, { force: true, cloneAhead });
    setTimeout(() => controller.abort(), 500);

    const summary = await runPartition(rows(3), deps, controller.signal);

    expect(summary.aborted).toBe(true);
    expect(recorded.map((o) => [o.rowNumber, o.outcome, o.errorCode]).sort()).toEqual([
      [1, 'aborted', 'aborted'],
      [2, 'aborted', secondRow],
      [3, 'aborted', 'not_started'],
    ]);
  });
});

describe('runPartition when the inventory breaks part way', () => {
  it('finishes and records the rows read before the error, then fails with the inventory error', async () => {
    const recorded: RepositoryOutcome[] = [];
    const flag = path.join(workdir, 'flag');
    await fs.writeFile(flag, 'ready');
    const deps = partitionDeps(new FlagGit(flag), undefined, recorded, { force: true });
    const malformed = new Error('Inventory repos.csv, row 5: quote not closed');
    async function* breaking(): AsyncGenerator<InventoryEntry> {
      yield* rows(3);
      yield { kind: 'invalid', row: { rowNumber: 4, origin: 'git.example.test', path: 'acme/bad', branch: 'main', cloneUrl: undefined, errorCode: 'missing_clone_url', errorMessage: 'cloneUrl is empty' } };
      throw malformed;
    }
    const entries = breaking();

    const run = runPartition(entries, deps, new AbortController().signal);

    await expect(run).rejects.toBe(malformed);
    expect(recorded.map((o) => [o.rowNumber, o.outcome]).sort()).toEqual([
      [1, 'published'],
      [2, 'published'],
      [3, 'published'],
      [4, 'invalid'],
    ]);
  });
});

/** Every row changed, and builds `dist/out.txt`. */
class BuildingGit implements GitClient {
  async headSha(): Promise<string> {
    return NEW;
  }

  async clone(_url: string, _branch: string, dir: string): Promise<string> {
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'Makefile'), 'all:\n\tmkdir -p dist && echo ok > dist/out.txt\n');
    return NEW;
  }
}

/** The target has every commit but acme/r2's: what the other builds made is dropped. */
class KeepingLayout extends MemoryLayout {
  override async publish(request: PublishRequest) {
    const kept = request.repository.path !== 'acme/r2';
    return { ...(await super.publish(request)), logUrl: `file:///target/${request.repository.path}/${request.commitSha}/build.log`, alreadyPublished: kept };
  }
}

function capturedLog(): { lines: Array<Record<string, unknown>>; log: pino.Logger } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, log: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }) };
}

const KEPT_WARNING = 'Commit already published at the target: the rebuilt artifacts were not uploaded, the target keeps its own (each such repository\'s "Repository finished" line says alreadyPublished; to publish a commit again, remove its directory at the target first)';

describe('runPartition --force over commits the target already has', () => {
  it('says so in each repository\'s final line at info, and warns once for the partition with the count and the first five', async () => {
    const { lines, log } = capturedLog();
    const deps: PartitionDeps = { ...partitionDeps(new BuildingGit(), OLD, [], { force: true }), layout: new KeepingLayout(), log };

    const summary = await runPartition(rows(7), deps, new AbortController().signal);

    expect(summary.counts).toEqual({ published: 7 });
    const finished = lines.filter((line) => line.msg === 'Repository finished');
    expect(finished.map((line) => [line.row, line.level, line.alreadyPublished]).sort()).toEqual([
      [1, 30, true],
      [2, 30, undefined],
      [3, 30, true],
      [4, 30, true],
      [5, 30, true],
      [6, 30, true],
      [7, 30, true],
    ]);
    const warnings = lines.filter((line) => line.level === 40);
    expect(warnings).toEqual([expect.objectContaining({ msg: KEPT_WARNING, repositories: 6 })]);
    const examples = warnings[0]?.examples as Array<Record<string, unknown>>;
    expect(examples).toHaveLength(5);
    expect(examples).toContainEqual({ row: 1, origin: 'git.example.test', path: 'acme/r1', commitSha: NEW, logUrl: `file:///target/acme/r1/${NEW}/build.log` });
    expect(examples.map((example) => example.row)).not.toContain(2);
  });

  it('warns for the rows done when the inventory breaks part way', async () => {
    const { lines, log } = capturedLog();
    const deps: PartitionDeps = { ...partitionDeps(new BuildingGit(), OLD, [], { force: true }), layout: new KeepingLayout(), log };
    const malformed = new Error('Inventory repos.csv, row 2: quote not closed');
    async function* breaking(): AsyncGenerator<InventoryEntry> {
      yield* rows(1);
      throw malformed;
    }

    await expect(runPartition(breaking(), deps, new AbortController().signal)).rejects.toBe(malformed);

    expect(lines.filter((line) => line.msg === KEPT_WARNING)).toEqual([expect.objectContaining({ level: 40, repositories: 1, examples: [expect.objectContaining({ row: 1 })] })]);
  });
});

/** Row 1's git cannot start for want of descriptors; the others are unchanged, and checked once row 1 is recorded. */
class DescriptorsGit implements GitClient {
  recordRow1 = () => undefined as void;
  readonly row1Recorded = new Promise<void>((resolve) => (this.recordRow1 = resolve));

  async headSha(url: string): Promise<string> {
    if (url.endsWith('/r1.git')) throw Object.assign(new Error('spawn git EMFILE'), { code: 'EMFILE', syscall: 'spawn git' });
    await this.row1Recorded;
    return OLD;
  }

  async clone(): Promise<string> {
    throw new Error('not cloned: every other row is unchanged');
  }
}

describe('runPartition when the processor runs out of file descriptors', () => {
  it('records the repository as fd_exhausted, finishes the rows begun and starts no more', async () => {
    const recorded: RepositoryOutcome[] = [];
    const git = new DescriptorsGit();
    const deps: PartitionDeps = { ...partitionDeps(git, OLD, recorded), onOutcome: (outcome) => outcome.rowNumber === 1 && git.recordRow1() };
    // Rows 1 and 2 are begun; rows 3 and 4 are read once row 1 is recorded.
    async function* entries(): AsyncGenerator<InventoryEntry> {
      const all = rows(4);
      for (let index = 0; index < 4; index++) {
        if (index === 2) await git.row1Recorded;
        const next = await all.next();
        if (!next.done) yield next.value;
      }
    }

    const summary = await runPartition(entries(), deps, new AbortController().signal);

    expect(summary.fdExhausted).toBe(1);
    expect(recorded.sort((a, b) => a.rowNumber - b.rowNumber).map((o) => [o.rowNumber, o.outcome, o.errorCode ?? null])).toEqual([
      [1, 'clone_failed', 'fd_exhausted'],
      [2, 'unchanged', null],
      [3, 'aborted', 'not_started'],
      [4, 'aborted', 'not_started'],
    ]);
    expect(recorded[0]?.errorMessage).toBe("The resolve step failed: the processor ran out of file descriptors (spawn git EMFILE): raise the limit on open files (ulimit -n; nofile in a container's ulimits) or lower --concurrency and --clone-ahead");
    expect(recorded[3]?.errorMessage).toBe("Not started: the processor ran out of file descriptors; raise the limit on open files (ulimit -n; nofile in a container's ulimits) or lower --concurrency and --clone-ahead");
  });
});

/** Row 1 builds until row 2 is recorded; row 2's git cannot start once row 3 has begun; row 3 waits for row 1's slot. */
class HoldingGit implements GitClient {
  private row3Begun = () => undefined as void;
  private readonly row3Checked = new Promise<void>((resolve) => (this.row3Begun = resolve));

  constructor(private readonly flag: string) {}

  async headSha(url: string): Promise<string> {
    if (url.endsWith('/r3.git')) this.row3Begun();
    if (!url.endsWith('/r2.git')) return NEW;
    await this.row3Checked;
    throw Object.assign(new Error('spawn git EMFILE'), { code: 'EMFILE', syscall: 'spawn git' });
  }

  async clone(url: string, _branch: string, dir: string): Promise<string> {
    await fs.mkdir(dir, { recursive: true });
    const waitForFlag = `for i in $$(seq 200); do test -f ${this.flag} && break; sleep 0.05; done; test -f ${this.flag}`;
    await fs.writeFile(path.join(dir, 'Makefile'), `all:\n\t${url.endsWith('/r1.git') ? waitForFlag : 'true'}\n\tmkdir -p dist && echo ok > dist/out.txt\n`);
    return NEW;
  }
}

describe('runPartition when the processor runs out of file descriptors, with rows waiting', () => {
  it('does not start a row that was waiting for its turn, and lets the build under way finish', async () => {
    const recorded: RepositoryOutcome[] = [];
    const flag = path.join(workdir, 'flag');
    const deps: PartitionDeps = { ...partitionDeps(new HoldingGit(flag), undefined, recorded), onOutcome: (outcome) => void (outcome.rowNumber === 2 && writeFileSync(flag, 'recorded')) };

    const summary = await runPartition(rows(3), deps, new AbortController().signal);

    expect([summary.fdExhausted, summary.aborted]).toEqual([1, false]);
    expect(recorded.sort((a, b) => a.rowNumber - b.rowNumber).map((o) => [o.rowNumber, o.outcome, o.errorCode ?? null])).toEqual([
      [1, 'published', null],
      [2, 'clone_failed', 'fd_exhausted'],
      [3, 'aborted', 'not_started'],
    ]);
  });
});

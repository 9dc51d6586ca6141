import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AbortedError, InfrastructureError, StepError } from '../../src/errors.js';
import type { GitClient } from '../../src/git/git-client.js';
import { runPartition, type PartitionDeps } from '../../src/pipeline/run-partition.js';
import type { RepositoryOutcome } from '../../src/results/outcome.js';
import { MemoryLayout, rows } from './pipeline-fakes.js';

// The slots and turns runPartition hands each repository (src/pipeline/slots.ts), when the
// repository holding one fails: with --concurrency 1 a turn or slot not given back stops the run.

const NEW = 'b'.repeat(40);

let workdir: string;
beforeEach(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), 'mass-ingest-slots-'));
});
afterEach(async () => {
  await fs.rm(workdir, { recursive: true, force: true });
});

type Behaviour = 'ok' | 'head_fails' | 'head_crashes' | 'clone_fails' | 'clone_crashes' | 'waits_for_signal';

/** Row n behaves as `behaviours[n - 1]`; every repository changed, and its build makes dist/out.txt. */
class ScriptedGit implements GitClient {
  constructor(private readonly behaviours: readonly Behaviour[]) {}

  async headSha(url: string, _branch: string, signal: AbortSignal): Promise<string> {
    const behaviour = this.of(url);
    if (behaviour === 'head_fails') throw new StepError('git_not_found', 'Repository not found');
    if (behaviour === 'head_crashes') throw new TypeError('Cannot read properties of undefined');
    if (behaviour === 'waits_for_signal') {
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      throw new AbortedError();
    }
    return NEW;
  }

  async clone(url: string, _branch: string, dir: string): Promise<string> {
    const behaviour = this.of(url);
    if (behaviour === 'clone_fails') throw new StepError('git_not_found', 'Repository not found');
    if (behaviour === 'clone_crashes') throw new TypeError('Cannot read properties of undefined');
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'Makefile'), 'all:\n\tmkdir -p dist && echo ok > dist/out.txt\n');
    return NEW;
  }

  private of(url: string): Behaviour {
    return this.behaviours[Number(/r(\d+)\.git$/.exec(url)?.[1]) - 1] ?? 'ok';
  }
}

function partitionDeps(git: GitClient, recorded: RepositoryOutcome[], lastPublishedSha: PartitionDeps['results']['lastPublishedSha'] = async () => undefined): PartitionDeps {
  return {
    git,
    layout: new MemoryLayout(),
    results: { lastPublishedSha, recordOutcomes: async (outcomes) => void recorded.push(...outcomes) },
    concurrency: 1,
    cloneAhead: 0,
    log: pino({ level: 'silent' }),
    settings: {
      runId: 'run-1', attempt: 1, workdir, force: false, buildTimeoutMs: 30_000, buildEnv: { PATH: process.env.PATH ?? '/usr/bin' }, scrub: (text) => text,
      gitRetry: { retries: 0, minTimeout: 1, maxTimeout: 1, factor: 1, randomize: false },
      databaseRetry: { retries: 0, minTimeout: 1, maxTimeout: 1, factor: 1, randomize: false },
    },
  };
}

const outcomesOf = (recorded: readonly RepositoryOutcome[]) => recorded.map((o) => [o.rowNumber, o.outcome, o.errorCode]).sort((a, b) => Number(a[0]) - Number(b[0]));

describe('runPartition when a repository fails while it holds its turn or a slot', () => {
  it('lets the next repositories work after a check fails or crashes, with --concurrency 1', async () => {
    const recorded: RepositoryOutcome[] = [];
    const deps = partitionDeps(new ScriptedGit(['head_fails', 'head_crashes', 'ok']), recorded);

    const summary = await runPartition(rows(3), deps, new AbortController().signal);

    expect(outcomesOf(recorded)).toEqual([
      [1, 'clone_failed', 'git_not_found'],
      [2, 'crashed', 'crashed'],
      [3, 'published', undefined],
    ]);
    expect(summary.total).toBe(3);
  });

  it('lets the next repositories work after a clone fails or crashes in the work slot, with --concurrency 1', async () => {
    const recorded: RepositoryOutcome[] = [];
    const deps = partitionDeps(new ScriptedGit(['clone_fails', 'clone_crashes', 'ok']), recorded);

    await runPartition(rows(3), deps, new AbortController().signal);

    expect(outcomesOf(recorded)).toEqual([
      [1, 'clone_failed', 'git_not_found'],
      [2, 'crashed', 'crashed'],
      [3, 'published', undefined],
    ]);
  });

  it('lets the next repositories work after the database fails a check, which is aborted with its code and counted', async () => {
    const recorded: RepositoryOutcome[] = [];
    const lastPublishedSha = async (_origin: string, repoPath: string) => {
      if (repoPath === 'acme/r1') throw new InfrastructureError('db_unreachable', 'PostgreSQL query failed: Connection terminated unexpectedly');
      return undefined;
    };
    const deps = partitionDeps(new ScriptedGit([]), recorded, lastPublishedSha);

    const summary = await runPartition(rows(2), deps, new AbortController().signal);

    expect(outcomesOf(recorded)).toEqual([
      [1, 'aborted', 'db_unreachable'],
      [2, 'published', undefined],
    ]);
    expect(summary.databaseFailed).toBe(1);
  });

  it('records aborted the repository waiting for its turn when the signal comes, and ends', async () => {
    const recorded: RepositoryOutcome[] = [];
    const controller = new AbortController();
    // Row 2's check answers at once; it then waits for row 1's turn, which waits for the signal.
    let checked = () => undefined as void;
    const row2Checked = new Promise<void>((resolve) => (checked = resolve));
    const deps = partitionDeps(new ScriptedGit(['waits_for_signal', 'ok']), recorded, async () => (checked(), undefined));

    const running = runPartition(rows(2), deps, controller.signal);
    await row2Checked;
    controller.abort();
    const summary = await running;

    expect(outcomesOf(recorded)).toEqual([
      [1, 'aborted', 'aborted'],
      [2, 'aborted', 'not_started'],
    ]);
    expect(summary.aborted).toBe(true);
  });
});

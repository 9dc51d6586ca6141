import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planChunk } from '../../src/chunk/plan.js';
import { recordUnstartedRows } from '../../src/chunk/unstarted-rows.js';
import { createScrubber } from '../../src/logging/scrub.js';
import type { RepositoryOutcome } from '../../src/results/outcome.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

let tmp: TempDir;
let inventory: string;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-unstarted-');
  inventory = path.join(tmp.path, 'repos.csv');
  await fs.writeFile(
    inventory,
    [
      'cloneUrl,branch,origin,path,buildCommand',
      'https://git.test/acme/one.git,main,git.test,acme/one,make',
      'https://git.test/acme/two.git,main,git.test,acme/two,',
      'https://user:s3cret@git.test/acme/three.git,dev,git.test,acme/three,',
      'ftp://git.test/acme/four.git,main,git.test,acme/four,',
      'https://git.test/acme/five.git,main,git.test,acme/five,',
      'https://git.test/acme/six.git,main,git.test,acme/six,',
      'https://git.test/acme/seven.git,main,git.test,acme/seven,',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await tmp?.remove();
});

describe('recordUnstartedRows', () => {
  it('records the rows of the partitions never started as aborted / not_started, invalid rows as invalid, from the inventory', async () => {
    const plan = await planChunk(inventory, 2);
    const recorded: RepositoryOutcome[] = [];
    const results = { recordOutcomes: async (outcomes: readonly RepositoryOutcome[]) => void recorded.push(...outcomes) };

    const count = await recordUnstartedRows({ plan, runId: 'sig', partitions: [1, 3], source: {}, scrub: createScrubber(['s3cret']), results });

    expect(count).toBe(3);
    expect(recorded.map((o) => [o.runId, o.rowNumber, o.origin, o.path, o.branch, o.cloneUrl, o.outcome, o.errorCode, o.attempt])).toEqual([
      ['sig', 3, 'git.test', 'acme/three', 'dev', 'https://***@git.test/acme/three.git', 'aborted', 'not_started', 1],
      ['sig', 4, 'git.test', 'acme/four', 'main', 'ftp://git.test/acme/four.git', 'invalid', 'unknown_scheme', 1],
      ['sig', 7, 'git.test', 'acme/seven', 'main', 'https://git.test/acme/seven.git', 'aborted', 'not_started', 1],
    ]);
    expect(recorded[0]?.errorMessage).toBe('Not started: the local run received a termination signal before this partition started');
  });

  it('reads nothing when every partition started', async () => {
    const plan = await planChunk(inventory, 2);
    const results = { recordOutcomes: async () => expect.unreachable('nothing to record') };

    const count = await recordUnstartedRows({ plan: { ...plan, inventory: path.join(tmp.path, 'gone.csv') }, runId: 'sig', partitions: [], source: {}, scrub: (text) => text, results });

    expect(count).toBe(0);
  });
});

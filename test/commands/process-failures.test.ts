import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { MAKE_PROJECT, makeFixture, openForAssertions, resultRows, type Fixture, runEnv } from './process-fixtures.js';

// What a run does when its input or its machine fails it: nothing already done is lost, and the
// exit code says whether a retry can help (DESIGN §8).

let tmp: TempDir;
let fixture: Fixture;
let aFile: string;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-process-failures-');
  fixture = await makeFixture(tmp.path, [
    ['acme/one', MAKE_PROJECT],
    ['acme/two', MAKE_PROJECT],
  ]);
  aFile = path.join(tmp.path, 'a-file');
  await fs.writeFile(aFile, 'not a directory\n');
});

afterAll(async () => {
  await tmp.remove();
});

const env = (name: string, extra: Record<string, string> = {}) => runEnv(tmp.path, name, extra);

async function partitionAndRun(dataDir: string, runId: string) {
  const db = await openForAssertions({ dataDir });
  try {
    const partitions = (await db.query<{ status: string }>('SELECT status FROM run_partitions WHERE run_id = $1', [runId])).rows;
    const runs = (await db.query<{ finished: boolean }>('SELECT finished_at IS NOT NULL AS finished FROM ingest_runs WHERE id = $1', [runId])).rows;
    return { partitions: partitions.map((p) => p.status), finished: runs[0]?.finished, results: (await resultRows(db, runId)).map((r) => [r.row_number, r.outcome, r.error_code]) };
  } finally {
    await db.close();
  }
}

describe('mass-ingest process when its input or machine fails', () => {
  it('finishes and records the rows read before a malformed row, marks the partition failed and exits 2 naming the file and line', async () => {
    const lines = (await fs.readFile(fixture.inventory, 'utf8')).trim().split('\n');
    const inventory = path.join(tmp.path, 'malformed.csv');
    // Row 1: no cloneUrl (invalid); row 2: a repository; row 3: a quote that never closes.
    await fs.writeFile(inventory, [lines[0], ',main,local.test,acme/nourl', lines[1], `"${lines[2]}`].join('\n') + '\n');

    const result = await runCli(['process', inventory, '--run-id', 'malformed'], { env: env('malformed') });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${inventory} is not valid CSV after line 3 (row 3): Quote Not Closed`);
    expect(result.stderr).toContain('[inventory_malformed]');
    expect(await partitionAndRun(path.join(tmp.path, 'db-malformed'), 'malformed')).toEqual({
      partitions: ['failed'],
      finished: true,
      results: [
        [1, 'invalid', 'missing_clone_url'],
        [2, 'published', null],
      ],
    });
  });

  it('records publish_failed and exits 2 when the publish directory cannot be a directory (a file in the way)', async () => {
    const target = path.join(aFile, 'artifacts');

    const result = await runCli(['process', fixture.inventory, '--run-id', 'file-in-the-way'], { env: env('publish', { PUBLISH_URL: target }) });

    expect(result.code).toBe(2);
    expect((await partitionAndRun(path.join(tmp.path, 'db-publish'), 'file-in-the-way')).results).toEqual([
      [1, 'publish_failed', 'publish_not_found'],
      [2, 'publish_failed', 'publish_not_found'],
    ]);
    // A failure's final line is a warning that says why.
    expect(result.logs.find((line) => line.msg === 'Repository finished')).toMatchObject({
      level: 40,
      outcome: 'publish_failed',
      errorCode: 'publish_not_found',
      error: expect.stringContaining(`Cannot write ${target}`),
    });
  });

  it('exits 2 before any repository starts when the work directory cannot be made, naming it', async () => {
    const workdir = path.join(aFile, 'work');

    const result = await runCli(['process', fixture.inventory, '--run-id', 'no-workdir'], { env: env('workdir', { MASS_INGEST_WORKDIR: workdir }) });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Work directory ${path.join(workdir, 'no-workdir')} cannot be created (ENOTDIR)`);
    expect(result.logs.filter((line) => line.msg === 'Repository finished')).toEqual([]);
  });

  it('leaves no empty run directory in the work directory', async () => {
    const result = await runCli(['process', fixture.inventory, '--run-id', 'tidy'], { env: env('tidy') });

    expect(result.code).toBe(0);
    expect(await fs.readdir(path.join(tmp.path, 'work-tidy'))).toEqual([]);
  });
});

import fs from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOCAL_ATTEMPTS, runLocal, type LocalRunInput } from '../../src/chunk/local-run.js';
import { planChunk } from '../../src/chunk/plan.js';
import { openDatabase, type Database } from '../../src/results/database.js';
import { SqlResultStore } from '../../src/results/result-store.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

// runLocal with stand-in partition processes (small scripts in place of `process`): what it
// records and returns when they fail, and when a signal stops the run.

let tmp: TempDir;
let database: Database;
let runs = 0;

beforeEach(async () => {
  tmp = await createTempDir('mass-ingest-local-run-');
  database = await openDatabase({ databaseUrl: undefined, dataDir: path.join(tmp.path, 'db') }, pino({ level: 'silent' }));
}, 60_000);

afterEach(async () => {
  await database?.close();
  await tmp?.remove();
});

/** A stand-in for `process` running `body`, where `started()` appends `<partition>:<attempt>` to started.txt. */
async function child(body: string): Promise<string> {
  const file = path.join(tmp.path, `child-${++runs}.mjs`);
  const startedFile = JSON.stringify(path.join(tmp.path, 'started.txt'));
  await fs.writeFile(
    file,
    `import fs from 'node:fs';\nconst started = () => fs.appendFileSync(${startedFile}, process.env.AWS_BATCH_JOB_ARRAY_INDEX + ':' + process.env.AWS_BATCH_JOB_ATTEMPT + '\\n');\n${body}\n`,
  );
  return file;
}

async function childrenStarted(): Promise<string[]> {
  return (await fs.readFile(path.join(tmp.path, 'started.txt'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
}

/** Four rows in partitions of two, run one partition at a time by `cli`. */
async function input(cli: string, signal: AbortSignal): Promise<LocalRunInput> {
  const inventory = path.join(tmp.path, 'repos.csv');
  await fs.writeFile(inventory, ['cloneUrl,branch,origin,path', ...[1, 2, 3, 4].map((n) => `https://git.example.test/acme/r${n}.git,main,git.example.test,acme/r${n}`)].join('\n') + '\n');
  return {
    plan: await planChunk(inventory, 2),
    runId: 'run-local',
    parallel: 1,
    env: { PATH: process.env.PATH ?? '/usr/bin' },
    flags: [],
    database,
    results: new SqlResultStore(database),
    source: {},
    scrub: (text) => text,
    log: pino({ level: 'silent' }),
    signal,
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    cli,
  };
}

async function partitions(): Promise<Array<{ partition: number; status: string }>> {
  const { rows } = await database.query<{ partition: number; status: string }>('SELECT partition, status FROM run_partitions WHERE run_id = $1 ORDER BY partition', ['run-local']);
  return rows;
}

async function outcomes(): Promise<Array<{ row_number: number; outcome: string; error_code: string }>> {
  const { rows } = await database.query<{ row_number: number; outcome: string; error_code: string }>('SELECT row_number, outcome, error_code FROM repository_results WHERE run_id = $1 ORDER BY row_number', ['run-local']);
  return rows;
}

describe('runLocal when partition processes fail', () => {
  it('starts a partition that exits 3 again, up to LOCAL_ATTEMPTS, then records it failed and exits 3', async () => {
    const cli = await child("started();\nprocess.exit(process.env.AWS_BATCH_JOB_ARRAY_INDEX === '0' ? 3 : 0);");

    const exitCode = await runLocal(await input(cli, new AbortController().signal));

    expect(exitCode).toBe(3);
    expect(await childrenStarted()).toEqual([...Array.from({ length: LOCAL_ATTEMPTS }, (_, i) => `0:${i + 1}`), '1:1']);
    expect(await partitions()).toEqual([{ partition: 0, status: 'failed' }, { partition: 1, status: 'planned' }]);
  });
});

describe('runLocal and exit codes other than 3', () => {
  it('does not start again a partition whose process exited with a code it does not know (Batch would not), and counts it as 3', async () => {
    const cli = await child("started();\nprocess.exit(process.env.AWS_BATCH_JOB_ARRAY_INDEX === '0' ? 70 : 0);");

    const exitCode = await runLocal(await input(cli, new AbortController().signal));

    expect(exitCode).toBe(3);
    expect(await childrenStarted()).toEqual(['0:1', '1:1']);
    expect(await partitions()).toEqual([{ partition: 0, status: 'failed' }, { partition: 1, status: 'planned' }]);
  });
});

describe('runLocal stopped by a signal', () => {
  it('records failed a partition whose process stopped on its SIGTERM, and the rows of partitions never started aborted', async () => {
    const controller = new AbortController();
    const cli = await child("process.on('SIGTERM', () => process.exit(143));\nstarted();\nsetInterval(() => undefined, 1000);");
    const running = runLocal(await input(cli, controller.signal));

    for (let i = 0; i < 200 && (await childrenStarted()).length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    controller.abort();
    const exitCode = await running;

    expect(exitCode).toBe(143);
    expect(await partitions()).toEqual([{ partition: 0, status: 'failed' }, { partition: 1, status: 'planned' }]);
    expect(await outcomes()).toEqual([
      { row_number: 3, outcome: 'aborted', error_code: 'not_started' },
      { row_number: 4, outcome: 'aborted', error_code: 'not_started' },
    ]);
  });

  it('records the rows of a partition whose process the SIGTERM killed before it could begin as never started', async () => {
    const controller = new AbortController();
    // Like `process` in its first ~100 ms (loading its modules): no handler yet, so SIGTERM kills it.
    const cli = await child('started();\nsetInterval(() => undefined, 1000);');
    const running = runLocal(await input(cli, controller.signal));

    for (let i = 0; i < 200 && (await childrenStarted()).length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    controller.abort();
    const exitCode = await running;

    expect(exitCode).toBe(143);
    expect(await partitions()).toEqual([{ partition: 0, status: 'planned' }, { partition: 1, status: 'planned' }]);
    expect((await outcomes()).map((row) => [row.row_number, row.outcome, row.error_code])).toEqual([
      [1, 'aborted', 'not_started'],
      [2, 'aborted', 'not_started'],
      [3, 'aborted', 'not_started'],
      [4, 'aborted', 'not_started'],
    ]);
  });
});

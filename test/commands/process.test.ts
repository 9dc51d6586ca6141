import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli } from '../harness/cli.js';
import { commitToBareRepo } from '../harness/git-fixtures.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { BROKEN_PROJECT, DOCS_ONLY, MAKE_PROJECT, makeFixture, openForAssertions, resultRows, type Fixture } from './process-fixtures.js';

let tmp: TempDir;
let fixture: Fixture;
let env: Record<string, string>;
const dataDir = () => path.join(tmp.path, 'db');
const artifacts = () => path.join(tmp.path, 'artifacts');

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-process-');
  fixture = await makeFixture(
    tmp.path,
    [
      ['acme/widget', MAKE_PROJECT],
      ['acme/broken', BROKEN_PROJECT],
      ['acme/docs', DOCS_ONLY],
    ],
    ['ftp://nowhere.test/x.git,main,local.test,acme/ftp', `${path.join(tmp.path, 'repos', 'missing.git')},main,local.test,acme/missing`],
  );
  env = baseEnv({ MASS_INGEST_DATA_DIR: dataDir(), PUBLISH_URL: artifacts(), MASS_INGEST_WORKDIR: path.join(tmp.path, 'work') });
});

afterAll(async () => {
  await tmp.remove();
});

describe('mass-ingest process (embedded database)', () => {
  it('processes every row, records each outcome and publishes in the DESIGN layout', async () => {
    const result = await runCli(['process', fixture.inventory, '--start', '1', '--end', '5', '--run-id', 'first'], { env });

    expect(result.code).toBe(0);
    const db = await openForAssertions({ dataDir: dataDir() });
    try {
      expect((await resultRows(db, 'first')).map((r) => [r.row_number, r.path, r.outcome, r.error_code])).toEqual([
        [1, 'acme/widget', 'published', null],
        [2, 'acme/broken', 'build_failed', 'build_exit_2'],
        [3, 'acme/docs', 'no_build_tool', null],
        [4, 'acme/ftp', 'invalid', 'unknown_scheme'],
        [5, 'acme/missing', 'clone_failed', 'git_repository_not_found'],
      ]);
      const run = (await db.query<{ trigger: string; mode: string; finished_at: unknown }>("SELECT trigger, mode, finished_at FROM ingest_runs WHERE id = 'first'")).rows[0];
      expect(run).toMatchObject({ trigger: 'process', mode: 'process' });
      expect(run?.finished_at).not.toBeNull();
      const partition = (await db.query("SELECT partition, start_row, end_row, status FROM run_partitions WHERE run_id = 'first'")).rows;
      expect(partition).toEqual([{ partition: 0, start_row: 1, end_row: 5, status: 'succeeded' }]);
    } finally {
      await db.close();
    }

    const sha = fixture.repos['acme/widget']!.headSha;
    const dir = path.join(artifacts(), 'local.test', 'acme', 'widget', sha);
    expect((await fs.readdir(dir)).sort()).toEqual(['build.log', 'hello.txt', 'manifest.json']);
    const manifest = JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ schema: 1, commitSha: sha, builder: 'make', runId: 'first', repository: { branch: 'main', origin: 'local.test', path: 'acme/widget' } });
    expect(manifest.artifacts).toEqual([{ name: 'hello.txt', size: 6, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    const brokenDir = path.join(artifacts(), 'local.test', 'acme', 'broken', fixture.repos['acme/broken']!.headSha);
    expect(await fs.readdir(brokenDir)).toEqual(['build.log']);

    const finished = result.logs.filter((line) => line.msg === 'Repository finished');
    expect(finished.map((line) => [line.row, line.outcome])).toEqual(expect.arrayContaining([[1, 'published'], [2, 'build_failed'], [3, 'no_build_tool'], [5, 'clone_failed']]));
    expect(finished.every((line) => typeof line.durationMs === 'number')).toBe(true);
  });

  it('skips an unchanged repository on the next run and rebuilds the one that changed', async () => {
    const newSha = await commitToBareRepo(fixture.repos['acme/docs']!.path, { Makefile: 'all:\n\tmkdir -p out && echo v2 > out/v2.txt\n' }, 'Add a build');

    const result = await runCli(['process', fixture.inventory, '--end', '3', '--run-id', 'second'], { env });

    expect(result.code).toBe(0);
    const db = await openForAssertions({ dataDir: dataDir() });
    try {
      expect((await resultRows(db, 'second')).map((r) => [r.path, r.outcome, r.commit_sha])).toEqual([
        ['acme/widget', 'unchanged', fixture.repos['acme/widget']!.headSha],
        ['acme/broken', 'build_failed', fixture.repos['acme/broken']!.headSha],
        ['acme/docs', 'published', newSha],
      ]);
      const state = (await db.query("SELECT path, last_outcome, consecutive_failures FROM repositories WHERE path IN ('acme/broken', 'acme/widget') ORDER BY path")).rows;
      expect(state).toEqual([
        { path: 'acme/broken', last_outcome: 'build_failed', consecutive_failures: 2 },
        { path: 'acme/widget', last_outcome: 'unchanged', consecutive_failures: 0 },
      ]);
    } finally {
      await db.close();
    }
  });

  it('rebuilds with --force but does not publish the same commit twice', async () => {
    const manifest = path.join(artifacts(), 'local.test', 'acme', 'widget', fixture.repos['acme/widget']!.headSha, 'manifest.json');
    const before = await fs.stat(manifest);

    const result = await runCli(['process', fixture.inventory, '--start', '1', '--end', '1', '--force', '--run-id', 'forced'], { env });

    expect(result.code).toBe(0);
    expect(result.logs.find((l) => l.msg === 'Repository finished')).toMatchObject({ level: 30, outcome: 'published', alreadyPublished: true });
    expect((await fs.stat(manifest)).mtimeMs).toBe(before.mtimeMs);
    expect(result.logs.filter((l) => String(l.msg).startsWith('Commit already published at the target: the rebuilt artifacts were not uploaded'))).toEqual([
      expect.objectContaining({ level: 40, repositories: 1, examples: [expect.objectContaining({ row: 1, path: 'acme/widget' })] }),
    ]);
  });

  it('warns once, not once a repository, when --force rebuilds commits already published', async () => {
    const result = await runCli(['process', fixture.inventory, '--start', '1', '--end', '3', '--force', '--run-id', 'forced-many'], { env });

    expect(result.code).toBe(0);
    const finished = result.logs.filter((l) => l.msg === 'Repository finished');
    expect(finished.filter((l) => l.alreadyPublished).map((l) => [l.row, l.level]).sort()).toEqual([
      [1, 30],
      [3, 30],
    ]);
    const kept = result.logs.filter((l) => String(l.msg).startsWith('Commit already published at the target'));
    expect(kept).toEqual([expect.objectContaining({ level: 40, repositories: 2 })]);
    expect((kept[0]?.examples as Array<{ row: number }>).map((example) => example.row).sort()).toEqual([1, 3]);
    expect(result.logs.findIndex((l) => l === kept[0])).toBeLessThan(result.logs.findIndex((l) => l.msg === 'Partition finished'));
  });

  it('reruns the same range of the same run by upserting its rows', async () => {
    const again = await runCli(['process', fixture.inventory, '--start', '4', '--end', '4', '--run-id', 'first'], { env });

    expect(again.code).toBe(0);
    const db = await openForAssertions({ dataDir: dataDir() });
    try {
      expect((await db.query("SELECT count(*)::int AS n FROM repository_results WHERE run_id = 'first'")).rows).toEqual([{ n: 5 }]);
    } finally {
      await db.close();
    }
  });

  it('records each range of one run id as a partition of its own, and a rerun of a range as the same one', async () => {
    const ranges: Array<[string, string]> = [['1', '1'], ['3', '3'], ['1', '1']];
    for (const [start, end] of ranges) {
      const result = await runCli(['process', fixture.inventory, '--start', start, '--end', end, '--run-id', 'ranges'], { env });
      expect(result.code).toBe(0);
    }

    const db = await openForAssertions({ dataDir: dataDir() });
    try {
      const { rows } = await db.query("SELECT partition, start_row, end_row, status FROM run_partitions WHERE run_id = 'ranges' ORDER BY partition");
      expect(rows).toEqual([
        { partition: 0, start_row: 1, end_row: 1, status: 'succeeded' },
        { partition: 1, start_row: 3, end_row: 3, status: 'succeeded' },
      ]);
    } finally {
      await db.close();
    }
  });

  it('starts a run with a generated id when the command starts, not when its database is ready', async () => {
    const freshDb = path.join(tmp.path, 'db-started');

    const result = await runCli(['process', fixture.inventory, '--start', '1', '--end', '3', '--force'], { env: { ...env, MASS_INGEST_DATA_DIR: freshDb } });
    const db = await openForAssertions({ dataDir: freshDb });
    const { rows } = await db.query<{ early: boolean }>(
      'SELECT r.created_at <= (SELECT min(started_at) FROM repository_results WHERE run_id = r.id) AS early FROM ingest_runs r',
    );
    await db.close();

    expect(result.code).toBe(0);
    expect(rows).toEqual([{ early: true }]);
  });

  it('exits 1 with --strict when a repository failed', async () => {
    const result = await runCli(['process', fixture.inventory, '--start', '2', '--end', '2', '--strict', '--run-id', 'strict'], { env });

    expect(result.code).toBe(1);
  });

  it('picks the rows of an array child from AWS_BATCH_JOB_ARRAY_INDEX', async () => {
    const result = await runCli(['process', fixture.inventory, '--partition-size', '2', '--run-id', 'array'], { env: { ...env, AWS_BATCH_JOB_ARRAY_INDEX: '1' } });

    expect(result.code).toBe(0);
    // Row 4 is invalid: it is recorded without a build, so only row 3 logs a finished build.
    expect(result.logs.filter((l) => l.msg === 'Repository finished').map((l) => l.row)).toEqual([3]);
    expect(result.logs.find((l) => l.msg === 'Partition finished')).toMatchObject({ total: 2, partition: 1 });
  });

  it('refuses (exit 2) an inventory whose sha256 differs from the planned one, and accepts the same file', async () => {
    const sha256 = createHash('sha256').update(await fs.readFile(fixture.inventory)).digest('hex');

    const changed = await runCli(['process', fixture.inventory, '--start', '3', '--end', '3', '--inventory-sha256', 'f'.repeat(64), '--run-id', 'sha-bad'], { env });
    const same = await runCli(['process', fixture.inventory, '--start', '3', '--end', '3', '--inventory-sha256', sha256, '--run-id', 'sha-good'], { env });

    expect(changed.code).toBe(2);
    expect(changed.stderr).toContain('the file changed after the chunk job read it');
    expect(same.code).toBe(0);
    expect(same.logs.find((l) => l.msg === 'Partition finished')).toMatchObject({ total: 1 });
  });

  it('exits 2 when --start is after --end', async () => {
    const result = await runCli(['process', fixture.inventory, '--start', '5', '--end', '2'], { env });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--start 5 is after --end 2');
  });

  it('exits 2 naming the file and the column when a header column is missing', async () => {
    const bad = path.join(tmp.path, 'bad.csv');
    await fs.writeFile(bad, 'cloneUrl,origin,path\nx,y,z\n');

    const result = await runCli(['process', bad], { env });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(bad);
    expect(result.stderr).toContain('"branch"');
  });

  it('exits 2 when the inventory does not exist', async () => {
    const result = await runCli(['process', path.join(tmp.path, 'nope.csv')], { env });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('nope.csv');
  });

  it('exits 2 for an unknown option and shows help with examples', async () => {
    const bad = await runCli(['process', fixture.inventory, '--bogus'], { env });
    const help = await runCli(['process', '--help'], { env });

    expect(bad.code).toBe(2);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
  });

  it('prints the run as JSON with report and writes the failed rows as an inventory', async () => {
    const failedCsv = path.join(tmp.path, 'failed.csv');

    const result = await runCli(['report', '--run', 'first', '--format', 'json', '--failed-csv', failedCsv], { env });

    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.run.id).toBe('first');
    expect(report.counts).toEqual({ published: 1, unchanged: 0, invalid: 1, clone_failed: 1, no_build_tool: 1, build_failed: 1, timed_out: 0, publish_failed: 0, aborted: 0, crashed: 0 });
    expect(report.repositories[0]).toMatchObject({ rowNumber: 1, origin: 'local.test', path: 'acme/widget', branch: 'main', outcome: 'published' });
    const failed = (await fs.readFile(failedCsv, 'utf8')).trim().split('\n');
    expect(failed[0]).toBe('cloneUrl,branch,origin,path');
    expect(failed.slice(1).map((line) => line.split(',')[3])).toEqual(['acme/broken', 'acme/ftp', 'acme/missing']);
  });
});

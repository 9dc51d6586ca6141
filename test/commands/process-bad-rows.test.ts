import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli } from '../harness/cli.js';
import { createBareRepo } from '../harness/git-fixtures.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { MAKE_PROJECT, openForAssertions, resultRows } from './process-fixtures.js';

/**
 * Bad input to the real CLI (README "repos.csv", "Configuration"): a clear error naming the file,
 * row and value, the right exit code, and nothing already done lost.
 */
let tmp: TempDir;
let repo: string;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-bad-rows-');
  repo = (await createBareRepo(path.join(tmp.path, 'repos'), 'acme/widget', MAKE_PROJECT)).path;
});

afterAll(async () => {
  await tmp.remove();
});

function envFor(name: string): Record<string, string> {
  const root = path.join(tmp.path, name);
  return baseEnv({ MASS_INGEST_DATA_DIR: path.join(root, 'db'), PUBLISH_URL: path.join(root, 'artifacts'), MASS_INGEST_WORKDIR: path.join(root, 'work') });
}

async function write(name: string, content: string): Promise<string> {
  const file = path.join(tmp.path, name);
  await fs.writeFile(file, content);
  return file;
}

async function outcomes(name: string, runId: string) {
  const db = await openForAssertions({ dataDir: path.join(tmp.path, name, 'db') });
  try {
    return (await resultRows(db, runId)).map((row) => [row.row_number, row.outcome, row.error_code]);
  } finally {
    await db.close();
  }
}

describe('mass-ingest process: rows that cannot be rows', () => {
  it('records a row holding a NUL byte as invalid and still records the repository built before it (exit 0)', async () => {
    const file = await write('nul.csv', `cloneUrl,branch,origin,path\n${repo},main,local.test,acme/widget\n${repo},ma\u0000in,local.test,acme/other\n`);

    const result = await runCli(['process', file, '--run-id', 'nul'], { env: envFor('nul') });

    expect(result.code).toBe(0);
    expect(await outcomes('nul', 'nul')).toEqual([
      [1, 'published', null],
      [2, 'invalid', 'invalid_characters'],
    ]);
    expect(result.logs.find((line) => line.msg === 'Row is invalid')).toMatchObject({ row: 2, error: 'Row 2: branch "ma\\u0000in" holds a NUL character (character 3)' });
  });

  it('exits 2 naming the file, line and row of a quote inside an unquoted field, never as an unexpected error', async () => {
    const file = await write('stray-quote.csv', `cloneUrl,branch,origin,path,buildCommand\n${repo},main,local.test,acme/widget,\n${repo},main,local.test,acme/other,echo "hi"\n`);

    const result = await runCli(['process', file, '--run-id', 'quote'], { env: envFor('quote') });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Inventory ${file} is not valid CSV near line 3 (row 2): Invalid Opening Quote`);
    expect(result.stderr).toContain('[inventory_malformed]');
    expect(result.stderr).not.toContain('unexpected error');
  });
});

describe('mass-ingest process: option values', () => {
  it('refuses an empty --start (an unset variable in a script) instead of reading every row', async () => {
    const file = await write('one.csv', `cloneUrl,branch,origin,path\n${repo},main,local.test,acme/widget\n`);

    const result = await runCli(['process', file, '--start', '', '--end', '1'], { env: envFor('empty-start') });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--start must be an integer ≥ 1, got ""');
  });

  it('refuses an option given twice, quoting both values', async () => {
    const file = await write('twice.csv', `cloneUrl,branch,origin,path\n${repo},main,local.test,acme/widget\n`);

    const result = await runCli(['process', file, '--start', '1', '--start', '2', '--workdir', 'a', '--workdir', 'b'], { env: envFor('twice') });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--start may be given once, got "1" and "2"');
    expect(result.stderr).toContain('--workdir may be given once, got "a" and "b"');
  });

  it('says what to give when the inventory is left out', async () => {
    const result = await runCli(['process', '--start', '1'], { env: envFor('no-inventory') });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('mass-ingest: Name the inventory: mass-ingest process <repos.csv | file://… | http(s)://… | s3://bucket/key> [options] (see --help) [usage]');
  });

  it('exits 2 for "-" as the inventory, saying standard input is not read, before it logs a start or opens a database', async () => {
    const results = [await runCli(['process', '-', '--end', '1'], { env: envFor('dash') }), await runCli(['chunk', '-', '--local'], { env: envFor('dash') })];

    expect(results.map((result) => [result.code, result.stdout, result.stderr])).toEqual(
      Array(2).fill([2, '', 'mass-ingest: No inventory named: give a path, file://, http(s):// or s3:// URL (standard input, "-", is not read) [inventory_not_found]\n']),
    );
    expect(await fs.readdir(path.join(tmp.path, 'dash')).catch((err: NodeJS.ErrnoException) => err.code)).toBe('ENOENT');
  });

  it('warns when --start lies after the last row, and exits 0 with nothing done', async () => {
    const file = await write('short.csv', `cloneUrl,branch,origin,path\n${repo},main,local.test,acme/widget\n`);

    const result = await runCli(['process', file, '--start', '5'], { env: envFor('past-end') });

    expect(result.code).toBe(0);
    expect(result.logs.find((line) => line.msg === 'The range starts after the last row of the inventory')).toMatchObject({ level: 40, start: 5, rows: 1 });
  });

  it('says an inventory holding only its header has no rows, and exits 0', async () => {
    const file = await write('header-only.csv', 'cloneUrl,branch,origin,path\n');

    const result = await runCli(['process', file], { env: envFor('header-only') });

    expect(result.code).toBe(0);
    expect(result.logs.find((line) => line.msg === 'The inventory has no rows, only its header')).toMatchObject({ level: 40, rows: 0 });
    expect(result.logs.map((line) => line.msg)).not.toContain('The range starts after the last row of the inventory');
  });

  it('shows the counts as numbers in --help', async () => {
    const result = await runCli(['process', '--help'], { env: baseEnv() });

    const typeOf = (flag: string) => result.stdout.split('\n').find((line) => line.trimStart().startsWith(flag))?.trim().split(/\s+/).at(-1);
    expect(result.code).toBe(0);
    expect(['--start', '--end', '--concurrency', '--partition-offset'].map(typeOf)).toEqual(['[number]', '[number]', '[number]', '[number]']);
  });
});

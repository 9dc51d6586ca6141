import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, collect, parseLogs, runCli, spawnCli, type CliResult } from '../harness/cli.js';
import { createBareRepo } from '../harness/git-fixtures.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { MAKE_PROJECT } from './process-fixtures.js';

/**
 * `report` over a real run by the real CLI: `--failed-csv` writes the original rows with every
 * column, output paths that cannot be written are usage errors, a closed stdout ends quietly,
 * and the table shows the first lines of each error.
 */
const HEADER = 'cloneUrl,branch,origin,path,buildCommand,artifacts,stars';

let tmp: TempDir;
let env: Record<string, string>;
let inventory: string;
let rows: string[];

async function cli(args: string[]): Promise<CliResult> {
  const result = await runCli(args, { env });
  if (result.code !== 0) throw new Error(`mass-ingest ${args.join(' ')} exited ${result.code}\n${result.stderr}`);
  return result;
}

function stackLines(text: string): string[] {
  return text.split('\n').filter((line) => /^\s+at /.test(line) || line.includes('unexpected error'));
}

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-report-cli-');
  const repos = path.join(tmp.path, 'repos');
  const good = await createBareRepo(repos, 'acme/good', MAKE_PROJECT);
  const failing = await createBareRepo(repos, 'acme/failing', MAKE_PROJECT);
  rows = [
    `${good.path},main,local.test,acme/good,,,12`,
    `${failing.path},main,local.test,acme/failing,"echo x; exit 3",out/**,7`,
    `${failing.path},main,local.test,acme/failing,make,,7`,
    'ftp://nowhere.test/x.git,main,local.test,acme/ftp,make,,1',
    `${path.join(repos, 'acme/missing.git')},main,local.test,acme/missing,"make, then ""ship""",dist/*.jar,3`,
  ];
  inventory = path.join(tmp.path, 'repos.csv');
  await fs.writeFile(inventory, `${HEADER}\n${rows.join('\n')}\n`);
  env = baseEnv({ MASS_INGEST_DATA_DIR: path.join(tmp.path, 'db'), PUBLISH_URL: path.join(tmp.path, 'artifacts'), MASS_INGEST_WORKDIR: path.join(tmp.path, 'work') });

  await cli(['process', inventory, '--run-id', 'cf1']);
}, 180_000);

afterAll(async () => {
  await tmp?.remove();
});

describe('mass-ingest report', () => {
  it('writes the failed rows with all their original columns, without the repeated row, as a repos.csv to rerun', async () => {
    const file = path.join(tmp.path, 'failed.csv');

    const result = await cli(['report', '--run', 'cf1', '--failed-csv', file]);

    // Fields are quoted only where CSV needs it.
    expect(await fs.readFile(file, 'utf8')).toBe(`${HEADER}\n${[rows[1]!.replace('"echo x; exit 3"', 'echo x; exit 3'), rows[3], rows[4]].join('\n')}\n`);
    expect(parseLogs(result.stderr).find((log) => log.msg === 'Failed rows written as an inventory')).toMatchObject({ rows: 3, from: 'inventory' });
  });

  it('shows the first lines of each error in the table, not the last', async () => {
    const json = JSON.parse((await cli(['report', '--run', 'cf1', '--format', 'json'])).stdout) as { repositories: Array<{ rowNumber: number; outcome: string; errorMessage: string }> };
    const missing = json.repositories.find((row) => row.rowNumber === 5);

    const table = (await cli(['report', '--run', 'cf1'])).stdout.split('\n');

    expect(missing?.outcome).toBe('clone_failed');
    expect(missing?.errorMessage.trimEnd().split('\n').at(-1)).toBe('and the repository exists.');
    const rowLine = table.findIndex((line) => line.startsWith('5 ') && line.endsWith('local.test/acme/missing@main'));
    expect(table[rowLine + 1]?.trim()).toBe(missing?.errorMessage.split('\n').find((line) => line.trim() !== '')?.trim());
    expect(table).not.toContain('       and the repository exists.');
  });

  it.each([
    ['--out', ['--format', 'json', '--out', '/nonexistent/dir/x.json'], '/nonexistent/dir/x.json'],
    ['--failed-csv', ['--failed-csv', '/nonexistent/dir/f.csv'], '/nonexistent/dir/f.csv'],
  ])('exits 2 with one line naming the path when %s cannot be written', async (flag, args, file) => {
    const result = await runCli(['report', '--run', 'cf1', ...args], { env });

    expect(result.code).toBe(2);
    expect(result.stderr.split('\n').filter((line) => line.startsWith('mass-ingest:'))).toEqual([
      `mass-ingest: ${flag} ${file} cannot be written (ENOENT): check that its directory exists and is writable [report_output_unwritable]`,
    ]);
    expect(stackLines(result.stderr)).toEqual([]);
  });

  it.each([
    ['--failed-csv', ['--failed-csv'], 'failed.csv'],
    ['--out', ['--format', 'csv', '--out'], 'report.csv'],
  ])("exits 2 and leaves the inventory whole when %s names the run's own inventory", async (flag, args, example) => {
    const before = await fs.readFile(inventory, 'utf8');

    const result = await runCli(['report', '--run', 'cf1', ...args, inventory], { env });

    expect(result.code).toBe(2);
    expect(result.stderr.split('\n').filter((line) => line.startsWith('mass-ingest:'))).toEqual([
      `mass-ingest: ${flag} ${inventory} is the inventory run cf1 read: writing there would replace it; name another file (e.g. ${example}) [report_output_is_inventory]`,
    ]);
    expect(await fs.readFile(inventory, 'utf8')).toBe(before);
  });

  it('ends quietly with exit 0 when the reader of stdout stops reading (report | head)', async () => {
    const child = spawnCli(['report', '--run', 'cf1', '--format', 'html'], { env });
    child.stdout?.once('data', () => child.stdout?.destroy());

    const result = await collect(child);

    expect(result.code).toBe(0);
    expect(stackLines(result.stderr)).toEqual([]);
    expect(result.stderr).not.toContain('EPIPE');
  });

  it('falls back to the four columns from the database, with a warning naming the inventory and why, when the inventory changed', async () => {
    await fs.writeFile(inventory, `${HEADER}\n${rows.slice(0, 4).join('\n')}\n`);
    const file = path.join(tmp.path, 'failed-fallback.csv');

    const result = await cli(['report', '--run', 'cf1', '--failed-csv', file]);

    const [failing, ftp, missing] = [rows[1], rows[3], rows[4]].map((row) => row!.split(',').slice(0, 4).join(','));
    expect(await fs.readFile(file, 'utf8')).toBe(`cloneUrl,branch,origin,path\n${failing}\n${ftp}\n${missing}\n`);
    expect(parseLogs(result.stderr).find((log) => log.level === 40)).toMatchObject({ inventory, file, reason: 'it has 4 rows, fewer than the run\'s failed row numbers reach' });
  });

  it('exits 2 naming the directory, and makes no database there, when the embedded database does not exist', async () => {
    const missing = path.join(tmp.path, 'no-such-db');

    const result = await runCli(['report', '--format', 'json'], { env: { ...env, MASS_INGEST_DATA_DIR: missing } });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`No embedded database at ${missing}`);
    await expect(fs.access(missing)).rejects.toThrow();
  });
});

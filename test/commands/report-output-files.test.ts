import fs from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../src/commands/context.js';
import { runReport } from '../../src/commands/report.js';
import { loadConfig } from '../../src/config/config.js';
import { openDatabase } from '../../src/results/database.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

/**
 * `report --out` and `--failed-csv` are two files: named the same, one would silently replace the
 * other. Run over src (runReport) with an embedded database holding one run with a failed row.
 */
let tmp: TempDir;
let env: Record<string, string>;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-report-files-');
  env = { MASS_INGEST_DATA_DIR: path.join(tmp.path, 'db') };
  const database = await openDatabase({ databaseUrl: undefined, dataDir: env.MASS_INGEST_DATA_DIR! }, pino({ level: 'silent' }));
  await database.query("INSERT INTO ingest_runs (id, trigger, inventory_uri, mode) VALUES ('r1', 'process', $1, 'process')", [path.join(tmp.path, 'gone.csv')]);
  await database.query("INSERT INTO repository_results (run_id, row_number, origin, path, branch, clone_url, outcome) VALUES ('r1', 1, 'git.test', 'acme/a', 'main', 'https://git.test/acme/a.git', 'clone_failed')", []);
  await database.close();
}, 60_000);

afterAll(async () => {
  await tmp?.remove();
});

function context(): CommandContext {
  return {
    config: loadConfig({ flags: { 'log-level': 'silent' }, env, cwd: tmp.path, stdoutIsTty: false }),
    signal: new AbortController().signal,
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    stdoutIsTty: false,
    stderrIsTty: false,
  };
}

describe('runReport with --out and --failed-csv', () => {
  it('writes both files when they differ', async () => {
    const [out, failed] = [path.join(tmp.path, 'report.csv'), path.join(tmp.path, 'failed.csv')];

    const code = await runReport({ run: 'r1', format: 'csv', out, failedCsv: failed }, context());

    expect(code).toBe(0);
    expect((await fs.readFile(failed, 'utf8')).split('\n')[1]).toBe('https://git.test/acme/a.git,main,git.test,acme/a');
    expect((await fs.readFile(out, 'utf8')).split('\n')[0]).toMatch(/^rowNumber,origin,path/);
  });

  it('exits 2 when both name the same file, and leaves that file as it was', async () => {
    const file = path.join(tmp.path, 'same.csv');
    await fs.writeFile(file, 'kept\n');

    const error = await runReport({ run: 'r1', format: 'csv', out: file, failedCsv: path.join(tmp.path, '.', 'same.csv') }, context()).catch((err: unknown) => err);

    expect(error).toMatchObject({ code: 'report_same_file', exitCode: 2 });
    expect((error as Error).message).toBe(`--out and --failed-csv both name ${file}: one would replace the other; name two files`);
    expect(await fs.readFile(file, 'utf8')).toBe('kept\n');
  });
});

import fs from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli, type CliResult } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { makeFixture } from './process-fixtures.js';

/**
 * `report --format table|csv` over real runs whose build output carries terminal escapes: the
 * formats read in a terminal or a spreadsheet show the text without them (json keeps the
 * message as recorded), and the trend of runs stays a readable table.
 */
const ESCAPES = "printf '\\033[31mred\\033[0m \\033]0;pwned\\007done\\n'; exit 4";

let tmp: TempDir;
let env: Record<string, string>;

async function cli(args: string[]): Promise<CliResult> {
  const result = await runCli(args, { env });
  if (result.code !== 0) throw new Error(`mass-ingest ${args.join(' ')} exited ${result.code}\n${result.stderr}`);
  return result;
}

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-report-formats-');
  const fixture = await makeFixture(tmp.path, [['acme/docs', { 'README.md': '# docs\n' }]]);
  const docs = fixture.repos['acme/docs']!;
  const inventory = path.join(tmp.path, 'escapes.csv');
  await fs.writeFile(inventory, `cloneUrl,branch,origin,path,buildCommand\n${docs.path},main,local.test,acme/escapes,"${ESCAPES.replace(/"/g, '""')}"\n`);
  env = baseEnv({ MASS_INGEST_DATA_DIR: path.join(tmp.path, 'db'), PUBLISH_URL: path.join(tmp.path, 'artifacts'), MASS_INGEST_WORKDIR: path.join(tmp.path, 'work') });

  await cli(['process', inventory, '--run-id', 'esc1']);
  await cli(['process', inventory, '--run-id', 'esc-second-run']);
}, 180_000);

afterAll(async () => {
  await tmp?.remove();
});

describe('mass-ingest report --format table|csv', () => {
  it('keeps the recorded message with its escapes in json', async () => {
    const json = JSON.parse((await cli(['report', '--run', 'esc1', '--format', 'json'])).stdout) as { repositories: Array<{ outcome: string; errorMessage: string }> };

    expect(json.repositories[0]?.outcome).toBe('build_failed');
    expect(json.repositories[0]?.errorMessage).toContain('\u001b[31mred');
  });

  it('writes csv with its header and the message without terminal escapes or control characters', async () => {
    const result = await cli(['report', '--run', 'esc1', '--format', 'csv']);

    expect(result.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    const records = parse(result.stdout, { columns: true }) as Array<Record<string, string>>;
    expect(Object.keys(records[0] ?? {})).toEqual(['rowNumber', 'origin', 'path', 'branch', 'outcome', 'commitSha', 'builder', 'durationMs', 'errorCode', 'errorMessage', 'logUrl']);
    expect(records.map((record) => [record.rowNumber, record.path, record.outcome, record.errorCode])).toEqual([['1', 'acme/escapes', 'build_failed', 'build_exit_4']]);
    expect(records[0]?.errorMessage).toContain('red ]0;pwneddone');
  });

  it('shows the table without terminal escapes, with a trend whose columns line up and say UTC', async () => {
    const table = (await cli(['report', '--run', 'esc-second-run'])).stdout;

    expect(table).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    const lines = table.split('\n');
    const header = lines.findIndex((line) => line.startsWith('started (UTC)'));
    const runColumn = lines[header]!.lastIndexOf(' run') + 1;
    const runs = lines.slice(header + 1, header + 3);
    expect(lines[header - 1]).toBe('last 2 runs');
    expect(runs.map((line) => line.slice(runColumn))).toEqual(['esc1', 'esc-second-run']);
    expect(runs.map((line) => line[runColumn - 1])).toEqual([' ', ' ']);
  });
});

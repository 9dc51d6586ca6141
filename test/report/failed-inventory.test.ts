import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { Sha256Tap } from '../../src/inventory/source.js';
import { writeFailedInventory } from '../../src/report/failed-inventory.js';
import type { ReportRepository, RunInfo } from '../../src/results/report-queries.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

const INVENTORY = [
  '\uFEFFcloneUrl,branch,origin,path,buildCommand,artifacts,stars',
  'https://git.test/a/ok.git,main,git.test,a/ok,make,dist/*.jar,10',
  '',
  'https://git.test/a/fails.git,main,git.test,a/fails,"echo x; exit 3",out/**,7',
  'ftp://git.test/a/bad.git,dev,git.test,a/bad,,,',
  'https://git.test/a/fails.git,main,git.test,a/fails,make,,7',
  'https://git.test/a/gone.git,,git.test,a/gone,"make, then ""ship""",,1',
].join('\r\n');

let tmp: TempDir;
let warnings: Array<Record<string, unknown>>;

beforeEach(async () => {
  tmp = await createTempDir('mass-ingest-failed-csv-');
  warnings = [];
});

afterEach(async () => {
  await tmp.remove();
});

function failedRow(rowNumber: number, origin: string | null, repoPath: string | null, branch: string, extra: Partial<ReportRepository> = {}): ReportRepository {
  return {
    rowNumber, origin, path: repoPath, branch, cloneUrl: origin && repoPath ? `https://${origin}/${repoPath}.git` : null, outcome: 'build_failed',
    commitSha: null, builder: null, durationMs: 5, errorCode: 'build_failed', errorMessage: 'x', logUrl: null, ...extra,
  };
}

/** Rows 2, 3, 4 (a repeat of row 2) and 5 of INVENTORY failed; row 1 published. */
const FAILED = [
  failedRow(2, 'git.test', 'a/fails', 'main'),
  failedRow(3, 'git.test', 'a/bad', 'dev', { outcome: 'invalid', errorCode: 'unknown_scheme', cloneUrl: 'ftp://git.test/a/bad.git' }),
  failedRow(4, 'git.test', 'a/fails', 'main', { outcome: 'invalid', errorCode: 'duplicate_row' }),
  failedRow(5, 'git.test', 'a/gone', '', { outcome: 'clone_failed', errorCode: 'repository_not_found' }),
];

function run(inventoryUri: string, inventorySha256: string | null = null): RunInfo {
  return { id: 'cf1', trigger: 'process', mode: 'process', inventoryUri, inventorySha256, inventoryRows: null, partitionSize: null, partitions: null, createdAt: '2025-01-01T00:00:00.000Z', finishedAt: null };
}

function captureLog() {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) warnings.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return pino({ level: 'warn' }, sink);
}

async function writeInventory(text = INVENTORY): Promise<string> {
  const file = path.join(tmp.path, 'repos.csv');
  await fs.writeFile(file, text);
  return file;
}

function sha256(text: string): string {
  const tap = new Sha256Tap();
  tap.end(Buffer.from(text));
  tap.resume();
  return tap.digest().sha256;
}

const ORIGINAL_ROWS = [
  'cloneUrl,branch,origin,path,buildCommand,artifacts,stars',
  'https://git.test/a/fails.git,main,git.test,a/fails,echo x; exit 3,out/**,7',
  'ftp://git.test/a/bad.git,dev,git.test,a/bad,,,',
  'https://git.test/a/gone.git,,git.test,a/gone,"make, then ""ship""",,1',
  '',
].join('\n');

const DATABASE_ROWS = [
  'cloneUrl,branch,origin,path',
  'https://git.test/a/fails.git,main,git.test,a/fails',
  'ftp://git.test/a/bad.git,dev,git.test,a/bad',
  'https://git.test/a/gone.git,,git.test,a/gone',
  '',
].join('\n');

describe('writeFailedInventory', () => {
  it('copies the original records of the failed rows with every column, leaves repeated rows out and keeps other invalid rows', async () => {
    const inventory = await writeInventory();
    const file = path.join(tmp.path, 'failed.csv');

    const written = await writeFailedInventory({ run: run(inventory, sha256(INVENTORY)), failed: FAILED, file, source: {} }, captureLog());

    expect(await fs.readFile(file, 'utf8')).toBe(ORIGINAL_ROWS);
    expect(written).toEqual({ rows: 3, from: 'inventory' });
    expect(warnings).toEqual([]);
  });

  it('reads an http(s) inventory as a stream', async () => {
    const server = http.createServer((_request, response) => response.end(INVENTORY));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const file = path.join(tmp.path, 'failed.csv');

    try {
      await writeFailedInventory({ run: run(`http://127.0.0.1:${(server.address() as AddressInfo).port}/repos.csv`), failed: FAILED, file, source: {} }, captureLog());
    } finally {
      server.close();
    }

    expect(await fs.readFile(file, 'utf8')).toBe(ORIGINAL_ROWS);
  });

  it('writes only the header when no row failed', async () => {
    const inventory = await writeInventory();
    const file = path.join(tmp.path, 'failed.csv');

    const written = await writeFailedInventory({ run: run(inventory), failed: [], file, source: {} }, captureLog());

    expect(await fs.readFile(file, 'utf8')).toBe('cloneUrl,branch,origin,path,buildCommand,artifacts,stars\n');
    expect(written).toEqual({ rows: 0, from: 'inventory' });
  });

  it.each([
    ['its sha256 differs from the one the run recorded', async () => run(await writeInventory(), 'f'.repeat(64)), /sha256 is now [0-9a-f]{64}, run cf1 read f{64}/],
    ['it no longer exists', async () => run(path.join(tmp.path, 'gone.csv')), /cannot be read \(ENOENT\)/],
    ['a failed row number now holds another repository', async () => run(await writeInventory(INVENTORY.replace('a/gone.git,,git.test,a/gone', 'a/new.git,,git.test,a/new'))), /row 5 is now git\.test\/a\/new@, the run recorded git\.test\/a\/gone@/],
    ['it has fewer rows than the run', async () => run(await writeInventory(INVENTORY.split('\r\n').slice(0, 4).join('\n'))), /has 2 rows/],
    ['it lost a required column', async () => run(await writeInventory(INVENTORY.replace('cloneUrl,branch,', 'url,branch,'))), /no column cloneUrl/],
  ])('falls back to the four columns of the database with a warning when %s', async (_case, runOf, reason) => {
    const file = path.join(tmp.path, 'failed.csv');
    const info = await runOf();

    const written = await writeFailedInventory({ run: info, failed: FAILED, file, source: {} }, captureLog());

    expect(await fs.readFile(file, 'utf8')).toBe(DATABASE_ROWS);
    expect(written).toEqual({ rows: 3, from: 'database' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ inventory: info.inventoryUri, file, reason: expect.stringMatching(reason) as unknown });
  });

  it.each([
    ['its path', (inventory: string) => inventory, (inventory: string) => inventory],
    ['another path to it', (inventory: string) => inventory, (inventory: string) => path.join(path.dirname(inventory), 'sub', '..', 'repos.csv')],
    ['its path, the run having read its file:// URL', (inventory: string) => pathToFileURL(inventory).href, (inventory: string) => inventory],
  ])("refuses to write over the run's own inventory named by %s, and leaves the inventory as it was", async (_case, uriOf, fileOf) => {
    const inventory = await writeInventory();
    await fs.mkdir(path.join(tmp.path, 'sub'));
    const file = fileOf(inventory);

    const writing = writeFailedInventory({ run: run(uriOf(inventory)), failed: FAILED, file, source: {} }, captureLog());

    await expect(writing).rejects.toMatchObject({
      exitCode: 2,
      code: 'report_output_is_inventory',
      message: `--failed-csv ${file} is the inventory run cf1 read: writing there would replace it; name another file (e.g. failed.csv)`,
    });
    expect(await fs.readFile(inventory, 'utf8')).toBe(INVENTORY);
  });

  it('refuses a file it cannot create with a usage error naming it', async () => {
    const inventory = await writeInventory();
    const file = path.join(tmp.path, 'missing-dir', 'failed.csv');

    const writing = writeFailedInventory({ run: run(inventory), failed: FAILED, file, source: {} }, captureLog());

    await expect(writing).rejects.toThrow(UsageError);
    await expect(writing).rejects.toMatchObject({ exitCode: 2, code: 'report_output_unwritable', message: expect.stringContaining(`--failed-csv ${file} cannot be written (ENOENT)`) as unknown });
  });
});

import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli, type CliResult } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { startFaultServer, type FaultServer } from '../fakes/fault-server.js';
import { openForAssertions, resultRows } from './process-fixtures.js';

/**
 * What `process` does with the inventory and the configuration it is given (README "repos.csv",
 * "Configuration"; DESIGN §2–§4, §8). The rows use an ftp:// clone URL (recorded `invalid`, never
 * cloned), so a partition's rows show in its log lines without any git server.
 */
let tmp: TempDir;
let env: Record<string, string>;
let inventory: string;

const ROWS = 7;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-process-input-');
  env = baseEnv({ MASS_INGEST_DATA_DIR: path.join(tmp.path, 'db'), PUBLISH_URL: path.join(tmp.path, 'artifacts'), MASS_INGEST_WORKDIR: path.join(tmp.path, 'work') });
  const rows = Array.from({ length: ROWS }, (_, i) => `ftp://git.example.test/r${i + 1}.git,main,git.example.test,acme/r${i + 1}`);
  inventory = await write('repos.csv', ['cloneUrl,branch,origin,path', ...rows].join('\n') + '\n');
});

afterAll(async () => {
  await tmp.remove();
});

async function write(name: string, content: string): Promise<string> {
  const file = path.join(tmp.path, name);
  await fs.writeFile(file, content);
  return file;
}

/** The rows a run selected, from its "Partition started" and "Partition finished" log lines. */
function partitionOf(result: CliResult) {
  const started = result.logs.find((line) => line.msg === 'Partition started');
  const finished = result.logs.find((line) => line.msg === 'Partition finished');
  return { partition: started?.partition, start: started?.start, end: started?.end, total: finished?.total };
}

describe('mass-ingest process: the inventory it is given', () => {
  it('exits 2 naming a directory given as the inventory', async () => {
    const folder = path.join(tmp.path, 'somedir');
    await fs.mkdir(folder);

    const result = await runCli(['process', folder, '--start', '1', '--end', '5'], { env });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Inventory ${folder} is a directory, not a CSV file`);
    expect(result.stderr).not.toContain('unexpected error');
  });

  it('exits 2 for an inventory URL with credentials, never printing the password', async () => {
    const server: FaultServer = await startFaultServer();
    server.files.set('/x.csv', Buffer.from('cloneUrl,branch,origin,path\n'));
    try {
      const uri = `${server.baseUrl}/x.csv`.replace('http://', 'http://user:pw-s3cret-42@');

      const result = await runCli(['process', uri], { env });

      expect(result.code).toBe(2);
      expect(result.stderr).toContain('contains credentials');
      expect(`${result.stdout}${result.stderr}`).not.toContain('pw-s3cret-42');
    } finally {
      await server.stop();
    }
  });

  it('reads a presigned inventory URL but keeps its signature out of the logs and the database', async () => {
    const server: FaultServer = await startFaultServer();
    server.files.set('/signed.csv', Buffer.from('cloneUrl,branch,origin,path\nftp://git.example.test/s.git,main,git.example.test,acme/s\n'));
    const dataDir = path.join(tmp.path, 'db-signed');
    try {
      const uri = `${server.baseUrl}/signed.csv?X-Amz-Credential=AKIAEXAMPLE42&X-Amz-Signature=sig0123456789abcdef&X-Amz-Security-Token=tok0123456789`;

      const result = await runCli(['process', uri, '--run-id', 'signed-1'], { env: { ...env, MASS_INGEST_DATA_DIR: dataDir } });
      const db = await openForAssertions({ dataDir });
      const stored = await db.query<{ inventory_uri: string }>('SELECT inventory_uri FROM ingest_runs WHERE id = $1', ['signed-1']);
      const rows = await resultRows(db, 'signed-1');
      await db.close();

      expect(result.code).toBe(0);
      expect(rows.map((row) => [row.path, row.outcome])).toEqual([['acme/s', 'invalid']]);
      expect(stored.rows[0]?.inventory_uri).toBe(`${server.baseUrl}/signed.csv?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Security-Token=***`);
      for (const secret of ['AKIAEXAMPLE42', 'sig0123456789abcdef', 'tok0123456789']) expect(`${result.stdout}${result.stderr}`).not.toContain(secret);
    } finally {
      await server.stop();
    }
  });

  it.each([
    ['a 0-byte file', 'empty.csv', ''],
    ['a file of blank lines', 'blank.csv', '\n\n\n'],
  ])('exits 2 for %s, naming it and saying the header is missing', async (_name, fileName, content) => {
    const file = await write(fileName, content);

    const result = await runCli(['process', file, '--start', '1', '--end', '5'], { env });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Inventory ${file} has no header row`);
  });

  it('runs a header-only inventory as an empty partition (exit 0)', async () => {
    const file = await write('header-only.csv', 'cloneUrl,branch,origin,path\n');

    const result = await runCli(['process', file, '--start', '1', '--end', '5', '--run-id', 'headeronly'], { env });

    expect(result.code).toBe(0);
    expect(partitionOf(result).total).toBe(0);
  });

  it('exits 2 naming the file and the column a header names twice', async () => {
    const file = await write('dupcol.csv', 'cloneUrl,branch,origin,path,path\nftp://h/x.git,main,h.test,a/b,c/d\n');

    const result = await runCli(['process', file], { env });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Inventory ${file} names column "path" more than once`);
  });

  it('records a path of one segment as invalid, naming the value', async () => {
    const file = await write('paths.csv', 'cloneUrl,branch,origin,path\nhttps://git.example.invalid/x.git,main,git.example.test,badpath\n');

    const result = await runCli(['process', file, '--run-id', 'paths'], { env });

    expect(result.code).toBe(0);
    const db = await openForAssertions({ dataDir: path.join(tmp.path, 'db') });
    try {
      expect((await resultRows(db, 'paths')).map((row) => [row.row_number, row.outcome, row.error_code])).toEqual([[1, 'invalid', 'invalid_path']]);
    } finally {
      await db.close();
    }
  });
});

describe('mass-ingest process: partitions (DESIGN §2, §3)', () => {
  it('takes PARTITION_SIZE from the environment like --partition-size for an array child', async () => {
    const result = await runCli(['process', inventory, '--run-id', 'envsize'], { env: { ...env, PARTITION_SIZE: '3', AWS_BATCH_JOB_ARRAY_INDEX: '1' } });

    expect(result.code).toBe(0);
    expect(partitionOf(result)).toEqual({ partition: 1, start: 4, end: 6, total: 3 });
  });

  it.each([
    ['--partition-size', ['--partition-size', '3'], {}],
    ['PARTITION_SIZE', [], { PARTITION_SIZE: '3' }],
  ])('runs partition 0 when %s is given without an array index or offset', async (_name, flags, extraEnv) => {
    const result = await runCli(['process', inventory, ...flags, '--run-id', `size${flags.length}`], { env: { ...env, ...extraEnv } });

    expect(result.code).toBe(0);
    expect(partitionOf(result)).toEqual({ partition: 0, start: 1, end: 3, total: 3 });
  });

  it('lets --start/--end win over PARTITION_SIZE, as a jobs-mode processor needs', async () => {
    const result = await runCli(['process', inventory, '--start', '5', '--end', '7', '--run-id', 'startend'], { env: { ...env, PARTITION_SIZE: '3' } });

    expect(result.code).toBe(0);
    expect(partitionOf(result)).toEqual({ partition: 1, start: 5, end: 7, total: 3 });
  });
});

describe('mass-ingest process: a partition late in a big inventory', () => {
  // The rows before a partition are read and checked for repeats (DESIGN §4) by every processor
  // without an index. A Map of their keys held ≈230 bytes a row: a processor of the 1,000,000th
  // row grew by ≈220 MiB, and with a heap of 32 MiB this one ran out of memory and recorded nothing.
  it('remembers the rows before its own in a heap that does not grow with them, and still finds a repeat of row 1', async () => {
    const before = 300_000;
    const rows = Array.from({ length: before }, (_, i) => `https://git.example.test/o/r${i + 1}.git,,git.example.test,o/r${i + 1}`);
    const file = await write('late.csv', ['cloneUrl,branch,origin,path', ...rows, 'https://git.example.test/o/r1.git,,git.example.test,o/r1'].join('\n') + '\n');
    const last = String(before + 1);

    const result = await runCli(['process', file, '--start', last, '--end', last, '--run-id', 'late'], { env: { ...env, NODE_OPTIONS: '--max-old-space-size=32' } });

    expect(result.stderr).not.toContain('heap out of memory');
    expect(result.code).toBe(0);
    expect(result.logs.find((line) => line.msg === 'Row is invalid')?.error).toBe(`Row ${before + 1}: git.example.test/o/r1 branch "" repeats row 1`);
    const db = await openForAssertions({ dataDir: path.join(tmp.path, 'db') });
    try {
      expect((await resultRows(db, 'late')).map((row) => [row.row_number, row.outcome, row.error_code])).toEqual([[before + 1, 'invalid', 'duplicate_row']]);
    } finally {
      await db.close();
    }
  });
});

describe('mass-ingest process: configuration messages', () => {
  it('quotes the value typed for a flag', async () => {
    const result = await runCli(['process', inventory, '--concurrency', 'abc'], { env });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--concurrency must be an integer ≥ 1, got "abc"');
  });

  it('names the environment variable a bad value came from, and states each problem once', async () => {
    const result = await runCli(['process', inventory, '--concurrency', '0'], { env: { ...env, BUILD_TIMEOUT: 'abc' } });

    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain('--build-timeout');
    expect(result.stderr.split('BUILD_TIMEOUT must be an integer ≥ 1, got "abc"')).toHaveLength(2);
    expect(result.stderr.split('--concurrency must be an integer ≥ 1, got "0"')).toHaveLength(2);
  });

  it('says a flag needs a value when the next argument starts with "-"', async () => {
    const result = await runCli(['process', inventory, '--run-id', '-xlead'], { env });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--run-id needs a value');
    expect(result.stderr).not.toContain('Unknown argument');
  });
});

import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collect, runCli, spawnCli, type CliResult } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { startSwitchingInventoryServer, type SwitchingInventoryServer } from '../fakes/switching-inventory-server.js';
import { openForAssertions, runEnv } from './process-fixtures.js';

/**
 * A processor of an open range (`--start N`, no `--end`) of a run with a planned sha256 hashes the
 * inventory in one pass and reads its rows in another (README "How a processor proves it reads
 * the planned inventory"). A file replaced, or a server serving other bytes, after the check must
 * not put other rows under the numbers checked: the rows are read from the copy that was hashed,
 * and that copy's sha256 is checked again when the rows end.
 */
let tmp: TempDir;
let inventoryServer: SwitchingInventoryServer | undefined;
let gitServer: StallingGitServer | undefined;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-open-range-');
});

afterAll(async () => {
  await tmp.remove();
});

afterEach(async () => {
  await inventoryServer?.close();
  await gitServer?.close();
  inventoryServer = undefined;
  gitServer = undefined;
});

const sha256Of = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * `git` rows cloned from `gitUrl` (valid rows, so the processor waits on them), then `ftp` rows
 * recorded `invalid` at once. Inventories of owner a and owner b differ in every row, not in length.
 */
function inventory(owner: 'a' | 'b', rows: { git?: number; ftp: number; gitUrl?: string }): string {
  const lines = ['cloneUrl,branch,origin,path'];
  for (let row = 1; row <= (rows.git ?? 0); row++) lines.push(`${rows.gitUrl}/${owner}/g${row}.git,main,git.test,${owner}/g${row}`);
  for (let row = 1; row <= rows.ftp; row++) lines.push(`ftp://git.test/${owner}/r${row}.git,main,git.test,${owner}/r${row}`);
  return `${lines.join('\n')}\n`;
}

const env = (name: string, extra: Record<string, string> = {}) => runEnv(tmp.path, name, extra);

const openRange = (inventoryUri: string, runId: string, sha256: string, start = 1) => ['process', inventoryUri, '--start', String(start), '--run-id', runId, '--inventory-sha256', sha256];

async function recorded(name: string, runId: string) {
  const db = await openForAssertions({ dataDir: path.join(tmp.path, `db-${name}`) });
  try {
    const partitions = (await db.query<{ status: string }>('SELECT status FROM run_partitions WHERE run_id = $1', [runId])).rows.map((row) => row.status);
    const results = (await db.query<{ row_number: number; path: string }>('SELECT row_number, path FROM repository_results WHERE run_id = $1 ORDER BY row_number', [runId])).rows;
    return { partitions, results: results.map((row) => [row.row_number, row.path] as const) };
  } finally {
    await db.close();
  }
}

/** A git "server" that holds every request until `release()`, then answers 404 (the rows end `clone_failed`). */
interface StallingGitServer {
  readonly url: string;
  readonly firstRequest: Promise<void>;
  release(): void;
  close(): Promise<void>;
}

async function startStallingGitServer(): Promise<StallingGitServer> {
  const held: http.ServerResponse[] = [];
  let released = false;
  let arrived = () => undefined as void;
  const firstRequest = new Promise<void>((resolve) => (arrived = resolve));
  const server = http.createServer((_request, response) => {
    arrived();
    if (released) response.writeHead(404).end();
    else held.push(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    firstRequest,
    release: () => {
      released = true;
      for (const response of held.splice(0)) response.writeHead(404).end();
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Runs the CLI and, once its first row reaches git (the inventory checked, its rows being read), does `meanwhile` and lets git answer. */
async function whileRowsAreRead(args: string[], childEnv: Record<string, string>, meanwhile: () => Promise<void>): Promise<CliResult> {
  const git = gitServer as StallingGitServer;
  const child = spawnCli(args, { env: childEnv });
  const result = collect(child);
  await Promise.race([git.firstRequest, result]);
  await meanwhile();
  git.release();
  return result;
}

describe('an open range of an http(s):// inventory', () => {
  it.each([
    ['with an ETag', true],
    ['without an ETag', false],
  ])('records the rows of the bytes it checked though the server serves other bytes afterwards (%s)', async (_name, etag) => {
    const [a, b] = [inventory('a', { ftp: 5 }), inventory('b', { ftp: 5 })];
    // The existence check and the copy hashed get A; any later GET would get B.
    inventoryServer = await startSwitchingInventoryServer([a, a, b], { etag });
    const id = etag ? 'http-etag' : 'http-plain';

    const result = await runCli(openRange(inventoryServer.url, id, sha256Of(a), 2), { env: env(id) });

    expect(result.code, result.stderr).toBe(0);
    expect(inventoryServer.gets).toEqual([0, 1]);
    expect(result.logs.find((line) => line.msg === 'Inventory checked against the run')).toMatchObject({ proof: 'sha256', sha256: sha256Of(a), bytesRead: a.length });
    expect(await recorded(id, id)).toEqual({ partitions: ['succeeded'], results: [2, 3, 4, 5].map((row) => [row, `a/r${row}`]) });
  });

  it('exits 2 (inventory_changed) before any row when the server serves other bytes than the planned ones after its existence check', async () => {
    const [a, b] = [inventory('a', { ftp: 5 }), inventory('b', { ftp: 5 })];
    inventoryServer = await startSwitchingInventoryServer([a, b], { etag: true });

    const result = await runCli(openRange(inventoryServer.url, 'http-other', sha256Of(a)), { env: env('http-other') });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Inventory ${inventoryServer.url} has sha256 ${sha256Of(b)}, but run http-other was planned over ${sha256Of(a)}: the file changed after the chunk job read it; start a new run [inventory_changed]`);
    expect(await recorded('http-other', 'http-other')).toEqual({ partitions: ['failed'], results: [] });
  });
});

describe('an open range of a file', () => {
  it('records the rows of the bytes it checked though the file is replaced by rename while they are processed', async () => {
    gitServer = await startStallingGitServer();
    const rows = { git: 2, ftp: 3, gitUrl: gitServer.url };
    const [a, b] = [inventory('a', rows), inventory('b', rows)];
    const file = path.join(tmp.path, 'renamed.csv');
    await fs.writeFile(file, a);

    const result = await whileRowsAreRead(openRange(file, 'file-renamed', sha256Of(a)), env('file-renamed'), async () => {
      await fs.writeFile(`${file}.new`, b);
      await fs.rename(`${file}.new`, file);
    });

    expect(result.code, result.stderr).toBe(0);
    expect(await recorded('file-renamed', 'file-renamed')).toEqual({
      partitions: ['succeeded'],
      results: [
        [1, 'a/g1'],
        [2, 'a/g2'],
        [3, 'a/r1'],
        [4, 'a/r2'],
        [5, 'a/r3'],
      ],
    });
  });

  it('keeps the rows done, fails the partition and exits 2 naming both sha256 and the rows when the copy its rows are read from changes under it', async () => {
    gitServer = await startStallingGitServer();
    // 20 rows that wait on git hold the reader ~150 KB into ~1 MB: the rest is read after the copy is written over.
    const rows = { git: 20, ftp: 10_000, gitUrl: gitServer.url };
    const [a, b] = [inventory('a', rows), inventory('b', rows)];
    const file = path.join(tmp.path, 'copied.csv');
    await fs.writeFile(file, a);
    const childTmp = path.join(tmp.path, 'child-tmp');
    await fs.mkdir(childTmp);
    let copy = '';

    const result = await whileRowsAreRead(openRange(file, 'copy-changed', sha256Of(a)), env('copy-changed', { TMPDIR: childTmp }), async () => {
      const dir = (await fs.readdir(childTmp)).find((name) => name.startsWith('mass-ingest-inventory-'));
      copy = path.join(childTmp, dir ?? '?', 'inventory.csv');
      // Written over in place (no moment of a shorter file), as something writing into it would.
      const handle = await fs.open(copy, 'r+');
      await handle.write(b, 0);
      await handle.close();
    });

    expect(result.code).toBe(2);
    const line = result.logs.find((entry) => entry.msg === 'Rows were read from bytes other than the inventory checked');
    expect(line).toMatchObject({ level: 50, inventory: file, copy, plannedSha256: sha256Of(a), firstRow: 1, lastRow: 10_020 });
    expect(line?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(line?.sha256).not.toBe(sha256Of(a));
    expect(result.stderr).toContain(`mass-ingest: Inventory ${file} was checked, then its rows were read from its copy ${copy}, which changed meanwhile: the bytes read have sha256 ${String(line?.sha256)}, but run copy-changed was planned over ${sha256Of(a)}; rows 1..10020 came from them`);
    expect(result.stderr).toContain('[inventory_changed]');
    expect(result.logs.map((entry) => entry.msg)).toContain('Inventory changed under its rows: finishing the rows already begun');
    expect(result.logs.map((entry) => entry.msg)).not.toContain('Inventory unreadable: finishing the rows already begun');
    const { partitions, results } = await recorded('copy-changed', 'copy-changed');
    expect(partitions).toEqual(['failed']);
    // Every row read is recorded: the first ones from A, the last from what was written over the copy.
    expect([results.length, results[0], results.at(-1)]).toEqual([10_020, [1, 'a/g1'], [10_020, 'b/r10000']]);
    expect(await fs.readdir(childTmp)).toEqual([]);
  });
});

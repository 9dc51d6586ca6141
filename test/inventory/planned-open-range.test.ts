import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, MassIngestError } from '../../src/errors.js';
import { readPlannedRows, type PlannedInventory, type VerifiedRows } from '../../src/inventory/planned.js';
import { startSwitchingInventoryServer, type SwitchingInventoryServer } from '../fakes/switching-inventory-server.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

/**
 * An open range (`--start N`, no `--end`) of a run with a planned sha256 is hashed in one pass and
 * its rows read in another (src/inventory/planned.ts). Between the two, a file may be replaced or
 * rewritten, and a web server may serve other bytes: the rows must still be the bytes hashed.
 * TMPDIR points into the test's directory, so the private copy the rows are read from is seen.
 */
const OPEN = { start: 2, end: Number.POSITIVE_INFINITY };

/** `rows` rows whose paths start with `owner`: A and B differ in every row, not in length. */
function inventory(owner: 'a' | 'b', rows = 5): string {
  return `cloneUrl,branch,origin,path\n${Array.from({ length: rows }, (_, i) => `https://git.test/${owner}/r${i + 1}.git,main,git.test,${owner}/r${i + 1}\n`).join('')}`;
}

const sha256Of = (text: string) => createHash('sha256').update(text).digest('hex');
const planned = (text: string): PlannedInventory => ({ runId: 'open1', sha256: sha256Of(text), etag: undefined });

let tmp: TempDir;
let copies: string;
let server: SwitchingInventoryServer | undefined;
const savedTmpdir = process.env.TMPDIR;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-open-range-');
  copies = path.join(tmp.path, 'tmp');
  await fs.mkdir(copies);
  process.env.TMPDIR = copies;
});

afterAll(async () => {
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  await tmp.remove();
});

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function pathsOf(checked: VerifiedRows): Promise<string[]> {
  const paths: string[] = [];
  for await (const entry of checked.reading?.entries ?? []) paths.push(entry.row.path ?? '');
  return paths;
}

async function refusal(promise: Promise<unknown>): Promise<MassIngestError> {
  const err = await promise.then(() => undefined, (error: unknown) => error);
  expect(err).toBeInstanceOf(MassIngestError);
  return err as MassIngestError;
}

async function writeFile(name: string, text: string): Promise<string> {
  const file = path.join(tmp.path, name);
  await fs.writeFile(file, text);
  return file;
}

describe('an open range of a file', () => {
  it('reads the rows it checked, though the file is replaced by rename before they are read', async () => {
    const file = await writeFile('renamed.csv', inventory('a'));
    const checked = await readPlannedRows(file, OPEN, planned(inventory('a')), {});
    await writeFile('renamed.csv.new', inventory('b'));
    await fs.rename(`${file}.new`, file);

    const paths = await pathsOf(checked);

    expect([checked.proof, checked.bytesRead]).toEqual(['sha256', inventory('a').length]);
    expect(paths).toEqual(['a/r2', 'a/r3', 'a/r4', 'a/r5']);
    expect(checked.reading?.summary()).toEqual({ rows: 5, sha256: sha256Of(inventory('a')), complete: true });
    expect(await fs.readdir(copies)).toEqual([]);
  });

  it('reads the rows it checked, though the file is rewritten in place (`> repos.csv`) before they are read', async () => {
    const file = await writeFile('rewritten.csv', inventory('a'));
    const checked = await readPlannedRows(file, OPEN, planned(inventory('a')), {});
    await fs.writeFile(file, inventory('b', 7));

    const paths = await pathsOf(checked);

    expect(paths).toEqual(['a/r2', 'a/r3', 'a/r4', 'a/r5']);
  });

  it('refuses a file that is not the planned one before any row (inventory_changed, exit 2), and keeps no copy of it', async () => {
    const file = await writeFile('other.csv', inventory('b'));

    const err = await refusal(readPlannedRows(file, OPEN, planned(inventory('a')), {}));

    expect([err.code, err.exitCode]).toEqual(['inventory_changed', EXIT.usage]);
    expect(err.message).toBe(`Inventory ${file} has sha256 ${sha256Of(inventory('b'))}, but run open1 was planned over ${sha256Of(inventory('a'))}: the file changed after the chunk job read it; start a new run`);
    expect(await fs.readdir(copies)).toEqual([]);
  });

  it('removes its copy when the rows are never read (the processor stopped before them)', async () => {
    const file = await writeFile('unread.csv', inventory('a'));
    const checked = await readPlannedRows(file, OPEN, planned(inventory('a')), {});
    const held = await fs.readdir(copies);

    await checked.release?.();

    expect(held).toHaveLength(1);
    expect(await fs.readdir(copies)).toEqual([]);
  });

  it('removes its copy when its reader stops after the first row, and a release after that finds nothing to do', async () => {
    const file = await writeFile('stopped.csv', inventory('a'));
    const checked = await readPlannedRows(file, OPEN, planned(inventory('a')), {});
    const paths: string[] = [];

    for await (const entry of checked.reading?.entries ?? []) {
      paths.push(entry.row.path ?? '');
      break;
    }
    await checked.release?.();

    expect(paths).toEqual(['a/r2']);
    expect(await fs.readdir(copies)).toEqual([]);
  });
});

describe('an open range of an http(s):// inventory', () => {
  it.each([
    ['with an ETag', true],
    ['without an ETag', false],
  ])('reads the rows it checked from one GET, though the server serves other bytes to the next (%s)', async (_name, etag) => {
    server = await startSwitchingInventoryServer([inventory('a'), inventory('b')], { etag });
    const checked = await readPlannedRows(server.url, OPEN, planned(inventory('a')), {});

    const paths = await pathsOf(checked);

    expect(paths).toEqual(['a/r2', 'a/r3', 'a/r4', 'a/r5']);
    expect(server.gets).toEqual([0]);
    expect(await fs.readdir(copies)).toEqual([]);
  });

  it('refuses other bytes than the planned ones before any row, naming both sha256', async () => {
    server = await startSwitchingInventoryServer([inventory('b')], { etag: true });

    const err = await refusal(readPlannedRows(server.url, OPEN, planned(inventory('a')), {}));

    expect([err.code, err.exitCode]).toEqual(['inventory_changed', EXIT.usage]);
    expect(err.message).toContain(`Inventory ${server.url} has sha256 ${sha256Of(inventory('b'))}, but run open1 was planned over ${sha256Of(inventory('a'))}`);
    expect(await fs.readdir(copies)).toEqual([]);
  });
});

describe('the copy an open range is read from', () => {
  it('fails the rows at their end, naming both sha256 and the rows read, when it changed while they were read', async () => {
    // 20,000 rows (~1 MB), far more than the streams read ahead of the first row.
    const a = inventory('a', 20_000);
    const b = inventory('b', 20_000);
    const file = await writeFile('big.csv', a);
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _encoding, done) => done(void lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)) }));
    const checked = await readPlannedRows(file, OPEN, planned(a), {}, log);
    const [dir] = await fs.readdir(copies);
    const copy = path.join(copies, dir ?? '', 'inventory.csv');
    const entries = checked.reading?.entries[Symbol.asyncIterator]();
    const paths = [(await entries?.next())?.value?.row.path];

    // Written over in place, as something writing into the copy would: no moment of a shorter file.
    const handle = await fs.open(copy, 'r+');
    await handle.write(b, 0);
    await handle.close();
    const err = await (async () => {
      for (;;) {
        const next = await entries?.next();
        if (!next || next.done) return undefined;
        paths.push(next.value.row.path);
      }
    })().catch((error: unknown) => error as MassIngestError);

    expect([paths.length, paths[0], paths.at(-1)]).toEqual([19_999, 'a/r2', 'b/r20000']);
    expect([err?.code, err?.exitCode]).toEqual(['inventory_changed', EXIT.usage]);
    const read = checked.reading?.summary().sha256;
    expect(read).not.toBe(sha256Of(a));
    expect(err?.message).toBe(
      `Inventory ${file} was checked, then its rows were read from its copy ${copy}, which changed meanwhile: the bytes read have sha256 ${read}, but run open1 was planned over ${sha256Of(a)}; rows 2..20000 came from them and their outcomes are recorded, though they may not be the planned rows: start a new run`,
    );
    expect(lines.filter((line) => line.level === 50).map(({ msg, inventory, copy, sha256, plannedSha256, firstRow, lastRow }) => ({ msg, inventory, copy, sha256, plannedSha256, firstRow, lastRow }))).toEqual([
      { msg: 'Rows were read from bytes other than the inventory checked', inventory: file, copy, sha256: read, plannedSha256: sha256Of(a), firstRow: 2, lastRow: 20_000 },
    ]);
    expect(await fs.readdir(copies)).toEqual([]);
  });
});

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInventory, scanInventory } from '../../src/inventory/reader.js';
import type { InventoryEntry } from '../../src/inventory/rows.js';
import { UsageError } from '../../src/errors.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mass-ingest-inv-malformed-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function write(name: string, content: string | Buffer): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, content);
  return file;
}

async function readAll(file: string): Promise<InventoryEntry[]> {
  const entries: InventoryEntry[] = [];
  for await (const entry of readInventory(file, { start: 1, end: Number.POSITIVE_INFINITY }).entries) entries.push(entry);
  return entries;
}

const STRAY_QUOTE = 'cloneUrl,branch,origin,path,buildCommand\nhttps://h/a/b.git,main,h,a/b,\n\nhttps://h/a/c.git,main,h,a/c,echo "hi"\n';

describe('readInventory and scanInventory: malformed CSV', () => {
  it('reports a quote inside an unquoted field as a usage error naming the file, the line and the row', async () => {
    const file = await write('stray-quote.csv', STRAY_QUOTE);

    const read = await readAll(file).catch((err: unknown) => err);
    const scanned = await scanInventory(file).catch((err: unknown) => err);

    for (const error of [read, scanned]) {
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).code).toBe('inventory_malformed');
      expect((error as UsageError).message).toContain(`Inventory ${file} is not valid CSV near line 4 (row 2): Invalid Opening Quote`);
    }
  });

  it('records a row whose unquoted comma adds a field as invalid, without shifting the rows after it', async () => {
    const file = await write('extra-field.csv', 'cloneUrl,branch,origin,path,buildCommand\nhttps://h/a/b.git,main,h,a/b,make a,b\nhttps://h/a/c.git,main,h,a/c,make\n');

    const entries = await readAll(file);

    expect(entries.map((entry) => [entry.row.rowNumber, entry.kind, entry.kind === 'invalid' ? entry.row.errorCode : entry.row.path])).toEqual([
      [1, 'invalid', 'extra_fields'],
      [2, 'valid', 'a/c'],
    ]);
  });

  it('names the exact spelling when a required column differs only in case', async () => {
    const file = await write('case.csv', 'CloneURL,branch,origin,path\nhttps://h/a/b.git,main,h,a/b\n');

    const error = await readAll(file).catch((err: unknown) => err);

    expect((error as UsageError).code).toBe('inventory_missing_column');
    expect((error as UsageError).message).toContain('(names are case-sensitive: write "CloneURL" as "cloneUrl")');
  });

  it('still counts data records only, the header and blank lines excluded', async () => {
    const file = await write('count.csv', '\uFEFFcloneUrl,branch,origin,path\r\n\r\nhttps://h/a/b.git,main,h,a/b\r\nhttps://h/a/c.git,main,h,a/c');

    const scan = await scanInventory(file);

    expect(scan.rows).toBe(2);
  });
});

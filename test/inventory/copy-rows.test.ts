import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CopyOutputError, copyInventoryRows } from '../../src/inventory/copy-rows.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

let tmp: TempDir;
beforeEach(async () => {
  tmp = await createTempDir('mass-ingest-copy-rows-');
});
afterEach(async () => {
  await tmp.remove();
});

const INVENTORY = [
  'cloneUrl,branch,origin,path,buildCommand',
  'https://h.test/a/one.git,main,h.test,a/one,',
  '',
  'https://h.test/a/two.git,main,h.test,a/two,"make, then ""ship"""',
  'https://h.test/a/three.git,main,h.test,a/three,make',
].join('\r\n');

describe('copyInventoryRows', () => {
  it('copies the header and the kept records with every column, numbering rows as the reader does (blank lines not counted)', async () => {
    const inventory = path.join(tmp.path, 'repos.csv');
    await fs.writeFile(inventory, INVENTORY);
    const file = path.join(tmp.path, 'copy.csv');
    const seen: Array<[number, string]> = [];

    const copy = await copyInventoryRows(inventory, {}, file, (row, fields, header) => {
      seen.push([row, fields[header.indexOf('path')] ?? '']);
      return row !== 1;
    });

    expect(seen).toEqual([
      [1, 'a/one'],
      [2, 'a/two'],
      [3, 'a/three'],
    ]);
    expect(copy).toEqual({
      header: ['cloneUrl', 'branch', 'origin', 'path', 'buildCommand'],
      rows: 3,
      written: 2,
      sha256: createHash('sha256').update(INVENTORY).digest('hex'),
    });
    expect(await fs.readFile(file, 'utf8')).toBe(
      'cloneUrl,branch,origin,path,buildCommand\nhttps://h.test/a/two.git,main,h.test,a/two,"make, then ""ship"""\nhttps://h.test/a/three.git,main,h.test,a/three,make\n',
    );
  });

  it('says the copy could not be written, apart from read errors, and leaves no file', async () => {
    const inventory = path.join(tmp.path, 'repos.csv');
    await fs.writeFile(inventory, INVENTORY);
    const file = path.join(tmp.path, 'missing-dir', 'copy.csv');

    const copying = copyInventoryRows(inventory, {}, file, () => true);

    await expect(copying).rejects.toBeInstanceOf(CopyOutputError);
    await expect(copyInventoryRows(path.join(tmp.path, 'nope.csv'), {}, path.join(tmp.path, 'copy.csv'), () => true)).rejects.not.toBeInstanceOf(CopyOutputError);
    expect(await fs.readdir(tmp.path)).toEqual(['repos.csv']);
  });
});

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInventory } from '../../src/inventory/reader.js';
import { entriesOf, startOf } from './partition-starts.js';
import { scanInventory } from '../../src/inventory/scan.js';
import type { PartitionIndex } from '../../src/inventory/partition-index.js';
import { HashedSeenRows } from '../../src/inventory/seen-rows.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mass-ingest-index-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function write(name: string, content: string): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, content);
  return file;
}



/** Every CSV shape DESIGN §4 accepts, each with a repeat of a row several rows back and rows invalid for other reasons. */
const SHAPES: Record<string, string> = {
  'LF, BOM, blank lines, no final newline': '\uFEFFcloneUrl,branch,origin,path\n\nhttps://h/a/b.git,main,h,a/b\n\n\nhttps://h/a/c.git,main,h,a/c\nhttps://h/a/d.git,main,h,a/d\nhttps://h/a/b.git,main,h,a/b\nnot-a-url,main,h,a/e\nhttps://h/a/c.git,dev,h,a/c\nhttps://h/a/c.git,main,h,a/c',
  'CRLF, quoted fields holding line breaks and commas': 'cloneUrl,branch,origin,path,buildCommand\r\nhttps://h/a/b.git,main,h,a/b,"make\r\nall"\r\n"https://h/a/c.git",main,h,a/c,"echo ""a,b"""\r\n\r\nhttps://h/a/d.git,main,h,a/d,\r\nhttps://h/x/y.git,main,h,x/y,"one\ntwo"\r\nhttps://h/a/b.git,main,h,a/b,again\r\n,main,h,a/f,\r\nhttps://h/a/d.git,main,h,a/d,x\r\n',
  'multi-byte characters before the partitions': 'cloneUrl,branch,origin,path,note\nhttps://h/a/b.git,main,h,a/b,Grüße 日本\nhttps://h/a/c.git,main,h,a/c,"ünïcödé, quoted"\nhttps://h/a/b.git,main,h,a/b,€\nhttps://h/a/d.git,main,h,a/d,\nhttps://h/a/c.git,main,h,a/c,ß\n',
};

describe('a partition read from its recorded offset', () => {
  for (const [shape, csv] of Object.entries(SHAPES)) {
    it(`yields the rows a read from the first byte yields (${shape})`, async () => {
      const file = await write(`${shape.replace(/\W+/g, '-')}.csv`, csv);

      for (const size of [1, 2, 3, 4]) {
        const { rows, index } = await scanInventory(file, {}, size);
        if (!index) throw new Error('no index');
        expect(index.offsets).toHaveLength(Math.ceil(rows / size));
        for (let partition = 0; partition * size < rows; partition++) {
          const start = partition * size + 1;
          const end = Math.min(start + size - 1, rows);
          const expected = await entriesOf(file, start, end);

          const resumed = await entriesOf(file, start, end, startOf(index, partition, size));

          expect({ size, partition, entries: resumed }).toEqual({ size, partition, entries: expected });
        }
      }
    });
  }

  it('marks a row invalid that repeats a row of an earlier partition, naming that row', async () => {
    const file = await write('repeat.csv', SHAPES['LF, BOM, blank lines, no final newline'] ?? '');
    const { index } = await scanInventory(file, {}, 3);

    const resumed = await entriesOf(file, 4, 6, startOf(index as PartitionIndex, 1, 3));

    expect(resumed.map((entry) => [entry.row.rowNumber, entry.kind, 'errorCode' in entry.row ? entry.row.errorMessage : undefined])).toEqual([
      [4, 'invalid', 'Row 4: h/a/b branch "main" repeats row 1'],
      [5, 'invalid', 'Row 5: cloneUrl "not-a-url" has an unknown scheme (use https://, http://, ssh://, git://, file://, user@host:path or an absolute path)'],
      [6, 'valid', undefined],
    ]);
    expect(index?.earlierDuplicates.get(1)).toEqual(new Map([[4, 1]]));
  });

  it('reads no byte of the rows before the partition', async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => `https://h/o/r${i}.git,main,h,o/r${i}`).join('\n');
    const file = await write('long.csv', `cloneUrl,branch,origin,path\n${rows}\n`);
    const { index, bytes } = await scanInventory(file, {}, 10);
    const reading = readInventory(file, { start: 991, end: 1000 }, { resume: startOf(index as PartitionIndex, 99, 10) });

    const read: number[] = [];
    for await (const entry of reading.entries) read.push(entry.row.rowNumber);

    expect(read).toEqual(Array.from({ length: 10 }, (_, i) => 991 + i));
    expect(reading.bytesRead?.()).toBeLessThan(bytes / 50);
    expect(reading.summary().sha256).toBeUndefined();
  });
});

describe('HashedSeenRows', () => {
  it('answers like a Map over a million keys, growing as it goes', () => {
    const seen = new HashedSeenRows();
    const map = new Map<string, number>();
    for (let row = 1; row <= 1_000_000; row++) {
      const key = `github.com\u0000owner${row % 997}/name-${row}\u0000main`;
      seen.set(key, row);
      map.set(key, row);
    }

    const disagreements = [...map].filter(([key, row]) => seen.get(key) !== row).length;
    const falseHits = Array.from({ length: 100_000 }, (_, i) => seen.get(`github.com\u0000absent${i}/x\u0000main`)).filter((row) => row !== undefined).length;

    expect({ disagreements, falseHits }).toEqual({ disagreements: 0, falseHits: 0 });
  });
});

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entriesOf, startOf } from './partition-starts.js';
import { scanInventory } from '../../src/inventory/scan.js';
import type { PartitionIndex } from '../../src/inventory/partition-index.js';

/**
 * Every partition of generated inventories of a few hundred KiB (records and line breaks across
 * the 64 KiB chunks the scan and the child read), read from its recorded offset, against the
 * same rows read from the first byte.
 */
let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mass-ingest-review-index-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A small deterministic PRNG (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Shape {
  readonly eol: string;
  readonly bom: boolean;
  readonly finalNewline: boolean;
}

function generate(seed: number, rows: number, shape: Shape): string {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const lines: string[] = [`${shape.bom ? '\uFEFF' : ''}cloneUrl,branch,origin,path,buildCommand,note`];
  const keys: string[] = [];
  for (let row = 1; row <= rows; row++) {
    while (next() < 0.08) lines.push('');
    const repeat = keys.length > 0 && next() < 0.1;
    const name = repeat ? pick(keys) : `o${Math.floor(next() * 50)}/r${row}`;
    if (!repeat) keys.push(name);
    const note = pick(['', 'plain', '"quoted, with comma"', `"two${shape.eol}lines"`, '"mixed\nbreak"', '"say ""hi"""', 'Grüße 日本 €', `"${'x'.repeat(Math.floor(next() * 3000))}"`]);
    const build = pick(['', '', 'make', `"make${shape.eol}all"`]);
    const clone = pick([`https://h/${name}.git`, `https://h/${name}.git`, `https://h/${name}.git`, '', 'not-a-url', `"https://h/${name}.git"`]);
    const branch = pick(['main', 'main', 'dev', 'bad branch']);
    const extra = next() < 0.03 ? ',extra' : '';
    lines.push(`${clone},${branch},h,${name},${build},${note}${extra}`);
  }
  while (next() < 0.3) lines.push('');
  const text = lines.join(shape.eol);
  return shape.finalNewline ? `${text}${shape.eol}` : text;
}



const SHAPES: Array<[string, Shape]> = [
  ['LF with a BOM and a final newline', { eol: '\n', bom: true, finalNewline: true }],
  ['CRLF without a final newline', { eol: '\r\n', bom: false, finalNewline: false }],
  ['CRLF with a BOM', { eol: '\r\n', bom: true, finalNewline: true }],
];

describe('every partition of a generated inventory read from its recorded offset', () => {
  for (const [name, shape] of SHAPES) {
    it(`yields the rows a read from the first byte yields (${name})`, async () => {
      const file = path.join(dir, `${name.replace(/\W+/g, '-')}.csv`);
      await fs.writeFile(file, generate(name.length * 7919, 1_500, shape));
      const all = await entriesOf(file, 1, Number.POSITIVE_INFINITY);

      const mismatches: Array<{ size: number; partition: number }> = [];
      for (const size of [1, 7, 64, 333]) {
        const { rows, index } = await scanInventory(file, {}, size);
        if (!index) throw new Error('no index');
        expect(rows).toBe(all.length);
        for (let partition = 0; partition * size < rows; partition++) {
          const start = partition * size + 1;
          const end = Math.min(start + size - 1, rows);
          const resumed = await entriesOf(file, start, end, startOf(index, partition, size));
          if (JSON.stringify(resumed) !== JSON.stringify(all.slice(start - 1, end))) mismatches.push({ size, partition });
        }
      }

      expect(all.some((entry) => entry.kind === 'invalid' && entry.row.errorCode === 'duplicate_row')).toBe(true);
      expect(mismatches).toEqual([]);
    });
  }

  it('yields the rows of a sub-range of a partition (a jobs-mode --start/--end inside it) as a read from the first byte does', async () => {
    const file = path.join(dir, 'sub-range.csv');
    await fs.writeFile(file, generate(4242, 600, { eol: '\r\n', bom: true, finalNewline: true }));
    const size = 100;
    const { index } = await scanInventory(file, {}, size);

    const resumed = await entriesOf(file, 237, 262, startOf(index as PartitionIndex, 2, size));

    expect(resumed).toEqual(await entriesOf(file, 237, 262));
  });
});

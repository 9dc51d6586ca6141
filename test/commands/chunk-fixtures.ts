import fs from 'node:fs/promises';
import path from 'node:path';
import { resolveRange } from '../../src/inventory/range.js';
import type { FakeJob } from '../fakes/batch-api.js';

/** An inventory of `rows` data rows, each naming a distinct repository. */
export function inventoryText(rows: number, options: { eol?: string; trailingNewline?: boolean; quotedNewlines?: boolean; bom?: boolean; blankLines?: boolean } = {}): string {
  const eol = options.eol ?? '\n';
  const lines = ['cloneUrl,branch,origin,path,description'];
  for (let row = 1; row <= rows; row += 1) {
    const description = options.quotedNewlines && row % 2 === 1 ? `"line one${eol}line ""two"", still row ${row}"` : `row ${row}`;
    lines.push(`https://git.example.test/acme/r${row}.git,main,git.example.test,acme/r${row},${description}`);
    if (options.blankLines && row % 3 === 0) lines.push('');
  }
  const text = lines.join(eol) + (options.trailingNewline === false ? '' : eol);
  return (options.bom ? '\uFEFF' : '') + text;
}

export async function writeInventory(dir: string, name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, text);
  return file;
}

/**
 * The rows each submitted processor job will read, computed the way the processor computes
 * them (src/inventory/range.ts): array children from AWS_BATCH_JOB_ARRAY_INDEX, a plain job
 * from its partitionOffset alone, a jobs-mode job from --start/--end. Ends are clipped to the
 * inventory, as the reader stops at its last row.
 */
export function rowsCovered(jobs: readonly FakeJob[], totalRows: number): number[] {
  const counts = new Array<number>(totalRows + 1).fill(0);
  const cover = (start: number, end: number) => {
    for (let row = start; row <= Math.min(end, totalRows); row += 1) counts[row] = (counts[row] ?? 0) + 1;
  };
  for (const job of jobs) {
    if (job.command?.[0] === 'process') {
      const flag = (name: string) => Number(job.command?.[job.command.indexOf(name) + 1]);
      cover(flag('--start'), flag('--end'));
      continue;
    }
    if (job.command !== undefined) continue; // report and barrier jobs
    const partitionSize = Number(job.parameters.partitionSize);
    const partitionOffset = Number(job.parameters.partitionOffset);
    const children = job.arraySize === undefined ? [undefined] : Array.from({ length: job.arraySize }, (_, index) => index);
    for (const arrayIndex of children) {
      const range = resolveRange({ partitionSize, partitionOffset, arrayIndex }, undefined);
      cover(range.start, range.end);
    }
  }
  return counts.slice(1);
}

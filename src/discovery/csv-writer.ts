import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { DiscoveredRepository } from './types.js';

/** repos.csv as discover writes it: the processor's required columns first (DESIGN §4). */
export const CSV_COLUMNS = ['cloneUrl', 'branch', 'origin', 'path', 'stars', 'pushedAt'] as const;

/**
 * Writes the inventory next to its destination and renames it into place, so a reader (the
 * chunk job) sees the old file or the new one, never half of one.
 */
export async function writeCsvAtomically(file: string, pages: AsyncIterable<readonly DiscoveredRepository[]>): Promise<number> {
  const target = path.resolve(file);
  await fs.mkdir(path.dirname(target), { recursive: true });
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await fs.open(temp, 'w');
  let rows = 0;
  try {
    await handle.write(`${CSV_COLUMNS.join(',')}\n`);
    for await (const page of pages) {
      if (page.length === 0) continue;
      await handle.write(page.map(csvLine).join(''));
      rows += page.length;
    }
    await handle.sync();
    await handle.close();
    await fs.rename(temp, target);
    return rows;
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fs.rm(temp, { force: true });
    throw err;
  }
}

export function csvLine(repo: DiscoveredRepository): string {
  return `${[repo.cloneUrl, repo.branch, repo.origin, repo.path, String(repo.stars), repo.pushedAt ?? ''].map(csvField).join(',')}\n`;
}

/** RFC 4180: quote a field holding a comma, quote or line break; double its quotes. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

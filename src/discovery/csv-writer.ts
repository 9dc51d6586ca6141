import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { DiscoveredRepository } from './types.js';
import { isAlive as processIsAlive } from '../build/process-tree.js';

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

export interface StaleTemporary {
  readonly file: string;
  readonly pid: number;
}

/**
 * The temporary files of writers that died before their rename (`kill -9`, a lost host): those
 * beside `file` named as writeCsvAtomically names them whose process is not alive on this host.
 * A live process's file (another run writing the same --out) is kept; so is anything else. A
 * file with this process's own pid is a leftover too (pid 1 in every container): this process has
 * not started writing when it looks. Returns what it removed.
 */
export async function removeStaleTemporaries(file: string, isAlive: (pid: number) => boolean = processIsAlive): Promise<StaleTemporary[]> {
  const target = path.resolve(file);
  const pattern = new RegExp(`^\\.${escapeRegExp(path.basename(target))}\\.(\\d+)\\.[0-9a-f]{8}\\.tmp$`);
  const names = await fs.readdir(path.dirname(target)).catch(() => [] as string[]);
  const removed: StaleTemporary[] = [];
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1] ?? Number.NaN);
    if (!Number.isSafeInteger(pid) || pid <= 0 || (pid !== process.pid && isAlive(pid))) continue;
    const stale = path.join(path.dirname(target), name);
    const entry = await fs.lstat(stale).catch(() => undefined);
    if (!entry?.isFile()) continue;
    await fs.rm(stale, { force: true });
    removed.push({ file: stale, pid });
  }
  return removed;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function csvLine(repo: DiscoveredRepository): string {
  return `${[repo.cloneUrl, repo.branch, repo.origin, repo.path, String(repo.stars), repo.pushedAt ?? ''].map(csvField).join(',')}\n`;
}

/** RFC 4180: quote a field holding a comma, quote or line break; double its quotes. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

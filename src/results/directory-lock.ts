import fs from 'node:fs/promises';
import { UsageError } from '../errors.js';

export interface DirectoryLock {
  release(): Promise<void>;
}

/**
 * PGlite is a single-process database: two processes opening one directory corrupt it.
 * The lock file holds the owner's pid; a lock left by a dead process is taken over.
 */
export async function acquireDirectoryLock(lockPath: string, options: { waitMs?: number } = {}): Promise<DirectoryLock> {
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    const owner = await tryCreate(lockPath);
    if (owner === undefined) return { release: () => fs.rm(lockPath, { force: true }) };
    if (!isAlive(owner)) {
      await fs.rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new UsageError(
        'db_locked',
        `The embedded database is in use by process ${owner} (lock file ${lockPath}): wait for it to finish, or set DATABASE_URL to share a PostgreSQL between processes`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function tryCreate(lockPath: string): Promise<number | undefined> {
  try {
    const handle = await fs.open(lockPath, 'wx');
    await handle.writeFile(String(process.pid));
    await handle.close();
    return undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const text = await fs.readFile(lockPath, 'utf8').catch(() => '');
    const pid = Number.parseInt(text, 10);
    return Number.isInteger(pid) ? pid : 0;
  }
}

function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

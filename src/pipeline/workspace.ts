import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';

const execFileAsync = promisify(execFile);

/**
 * Removes a repository's workspace, even when its build left directories without write or
 * search permission (`chmod -R a-w`, a read-only module cache): those are made accessible first
 * (symbolic links are not followed). False when something still could not be removed.
 */
export async function removeWorkspace(dir: string): Promise<boolean> {
  try {
    await fs.rm(dir, { recursive: true, force: true });
    return true;
  } catch {
    await makeRemovable(dir);
    const removed = await fs.rm(dir, { recursive: true, force: true }).then(
      () => true,
      () => false,
    );
    // A tree deeper than PATH_MAX (a build can make one) defeats path-based removal; GNU rm walks
    // it relative to each directory, and stays on this file system.
    return removed || (await removeWithRm(dir));
  }
}

async function removeWithRm(dir: string): Promise<boolean> {
  await execFileAsync('rm', ['-rf', '--one-file-system', '--', dir]).catch(() => undefined);
  return fs.lstat(dir).then(
    () => false,
    () => true,
  );
}

async function makeRemovable(dir: string): Promise<void> {
  await fs.chmod(dir, 0o700).catch(() => undefined);
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isDirectory()) await makeRemovable(path.join(dir, entry.name));
  }
}

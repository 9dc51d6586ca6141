import fs from 'node:fs/promises';
import path from 'node:path';

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
    return fs.rm(dir, { recursive: true, force: true }).then(
      () => true,
      () => false,
    );
  }
}

async function makeRemovable(dir: string): Promise<void> {
  await fs.chmod(dir, 0o700).catch(() => undefined);
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isDirectory()) await makeRemovable(path.join(dir, entry.name));
  }
}

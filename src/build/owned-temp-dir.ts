import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isAlive, PID_NAMESPACE } from './process-tree.js';

/**
 * What a processor keeps in the temporary directory outside its work directory: `cred` (git's
 * credential files, src/git/credentials.ts) and `inventory` (private copies of an inventory,
 * src/inventory/source.ts).
 */
export type TempDirKind = 'cred' | 'inventory';

export const TEMP_DIR_KINDS: readonly TempDirKind[] = ['cred', 'inventory'];

/**
 * A private (0700) directory `mass-ingest-<kind>-<pid namespace>-<pid>-XXXXXX` in `tmpdir`: its
 * name says whose it is, so a later processor can remove it if this one is killed before it can
 * (`kill -9`, the OOM killer): see removeStaleTempDirs.
 */
export async function makeOwnedTempDir(kind: TempDirKind, tmpdir = os.tmpdir()): Promise<string> {
  const dir = await fs.mkdtemp(path.join(tmpdir, `mass-ingest-${kind}-${PID_NAMESPACE}-${process.pid}-`));
  await fs.chmod(dir, 0o700);
  return dir;
}

/**
 * The directories of `kind` left by processors that were killed before they could remove them:
 * those of this pid namespace whose process is gone. Returns how many were removed. A directory
 * of a live processor, of another namespace (a container's, seen from its host), of an older
 * mass-ingest (no pid in its name) or of another user is left alone.
 */
export async function removeStaleTempDirs(kind: TempDirKind, tmpdir = os.tmpdir()): Promise<number> {
  const pattern = new RegExp(`^mass-ingest-${kind}-(\\d+)-(\\d+)-[A-Za-z0-9]{6}$`);
  const names = await fs.readdir(tmpdir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    const match = pattern.exec(name);
    if (!match || match[1] !== PID_NAMESPACE) continue;
    const pid = Number(match[2]);
    if (pid === process.pid || isAlive(pid)) continue;
    const dir = path.join(tmpdir, name);
    const stat = await fs.lstat(dir).catch(() => undefined);
    // Only one we made: anyone can make a directory of that name in /tmp, and what they own they
    // can change while we remove it (a subdirectory swapped for a link: we would delete through it).
    if (!stat?.isDirectory() || stat.uid !== (process.getuid?.() ?? stat.uid)) continue;
    await fs.rm(dir, { recursive: true, force: true }).then(
      () => (removed += 1),
      () => undefined,
    );
  }
  return removed;
}

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RUN_ID_PATTERN } from '../config/config.js';
import { InfrastructureError, UsageError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { killOrphanedBuilds } from '../build/process-tree.js';
import { removeStaleTempDirs, TEMP_DIR_KINDS, type TempDirKind } from '../build/owned-temp-dir.js';
import { acquireDirectoryLock, isLockAbandoned } from '../results/directory-lock.js';
import { removeWorkspace } from './workspace.js';

/**
 * `<workdir>/<runId>/`, where the repositories' workspaces (`row-N`) go. Each processor using it
 * holds an owner file there (`.owner-<host>-<pid>`, kept fresh by a heartbeat), so that a later
 * processor can tell the workspaces of a stopped one (kill -9, the OOM killer, a reboot without a
 * clean /tmp) from those of a live one, and remove them: clones and builds take gigabytes. The
 * builds such a processor left running are killed first (src/build/process-tree.ts).
 */
export interface RunWorkdir {
  readonly dir: string;
  /** Gives up the owner file and removes the run's directory when it is empty. */
  release(): Promise<void>;
}

const OWNER_PREFIX = '.owner-';
const WORKSPACE = /^row-\d+$/;
/** A directory changed this recently may be one a starting processor has not claimed yet. */
const QUIET_MS = 60_000;
const CLAIM_ATTEMPTS = 3;

const STALE_TEMP_DIRS: Record<TempDirKind, string> = {
  cred: 'Removed the credential files of a stopped processor',
  inventory: 'Removed the inventory copies of a stopped processor',
};

export async function claimRunWorkdir(workdir: string, runId: string, log: Logger): Promise<RunWorkdir> {
  const dir = path.join(workdir, runId);
  const ownerFile = path.join(dir, `${OWNER_PREFIX}${os.hostname()}-${process.pid}`);
  for (let attempt = 1; ; attempt++) {
    await makeWorkdir(dir);
    try {
      const lock = await acquireDirectoryLock(ownerFile);
      // Their builds first: one still running would go on writing into its workspace.
      const killed = killOrphanedBuilds();
      if (killed > 0) log.warn({ processes: killed }, 'Killed the build processes of a stopped processor');
      for (const kind of TEMP_DIR_KINDS) {
        const removed = await removeStaleTempDirs(kind);
        if (removed > 0) log.warn({ directories: removed }, STALE_TEMP_DIRS[kind]);
      }
      await sweepAbandoned(workdir, runId, log);
      return {
        dir,
        release: async () => {
          await lock.release();
          await fs.rmdir(dir).catch(() => undefined);
        },
      };
    } catch (err) {
      // Swept by another processor between the two steps: make it again.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= CLAIM_ATTEMPTS) throw unusable(dir, 'written', err);
    }
  }
}

/** A work directory that cannot be made is found before any repository starts. */
async function makeWorkdir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (err) {
    throw unusable(dir, 'created', err);
  }
}

/** A file system error about the work directory: exit 2 when it is the wrong directory, else 3; other errors pass as they are. */
function unusable(dir: string, what: 'created' | 'written', err: unknown): unknown {
  const { code, syscall } = err as NodeJS.ErrnoException;
  if (syscall === undefined) return err;
  const message = `Work directory ${dir} cannot be ${what} (${code ?? 'EIO'})`;
  if (['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST'].includes(code ?? '')) {
    return new UsageError('workdir_unusable', `${message}: set --workdir or MASS_INGEST_WORKDIR to a writable directory`, [], err);
  }
  return new InfrastructureError('workdir_unusable', message, err);
}

/**
 * Removes the run directories of other runs whose owners have all stopped. Only directories that
 * are plainly ours are touched (a run id's name, holding owner files and `row-N` workspaces only),
 * whatever else the work directory holds. Never fails the run.
 */
async function sweepAbandoned(workdir: string, ownRunId: string, log: Logger): Promise<void> {
  const entries = await fs.readdir(workdir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name === ownRunId || !RUN_ID_PATTERN.test(entry.name)) continue;
    const dir = path.join(workdir, entry.name);
    const left = await abandonedEntries(dir);
    if (left === undefined) continue;
    const removed = await removeAbandoned(dir, left);
    if (removed === 'removed') log.info({ dir, workspaces: left.workspaces.length }, 'Removed the workspaces of a stopped processor');
    else if (removed === 'failed') log.warn({ dir }, 'The workspaces of a stopped processor could not be removed');
  }
}

interface Abandoned {
  readonly owners: readonly string[];
  readonly workspaces: readonly string[];
}

/** The owner files and workspaces of a run directory left by stopped processors, or undefined to keep it. */
async function abandonedEntries(dir: string): Promise<Abandoned | undefined> {
  const [stat, names] = await Promise.all([fs.stat(dir).catch(() => undefined), fs.readdir(dir).catch(() => undefined)]);
  if (!stat || !names || Date.now() - stat.mtimeMs < QUIET_MS) return undefined;
  const owners = names.filter((name) => name.startsWith(OWNER_PREFIX));
  const workspaces = names.filter((name) => WORKSPACE.test(name));
  // Without an owner file it may be a live processor of an older mass-ingest: left alone.
  if (owners.length === 0 || owners.length + workspaces.length !== names.length) return undefined;
  return (await allStopped(dir)) ? { owners, workspaces } : undefined;
}

/** True while every owner file in the directory is one of a stopped processor. */
async function allStopped(dir: string): Promise<boolean> {
  const names = await fs.readdir(dir).catch(() => []);
  for (const name of names) {
    if (name.startsWith(OWNER_PREFIX) && !(await isLockAbandoned(path.join(dir, name)))) return false;
  }
  return true;
}

/**
 * The workspaces one by one, each only while every owner is still stopped (a processor of that
 * run may start meanwhile: its owner file and workspaces are left alone), then the stopped
 * owners' files, then the directory when nothing else came. A sweep stopped part way (killed
 * too) leaves owner files, so a later one finishes it.
 */
async function removeAbandoned(dir: string, { owners, workspaces }: Abandoned): Promise<'removed' | 'kept' | 'failed'> {
  for (const workspace of workspaces) {
    if (!(await allStopped(dir))) return 'kept';
    if (!(await removeWorkspace(path.join(dir, workspace)))) return 'failed';
  }
  if (!(await allStopped(dir))) return 'kept';
  for (const owner of owners) await fs.rm(path.join(dir, owner), { force: true });
  return fs.rmdir(dir).then(
    () => 'removed' as const,
    (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? 'removed' : 'kept'),
  );
}

import fs from 'node:fs/promises';
import os from 'node:os';
import { isAlive, PID_NAMESPACE } from '../build/process-tree.js';
import { UsageError } from '../errors.js';

export interface DirectoryLock {
  release(): Promise<void>;
}

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** The pid namespace: containers of one host share its name (host networking), not their pids. */
  readonly namespace: string;
}

/** The owner refreshes the lock file's mtime this often; one not refreshed for STALE_MS is abandoned. */
const HEARTBEAT_MS = 5_000;
const STALE_MS = 20_000;

/**
 * PGlite is a single-process database: two processes opening one directory corrupt it. The lock
 * file names its owner (pid and host). On the same host a dead pid frees it at once; across hosts
 * or containers (where pids repeat) a lock whose heartbeat stopped — a hard kill, an OOM kill —
 * is taken over after STALE_MS.
 */
export async function acquireDirectoryLock(lockPath: string, options: { waitMs?: number } = {}): Promise<DirectoryLock> {
  const deadline = Date.now() + (options.waitMs ?? 0);
  const me = self();
  for (;;) {
    const owner = await tryCreate(lockPath, me);
    if (owner === undefined) return holdLock(lockPath);
    if (await isAbandoned(lockPath, owner, me)) {
      await fs.rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() >= deadline) throw lockedError(lockPath, owner);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Throws the error acquireDirectoryLock would, when another live process holds the lock now. */
export async function assertUnlocked(lockPath: string): Promise<void> {
  const owner = await readOwner(lockPath);
  if (!(await isAbandoned(lockPath, owner, self()))) throw lockedError(lockPath, owner);
}

const self = (): LockOwner => ({ pid: process.pid, host: os.hostname(), namespace: PID_NAMESPACE });

/**
 * True when the lock's heartbeat stopped STALE_MS ago (or there is no lock file), whatever its
 * pid: a process in another pid namespace on a machine of the same name (a container on the
 * host's network) names a pid that looks dead here while it runs. For deciding to delete what
 * the owner left, where a wrong guess destroys live work.
 */
export async function isLockAbandoned(lockPath: string): Promise<boolean> {
  const stat = await fs.stat(lockPath).catch(() => undefined);
  return !stat || Date.now() - stat.mtimeMs > STALE_MS;
}

function lockedError(lockPath: string, owner: LockOwner): UsageError {
  return new UsageError(
    'db_locked',
    `The embedded database is in use by process ${owner.pid} on ${owner.host} (lock file ${lockPath}): wait for it to finish, or set DATABASE_URL to share a PostgreSQL between processes. A lock left by a killed process is released ${STALE_MS / 1000} s after it stopped.`,
  );
}

function holdLock(lockPath: string): DirectoryLock {
  const heartbeat = setInterval(() => {
    const now = new Date();
    void fs.utimes(lockPath, now, now).catch(() => undefined);
  }, HEARTBEAT_MS);
  heartbeat.unref();
  return {
    release: async () => {
      clearInterval(heartbeat);
      await fs.rm(lockPath, { force: true });
    },
  };
}

async function tryCreate(lockPath: string, me: LockOwner): Promise<LockOwner | undefined> {
  try {
    const handle = await fs.open(lockPath, 'wx');
    await handle.writeFile(JSON.stringify(me));
    await handle.close();
    return undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readOwner(lockPath);
  }
}

async function readOwner(lockPath: string): Promise<LockOwner> {
  const text = await fs.readFile(lockPath, 'utf8').catch(() => '');
  try {
    const parsed = JSON.parse(text) as Partial<LockOwner>;
    return { pid: Number(parsed.pid) || 0, host: String(parsed.host ?? ''), namespace: String(parsed.namespace ?? '') };
  } catch {
    // Written by an older version (a bare pid) or torn: judged by its heartbeat alone.
    return { pid: Number.parseInt(text, 10) || 0, host: '', namespace: '' };
  }
}

async function isAbandoned(lockPath: string, owner: LockOwner, me: LockOwner): Promise<boolean> {
  // The pid says something only in the owner's own pid namespace on this host; elsewhere the heartbeat decides.
  if (owner.host === me.host && owner.namespace === me.namespace && me.namespace !== 'unknown' && owner.pid > 0 && !isAlive(owner.pid)) return true;
  const stat = await fs.stat(lockPath).catch(() => undefined);
  if (!stat) return true;
  return Date.now() - stat.mtimeMs > STALE_MS;
}

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireDirectoryLock, assertUnlocked } from '../../src/results/directory-lock.js';
import { PID_NAMESPACE } from '../../src/build/process-tree.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mass-ingest-lock-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('acquireDirectoryLock', () => {
  it('refuses a second owner while the first holds the lock, and frees it on release', async () => {
    const lockPath = path.join(dir, 'db.lock');
    const first = await acquireDirectoryLock(lockPath);

    await expect(acquireDirectoryLock(lockPath)).rejects.toMatchObject({ code: 'db_locked' });
    await first.release();
    const second = await acquireDirectoryLock(lockPath);
    await second.release();
  });

  it('takes over a lock whose owner died on this host', async () => {
    const lockPath = path.join(dir, 'db.lock');
    await fs.writeFile(lockPath, JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname(), namespace: PID_NAMESPACE }));

    const lock = await acquireDirectoryLock(lockPath);

    await lock.release();
  });

  it('keeps a fresh lock of this host in another pid namespace (a container on the host network), whatever its pid', async () => {
    const lockPath = path.join(dir, 'db.lock');
    await fs.writeFile(lockPath, JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname(), namespace: `${PID_NAMESPACE}1` }));

    await expect(acquireDirectoryLock(lockPath)).rejects.toMatchObject({ code: 'db_locked' });
  });

  it('keeps a fresh lock of another host (a container whose pids repeat), and takes it over once its heartbeat is stale', async () => {
    const lockPath = path.join(dir, 'db.lock');
    await fs.writeFile(lockPath, JSON.stringify({ pid: 7, host: 'another-container' }));

    await expect(acquireDirectoryLock(lockPath)).rejects.toMatchObject({ code: 'db_locked' });
    const old = new Date(Date.now() - 60_000);
    await fs.utimes(lockPath, old, old);
    const lock = await acquireDirectoryLock(lockPath);

    await lock.release();
  });
});

describe('assertUnlocked', () => {
  it('passes when nobody holds the lock or its owner died, and fails like a claim while a live owner holds it', async () => {
    const lockPath = path.join(dir, 'db.lock');
    await assertUnlocked(lockPath);
    await fs.writeFile(lockPath, JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname(), namespace: PID_NAMESPACE }));
    await assertUnlocked(lockPath);
    await fs.rm(lockPath);

    const held = await acquireDirectoryLock(lockPath);
    await expect(assertUnlocked(lockPath)).rejects.toMatchObject({ code: 'db_locked', exitCode: 2 });
    await held.release();

    await assertUnlocked(lockPath);
  });
});

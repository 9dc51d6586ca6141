import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeOwnedTempDir, removeStaleTempDirs, TEMP_DIR_KINDS } from '../../src/build/owned-temp-dir.js';
import { PID_NAMESPACE } from '../../src/build/process-tree.js';
import { createTempDir } from '../harness/tmp.js';

/** The pid of a process that has ended. */
const deadPid = () => Number(execFileSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).trim());

describe('makeOwnedTempDir', () => {
  it('makes a private directory named by its kind, pid namespace and pid', async () => {
    const tmp = await createTempDir('mass-ingest-owned-');
    try {
      const dir = await makeOwnedTempDir('inventory', tmp.path);

      expect(path.basename(dir)).toMatch(new RegExp(`^mass-ingest-inventory-${PID_NAMESPACE}-${process.pid}-[A-Za-z0-9]{6}$`));
      expect((await fs.stat(dir)).mode & 0o777).toBe(0o700);
    } finally {
      await tmp.remove();
    }
  });
});

describe.each(TEMP_DIR_KINDS)('removeStaleTempDirs(%s)', (kind) => {
  it("removes the directories of this namespace's dead processors only, of its kind only", async () => {
    const tmp = await createTempDir('mass-ingest-sweep-');
    const dead = deadPid();
    const other = TEMP_DIR_KINDS.find((name) => name !== kind);
    const names = {
      dead: `mass-ingest-${kind}-${PID_NAMESPACE}-${dead}-AbC123`,
      live: `mass-ingest-${kind}-${PID_NAMESPACE}-${process.pid}-AbC123`,
      otherNamespace: `mass-ingest-${kind}-${Number(PID_NAMESPACE) + 1}-${dead}-AbC123`,
      otherKind: `mass-ingest-${other}-${PID_NAMESPACE}-${dead}-AbC123`,
      older: `mass-ingest-${kind}-AbC123`,
      unrelated: `other-${PID_NAMESPACE}-${dead}-AbC123`,
    };
    for (const name of Object.values(names)) await fs.mkdir(path.join(tmp.path, name, 'inner'), { recursive: true });
    await fs.writeFile(path.join(tmp.path, names.dead, 'secret'), 'https://u:p@h\n');

    try {
      const removed = await removeStaleTempDirs(kind, tmp.path);

      expect(removed).toBe(1);
      expect((await fs.readdir(tmp.path)).sort()).toEqual([names.live, names.older, names.otherNamespace, names.otherKind, names.unrelated].sort());
    } finally {
      await tmp.remove();
    }
  });

  it.skipIf(process.getuid?.() !== 0)('leaves alone a directory of that name made by another user, whose contents it could swap while they are removed', async () => {
    const tmp = await createTempDir('mass-ingest-sweep-');
    const planted = path.join(tmp.path, `mass-ingest-${kind}-${PID_NAMESPACE}-${deadPid()}-AbC123`);
    await fs.mkdir(path.join(planted, 'inner'), { recursive: true });
    await fs.chown(planted, 65534, 65534);
    await fs.chown(path.join(planted, 'inner'), 65534, 65534);

    try {
      const removed = await removeStaleTempDirs(kind, tmp.path);

      expect(removed).toBe(0);
      expect(await fs.readdir(planted)).toEqual(['inner']);
    } finally {
      await tmp.remove();
    }
  });
});

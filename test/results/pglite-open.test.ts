import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/results/pglite-open.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { canMountTmpfs, mountTmpfs, unmountTmpfs } from '../harness/tmpfs.js';

let tmp: TempDir;
beforeEach(async () => {
  tmp = await createTempDir('mass-ingest-pglite-open-');
});
afterEach(async () => {
  await tmp.remove();
});

const exists = (file: string) => fs.access(file).then(() => true, () => false);

describe('openPglite when it cannot open', () => {
  it('leaves a directory that is not a database unlocked, and says so again on the next try', async () => {
    const dataDir = path.join(tmp.path, 'project');
    await fs.mkdir(dataDir);
    await fs.writeFile(path.join(dataDir, 'notes.txt'), 'mine');

    const first = await openPglite(dataDir).catch((err: unknown) => err);
    const second = await openPglite(dataDir).catch((err: unknown) => err);

    expect([(first as { code?: string }).code, (second as { code?: string }).code, await exists(`${dataDir}.lock`)]).toEqual(['db_dir_not_embedded', 'db_dir_not_embedded', false]);
    expect(await fs.readdir(dataDir)).toEqual(['notes.txt']);
  });

  it('releases the lock when the database in the directory does not start', async () => {
    const dataDir = path.join(tmp.path, 'db');
    await fs.mkdir(dataDir);
    await fs.writeFile(path.join(dataDir, 'PG_VERSION'), '17\n');

    await expect(openPglite(dataDir)).rejects.toThrow();

    expect(await exists(`${dataDir}.lock`)).toBe(false);
  });

  it.skipIf(!canMountTmpfs)('says a database that does not start on a file system with less room than a WAL segment is short of space', async () => {
    const disk = path.join(tmp.path, 'disk');
    const dataDir = path.join(disk, 'db');
    mountTmpfs(disk, '8m');
    try {
      await fs.mkdir(dataDir);
      await fs.writeFile(path.join(dataDir, 'PG_VERSION'), '17\n');

      const failure = await openPglite(dataDir).catch((err: unknown) => err);

      expect(failure).toMatchObject({ code: 'db_disk_full', exitCode: 3 });
      expect((failure as Error).message).toMatch(
        new RegExp(`^The embedded database in ${dataDir} cannot start: its file system has 8\\.0 MiB free, and PostgreSQL needs 16 MiB or more for its write-ahead log; free space there \\(MASS_INGEST_DATA_DIR\\), then run again\\. What was recorded is kept\\.$`),
      );
      expect(await exists(`${dataDir}.lock`)).toBe(false);
    } finally {
      unmountTmpfs(disk);
    }
  });

  it('releases the lock when it closes, and opens again', async () => {
    const dataDir = path.join(tmp.path, 'db');
    const first = await openPglite(dataDir);
    await first.close();

    const second = await openPglite(dataDir);
    await second.close();

    expect([first.fresh, second.fresh, await exists(`${dataDir}.lock`)]).toEqual([true, false, false]);
  });
});

describe('openPglite under a limit on open files', () => {
  it('leaves PostgreSQL half the limit for its data files, and no fewer than the 64 it takes', async () => {
    const settings: Array<string | undefined> = [];

    for (const fileLimit of [100, 400, 100_000]) {
      const { db, close } = await openPglite(path.join(tmp.path, `db-${fileLimit}`), { fileLimit });
      settings.push((await db.query<{ max_files_per_process: string }>('SHOW max_files_per_process')).rows[0]?.max_files_per_process);
      await close();
    }

    expect(settings).toEqual(['64', '200', '1000']);
  });
});

import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';

/**
 * `db migrate` on an embedded database directory that does not exist yet: it is created (from
 * the build's pre-migrated template, dist/pglite-template), and the output says so rather than
 * "up to date".
 */
const MIGRATIONS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

let tmp: TempDir;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-db-migrate-embedded-');
});

afterAll(async () => {
  await tmp.remove();
});

describe('mass-ingest db migrate on the embedded database', () => {
  it('says it created a fresh directory\'s database with the current schema, and "up to date" the next time', async () => {
    const dataDir = path.join(tmp.path, 'fresh', 'db');
    const env = baseEnv({ MASS_INGEST_DATA_DIR: dataDir });
    const migrations = (await fs.readdir(MIGRATIONS)).filter((name) => name.endsWith('.sql')).map((name) => name.slice(0, -'.sql'.length)).sort();

    const first = await runCli(['db', 'migrate'], { env });
    const second = await runCli(['db', 'migrate'], { env });

    expect([first.code, second.code]).toEqual([0, 0]);
    expect(first.logs.at(-1)).toMatchObject({ level: 30, msg: 'Embedded database created', database: 'pglite', dataDir, schemaVersion: migrations.at(-1), migrations });
    expect(first.logs.map((line) => line.msg)).not.toContain('Database schema is up to date');
    expect(second.logs.at(-1)).toMatchObject({ msg: 'Database schema is up to date', database: 'pglite', schemaVersion: migrations.at(-1) });
    expect(second.logs.map((line) => line.msg)).not.toContain('Embedded database created');
  });

  it('creates it in an empty directory, and in place of a copy of the template cut short', async () => {
    const dataDir = path.join(tmp.path, 'empty', 'db');
    await fs.mkdir(dataDir, { recursive: true });
    await fs.mkdir(`${dataDir}.seeding/base`, { recursive: true });

    const result = await runCli(['db', 'migrate'], { env: baseEnv({ MASS_INGEST_DATA_DIR: dataDir }) });

    expect(result.code, result.stderr).toBe(0);
    expect(result.logs.at(-1)).toMatchObject({ msg: 'Embedded database created', dataDir });
    expect(await fs.readdir(path.dirname(dataDir))).toEqual(['db']);
  });

  it.each([
    ['a directory of the user\'s', 'a directory holding 2 entries but no database (no PG_VERSION)'],
    ['a file', 'not a directory'],
  ])('exits 2 and leaves %s as it is when MASS_INGEST_DATA_DIR names it', async (kind, what) => {
    const dataDir = path.join(tmp.path, kind.replaceAll(/\W/g, '-'));
    const file = kind === 'a file' ? dataDir : path.join(dataDir, 'repos.csv');
    if (kind !== 'a file') await fs.mkdir(path.join(dataDir, 'sub'), { recursive: true });
    await fs.writeFile(file, 'cloneUrl,branch,origin,path\n');
    const before = (await fs.readdir(path.dirname(file))).sort();

    const inventory = path.join(tmp.path, 'inventory.csv');
    await fs.writeFile(inventory, 'cloneUrl,branch,origin,path\n/nowhere.git,main,local.test,acme/none\n');

    for (const args of [['db', 'migrate'], ['process', inventory]]) {
      const result = await runCli(args, { env: baseEnv({ MASS_INGEST_DATA_DIR: dataDir }) });

      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(`The embedded database directory ${dataDir} (MASS_INGEST_DATA_DIR, default .mass-ingest/db) is ${what}`);
      expect(result.stderr).toContain('[db_dir_not_embedded]');
      expect(await fs.readFile(file, 'utf8')).toBe('cloneUrl,branch,origin,path\n');
      expect((await fs.readdir(path.dirname(file))).sort()).toEqual(before);
    }
  });
});

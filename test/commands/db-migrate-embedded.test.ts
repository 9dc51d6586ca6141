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
});

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { openForAssertions } from './process-fixtures.js';

/** `db migrate` on the embedded database, against a schema a newer mass-ingest migrated. */
let tmp: TempDir;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-db-migrate-schema-');
});

afterAll(async () => {
  await tmp.remove();
});

describe('mass-ingest db migrate', () => {
  it('warns, naming the migrations it does not know, instead of calling a newer schema up to date', async () => {
    const dataDir = path.join(tmp.path, 'db');
    const env = baseEnv({ MASS_INGEST_DATA_DIR: dataDir });
    const first = await runCli(['db', 'migrate'], { env });
    const db = await openForAssertions({ dataDir });
    await db.query("INSERT INTO pgmigrations (name, run_on) VALUES ('2999999999999_from-a-newer-version', now())", []);
    await db.close();

    const second = await runCli(['db', 'migrate'], { env });

    expect([first.code, second.code]).toEqual([0, 0]);
    expect(second.logs.at(-1)).toMatchObject({ level: 40, msg: 'Database schema is newer than this mass-ingest: upgrade it before running it against this database', unknown: ['2999999999999_from-a-newer-version'] });
    expect(second.logs.map((line) => line.msg)).not.toContain('Database schema is up to date');
  });
});

import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli } from '../harness/cli.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { MAKE_PROJECT, makeFixture, type Fixture } from './process-fixtures.js';

// What a run leaves in TMPDIR. The working directory has no node_modules, as on Batch (/data):
// beside one, jiti (node-pg-migrate's loader) would make its cache there instead.

let tmp: TempDir;
let postgres: PostgresServer;
let fixture: Fixture;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-tmpdir-');
  [postgres, fixture] = await Promise.all([startPostgres(), makeFixture(tmp.path, [['acme/widget', MAKE_PROJECT]])]);
});

afterAll(async () => {
  await postgres?.stop();
  await tmp?.remove();
});

describe('mass-ingest process with DATABASE_URL', () => {
  it('migrates a fresh database and leaves TMPDIR as it found it', async () => {
    const tmpdir = path.join(tmp.path, 'tmpdir');
    const cwd = path.join(tmp.path, 'cwd');
    await Promise.all([fs.mkdir(tmpdir), fs.mkdir(cwd)]);
    const env = baseEnv({ DATABASE_URL: postgres.url, TMPDIR: tmpdir, PUBLISH_URL: path.join(tmp.path, 'artifacts'), MASS_INGEST_WORKDIR: path.join(tmp.path, 'work') });

    const result = await runCli(['process', fixture.inventory, '--run-id', 'tmpdir'], { env, cwd });

    expect(result.code, result.stderr).toBe(0);
    expect(result.logs.find((line) => line.msg === 'Repository finished')).toMatchObject({ outcome: 'published' });
    expect(await fs.readdir(tmpdir)).toEqual([]);
  });
});

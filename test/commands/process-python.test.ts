import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli } from '../harness/cli.js';
import { PYTHON_PACKAGE, PYTHON_WHEEL } from '../harness/python-package.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { makeFixture, openForAssertions, resultRows, type Fixture } from './process-fixtures.js';

let tmp: TempDir;
let fixture: Fixture;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-python-');
  fixture = await makeFixture(tmp.path, [['acme/greeting', PYTHON_PACKAGE]]);
});

afterAll(async () => {
  await tmp?.remove();
});

describe('mass-ingest process with a Python package', () => {
  it('builds a wheel with pip and publishes it', async () => {
    const env = baseEnv({ MASS_INGEST_DATA_DIR: path.join(tmp.path, 'db'), PUBLISH_URL: path.join(tmp.path, 'artifacts'), MASS_INGEST_WORKDIR: path.join(tmp.path, 'work'), PIP_NO_INDEX: '1' });

    const result = await runCli(['process', fixture.inventory, '--run-id', 'python'], { env });

    expect(result.code).toBe(0);
    const db = await openForAssertions({ dataDir: path.join(tmp.path, 'db') });
    try {
      expect((await resultRows(db, 'python')).map((row) => [row.path, row.outcome, row.error_code])).toEqual([['acme/greeting', 'published', null]]);
    } finally {
      await db.close();
    }
    const dir = path.join(tmp.path, 'artifacts', 'local.test', 'acme', 'greeting', fixture.repos['acme/greeting']!.headSha);
    const manifest = JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ builder: 'python', artifacts: [{ name: PYTHON_WHEEL }] });
    const listing = execFileSync('python3', ['-m', 'zipfile', '-l', path.join(dir, PYTHON_WHEEL)], { encoding: 'utf8' });
    expect(listing).toContain('greeting/__init__.py');
  });
});

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli } from '../harness/cli.js';
import { startNginxWebdav, type NginxWebdavServer } from '../harness/nginx.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { MAKE_PROJECT, makeFixture, type Fixture } from './process-fixtures.js';

// What a user sees on stderr at high concurrency: the log, and no warning from node itself.

let tmp: TempDir;
let fixture: Fixture;
let nginx: NginxWebdavServer;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-warnings-');
  nginx = await startNginxWebdav({ root: path.join(tmp.path, 'www'), user: 'deployer', password: 'pw-warnings-1234', token: 'token-warnings-1234' });
  fixture = await makeFixture(tmp.path, Array.from({ length: 16 }, (_, i): [string, typeof MAKE_PROJECT] => [`acme/r${i + 1}`, MAKE_PROJECT]));
});

afterAll(async () => {
  await nginx?.stop();
  await tmp?.remove();
});

describe('mass-ingest process at --concurrency 8', () => {
  it('processes and publishes over HTTP 16 repositories with no warning from node on stderr (abort listeners of the git calls and uploads in flight)', async () => {
    const env = baseEnv({ MASS_INGEST_DATA_DIR: path.join(tmp.path, 'db'), PUBLISH_URL: `${nginx.baseUrl}/repo`, PUBLISH_USER: 'deployer', PUBLISH_PASSWORD: 'pw-warnings-1234', MASS_INGEST_WORKDIR: path.join(tmp.path, 'work') });

    const result = await runCli(['process', fixture.inventory, '--concurrency', '8', '--run-id', 'wide'], { env });

    expect(result.code, result.stderr).toBe(0);
    expect(result.logs.find((line) => line.msg === 'Partition finished')).toMatchObject({ counts: { published: 16 } });
    expect(result.stderr).not.toMatch(/Warning/);
  }, 120_000);
});

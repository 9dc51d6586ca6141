import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli } from '../harness/cli.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { startSilentServer, type SilentServer } from '../fakes/silent-server.js';
import { MAKE_PROJECT, makeFixture, openForAssertions, resultRows, type Fixture } from './process-fixtures.js';

// The run is bounded by construction: 4 attempts of at most PUBLISH_TIMEOUT (1 s) plus their
// backoff for the first repository; the breaker (cool-down longer than the run) fails the rest at once.
// `--force` skips the check before the build (which asks the target too, while the database opens),
// and with one repository at a time (no clone ahead) the order of the attempts is fixed.
const LIMITS = { PUBLISH_TIMEOUT: '1', PUBLISH_FAIL_FAST_AFTER: '4', PUBLISH_FAIL_FAST_FOR: '600' };

let tmp: TempDir;
let postgres: PostgresServer;
let fixture: Fixture;
let server: SilentServer | undefined;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-publish-stalls-');
  [postgres, fixture] = await Promise.all([
    startPostgres(),
    makeFixture(tmp.path, [
      ['acme/one', MAKE_PROJECT],
      ['acme/two', MAKE_PROJECT],
      ['acme/three', MAKE_PROJECT],
    ]),
  ]);
});

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

afterAll(async () => {
  await postgres?.stop();
  await tmp?.remove();
});

function env(extra: Record<string, string>): Record<string, string> {
  return baseEnv({ DATABASE_URL: postgres.url, MASS_INGEST_WORKDIR: path.join(tmp.path, 'work'), ...LIMITS, ...extra });
}

async function rows(runId: string) {
  const db = await openForAssertions({ dataDir: path.join(tmp.path, 'unused'), databaseUrl: postgres.url });
  try {
    return (await resultRows(db, runId)).map((row) => [row.path, row.outcome, row.error_code]);
  } finally {
    await db.close();
  }
}

const EXPECTED_ROWS = [
  ['acme/one', 'publish_failed', 'publish_timeout'],
  ['acme/two', 'publish_failed', 'publish_target_down'],
  ['acme/three', 'publish_failed', 'publish_target_down'],
];

describe('mass-ingest process against a publish target that accepts connections and never answers', () => {
  it('HTTP: the first repository gives up after its retries, the rest fail at once, and the run exits 3', async () => {
    server = await startSilentServer();

    const result = await runCli(['process', fixture.inventory, '--force', '--clone-ahead', '0', '--run-id', 'stalls-http'], { env: env({ PUBLISH_URL: `${server.baseUrl}/repo` }) });

    expect(result.code).toBe(3);
    expect(await rows('stalls-http')).toEqual(EXPECTED_ROWS);
    expect(server.connections()).toBe(4);
    expect(result.logs.filter((line) => line.msg === 'Publish target not answering, failing fast')).toEqual([
      expect.objectContaining({ level: 40, target: `${server.baseUrl}/repo`, attempts: 4, cooldownMs: 600_000 }),
    ]);
    const finished = result.logs.filter((line) => line.msg === 'Repository finished');
    expect(finished.map((line) => line.errorCode)).toEqual(['publish_timeout', 'publish_target_down', 'publish_target_down']);
    expect(String(finished[0]?.error)).toContain('got no answer within 1 s of sending the request');
    expect(String(finished[1]?.error)).toContain('gave no answer to 4 attempts in a row');
    // Skipped before their clone: nothing is cloned or built for a target that does not answer.
    expect(finished.slice(1).map((line) => String(line.error).startsWith('Not cloned or built: the publish target'))).toEqual([true, true]);
  });

  it('S3: the same through the SDK, with the endpoint given by AWS_ENDPOINT_URL_S3', async () => {
    server = await startSilentServer();

    const result = await runCli(['process', fixture.inventory, '--force', '--clone-ahead', '0', '--run-id', 'stalls-s3'], { env: env({ PUBLISH_URL: 's3://artifacts/builds', AWS_ENDPOINT_URL_S3: server.baseUrl }) });

    expect(result.code).toBe(3);
    expect(await rows('stalls-s3')).toEqual(EXPECTED_ROWS);
    expect(server.connections()).toBe(4);
    expect(result.logs.filter((line) => line.msg === 'Publish target not answering, failing fast')).toEqual([expect.objectContaining({ target: 's3://artifacts/builds', attempts: 4 })]);
  });
});

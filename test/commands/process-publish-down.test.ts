import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli } from '../harness/cli.js';
import { findFreePort } from '../harness/free-port.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { startFaultServer, type FaultServer } from '../fakes/fault-server.js';
import { selfSignedCertificate } from '../fakes/tls.js';
import { makeFixture, openForAssertions, resultRows, type Fixture } from './process-fixtures.js';

const APP = { Makefile: 'all:\n\tmkdir -p dist\n\techo app > dist/app.bin\n' };

let tmp: TempDir;
let postgres: PostgresServer;
let fixture: Fixture;
let server: FaultServer | undefined;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-publish-down-');
  [postgres, fixture] = await Promise.all([
    startPostgres(),
    makeFixture(tmp.path, [
      ['acme/app', APP],
      ['acme/other', APP],
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
  return baseEnv({ DATABASE_URL: postgres.url, MASS_INGEST_WORKDIR: path.join(tmp.path, 'work'), ...extra });
}

async function rows(runId: string) {
  const db = await openForAssertions({ dataDir: path.join(tmp.path, 'unused'), databaseUrl: postgres.url });
  try {
    return (await resultRows(db, runId)).map((row) => [row.path, row.outcome, row.error_code]);
  } finally {
    await db.close();
  }
}

describe('mass-ingest process against an HTTP repository it cannot use', () => {
  it('exits 3 with every outcome recorded when the target is down for every repository', async () => {
    const port = await findFreePort();

    const result = await runCli(['process', fixture.inventory, '--force', '--concurrency', '2', '--run-id', 'faults-6'], { env: env({ PUBLISH_URL: `http://127.0.0.1:${port}/repo` }) });

    expect(result.code).toBe(3);
    expect(await rows('faults-6')).toEqual([
      ['acme/app', 'publish_failed', 'publish_unreachable'],
      ['acme/other', 'publish_failed', 'publish_unreachable'],
    ]);
  });

  it('verifies TLS: an untrusted certificate fails without retries, NODE_EXTRA_CA_CERTS makes it trusted', async () => {
    const tls = selfSignedCertificate(tmp.path);
    server = await startFaultServer({ tls });
    const publishEnv = env({ PUBLISH_URL: `${server.baseUrl}/repo` });

    const untrusted = await runCli(['process', fixture.inventory, '--end', '1', '--force', '--run-id', 'faults-7'], { env: publishEnv });
    const trusted = await runCli(['process', fixture.inventory, '--end', '1', '--force', '--run-id', 'faults-8'], { env: { ...publishEnv, NODE_EXTRA_CA_CERTS: tls.certFile } });

    expect(await rows('faults-7')).toEqual([['acme/app', 'publish_failed', 'publish_unreachable']]);
    expect(untrusted.logs.find((line) => line.msg === 'Repository finished')).toMatchObject({ errorCode: 'publish_unreachable' });
    expect(untrusted.logs.filter((line) => line.msg === 'Publish request failed, retrying')).toEqual([]);
    expect(trusted.code).toBe(0);
    expect(await rows('faults-8')).toEqual([['acme/app', 'published', null]]);
  });
});

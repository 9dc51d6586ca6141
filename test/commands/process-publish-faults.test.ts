import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, collect, runCli, spawnCli } from '../harness/cli.js';
import { findFreePort } from '../harness/free-port.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { startFaultServer, type FaultServer } from '../fakes/fault-server.js';
import { selfSignedCertificate } from '../fakes/tls.js';
import { makeFixture, openForAssertions, resultRows, type Fixture } from './process-fixtures.js';

// 2 MB of random bytes: large enough for a connection to drop in the middle of the body.
const APP = { Makefile: 'all:\n\tmkdir -p dist\n\thead -c 2000000 /dev/urandom > dist/app.bin\n' };

let tmp: TempDir;
let postgres: PostgresServer;
let fixture: Fixture;
let server: FaultServer | undefined;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-publish-faults-');
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

const results = (fault: FaultServer, pattern: RegExp) => fault.requests.filter((request) => request.method === 'PUT' && pattern.test(request.path)).map((request) => request.result);
const manifestOf = (fault: FaultServer) => [...fault.files.keys()].filter((key) => key.endsWith('/manifest.json'));

describe('mass-ingest process against a misbehaving HTTP repository', () => {
  it('retries a dropped connection, a 503 and a 429 with Retry-After, and publishes', async () => {
    server = await startFaultServer();
    server.addFault({ method: 'PUT', path: /app\.bin$/, times: 1, fault: { kind: 'drop-mid-body' } });
    server.addFault({ method: 'PUT', path: /build\.log$/, times: 1, fault: { kind: 'status', status: 503 } });
    server.addFault({ method: 'PUT', path: /manifest\.json$/, times: 1, fault: { kind: 'status', status: 429, headers: { 'Retry-After': '1' } } });

    const result = await runCli(['process', fixture.inventory, '--end', '1', '--force', '--run-id', 'faults-1'], { env: env({ PUBLISH_URL: `${server.baseUrl}/repo` }) });

    expect(result.code).toBe(0);
    expect(await rows('faults-1')).toEqual([['acme/app', 'published', null]]);
    expect([results(server, /app\.bin$/), results(server, /build\.log$/), results(server, /manifest\.json$/)]).toEqual([
      ['dropped', 201],
      [503, 201],
      [429, 201],
    ]);
    const [limited, accepted] = server.requests.filter((request) => request.path.endsWith('/manifest.json') && request.method === 'PUT');
    expect(accepted!.at - limited!.at).toBeGreaterThanOrEqual(1000);
    expect(result.logs.filter((line) => line.msg === 'Publish request failed, retrying')).toHaveLength(3);
  });

  it('leaves no manifest when the connection keeps dropping mid-publish, exits 3, and the rerun completes it', async () => {
    server = await startFaultServer();
    server.addFault({ method: 'PUT', path: /build\.log$/, fault: { kind: 'drop-mid-body' } });
    const publishEnv = env({ PUBLISH_URL: `${server.baseUrl}/repo` });

    const failed = await runCli(['process', fixture.inventory, '--end', '1', '--force', '--run-id', 'faults-2'], { env: publishEnv });
    const afterFailure = { files: [...server.files.keys()].map((key) => path.basename(key)).sort(), manifests: manifestOf(server) };
    server.clearFaults();
    const rerun = await runCli(['process', fixture.inventory, '--end', '1', '--force', '--run-id', 'faults-3'], { env: publishEnv });

    expect(failed.code).toBe(3);
    expect(await rows('faults-2')).toEqual([['acme/app', 'publish_failed', 'publish_unreachable']]);
    expect(afterFailure).toEqual({ files: ['app.bin', 'app.bin.md5', 'app.bin.sha1', 'app.bin.sha256'], manifests: [] });
    expect(results(server, /build\.log$/)).toEqual(['dropped', 'dropped', 'dropped', 'dropped', 201]);
    expect(rerun.code).toBe(0);
    expect(await rows('faults-3')).toEqual([['acme/app', 'published', null]]);
    expect(manifestOf(server)).toEqual([`/repo/local.test/acme/app/${fixture.repos['acme/app']!.headSha}/manifest.json`]);
  });

  it('leaves no manifest when the processor is killed mid-upload, and the rerun completes it', async () => {
    server = await startFaultServer();
    server.addFault({ method: 'PUT', path: /app\.bin$/, times: 1, fault: { kind: 'stall' } });
    const publishEnv = env({ PUBLISH_URL: `${server.baseUrl}/repo` });

    const child = spawnCli(['process', fixture.inventory, '--end', '1', '--force', '--run-id', 'faults-4'], { env: publishEnv });
    const finished = collect(child);
    await server.nextStall();
    child.kill('SIGKILL');
    const killed = await finished;
    const manifestsAfterKill = manifestOf(server);
    const rerun = await runCli(['process', fixture.inventory, '--end', '1', '--force', '--run-id', 'faults-5'], { env: publishEnv });

    expect(killed.signal).toBe('SIGKILL');
    expect(manifestsAfterKill).toEqual([]);
    expect(rerun.code).toBe(0);
    expect(await rows('faults-5')).toEqual([['acme/app', 'published', null]]);
    expect(manifestOf(server)).toHaveLength(1);
  });
});

describe('mass-ingest process against an HTTP repository it cannot use', () => {
  it('exits 3 with every outcome recorded when the target is down for every repository', async () => {
    const port = await findFreePort();

    const result = await runCli(['process', fixture.inventory, '--force', '--concurrency', '2', '--run-id', 'faults-6'], { env: env({ PUBLISH_URL: `http://127.0.0.1:${port}/repo` }) });

    expect(result.code).toBe(3);
    // Refused, or refused at once by the breaker once 4 attempts in a row were (which one comes first varies).
    const outage = expect.stringMatching(/^publish_(unreachable|target_down)$/);
    expect(await rows('faults-6')).toEqual([
      ['acme/app', 'publish_failed', outage],
      ['acme/other', 'publish_failed', outage],
    ]);
  });

  it('verifies TLS: an untrusted certificate fails without retries and exits 2 (configuration), NODE_EXTRA_CA_CERTS makes it trusted', async () => {
    const tls = selfSignedCertificate(tmp.path);
    server = await startFaultServer({ tls });
    const publishEnv = env({ PUBLISH_URL: `${server.baseUrl}/repo` });

    const untrusted = await runCli(['process', fixture.inventory, '--force', '--run-id', 'faults-7'], { env: publishEnv });
    const trusted = await runCli(['process', fixture.inventory, '--end', '1', '--force', '--run-id', 'faults-8'], { env: { ...publishEnv, NODE_EXTRA_CA_CERTS: tls.certFile } });

    // A certificate we do not trust is the same on every attempt: a Batch retry (exit 3) cannot help.
    expect(untrusted.code).toBe(2);
    expect(await rows('faults-7')).toEqual([
      ['acme/app', 'publish_failed', 'publish_tls'],
      ['acme/other', 'publish_failed', 'publish_tls'],
    ]);
    expect(untrusted.logs.find((line) => line.msg === 'Repository finished')).toMatchObject({ errorCode: 'publish_tls', error: expect.stringContaining('NODE_EXTRA_CA_CERTS=/path/ca.pem') });
    expect(untrusted.logs.filter((line) => line.msg === 'Publish request failed, retrying')).toEqual([]);
    expect(trusted.code).toBe(0);
    expect(await rows('faults-8')).toEqual([['acme/app', 'published', null]]);
  });

  it('stops cloning and building once 3 repositories in a row were refused for a reason that holds for all (401), and exits 2', async () => {
    server = await startFaultServer();
    server.addFault({ method: 'PUT', path: /./, fault: { kind: 'status', status: 401 } });
    const six = await makeFixture(path.join(tmp.path, 'six'), ['a', 'b', 'c', 'd', 'e', 'f'].map((name) => [`acme/${name}`, { Makefile: 'all:\n\tmkdir -p dist\n\techo built > dist/app.bin\n' }]));

    const result = await runCli(['process', six.inventory, '--run-id', 'faults-10', '--log-level', 'debug'], { env: env({ PUBLISH_URL: `${server.baseUrl}/repo` }) });

    expect(result.code).toBe(2);
    const db = await openForAssertions({ dataDir: path.join(tmp.path, 'unused'), databaseUrl: postgres.url });
    const recorded = await db.query<{ row_number: number; outcome: string; error_code: string; error_message: string }>(
      'SELECT row_number, outcome, error_code, error_message FROM repository_results WHERE run_id = $1 ORDER BY row_number', ['faults-10'],
    ).finally(() => db.close());
    expect(recorded.rows.map((row) => [row.outcome, row.error_code])).toEqual(Array.from({ length: 6 }, () => ['publish_failed', 'publish_auth']));
    // Rows 1-3 were built and refused by the target; the fourth may have been under way when the third was refused.
    const refusedByServer = recorded.rows.filter((row) => /answered HTTP 401/.test(row.error_message) && !row.error_message.startsWith('Not cloned or built'));
    const skipped = recorded.rows.filter((row) => row.error_message.startsWith('Not cloned or built: the publish target refused 3 repositories in a row'));
    expect(refusedByServer.map((row) => row.row_number).slice(0, 3)).toEqual([1, 2, 3]);
    expect(skipped.map((row) => row.row_number)).toEqual(expect.arrayContaining([5, 6]));
    expect(refusedByServer.length + skipped.length).toBe(6);
    // Skipped rows were not cloned: only the refused ones have a commit or a build step.
    const cloned = result.logs.filter((line) => line.msg === 'Step completed' && line.step === 'clone').length;
    expect(cloned).toBe(refusedByServer.length);
    expect(result.logs.filter((line) => line.msg === 'The publish target refuses every repository: the rest of the partition is not cloned or built')).toHaveLength(1);
  });

  it('exits 2 once it stopped for a target that refuses every repository, also when a build failed before (its log refused too)', async () => {
    server = await startFaultServer();
    server.addFault({ method: 'PUT', path: /./, fault: { kind: 'status', status: 401 } });
    const built = { Makefile: 'all:\n\tmkdir -p dist\n\techo built > dist/app.bin\n' };
    const five = await makeFixture(path.join(tmp.path, 'five'), [
      ['acme/broken', { Makefile: 'all:\n\texit 1\n' }],
      ...['b', 'c', 'd', 'e'].map((name): [string, Record<string, string>] => [`acme/${name}`, built]),
    ]);

    const result = await runCli(['process', five.inventory, '--run-id', 'faults-11', '--concurrency', '1'], { env: env({ PUBLISH_URL: `${server.baseUrl}/repo` }) });

    expect(await rows('faults-11')).toEqual([
      ['acme/broken', 'build_failed', 'build_exit_2'],
      ...['b', 'c', 'd', 'e'].map((name) => [`acme/${name}`, 'publish_failed', 'publish_auth']),
    ]);
    expect(result.code).toBe(2);
  });

  it('exits 2 for an S3 endpoint (AWS_ENDPOINT_URL_S3) whose certificate it does not trust, publish_tls for every repository', async () => {
    server = await startFaultServer({ tls: selfSignedCertificate(tmp.path) });

    const result = await runCli(['process', fixture.inventory, '--force', '--run-id', 'faults-9'], { env: env({ PUBLISH_URL: 's3://artifacts/builds', AWS_ENDPOINT_URL_S3: server.baseUrl }) });

    expect(result.code).toBe(2);
    expect(await rows('faults-9')).toEqual([
      ['acme/app', 'publish_failed', 'publish_tls'],
      ['acme/other', 'publish_failed', 'publish_tls'],
    ]);
    expect(server.requests).toEqual([]);
  });
});

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, collect, runCli, spawnCli } from '../harness/cli.js';
import { findFreePort } from '../harness/free-port.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { startFaultServer, type FaultServer } from '../fakes/fault-server.js';
import { MAKE_PROJECT, makeFixture, openForAssertions, resultRows, type Fixture } from './process-fixtures.js';

const PASSWORD = 'pw-Misconf-77-never-logged';
const SECRET_KEY = 'SeCrEt-Key-91-never-logged';

let tmp: TempDir;
let postgres: PostgresServer;
let fixture: Fixture;
let server: FaultServer | undefined;
let page: http.Server | undefined;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-publish-misconfigured-');
  [postgres, fixture] = await Promise.all([
    startPostgres(),
    makeFixture(tmp.path, [
      ['acme/app', MAKE_PROJECT],
      ['acme/other', MAKE_PROJECT],
    ]),
  ]);
});

afterEach(async () => {
  await server?.stop();
  server = undefined;
  await new Promise((resolve) => (page ? page.close(resolve) : resolve(undefined)));
  page = undefined;
});

afterAll(async () => {
  await postgres?.stop();
  await tmp?.remove();
});

function env(extra: Record<string, string>): Record<string, string> {
  return baseEnv({ DATABASE_URL: postgres.url, MASS_INGEST_WORKDIR: path.join(tmp.path, 'work'), PUBLISH_USER: 'deployer', PUBLISH_PASSWORD: PASSWORD, ...extra });
}

async function rows(runId: string) {
  const db = await openForAssertions({ dataDir: path.join(tmp.path, 'unused'), databaseUrl: postgres.url });
  try {
    return (await resultRows(db, runId)).map((row) => [row.path, row.outcome, row.error_code]);
  } finally {
    await db.close();
  }
}

/** A repository manager's web UI (or a login page): 200 and the same HTML page for every path and method. */
async function startWebPage(): Promise<string> {
  page = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!DOCTYPE html><html><body>Sign in</body></html>\n');
  });
  await new Promise<void>((resolve) => page!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
}

const manifests = (fault: FaultServer) => [...fault.files.keys()].filter((key) => key.endsWith('/manifest.json'));

describe('mass-ingest process with a PUBLISH_URL that is not a repository', () => {
  it('refuses a target that answers a web page for every path (exit 2), and the corrected URL then publishes every commit', async () => {
    const ui = await startWebPage();
    server = await startFaultServer();

    const wrong = await runCli(['process', fixture.inventory, '--run-id', 'misconf-1'], { env: env({ PUBLISH_URL: `${ui}/ui/repos/tree/libs-release` }) });
    const corrected = await runCli(['process', fixture.inventory, '--run-id', 'misconf-2'], { env: env({ PUBLISH_URL: `${server.baseUrl}/artifactory/libs-release` }) });

    expect(wrong.code).toBe(2);
    expect(await rows('misconf-1')).toEqual([
      ['acme/app', 'publish_failed', 'publish_not_a_repository'],
      ['acme/other', 'publish_failed', 'publish_not_a_repository'],
    ]);
    const finished = wrong.logs.filter((line) => line.msg === 'Repository finished');
    expect(finished.map((line) => line.error)).toEqual([
      expect.stringContaining('answered "<!DOCTYPE html><html><body>Sign in</body></html>", not the manifest of commit'),
      expect.stringContaining('answered "<!DOCTYPE html><html><body>Sign in</body></html>", not the manifest of commit'),
    ]);
    expect(corrected.code).toBe(0);
    expect(await rows('misconf-2')).toEqual([
      ['acme/app', 'published', null],
      ['acme/other', 'published', null],
    ]);
    expect(manifests(server)).toHaveLength(2);
  });

  it('does not follow a redirect: exit 2, publish_http_302, and the message names where it points', async () => {
    server = await startFaultServer();
    server.addFault({ fault: { kind: 'status', status: 302, headers: { Location: 'https://repo.example.test/artifactory/libs-release/' } } });

    const result = await runCli(['process', fixture.inventory, '--force', '--run-id', 'misconf-3'], { env: env({ PUBLISH_URL: `${server.baseUrl}/libs-release` }) });

    expect(result.code).toBe(2);
    expect(await rows('misconf-3')).toEqual([
      ['acme/app', 'publish_failed', 'publish_http_302'],
      ['acme/other', 'publish_failed', 'publish_http_302'],
    ]);
    expect(result.logs.find((line) => line.msg === 'Repository finished')?.error).toContain('answered HTTP 302 (to https://repo.example.test/artifactory/libs-release/)');
    expect(server.requests.filter((request) => request.method === 'PUT')).toEqual([]);
  });

  it('refuses an s3:// PUBLISH_URL or inventory with credentials in it (exit 2) and never prints them', async () => {
    const port = await findFreePort();
    const s3 = { AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}` };

    const publish = await runCli(['process', fixture.inventory, '--run-id', 'misconf-4'], { env: env({ ...s3, PUBLISH_URL: `s3://AKIAEXAMPLE:${SECRET_KEY}@artifacts/builds` }) });
    const inventory = await runCli(['process', `s3://AKIAEXAMPLE:${SECRET_KEY}@inventories/repos.csv`, '--run-id', 'misconf-5'], { env: env(s3) });

    expect([publish.code, inventory.code]).toEqual([2, 2]);
    expect(publish.stderr).toContain('s3://***@artifacts/builds carries credentials');
    expect(publish.stderr).toContain('[s3_url_credentials]');
    expect(inventory.stderr).toContain('s3://***@inventories/repos.csv carries credentials');
    expect(publish.stdout + publish.stderr + inventory.stdout + inventory.stderr).not.toContain(SECRET_KEY);
    expect(await rows('misconf-4')).toEqual([]);
  });
});

describe('mass-ingest process stopped during an upload', () => {
  it('abandons the upload on SIGINT: exit 143, the repository recorded aborted, no manifest', async () => {
    server = await startFaultServer();
    server.addFault({ method: 'PUT', path: /hello\.txt$/, fault: { kind: 'stall' } });

    const child = spawnCli(['process', fixture.inventory, '--end', '1', '--force', '--run-id', 'misconf-6'], { env: env({ PUBLISH_URL: `${server.baseUrl}/repo` }) });
    const finished = collect(child);
    await server.nextStall();
    child.kill('SIGINT');
    const result = await finished;

    expect(result.code).toBe(143);
    expect(await rows('misconf-6')).toEqual([['acme/app', 'aborted', 'aborted']]);
    expect(manifests(server)).toEqual([]);
    expect(server.requests.filter((request) => request.method === 'PUT').map((request) => request.result)).toEqual(['stalled']);
  });
});

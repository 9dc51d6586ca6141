import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli, type CliResult } from '../harness/cli.js';
import { startNginxWebdav, type NginxWebdavServer } from '../harness/nginx.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { BROKEN_PROJECT, makeFixture, openForAssertions, resultRows, type Fixture } from './process-fixtures.js';

const USER = 'deployer';
const PASSWORD = 'pw-Zq81-never-logged';
const WRONG_PASSWORD = 'wrong-Kx27-never-logged';
const TOKEN = 'tok-Hy55-never-logged';
// The build prints its environment and tries to print the publish secrets: the leak test reads its log.
const WIDGET = {
  Makefile: 'all:\n\tenv | sort\n\techo "password=[$$PUBLISH_PASSWORD] token=[$$PUBLISH_TOKEN]"\n\tmkdir -p dist\n\techo "widget jar bytes" > dist/widget.jar\n',
};

let tmp: TempDir;
let nginx: NginxWebdavServer;
let postgres: PostgresServer;
let fixture: Fixture;
let www: string;
const outputs: CliResult[] = [];

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-publish-http-');
  www = path.join(tmp.path, 'www');
  [nginx, postgres] = await Promise.all([startNginxWebdav({ root: www, user: USER, password: PASSWORD, token: TOKEN }), startPostgres()]);
  fixture = await makeFixture(tmp.path, [
    ['acme/widget', WIDGET],
    ['acme/broken', BROKEN_PROJECT],
  ]);
});

afterAll(async () => {
  await Promise.all([nginx?.stop(), postgres?.stop()]);
  await tmp?.remove();
});

function env(extra: Record<string, string | undefined>): Record<string, string> {
  return baseEnv({ DATABASE_URL: postgres.url, MASS_INGEST_WORKDIR: path.join(tmp.path, 'work'), LOG_LEVEL: 'debug', ...extra });
}

async function run(args: string[], extra: Record<string, string | undefined>): Promise<CliResult> {
  const result = await runCli(['process', fixture.inventory, ...args], { env: env(extra) });
  outputs.push(result);
  return result;
}

const basicAuth = { PUBLISH_URL: '', PUBLISH_USER: USER, PUBLISH_PASSWORD: PASSWORD };
const sha = (name: string) => fixture.repos[name]!.headSha;
const digest = (algorithm: string, body: Buffer | string) => createHash(algorithm).update(body).digest('hex');

// A real PostgreSQL shared by the runs: each CLI start stays cheap (no embedded database to load).
const openDb = () => openForAssertions({ dataDir: path.join(tmp.path, 'unused'), databaseUrl: postgres.url });

async function rows(runId: string) {
  const db = await openDb();
  try {
    return await resultRows(db, runId);
  } finally {
    await db.close();
  }
}

async function newAccessLines(action: () => Promise<unknown>): Promise<string[]> {
  const before = (await nginx.accessLog()).length;
  await action();
  return (await nginx.accessLog()).slice(before);
}

describe('mass-ingest process publishing to an HTTP repository (nginx WebDAV)', () => {
  it('PUTs artifacts with checksum sidecars, build.log and manifest.json last, with basic auth', async () => {
    let result: CliResult | undefined;
    const lines = await newAccessLines(async () => {
      result = await run(['--end', '2', '--run-id', 'http-1'], { ...basicAuth, PUBLISH_URL: `${nginx.baseUrl}/repo` });
    });

    expect(result?.code).toBe(0);
    const base = `${nginx.baseUrl}/repo/local.test/acme`;
    expect((await rows('http-1')).map((row) => [row.path, row.outcome, row.log_url])).toEqual([
      ['acme/widget', 'published', `${base}/widget/${sha('acme/widget')}/build.log`],
      ['acme/broken', 'build_failed', `${base}/broken/${sha('acme/broken')}/build.log`],
    ]);
    const dir = path.join(www, 'repo', 'local.test', 'acme', 'widget', sha('acme/widget'));
    const files = ['widget.jar', 'build.log', 'manifest.json'];
    expect((await fs.readdir(dir)).sort()).toEqual(files.flatMap((file) => [file, `${file}.md5`, `${file}.sha1`, `${file}.sha256`]).sort());
    const jar = await fs.readFile(path.join(dir, 'widget.jar'));
    expect(await fs.readFile(path.join(dir, 'widget.jar.sha1'), 'utf8')).toBe(digest('sha1', jar));
    expect(await fs.readFile(path.join(dir, 'widget.jar.sha256'), 'utf8')).toBe(digest('sha256', jar));
    expect(JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')).artifacts).toEqual([{ name: 'widget.jar', size: jar.length, sha256: digest('sha256', jar) }]);
    const puts = lines.filter((line) => line.startsWith('PUT ') && line.includes('/widget/'));
    const paths = puts.map((line) => line.split(' ')[1]?.replace(/^.*\/[0-9a-f]{40}\//, ''));
    expect(paths.slice(-4)).toEqual(['manifest.json.sha1', 'manifest.json.md5', 'manifest.json.sha256', 'manifest.json']);
    expect(puts.at(-1)).toMatch(/^PUT \/repo\/local\.test\/acme\/widget\/[0-9a-f]{40}\/manifest\.json 201 deployer$/);
    expect(await fs.readdir(path.join(www, 'repo', 'local.test', 'acme', 'broken', sha('acme/broken')))).toContain('build.log');
  });

  it('uploads nothing when the same commit is published again', async () => {
    const lines = await newAccessLines(() => run(['--end', '1', '--force', '--run-id', 'http-2'], { ...basicAuth, PUBLISH_URL: `${nginx.baseUrl}/repo` }));

    expect((await rows('http-2')).map((row) => row.outcome)).toEqual(['published']);
    expect(lines.filter((line) => line.startsWith('PUT '))).toEqual([]);
  });

  it('fails with publish_auth after a single 401 and exits 2 when the password is wrong', async () => {
    let result: CliResult | undefined;
    const lines = await newAccessLines(async () => {
      result = await run(['--end', '1', '--force', '--run-id', 'http-3'], { ...basicAuth, PUBLISH_URL: `${nginx.baseUrl}/repo`, PUBLISH_PASSWORD: WRONG_PASSWORD });
    });

    expect(result?.code).toBe(2);
    const [row] = await rows('http-3');
    expect([row?.outcome, row?.error_code]).toEqual(['publish_failed', 'publish_auth']);
    const db = await openDb();
    const message = (await db.query<{ error_message: string }>("SELECT error_message FROM repository_results WHERE run_id = 'http-3'")).rows[0]?.error_message;
    await db.close();
    expect(message).toContain(`GET ${nginx.baseUrl}/repo/local.test/acme/widget/${sha('acme/widget')}/manifest.json answered HTTP 401`);
    expect(lines).toEqual([`GET /repo/local.test/acme/widget/${sha('acme/widget')}/manifest.json 401 ${USER}`]);
  });

  it('publishes with a bearer token from PUBLISH_TOKEN', async () => {
    const result = await run(['--end', '1', '--force', '--run-id', 'http-4'], { PUBLISH_URL: `${nginx.baseUrl}/token`, PUBLISH_TOKEN: TOKEN });

    expect(result.code).toBe(0);
    expect((await rows('http-4')).map((row) => row.outcome)).toEqual(['published']);
    expect(await fs.readdir(path.join(www, 'token', 'local.test', 'acme', 'widget', sha('acme/widget')))).toContain('manifest.json');
  });

  it('publishes a Maven layout that resolves by coordinates: metadata, version path, jar and its .sha1', async () => {
    const result = await run(['--end', '1', '--force', '--layout', 'maven', '--run-id', 'http-5'], { ...basicAuth, PUBLISH_URL: `${nginx.baseUrl}/repo/m2` });
    expect(result.code).toBe(0);

    const resolved = await resolveByCoordinates(`${nginx.baseUrl}/repo/m2`, 'test.local.acme', 'widget', 'jar');

    expect(resolved.version).toMatch(new RegExp(`^\\d{8}\\.\\d{6}-${sha('acme/widget').slice(0, 7)}$`));
    expect(resolved.jar.toString()).toBe('widget jar bytes\n');
    expect(resolved.sha1).toBe(digest('sha1', resolved.jar));
    expect(resolved.pom).toContain('<packaging>jar</packaging>');
    expect(resolved.metadataSha1).toBe(digest('sha1', resolved.metadata));
    expect((await rows('http-5'))[0]?.log_url).toBe(`${nginx.baseUrl}/repo/m2/test/local/acme/widget/${resolved.version}/widget-${resolved.version}-build.log`);
  });

  it('never lets PUBLISH_PASSWORD or PUBLISH_TOKEN reach output, the database, manifests or build logs', async () => {
    const secrets = [PASSWORD, WRONG_PASSWORD, TOKEN, Buffer.from(`${USER}:${PASSWORD}`).toString('base64'), Buffer.from(`${USER}:${WRONG_PASSWORD}`).toString('base64')];
    const published = await readTree(www);
    const buildLog = published.find((file) => file.path.endsWith(`${sha('acme/widget')}/build.log`));

    const places = {
      output: outputs.map((result) => result.stdout + result.stderr).join('\n'),
      database: await dumpDatabase(),
      published: published.map((file) => file.content).join('\n'),
    };

    expect(outputs.length).toBeGreaterThanOrEqual(5);
    expect(buildLog?.content).toContain('password=[] token=[]');
    expect(places.database).toContain('publish_auth');
    for (const [place, text] of Object.entries(places)) {
      expect({ place, leaked: secrets.filter((secret) => text.includes(secret)) }).toEqual({ place, leaked: [] });
    }
  });
});

/** What Maven does for `group:artifact:LATEST`, by hand: metadata, computed path, checksum. */
async function resolveByCoordinates(repository: string, groupId: string, artifactId: string, extension: string) {
  const headers = { Authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` };
  const get = async (url: string) => {
    const response = await fetch(url, { headers });
    if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
    return Buffer.from(await response.arrayBuffer());
  };
  const base = `${repository}/${groupId.replace(/\./g, '/')}/${artifactId}`;
  const metadata = await get(`${base}/maven-metadata.xml`);
  const version = /<latest>([^<]+)<\/latest>/.exec(metadata.toString())?.[1] ?? '';
  const file = `${base}/${version}/${artifactId}-${version}`;
  return {
    version,
    metadata,
    metadataSha1: (await get(`${base}/maven-metadata.xml.sha1`)).toString().trim(),
    jar: await get(`${file}.${extension}`),
    sha1: (await get(`${file}.${extension}.sha1`)).toString().trim(),
    pom: (await get(`${file}.pom`)).toString(),
  };
}

async function readTree(root: string): Promise<Array<{ path: string; content: string }>> {
  const entries = await fs.readdir(root, { recursive: true, withFileTypes: true });
  return Promise.all(
    entries.filter((entry) => entry.isFile()).map(async (entry) => {
      const file = path.join(entry.parentPath, entry.name);
      return { path: file, content: await fs.readFile(file, 'utf8') };
    }),
  );
}

async function dumpDatabase(): Promise<string> {
  const db = await openDb();
  try {
    const tables = await db.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name");
    const dumps = await Promise.all(tables.rows.map(async ({ table_name }) => JSON.stringify((await db.query(`SELECT * FROM "${table_name}"`)).rows)));
    return dumps.join('\n');
  } finally {
    await db.close();
  }
}

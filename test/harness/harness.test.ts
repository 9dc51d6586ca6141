import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPortOpen } from './free-port.js';
import { commitToBareRepo, createBareRepo, isolatedGitEnv } from './git-fixtures.js';
import { startGitHttpServer, type GitHttpServer } from './git-http.js';
import { startNginxWebdav, type NginxWebdavServer } from './nginx.js';
import { startPostgres, type PostgresServer } from './postgres.js';
import { runCommand } from './process.js';
import { createTempDir, type TempDir } from './tmp.js';

describe('startPostgres', () => {
  let server: PostgresServer;

  beforeAll(async () => {
    server = await startPostgres();
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('accepts a password login for the mass user on its own database', async () => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();

    const result = await client.query<{ one: number; user: string; db: string }>(
      'SELECT 1 AS one, current_user AS user, current_database() AS db',
    );
    await client.end();

    expect(server.url).toBe(`postgres://mass:secretpw@127.0.0.1:${server.port}/mass`);
    expect(result.rows).toEqual([{ one: 1, user: 'mass', db: 'mass' }]);
  });

  it('rejects a wrong password', async () => {
    const client = new pg.Client({ connectionString: server.url.replace('secretpw', 'wrong') });

    await expect(client.connect()).rejects.toThrow(/password authentication failed/);
  });

  it('stops the server and frees its port', async () => {
    const other = await startPostgres();

    await other.stop();

    expect(await isPortOpen(other.port)).toBe(false);
  });
});

describe('startGitHttpServer', () => {
  let root: TempDir;
  let work: TempDir;
  let server: GitHttpServer;
  let headSha: string;
  const credentialHelper = {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'credential.helper',
    GIT_CONFIG_VALUE_0: '!f() { echo username=alice; echo password=s3cret; }; f',
  };

  beforeAll(async () => {
    root = await createTempDir();
    work = await createTempDir();
    const repo = await createBareRepo(root.path, 'acme/widget', {
      'README.md': '# widget\n',
      'bin/run.sh': { content: '#!/bin/sh\necho run\n', mode: 0o755 },
    });
    headSha = await commitToBareRepo(repo.path, { 'src/index.ts': 'export {};\n' }, 'Add index');
    server = await startGitHttpServer({ root: root.path, user: 'alice', password: 's3cret' });
  });

  afterAll(async () => {
    await server?.stop();
    await root?.remove();
    await work?.remove();
  });

  it('lists refs for a client with credentials', async () => {
    const { stdout } = await runCommand('git', ['ls-remote', `${server.baseUrl}/acme/widget.git`], {
      env: isolatedGitEnv(credentialHelper),
    });

    expect(stdout).toContain(`${headSha}\tHEAD`);
    expect(stdout).toContain(`${headSha}\trefs/heads/main`);
    expect(server.requests.some((request) => request.authorized)).toBe(true);
  });

  it('answers 401 to a client without credentials', async () => {
    const requestsBefore = server.requests.length;

    const attempt = runCommand('git', ['ls-remote', `${server.baseUrl}/acme/widget.git`], { env: isolatedGitEnv() });

    await expect(attempt).rejects.toThrow(/terminal prompts disabled|Authentication failed/);
    expect(server.requests.slice(requestsBefore)).toEqual([
      { method: 'GET', url: '/acme/widget.git/info/refs?service=git-upload-pack', authorized: false },
    ]);
  });

  it('serves a shallow clone with the files and modes of the fixture', async () => {
    const target = join(work.path, 'widget');

    await runCommand('git', ['clone', '--quiet', '--depth', '1', `${server.baseUrl}/acme/widget.git`, target], {
      env: isolatedGitEnv(credentialHelper),
    });

    const log = await runCommand('git', ['-C', target, 'log', '--format=%H %s'], { env: isolatedGitEnv() });
    const tree = await runCommand('git', ['-C', target, 'ls-tree', '-r', '--format=%(objectmode) %(path)', 'HEAD'], {
      env: isolatedGitEnv(),
    });
    expect(log.stdout).toBe(`${headSha} Add index\n`);
    expect(tree.stdout).toBe('100644 README.md\n100755 bin/run.sh\n100644 src/index.ts\n');
    expect(await readFile(join(target, 'README.md'), 'utf8')).toBe('# widget\n');
  });

  it('inflates gzip request bodies and speaks protocol v2', async () => {
    const lsRefs = gzipSync('0014command=ls-refs\n0000');

    const response = await fetch(`${server.baseUrl}/acme/widget.git/git-upload-pack`, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from('alice:s3cret').toString('base64')}`,
        'Content-Type': 'application/x-git-upload-pack-request',
        'Content-Encoding': 'gzip',
        'Git-Protocol': 'version=2',
      },
      body: lsRefs,
    });

    expect(response.status).toBe(200);
    expect(await response.text()).toContain(`${headSha} refs/heads/main`);
  });

  it('answers the first failFirst requests with 503', async () => {
    const flaky = await startGitHttpServer({ root: root.path, user: 'alice', password: 's3cret', failFirst: 1 });
    const url = `${flaky.baseUrl}/acme/widget.git/info/refs?service=git-upload-pack`;
    const headers = { Authorization: `Basic ${Buffer.from('alice:s3cret').toString('base64')}` };

    const first = await fetch(url, { headers });
    const second = await fetch(url, { headers });
    await flaky.stop();

    expect([first.status, second.status]).toEqual([503, 200]);
    expect(second.headers.get('content-type')).toBe('application/x-git-upload-pack-advertisement');
  });
});

describe('startNginxWebdav', () => {
  let root: TempDir;
  let server: NginxWebdavServer;
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  beforeAll(async () => {
    root = await createTempDir();
    server = await startNginxWebdav({ root: root.path, user: 'uploader', password: 'pw-123', token: 'tok-abc' });
  });

  afterAll(async () => {
    await server?.stop();
    await root?.remove();
  });

  it('stores a PUT with basic auth under root/repo, creating directories', async () => {
    const response = await fetch(`${server.baseUrl}/repo/acme/widget/report.json`, {
      method: 'PUT',
      headers: { Authorization: basic('uploader', 'pw-123') },
      body: '{"ok":true}',
    });

    expect(response.status).toBe(201);
    expect(await readFile(join(root.path, 'repo/acme/widget/report.json'), 'utf8')).toBe('{"ok":true}');
    expect(await server.accessLog()).toEqual(['PUT /repo/acme/widget/report.json 201 uploader']);
  });

  it('rejects a PUT with a wrong password', async () => {
    const response = await fetch(`${server.baseUrl}/repo/denied.txt`, {
      method: 'PUT',
      headers: { Authorization: basic('uploader', 'nope') },
      body: 'x',
    });

    expect(response.status).toBe(401);
  });

  it('accepts the bearer token under /token/ and rejects any other', async () => {
    const put = (token: string) =>
      fetch(`${server.baseUrl}/token/a/b.txt`, { method: 'PUT', headers: { Authorization: `Bearer ${token}` }, body: 'b' });

    const wrong = await put('tok-wrong');
    const right = await put('tok-abc');

    expect([wrong.status, right.status]).toEqual([401, 201]);
    expect(await readFile(join(root.path, 'token/a/b.txt'), 'utf8')).toBe('b');
  });

  it('serves files and directory listings under /open/ without auth', async () => {
    await fetch(`${server.baseUrl}/open/dir/hello.txt`, { method: 'PUT', body: 'hello' });

    const file = await fetch(`${server.baseUrl}/open/dir/hello.txt`);
    const listing = await fetch(`${server.baseUrl}/open/dir/`);

    expect(await file.text()).toBe('hello');
    expect(await listing.text()).toContain('href="hello.txt"');
  });

  it('stops nginx and frees its port', async () => {
    const other = await startNginxWebdav({ root: root.path, user: 'u', password: 'p', token: 't' });
    const port = Number(new URL(other.baseUrl).port);

    await other.stop();

    expect(await isPortOpen(port)).toBe(false);
  });
});

import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli } from '../harness/cli.js';
import { createBareRepo } from '../harness/git-fixtures.js';
import { startGitHttpServer, type GitHttpServer } from '../harness/git-http.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { openForAssertions, resultRows } from './process-fixtures.js';

const GIT_PASSWORD = 'submodule-Secret-1357';

let tmp: TempDir;
let git: GitHttpServer;
let inventory: string;
let appSha: string;

const gitmodules = (at: string, url: string) => `[submodule "${at}"]\n\tpath = ${at}\n\turl = ${url}\n`;
// The build needs the submodule's file, and shows what git wrote of the submodule's remote.
const USES_LIB = { Makefile: 'all:\n\tmkdir -p dist\n\tcp vendor/lib/lib.txt dist/lib.txt\n\tcp .git/modules/vendor/lib/config dist/submodule-config.txt\n' };

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-submodules-');
  const served = path.join(tmp.path, 'served');
  const lib = await createBareRepo(served, 'acme/lib', { 'lib.txt': 'from the submodule\n' });
  appSha = (await createBareRepo(served, 'acme/app', { ...USES_LIB, '.gitmodules': gitmodules('vendor/lib', '../lib.git'), 'vendor/lib': { submoduleCommit: lib.headSha } })).headSha;
  const localUrl = pathToFileURL(lib.path).href;
  await createBareRepo(served, 'acme/local', { ...USES_LIB, '.gitmodules': gitmodules('vendor/lib', localUrl), 'vendor/lib': { submoduleCommit: lib.headSha } });
  git = await startGitHttpServer({ root: served, user: 'gituser', password: GIT_PASSWORD });
  inventory = path.join(tmp.path, 'repos.csv');
  await fs.writeFile(
    inventory,
    ['cloneUrl,branch,origin,path', `${git.baseUrl}/acme/app.git,main,127.0.0.1,acme/app`, `${git.baseUrl}/acme/local.git,main,127.0.0.1,acme/local`].join('\n') + '\n',
  );
});

afterAll(async () => {
  await git?.stop();
  await tmp?.remove();
});

const envFor = (name: string, overrides: Record<string, string> = {}) =>
  baseEnv({
    GIT_CREDENTIALS: git.baseUrl.replace('http://', `http://gituser:${GIT_PASSWORD}@`),
    MASS_INGEST_DATA_DIR: path.join(tmp.path, 'db'),
    PUBLISH_URL: path.join(tmp.path, name),
    MASS_INGEST_WORKDIR: path.join(tmp.path, 'work'),
    ...overrides,
  });

async function publishedText(dir: string): Promise<string> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const files = entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
  return (await Promise.all(files.map((file) => fs.readFile(file, 'utf8')))).join('\n');
}

describe('mass-ingest process with repositories that pin submodules', () => {
  it('builds with the submodules checked out, fetched with the same credentials when told to, and refuses one on the local disk', async () => {
    const result = await runCli(['process', inventory, '--run-id', 'with-submodules'], { env: envFor('published', { SUBMODULES: 'recursive-with-credentials' }) });

    expect(result.code).toBe(0);
    const db = await openForAssertions({ dataDir: path.join(tmp.path, 'db') });
    try {
      expect((await resultRows(db, 'with-submodules')).map((row) => [row.path, row.outcome, row.error_code])).toEqual([
        ['acme/app', 'published', null],
        ['acme/local', 'clone_failed', 'git_submodule_failed'],
      ]);
      const { rows } = await db.query<{ error_message: string }>("SELECT error_message FROM repository_results WHERE run_id = 'with-submodules' AND row_number = 2");
      expect(rows[0]?.error_message).toMatch(/^A submodule could not be cloned: [\s\S]*transport 'file' not allowed/);
      const stored = JSON.stringify((await db.query('SELECT * FROM repository_results')).rows);
      expect(stored).not.toContain(GIT_PASSWORD);
    } finally {
      await db.close();
    }
    const dir = path.join(tmp.path, 'published', '127.0.0.1', 'acme', 'app', appSha);
    expect(await fs.readFile(path.join(dir, 'lib.txt'), 'utf8')).toBe('from the submodule\n');
    expect(await fs.readFile(path.join(dir, 'submodule-config.txt'), 'utf8')).toContain(`url = ${git.baseUrl}/acme/lib.git`);
    expect(await publishedText(path.join(tmp.path, 'published'))).not.toContain(GIT_PASSWORD);
    expect(result.stdout + result.stderr).not.toContain(GIT_PASSWORD);
    const failed = result.logs.find((line) => line.msg === 'Repository finished' && line.row === 2);
    expect(failed).toMatchObject({ outcome: 'clone_failed', errorCode: 'git_submodule_failed' });
  });

  it('lends a submodule none of the credentials by default: one that needs them fails, saying how to lend them', async () => {
    const before = git.requests.length;

    const result = await runCli(['process', inventory, '--end', '1', '--run-id', 'anonymous-submodules', '--force'], { env: envFor('published-anonymous') });

    expect(result.code).toBe(0);
    const db = await openForAssertions({ dataDir: path.join(tmp.path, 'db') });
    try {
      // Its own commit was checked out before the submodule failed: recorded with the failure.
      expect((await resultRows(db, 'anonymous-submodules')).map((row) => [row.path, row.outcome, row.error_code, row.commit_sha])).toEqual([['acme/app', 'clone_failed', 'git_submodule_failed', appSha]]);
      const { rows } = await db.query<{ error_message: string }>("SELECT error_message FROM repository_results WHERE run_id = 'anonymous-submodules'");
      expect(rows[0]?.error_message).toMatch(/^A submodule could not be cloned without credentials \(SUBMODULES=recursive-with-credentials lends it the clone's\): /);
    } finally {
      await db.close();
    }
    // The repository itself was cloned with them; its submodule was asked for without, and refused.
    const requests = git.requests.slice(before);
    const libRequests = requests.filter((request) => request.url.includes('/acme/lib.git/'));
    expect(requests.some((request) => request.url.includes('/acme/app.git/') && request.authorized)).toBe(true);
    expect(libRequests.length).toBeGreaterThan(0);
    expect(libRequests.some((request) => request.authorized)).toBe(false);
  });

  it('leaves the submodules out with SUBMODULES=none: a build that needs one fails', async () => {
    const result = await runCli(['process', inventory, '--end', '1', '--run-id', 'without-submodules', '--force'], { env: envFor('published-none', { SUBMODULES: 'none' }) });

    expect(result.code).toBe(0);
    const db = await openForAssertions({ dataDir: path.join(tmp.path, 'db') });
    try {
      expect((await resultRows(db, 'without-submodules')).map((row) => [row.path, row.outcome, row.error_code])).toEqual([['acme/app', 'build_failed', 'build_exit_2']]);
    } finally {
      await db.close();
    }
    const log = await fs.readFile(path.join(tmp.path, 'published-none', '127.0.0.1', 'acme', 'app', appSha, 'build.log'), 'utf8');
    expect(log).toContain('vendor/lib/lib.txt');
  });
});

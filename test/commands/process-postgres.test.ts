import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli } from '../harness/cli.js';
import { createBareRepo } from '../harness/git-fixtures.js';
import { startGitHttpServer, type GitHttpServer } from '../harness/git-http.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { MAKE_PROJECT } from './process-fixtures.js';

const GIT_PASSWORD = 'git-Secret-7777';
const PG_PASSWORD = 'pg-Secret-4242';
const PUBLISH_PASSWORD = 'pub-Secret-9999';
const PUBLISH_TOKEN = 'tok-Secret-5555';
const SECRETS = [GIT_PASSWORD, PG_PASSWORD, PUBLISH_PASSWORD, PUBLISH_TOKEN];

let tmp: TempDir;
let postgres: PostgresServer;
let git: GitHttpServer;
let inventory: string;

const ENV_DUMP = {
  Makefile: [
    'all:',
    '\tmkdir -p out',
    '\tenv | sort > out/env.txt',
    '\tcat .git/config > out/git-config.txt',
    '\tenv',
    '\tcat .git/config',
  ].join('\n') + '\n',
};

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-pg-');
  const root = path.join(tmp.path, 'served');
  await createBareRepo(root, 'acme/widget', MAKE_PROJECT);
  await createBareRepo(root, 'acme/envdump', ENV_DUMP);
  [postgres, git] = await Promise.all([
    startPostgres({ password: PG_PASSWORD }),
    startGitHttpServer({ root, user: 'gituser', password: GIT_PASSWORD }),
  ]);
  inventory = path.join(tmp.path, 'repos.csv');
  await fs.writeFile(
    inventory,
    [
      'cloneUrl,branch,origin,path',
      `${git.baseUrl}/acme/widget.git,main,127.0.0.1,acme/widget`,
      `${git.baseUrl}/acme/envdump.git,main,127.0.0.1,acme/envdump`,
      `${git.baseUrl}/acme/absent.git,main,127.0.0.1,acme/absent`,
      `${git.baseUrl.replace('http://', `http://gituser:${GIT_PASSWORD}@`)}/acme/nothere.git,main,127.0.0.1,acme/nothere`,
    ].join('\n'),
  );
});

afterAll(async () => {
  await Promise.all([postgres?.stop(), git?.stop()]);
  await tmp?.remove();
});

function envFor(workdir: string, overrides: Record<string, string> = {}) {
  return baseEnv({
    DATABASE_URL: postgres.url,
    GIT_CREDENTIALS: `${git.baseUrl.replace('http://', `http://gituser:${GIT_PASSWORD}@`)}`,
    PUBLISH_URL: path.join(tmp.path, 'artifacts'),
    PUBLISH_USER: 'publisher',
    PUBLISH_PASSWORD,
    PUBLISH_TOKEN,
    MASS_INGEST_WORKDIR: workdir,
    ...overrides,
  });
}

async function query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe('mass-ingest process with PostgreSQL and a git server that needs credentials', () => {
  it('clones with GIT_CREDENTIALS, records in PostgreSQL, and leaks no secret anywhere', async () => {
    const workdir = path.join(tmp.path, 'work');

    const result = await runCli(['process', inventory, '--run-id', 'pg-run', '--concurrency', '2'], { env: envFor(workdir) });

    expect(result.code).toBe(0);
    const rows = await query<{ row_number: number; outcome: string; error_code: string | null; clone_url: string }>(
      "SELECT row_number, outcome, error_code, clone_url FROM repository_results WHERE run_id = 'pg-run' ORDER BY row_number",
    );
    expect(rows.map((r) => [r.row_number, r.outcome, r.error_code])).toEqual([
      [1, 'published', null],
      [2, 'published', null],
      [3, 'clone_failed', 'git_repository_not_found'],
      [4, 'clone_failed', 'git_repository_not_found'],
    ]);
    expect(rows[3]?.clone_url).toBe(`${git.baseUrl}/acme/nothere.git`);
    expect(git.requests.some((r) => r.authorized)).toBe(true);

    const dump = JSON.stringify(await query('SELECT * FROM repository_results')) + JSON.stringify(await query('SELECT * FROM repositories')) + JSON.stringify(await query('SELECT * FROM ingest_runs'));
    const published = await filesUnder(path.join(tmp.path, 'artifacts'));
    const envTxt = published.find((f) => f.endsWith('env.txt'));
    expect(envTxt).toBeDefined();
    const buildEnv = await fs.readFile(envTxt!, 'utf8');
    expect(buildEnv).toContain('PATH=');
    for (const name of ['DATABASE_URL', 'GIT_CREDENTIALS', 'PUBLISH_PASSWORD', 'PUBLISH_TOKEN', 'PUBLISH_USER', 'AWS_SECRET_ACCESS_KEY', 'GIT_CONFIG_VALUE']) {
      expect(buildEnv).not.toContain(`${name}=`);
    }
    const publishedText = (await Promise.all(published.map((f) => fs.readFile(f, 'utf8')))).join('\n');
    const workspaceText = (await Promise.all((await filesUnder(workdir)).map((f) => fs.readFile(f, 'utf8')))).join('\n');
    for (const secret of SECRETS) {
      expect(result.stdout).not.toContain(secret);
      expect(result.stderr).not.toContain(secret);
      expect(dump).not.toContain(secret);
      expect(publishedText).not.toContain(secret);
      expect(workspaceText).not.toContain(secret);
    }
    expect(publishedText).toContain('[remote "origin"]');
    expect(publishedText).not.toMatch(/url = http:\/\/[^\s]*@/);
  });

  it('fails the clone as git_auth_failed with wrong credentials, without retrying', async () => {
    const before = git.requests.length;

    const result = await runCli(['process', inventory, '--start', '1', '--end', '1', '--run-id', 'pg-badcred'], {
      env: envFor(path.join(tmp.path, 'work2'), { GIT_CREDENTIALS: git.baseUrl.replace('http://', 'http://gituser:wrong-password@') }),
    });

    expect(result.code).toBe(0);
    const rows = await query("SELECT outcome, error_code FROM repository_results WHERE run_id = 'pg-badcred'");
    expect(rows).toEqual([{ outcome: 'clone_failed', error_code: 'git_auth_failed' }]);
    expect(git.requests.length - before).toBeLessThanOrEqual(3);
    expect(result.stdout + result.stderr).not.toContain('wrong-password');
  });

  it('marks a repository unchanged in PostgreSQL on the second run', async () => {
    const result = await runCli(['process', inventory, '--start', '1', '--end', '1', '--run-id', 'pg-second'], { env: envFor(path.join(tmp.path, 'work3')) });

    expect(result.code).toBe(0);
    expect(await query("SELECT outcome FROM repository_results WHERE run_id = 'pg-second'")).toEqual([{ outcome: 'unchanged' }]);
  });

  it('exits 3 when PostgreSQL cannot be reached and 2 when it refuses the password', async () => {
    const unreachable = await runCli(['process', inventory, '--end', '1'], { env: envFor(tmp.path, { DATABASE_URL: 'postgres://mass:x@127.0.0.1:1/mass' }) });
    const refused = await runCli(['process', inventory, '--end', '1'], { env: envFor(tmp.path, { DATABASE_URL: postgres.url.replace(PG_PASSWORD, 'not-the-password') }) });

    expect(unreachable.code).toBe(3);
    expect(refused.code).toBe(2);
    expect(refused.stderr).not.toContain('not-the-password');
  });

  it('migrates a fresh database from many processes starting at once, as array children do', async () => {
    const fresh = await startPostgres({ password: PG_PASSWORD });
    try {
      const results = await Promise.all(Array.from({ length: 6 }, () => runCli(['db', 'migrate'], { env: envFor(tmp.path, { DATABASE_URL: fresh.url }) })));

      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 0]);
    } finally {
      await fresh.stop();
    }
  });

  it('applies migrations with db migrate, idempotently', async () => {
    const first = await runCli(['db', 'migrate'], { env: envFor(tmp.path) });
    const second = await runCli(['db', 'migrate'], { env: envFor(tmp.path) });

    expect([first.code, second.code]).toEqual([0, 0]);
    expect((await query<{ n: number }>('SELECT count(*)::int AS n FROM pgmigrations'))[0]?.n).toBeGreaterThanOrEqual(1);
  });
});

import fs from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { baseEnv } from '../harness/cli.js';
import { createBareRepo, type FixtureFile } from '../harness/git-fixtures.js';
import { openDatabase, type Database } from '../../src/results/database.js';

export const MAKE_PROJECT: Record<string, FixtureFile> = {
  Makefile: 'all:\n\tmkdir -p dist\n\techo "built" > dist/hello.txt\n',
};
export const BROKEN_PROJECT: Record<string, FixtureFile> = {
  Makefile: 'all:\n\t@echo "compiling"\n\t@echo "error: broken on purpose" >&2\n\t@exit 1\n',
};
export const DOCS_ONLY: Record<string, FixtureFile> = { 'README.md': '# docs\n' };

export interface Fixture {
  root: string;
  inventory: string;
  repos: Record<string, { path: string; headSha: string }>;
}

/** Bare repositories under `root/repos` and an inventory naming them in order, plus extra raw rows. */
export async function makeFixture(root: string, projects: Array<[string, Record<string, FixtureFile>]>, extraRows: string[] = []): Promise<Fixture> {
  const repos: Fixture['repos'] = {};
  const rows = ['cloneUrl,branch,origin,path'];
  for (const [name, files] of projects) {
    const repo = await createBareRepo(path.join(root, 'repos'), name, files);
    repos[name] = repo;
    rows.push(`${repo.path},main,local.test,${name}`);
  }
  rows.push(...extraRows);
  const inventory = path.join(root, 'repos.csv');
  await fs.writeFile(inventory, `${rows.join('\n')}\n`);
  return { root, inventory, repos };
}

/** Opens the database a CLI run wrote to (PGlite directory or PostgreSQL URL). */
export async function openForAssertions(settings: { dataDir: string; databaseUrl?: string }): Promise<Database> {
  return openDatabase({ dataDir: settings.dataDir, databaseUrl: settings.databaseUrl }, pino({ level: 'silent' }));
}

export async function resultRows(db: Database, runId: string) {
  const { rows } = await db.query<{ row_number: number; path: string | null; outcome: string; error_code: string | null; commit_sha: string | null; log_url: string | null }>(
    'SELECT row_number, path, outcome, error_code, commit_sha, log_url FROM repository_results WHERE run_id = $1 ORDER BY row_number',
    [runId],
  );
  return rows;
}

/** A CLI environment whose database, publish and work directories under `root` are the named run's own. */
export function runEnv(root: string, name: string, extra: Record<string, string> = {}): Record<string, string> {
  return baseEnv({
    MASS_INGEST_DATA_DIR: path.join(root, `db-${name}`),
    PUBLISH_URL: path.join(root, `artifacts-${name}`),
    MASS_INGEST_WORKDIR: path.join(root, `work-${name}`),
    ...extra,
  });
}

import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli } from '../harness/cli.js';
import { createLfsRepo, type BareRepo } from '../harness/git-fixtures.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { openForAssertions, resultRows } from './process-fixtures.js';

const COPIES_MODEL = { Makefile: 'all:\n\tmkdir -p dist\n\tcp model.bin dist/model.bin\n' };

let tmp: TempDir;
let repo: BareRepo;
let inventory: string;
const model = randomBytes(5000);

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-lfs-');
  repo = await createLfsRepo(path.join(tmp.path, 'repos'), 'acme/model', { ...COPIES_MODEL, 'model.bin': model });
  inventory = path.join(tmp.path, 'repos.csv');
  await fs.writeFile(inventory, `cloneUrl,branch,origin,path\n${repo.fileUrl},main,local.test,acme/model\n`);
});

afterAll(async () => {
  await tmp?.remove();
});

const envFor = (name: string, overrides: Record<string, string> = {}) =>
  baseEnv({ MASS_INGEST_DATA_DIR: path.join(tmp.path, 'db'), PUBLISH_URL: path.join(tmp.path, name), MASS_INGEST_WORKDIR: path.join(tmp.path, 'work'), ...overrides });
const published = (name: string) => path.join(tmp.path, name, 'local.test', 'acme', 'model', repo.headSha, 'model.bin');

describe('mass-ingest process with Git LFS files', () => {
  it('builds with the LFS files themselves with LFS=fetch', async () => {
    const result = await runCli(['process', inventory, '--run-id', 'lfs-fetch'], { env: envFor('fetched', { LFS: 'fetch' }) });

    expect(result.code).toBe(0);
    expect((await fs.readFile(published('fetched'))).equals(model)).toBe(true);
  });

  it('leaves the pointers by default: nothing is downloaded from LFS', async () => {
    const result = await runCli(['process', inventory, '--run-id', 'lfs-default', '--force'], { env: envFor('pointers') });

    expect(result.code).toBe(0);
    expect(await fs.readFile(published('pointers'), 'utf8')).toMatch(/^version https:\/\/git-lfs\.github\.com\/spec\/v1\noid sha256:/);
  });

  it('says so when --force rebuilds a commit already published: the target keeps what it has', async () => {
    const first = await runCli(['process', inventory, '--run-id', 'lfs-kept-1', '--force'], { env: envFor('kept') });
    const forced = await runCli(['process', inventory, '--run-id', 'lfs-kept-2', '--force'], { env: envFor('kept', { LFS: 'fetch' }) });

    expect([first.code, forced.code]).toEqual([0, 0]);
    const kept = (logs: typeof first.logs) => logs.filter((line) => String(line.msg).startsWith('Commit already published at the target: the rebuilt artifacts were not uploaded'));
    expect(kept(first.logs)).toEqual([]);
    expect(first.logs.find((line) => line.msg === 'Repository finished')).not.toHaveProperty('alreadyPublished');
    expect(kept(forced.logs)).toEqual([
      expect.objectContaining({ level: 40, repositories: 1, examples: [{ row: 1, origin: 'local.test', path: 'acme/model', commitSha: repo.headSha, logUrl: expect.stringContaining(`/kept/local.test/acme/model/${repo.headSha}/build.log`) }] }),
    ]);
    expect(forced.logs.find((line) => line.msg === 'Repository finished')).toMatchObject({ level: 30, outcome: 'published', commitSha: repo.headSha, alreadyPublished: true });
    expect(await fs.readFile(published('kept'), 'utf8')).toMatch(/^version https:\/\/git-lfs\.github\.com\/spec\/v1\n/);
  });

  it('exits 2 before any repository starts when LFS=fetch and git-lfs cannot run', async () => {
    const bin = path.join(tmp.path, 'git-only');
    await fs.mkdir(bin, { recursive: true });
    const gitPath = (await fs.realpath('/usr/bin/git').catch(() => undefined)) ?? 'git';
    await fs.symlink(gitPath, path.join(bin, 'git')).catch(() => undefined);

    const result = await runCli(['process', inventory, '--run-id', 'lfs-missing', '--force', '--lfs', 'fetch'], { env: envFor('missing', { PATH: bin }) });

    expect(result.code).toBe(2);
    expect(result.stderr + result.stdout).toContain('needs git-lfs');
    const db = await openForAssertions({ dataDir: path.join(tmp.path, 'db') });
    try {
      expect(await resultRows(db, 'lfs-missing')).toEqual([]);
    } finally {
      await db.close();
    }
  });
});

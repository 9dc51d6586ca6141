import { randomBytes } from 'node:crypto';
import { access, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readHeadSha, SimpleGitClient } from '../../src/git/git-client.js';
import { commitToBareRepo, createBareRepo, createLfsRepo, isolatedGitEnv } from '../harness/git-fixtures.js';
import { runCommand } from '../harness/process.js';
import { startGitHttpServer, type GitHttpServer } from '../harness/git-http.js';
import { prepareGitCredentials, type GitCredentialSetup } from '../../src/git/credentials.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { findFreePort } from '../harness/free-port.js';
import { startSilentServer, type SilentServer } from '../fakes/silent-server.js';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { startLfsServer, type LfsServer } from '../fakes/lfs-server.js';

const env = isolatedGitEnv() as Record<string, string>;
const gitClient = () => new SimpleGitClient({ env: { PATH: env.PATH ?? '', HOME: env.HOME ?? '', GIT_TERMINAL_PROMPT: '0' }, scrub: (text) => text });
const git = async (args: string[], cwd: string) => (await runCommand('git', args, { cwd, env })).stdout.trim();

describe('SimpleGitClient.clone', () => {
  let tmp: TempDir;
  beforeEach(async () => {
    tmp = await createTempDir('mass-ingest-git-client-');
  });
  afterEach(async () => {
    await tmp.remove();
  });

  it('returns the sha of the branch it checked out, the one ls-remote reports', async () => {
    const repo = await createBareRepo(tmp.path, 'acme/widget', { 'README.md': 'one\n' }, { branch: 'develop' });
    const second = await commitToBareRepo(repo.path, { 'README.md': 'two\n' }, 'Second');

    const sha = await gitClient().clone(repo.fileUrl, 'develop', join(tmp.path, 'clone'), new AbortController().signal);
    const head = await gitClient().headSha(repo.fileUrl, 'develop', new AbortController().signal);

    expect(sha).toBe(second);
    expect(head).toBe(second);
  });

  it('clones when the environment names an editor, a pager or an askpass program, as npm run and npx do', async () => {
    const repo = await createBareRepo(tmp.path, 'acme/env', { 'README.md': 'x\n' });
    const client = new SimpleGitClient({
      env: { PATH: env.PATH ?? '', HOME: env.HOME ?? '', EDITOR: 'vi', VISUAL: 'vi', PAGER: 'less', PREFIX: '/usr/local', SSH_ASKPASS: '/usr/bin/ssh-askpass', npm_config_editor: 'vi' },
      scrub: (text) => text,
    });

    const sha = await client.clone(repo.fileUrl, 'main', join(tmp.path, 'clone'), new AbortController().signal);
    const head = await client.headSha(repo.fileUrl, 'main', new AbortController().signal);

    expect(sha).toBe(repo.headSha);
    expect(head).toBe(repo.headSha);
  });

  it('takes nothing from the machine\'s template directory: no hooks in the clone', async () => {
    const repo = await createBareRepo(tmp.path, 'acme/hooks', { 'README.md': 'x\n' });
    const template = join(tmp.path, 'template');
    await mkdir(join(template, 'hooks'), { recursive: true });
    await writeFile(join(template, 'hooks', 'post-checkout'), '#!/bin/sh\necho hooked > hooked.txt\n', { mode: 0o755 });
    const home = join(tmp.path, 'home');
    await mkdir(home);
    await writeFile(join(home, '.gitconfig'), `[init]\n\ttemplateDir = ${template}\n`);
    const client = new SimpleGitClient({ env: { PATH: env.PATH ?? '', HOME: home }, scrub: (text) => text });

    await client.clone(repo.fileUrl, 'main', join(tmp.path, 'clone'), new AbortController().signal);

    await expect(access(join(tmp.path, 'clone', '.git', 'hooks'))).rejects.toThrow();
    await expect(access(join(tmp.path, 'clone', 'hooked.txt'))).rejects.toThrow();
    await expect(access(join(tmp.path, 'clone', 'README.md'))).resolves.toBeUndefined();
  });

  it('ignores a ~/.gitconfig an earlier build wrote: its hooks never run in a clone', async () => {
    const repo = await createBareRepo(tmp.path, 'acme/victim', { 'README.md': 'x\n' });
    const hooks = join(tmp.path, 'evil-hooks');
    await mkdir(hooks);
    await writeFile(join(hooks, 'post-checkout'), `#!/bin/sh\necho hooked > ${join(tmp.path, 'hooked.txt')}\n`, { mode: 0o755 });
    const home = join(tmp.path, 'home');
    await mkdir(home);
    await writeFile(join(home, '.gitconfig'), `[core]\n\thooksPath = ${hooks}\n`);
    const client = new SimpleGitClient({ env: { PATH: env.PATH ?? '', HOME: home }, scrub: (text) => text });

    const sha = await client.clone(repo.fileUrl, 'main', join(tmp.path, 'clone'), new AbortController().signal);

    expect(sha).toBe(repo.headSha);
    await expect(access(join(tmp.path, 'hooked.txt'))).rejects.toThrow();
  });

  it('follows the remote HEAD when the row names no branch', async () => {
    const repo = await createBareRepo(tmp.path, 'acme/default', { 'README.md': 'x\n' }, { branch: 'trunk' });

    const sha = await gitClient().clone(repo.fileUrl, '', join(tmp.path, 'clone'), new AbortController().signal);

    expect(sha).toBe(repo.headSha);
  });
});

describe('SimpleGitClient over a slow link', () => {
  let tmp: TempDir;
  let server: GitHttpServer | undefined;
  let credentials: GitCredentialSetup | undefined;
  beforeEach(async () => {
    tmp = await createTempDir('mass-ingest-git-slow-');
  });
  afterEach(async () => {
    await server?.stop();
    await credentials?.dispose();
    await tmp.remove();
  });

  it('keeps a clone going while its data keeps coming, however long it takes: only silence stops it', async () => {
    // ~530 KB that do not compress much, sent at 50 KB/s: about twice the silence allowed, and
    // never silent for long while it flows (git reports its progress every second).
    const payload = randomBytes(400_000).toString('base64');
    const repo = await createBareRepo(join(tmp.path, 'served'), 'acme/big', { 'data.txt': payload });
    server = await startGitHttpServer({ root: join(tmp.path, 'served'), user: 'reader', password: 'slow-Secret-1', bytesPerSecond: 50_000 });
    credentials = await prepareGitCredentials(`http://reader:slow-Secret-1@${new URL(server.baseUrl).host}`);
    const client = new SimpleGitClient({ env: { PATH: env.PATH ?? '', HOME: env.HOME ?? '', ...credentials.env }, scrub: (text) => text, silenceTimeoutMs: 4000 });

    const sha = await client.clone(`${server.baseUrl}/acme/big.git`, 'main', join(tmp.path, 'clone'), new AbortController().signal);

    expect(sha).toBe(repo.headSha);
    expect(await readFile(join(tmp.path, 'clone', 'data.txt'), 'utf8')).toBe(payload);
  });

  it('stops a clone that talks on past CLONE_TIMEOUT (git_clone_timeout, not retried)', async () => {
    await createBareRepo(join(tmp.path, 'served'), 'acme/endless', { 'data.txt': randomBytes(400_000).toString('base64') });
    server = await startGitHttpServer({ root: join(tmp.path, 'served'), user: 'reader', password: 'slow-Secret-1', bytesPerSecond: 50_000 });
    credentials = await prepareGitCredentials(`http://reader:slow-Secret-1@${new URL(server.baseUrl).host}`);
    const client = new SimpleGitClient({ env: { PATH: env.PATH ?? '', HOME: env.HOME ?? '', ...credentials.env }, scrub: (text) => text, cloneTimeoutMs: 1500 });

    const error = await client.clone(`${server.baseUrl}/acme/endless.git`, 'main', join(tmp.path, 'clone'), new AbortController().signal).catch((err: unknown) => err);

    expect(error).toMatchObject({ code: 'git_clone_timeout', retryable: false });
    expect((error as Error).message).toBe('The clone took longer than CLONE_TIMEOUT (2 s), submodules and LFS files included: stopped; raise CLONE_TIMEOUT for a repository this large or a link this slow');
  });

  it('keeps a submodule\'s clone going the same way: only silence stops it', async () => {
    const payload = randomBytes(400_000).toString('base64');
    const served = join(tmp.path, 'served');
    const big = await createBareRepo(served, 'acme/big', { 'data.txt': payload });
    await createBareRepo(served, 'acme/app', { '.gitmodules': '[submodule "big"]\n\tpath = big\n\turl = ../big.git\n', big: { submoduleCommit: big.headSha } });
    server = await startGitHttpServer({ root: served, user: 'reader', password: 'slow-Secret-1', bytesPerSecond: 50_000 });
    credentials = await prepareGitCredentials(`http://reader:slow-Secret-1@${new URL(server.baseUrl).host}`);
    const client = new SimpleGitClient({ env: { PATH: env.PATH ?? '', HOME: env.HOME ?? '', ...credentials.env }, scrub: (text) => text, silenceTimeoutMs: 4000, submodules: true });

    await client.clone(`${server.baseUrl}/acme/app.git`, 'main', join(tmp.path, 'clone'), new AbortController().signal);

    expect(await readFile(join(tmp.path, 'clone', 'big', 'data.txt'), 'utf8')).toBe(payload);
  });
});

/** Processes (not zombies) whose command line names `address`: git and its transport helpers talking to it. */
function processesTalkingTo(address: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ');
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (command.includes(address) && state !== 'Z') found.push(command.trim());
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** A killed process leaves /proc a moment later: a bounded wait, no timing assertion. */
async function settled(find: () => string[]): Promise<string[]> {
  let found = find();
  for (let attempt = 0; attempt < 50 && found.length > 0; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    found = find();
  }
  return found;
}

describe('SimpleGitClient against a server that accepts connections and never answers', () => {
  let tmp: TempDir;
  let silent: SilentServer;
  const client = (submodules = false) => new SimpleGitClient({ env: { PATH: env.PATH ?? '', HOME: env.HOME ?? '', GIT_TERMINAL_PROMPT: '0' }, scrub: (text) => text, silenceTimeoutMs: 1000, submodules });
  beforeEach(async () => {
    tmp = await createTempDir('mass-ingest-git-silent-');
    silent = await startSilentServer();
  });
  afterEach(async () => {
    await silent.stop();
    await tmp.remove();
  });

  it('leaves no git transport helper running once a clone or an ls-remote was stopped for its silence', async () => {
    const cloned = await client().clone(`${silent.baseUrl}/acme/a.git`, 'main', join(tmp.path, 'clone'), new AbortController().signal).catch((err: unknown) => err);
    const listed = await client().headSha(`${silent.baseUrl}/acme/b.git`, 'main', new AbortController().signal).catch((err: unknown) => err);

    expect([cloned, listed]).toMatchObject([
      { code: 'git_network', retryable: true },
      { code: 'git_network', retryable: true },
    ]);
    expect(await settled(() => processesTalkingTo(silent.baseUrl))).toEqual([]);
  }, 30_000);

  it('stops a submodule clone that goes silent after the silence allowed, as a network failure to retry, leaving no git running', async () => {
    const lib = await createBareRepo(join(tmp.path, 'served'), 'acme/lib', { 'lib.txt': 'lib\n' });
    const app = await createBareRepo(join(tmp.path, 'served'), 'acme/app', { '.gitmodules': `[submodule "lib"]\n\tpath = lib\n\turl = ${silent.baseUrl}/acme/lib.git\n`, lib: { submoduleCommit: lib.headSha } });

    const error = await client(true).clone(app.fileUrl, 'main', join(tmp.path, 'clone'), new AbortController().signal).catch((err: unknown) => err);

    expect(error).toMatchObject({ code: 'git_network', retryable: true });
    expect((error as Error).message).toMatch(/^A submodule could not be cloned: /);
    expect(await settled(() => processesTalkingTo(silent.baseUrl))).toEqual([]);
  }, 30_000);
});

describe('SimpleGitClient with submodules', () => {
  const PASSWORD = 'sub-Secret-2468';
  let tmp: TempDir;
  let server: GitHttpServer;
  let credentials: GitCredentialSetup;
  let pinned: string;
  let served: string;
  const gitmodules = (entries: Array<[string, string]>) => entries.map(([at, url]) => `[submodule "${at}"]\n\tpath = ${at}\n\turl = ${url}\n`).join('');
  const client = (submodules: boolean) =>
    new SimpleGitClient({ env: { PATH: env.PATH ?? '', HOME: env.HOME ?? '', ...credentials.env }, scrub: (text) => text.replaceAll(PASSWORD, '[secret]'), submodules });
  const clone = (name: string, submodules = true) => client(submodules).clone(`${server.baseUrl}/${name}.git`, 'main', join(tmp.path, 'clone'), new AbortController().signal);

  beforeAll(async () => {
    tmp = await createTempDir('mass-ingest-git-submodules-');
    served = join(tmp.path, 'served');
    // app pins vendor/lib at lib's first commit (not its branch tip); lib pins deep in turn.
    const deep = await createBareRepo(served, 'acme/deep', { 'deep.txt': 'deep\n' });
    const lib = await createBareRepo(served, 'acme/lib', { 'lib.txt': 'lib v1\n', '.gitmodules': gitmodules([['deep', '../deep.git']]), deep: { submoduleCommit: deep.headSha } });
    pinned = lib.headSha;
    await commitToBareRepo(lib.path, { 'lib.txt': 'lib v2\n' }, 'Second');
    await createBareRepo(served, 'acme/app', { 'README.md': 'app\n', '.gitmodules': gitmodules([['vendor/lib', '../lib.git']]), 'vendor/lib': { submoduleCommit: pinned } });
    await createBareRepo(served, 'acme/local-sub', { '.gitmodules': gitmodules([['lib', pathToFileURL(join(served, 'acme', 'lib.git')).href]]), lib: { submoduleCommit: pinned } });
    await createBareRepo(served, 'acme/gone-sub', { '.gitmodules': gitmodules([['lib', '../absent.git']]), lib: { submoduleCommit: pinned } });
    // Each commit pins two submodules at the commit before it, of this same repository: 2^depth clones.
    const fan = await createBareRepo(served, 'acme/fan', { 'leaf.txt': 'leaf\n' });
    let previous = fan.headSha;
    for (let depth = 1; depth <= 5; depth++) {
      previous = await commitToBareRepo(fan.path, { '.gitmodules': gitmodules([['a', '../fan.git'], ['b', '../fan.git']]), a: { submoduleCommit: previous }, b: { submoduleCommit: previous } }, `Depth ${depth}`);
    }
    await createBareRepo(served, 'acme/ssh-sub', { '.gitmodules': gitmodules([['lib', 'git@127.0.0.1:acme/lib.git']]), lib: { submoduleCommit: pinned } });
    await createBareRepo(served, 'acme/gone-commit', { '.gitmodules': gitmodules([['lib', '../lib.git']]), lib: { submoduleCommit: '1234567890123456789012345678901234567890' } });
    await createBareRepo(served, 'acme/unreachable-sub', { '.gitmodules': gitmodules([['lib', `http://127.0.0.1:${await findFreePort()}/lib.git`]]), lib: { submoduleCommit: pinned } });
    server = await startGitHttpServer({ root: served, user: 'reader', password: PASSWORD });
    credentials = await prepareGitCredentials(`http://reader:${PASSWORD}@${new URL(server.baseUrl).host}`);
  });
  afterEach(async () => {
    await rm(join(tmp.path, 'clone'), { recursive: true, force: true });
  });
  afterAll(async () => {
    await server.stop();
    await credentials.dispose();
    await tmp.remove();
  });

  it('checks out the commits the repository pins, recursively, with the same credentials and none of them written down', async () => {
    await clone('acme/app');

    expect(await readFile(join(tmp.path, 'clone', 'vendor', 'lib', 'lib.txt'), 'utf8')).toBe('lib v1\n');
    expect(await readFile(join(tmp.path, 'clone', 'vendor', 'lib', 'deep', 'deep.txt'), 'utf8')).toBe('deep\n');
    expect(await git(['rev-parse', 'HEAD'], join(tmp.path, 'clone', 'vendor', 'lib'))).toBe(pinned);
    const grep = await runCommand('sh', ['-c', 'grep -rl -- "$0" "$1" || true', PASSWORD, join(tmp.path, 'clone')], { env });
    expect(grep.stdout).toBe('');
    expect(server.requests.some((request) => request.url.includes('/acme/deep.git/') && request.authorized)).toBe(true);
  });

  it('clones the submodules whole from a server that only sends commits its refs point at (protocol v0)', async () => {
    const old = await startGitHttpServer({ root: served, user: 'reader', password: PASSWORD, protocolV0: true });
    try {
      const oldCredentials = await prepareGitCredentials(`http://reader:${PASSWORD}@${new URL(old.baseUrl).host}`);
      const v0 = new SimpleGitClient({ env: { PATH: env.PATH ?? '', HOME: env.HOME ?? '', ...oldCredentials.env }, scrub: (text) => text, submodules: true });

      await v0.clone(`${old.baseUrl}/acme/app.git`, 'main', join(tmp.path, 'clone'), new AbortController().signal).finally(() => oldCredentials.dispose());

      expect(await readFile(join(tmp.path, 'clone', 'vendor', 'lib', 'lib.txt'), 'utf8')).toBe('lib v1\n');
      expect(await readFile(join(tmp.path, 'clone', 'vendor', 'lib', 'deep', 'deep.txt'), 'utf8')).toBe('deep\n');
      expect(await git(['rev-parse', 'HEAD'], join(tmp.path, 'clone', 'vendor', 'lib'))).toBe(pinned);
    } finally {
      await old.stop();
    }
  });

  it('withholds the credentials from the submodules when told to: a submodule that needs them fails, saying so', async () => {
    const withheld = new SimpleGitClient({ env: { PATH: env.PATH ?? '', HOME: env.HOME ?? '', ...credentials.env }, scrub: (text) => text, submodules: true, submoduleEnv: credentials.anonymousEnv });

    const error = await withheld.clone(`${server.baseUrl}/acme/app.git`, 'main', join(tmp.path, 'clone'), new AbortController().signal).catch((err: unknown) => err);

    expect(error).toMatchObject({ code: 'git_submodule_failed', retryable: false });
    expect((error as Error).message).toMatch(/^A submodule could not be cloned without credentials \(SUBMODULES=recursive-with-credentials lends it the clone's\): /);
    expect(await readFile(join(tmp.path, 'clone', 'README.md'), 'utf8')).toBe('app\n');
  });

  it('fetches a submodule named by an ssh URL of the clone\'s own host as the clone was, over http', async () => {
    await clone('acme/ssh-sub');

    expect(await readFile(join(tmp.path, 'clone', 'lib', 'lib.txt'), 'utf8')).toBe('lib v1\n');
  });

  it('stops a repository whose submodules pin each other into more clones than any repository has (git_submodule_failed)', async () => {
    const capped = new SimpleGitClient({ env: { PATH: env.PATH ?? '', HOME: env.HOME ?? '', ...credentials.env }, scrub: (text) => text, submodules: true, maxSubmodules: 10 });

    const error = await capped.clone(`${server.baseUrl}/acme/fan.git`, 'main', join(tmp.path, 'clone'), new AbortController().signal).catch((err: unknown) => err);

    expect(error).toMatchObject({ code: 'git_submodule_failed', retryable: false });
    expect((error as Error).message).toBe('A submodule could not be cloned: the repository has more than 10 submodules, nested ones included (submodules that pin each other multiply): stopped');
  });

  it('leaves the submodules out when told to', async () => {
    await clone('acme/app', false);

    expect(await readdir(join(tmp.path, 'clone', 'vendor', 'lib'))).toEqual([]);
  });

  it('refuses a submodule on the local file system, whatever the repository says (git_submodule_failed)', async () => {
    const error = await clone('acme/local-sub').catch((err: unknown) => err);

    expect(error).toMatchObject({ code: 'git_submodule_failed', retryable: false });
    expect((error as Error).message).toMatch(/^A submodule could not be cloned: [\s\S]*transport 'file' not allowed/);
    await expect(access(join(tmp.path, 'clone', 'lib', 'lib.txt'))).rejects.toThrow();
  });

  it('fails at once when a pinned commit is gone from a server that sends any commit (protocol v2): the submodule is not cloned again whole', async () => {
    const error = await clone('acme/gone-commit').catch((err: unknown) => err);

    expect(error).toMatchObject({ code: 'git_submodule_failed', retryable: false });
    expect((error as Error).message).toMatch(/^A submodule could not be cloned: [^\n]*not our ref 1234567890123456789012345678901234567890/);
    await expect(access(join(tmp.path, 'clone', '.git', 'modules', 'lib', 'shallow'))).resolves.toBeUndefined();
  });

  it('says which clone a network failure of a submodule is, and leaves it to be retried', async () => {
    const error = await clone('acme/unreachable-sub').catch((err: unknown) => err);

    expect(error).toMatchObject({ code: 'git_network', retryable: true });
    expect((error as Error).message).toMatch(/^A submodule could not be cloned: [^\n]*Failed to connect to 127\.0\.0\.1/);
  });

  it('fails the clone when a submodule is missing on the server, naming it', async () => {
    const error = await clone('acme/gone-sub').catch((err: unknown) => err);

    expect(error).toMatchObject({ code: 'git_submodule_failed', retryable: false });
    expect((error as Error).message).toContain('/acme/absent.git');
    expect((error as Error).message).not.toContain(PASSWORD);
  });
});

describe('SimpleGitClient with Git LFS', () => {
  let tmp: TempDir;
  // Submodules here are file:// ones, which git refuses unless told otherwise.
  const client = (lfs: boolean) =>
    new SimpleGitClient({ env: { PATH: env.PATH ?? '', HOME: env.HOME ?? '', GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'protocol.file.allow', GIT_CONFIG_VALUE_0: 'always' }, scrub: (text) => text, submodules: true, lfs });
  const model = randomBytes(3000);

  beforeAll(async () => {
    tmp = await createTempDir('mass-ingest-git-lfs-');
  });
  afterEach(async () => {
    await rm(join(tmp.path, 'clone'), { recursive: true, force: true });
  });
  afterAll(async () => {
    await tmp.remove();
  });

  it('replaces the pointers with their files, in submodules too, and leaves a tree git calls clean', async () => {
    const lib = await createLfsRepo(tmp.path, 'acme/lib', { 'weights.bin': model });
    const app = await createLfsRepo(tmp.path, 'acme/app', { 'model.bin': model, 'README.md': 'app\n' }, { 'vendor/lib': lib.fileUrl });

    await client(true).clone(app.fileUrl, 'main', join(tmp.path, 'clone'), new AbortController().signal);

    expect((await readFile(join(tmp.path, 'clone', 'model.bin'))).equals(model)).toBe(true);
    expect((await readFile(join(tmp.path, 'clone', 'vendor', 'lib', 'weights.bin'))).equals(model)).toBe(true);
    expect(await git(['status', '--porcelain'], join(tmp.path, 'clone'))).toBe('');
  });

  it('leaves the pointers as they are when LFS is off, even where the system git configuration has the LFS filter', async () => {
    const repo = await createLfsRepo(tmp.path, 'acme/off', { 'model.bin': model });

    await client(false).clone(repo.fileUrl, 'main', join(tmp.path, 'clone'), new AbortController().signal);

    expect(await readFile(join(tmp.path, 'clone', 'model.bin'), 'utf8')).toMatch(/^version https:\/\/git-lfs\.github\.com\/spec\/v1\n/);
  });

  it('refuses an LFS endpoint on this machine\'s disk that a repository cloned over the network names in its .lfsconfig', async () => {
    const served = join(tmp.path, 'served');
    const other = await createLfsRepo(served, 'acme/private', { 'secret.bin': model });
    const lfsconfig = `[lfs]\n\turl = ${other.fileUrl}\n`;
    await createLfsRepo(served, 'acme/reader', { '.lfsconfig': lfsconfig, 'stolen.bin': model });
    await createLfsRepo(served, 'acme/sub-reader', { 'README.md': 'x\n' });
    const server = await startGitHttpServer({ root: served, user: 'reader', password: 'lfs-Secret-8642' });
    const credentials = await prepareGitCredentials(`http://reader:lfs-Secret-8642@${new URL(server.baseUrl).host}`);
    try {
      const overHttp = new SimpleGitClient({ env: { PATH: env.PATH ?? '', HOME: env.HOME ?? '', ...credentials.env }, scrub: (text) => text, lfs: true });

      const error = await overHttp.clone(`${server.baseUrl}/acme/reader.git`, 'main', join(tmp.path, 'clone'), new AbortController().signal).catch((err: unknown) => err);

      expect(error).toMatchObject({ code: 'git_lfs_failed', retryable: false });
      expect((error as Error).message).toBe(`Git LFS files could not be fetched: refused a Git LFS endpoint on this machine's disk (${other.fileUrl}), which the repository's .lfsconfig names`);
      expect(await readFile(join(tmp.path, 'clone', 'stolen.bin'), 'utf8')).toMatch(/^version https:\/\/git-lfs/);
    } finally {
      await server.stop();
      await credentials.dispose();
    }
  });

  it('fails the clone (git_lfs_failed) when the server lacks a file a pointer names', async () => {
    const repo = await createLfsRepo(tmp.path, 'acme/lost', { 'model.bin': model });
    await rm(join(repo.path, 'lfs'), { recursive: true, force: true });

    const error = await client(true).clone(repo.fileUrl, 'main', join(tmp.path, 'clone'), new AbortController().signal).catch((err: unknown) => err);

    expect(error).toMatchObject({ code: 'git_lfs_failed', retryable: false });
    expect((error as Error).message).toMatch(/^Git LFS files could not be fetched: /);
  });
});

/** Processes (not zombies) working in `dir` or below: git, its submodule scripts and git-lfs in a clone. */
function processesWorkingIn(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if ((cwd === dir || cwd.startsWith(`${dir}/`)) && state !== 'Z') found.push(readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').trim());
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

describe('SimpleGitClient with Git LFS files from an LFS server over http', () => {
  let tmp: TempDir;
  let lfs: LfsServer | undefined;
  const weights = randomBytes(400_000);
  // The repositories are file:// ones (git refuses them in submodules unless told otherwise); the
  // submodule's LFS files come from the server its .lfsconfig names.
  const client = ({ silenceTimeoutMs, cloneTimeoutMs = 20_000 }: { silenceTimeoutMs?: number; cloneTimeoutMs?: number } = {}) =>
    new SimpleGitClient({
      env: { PATH: env.PATH ?? '', HOME: env.HOME ?? '', GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'protocol.file.allow', GIT_CONFIG_VALUE_0: 'always' },
      scrub: (text) => text,
      submodules: true,
      lfs: true,
      silenceTimeoutMs,
      cloneTimeoutMs,
    });
  const appWithLfsSubmodule = async (lfsUrl: string) => {
    const lib = await createLfsRepo(tmp.path, 'acme/lib', { 'weights.bin': weights });
    const pinned = await commitToBareRepo(lib.path, { '.lfsconfig': `[lfs]\n\turl = ${lfsUrl}/acme/lib.git/info/lfs\n` }, 'LFS files from the server');
    return createBareRepo(tmp.path, 'acme/app', { 'README.md': 'app\n', '.gitmodules': `[submodule "lib"]\n\tpath = lib\n\turl = ${lib.fileUrl}\n`, lib: { submoduleCommit: pinned } });
  };
  beforeEach(async () => {
    tmp = await createTempDir('mass-ingest-git-lfs-http-');
  });
  afterEach(async () => {
    await lfs?.stop();
    await tmp.remove();
  });

  it('keeps a submodule\'s download going while its data keeps coming, however long it takes: only silence stops it', async () => {
    lfs = await startLfsServer([weights], 'slow');
    const app = await appWithLfsSubmodule(lfs.baseUrl);

    await client({ silenceTimeoutMs: 2000 }).clone(app.fileUrl, 'main', join(tmp.path, 'clone'), new AbortController().signal);

    expect((await readFile(join(tmp.path, 'clone', 'lib', 'weights.bin'))).equals(weights)).toBe(true);
  });

  it('stops a submodule\'s download that stalls mid-file after the silence allowed, as a network failure to retry, leaving no git or git-lfs running', async () => {
    lfs = await startLfsServer([weights], 'stall');
    const app = await appWithLfsSubmodule(lfs.baseUrl);
    const clone = join(tmp.path, 'clone');

    const error = await client({ silenceTimeoutMs: 2000 }).clone(app.fileUrl, 'main', clone, new AbortController().signal).catch((err: unknown) => err);

    expect(error).toMatchObject({ code: 'git_network', retryable: true });
    expect((error as Error).message).toBe('Git LFS files could not be fetched: git lfs pull in the submodules printed nothing for 2 s (block timeout): stopped');
    expect(lfs.downloads()).toBeGreaterThan(0);
    expect(await settled(() => processesWorkingIn(clone))).toEqual([]);
  });

  it('stops a submodule\'s stalled download at CLONE_TIMEOUT when that comes first, leaving no git or git-lfs running', async () => {
    lfs = await startLfsServer([weights], 'stall');
    const app = await appWithLfsSubmodule(lfs.baseUrl);
    const clone = join(tmp.path, 'clone');

    const error = await client({ cloneTimeoutMs: 4000 }).clone(app.fileUrl, 'main', clone, new AbortController().signal).catch((err: unknown) => err);

    expect(error).toMatchObject({ code: 'git_clone_timeout', retryable: false });
    expect(lfs.downloads()).toBeGreaterThan(0);
    expect(await settled(() => processesWorkingIn(clone))).toEqual([]);
  });

  it('stops the repository\'s own download that stalls mid-file the same way', async () => {
    lfs = await startLfsServer([weights], 'stall');
    const repo = await createLfsRepo(tmp.path, 'acme/model', { 'weights.bin': weights });
    await commitToBareRepo(repo.path, { '.lfsconfig': `[lfs]\n\turl = ${lfs.baseUrl}/acme/model.git/info/lfs\n` }, 'LFS files from the server');
    const clone = join(tmp.path, 'clone');

    const error = await client({ silenceTimeoutMs: 2000 }).clone(repo.fileUrl, 'main', clone, new AbortController().signal).catch((err: unknown) => err);

    expect(error).toMatchObject({ code: 'git_network', retryable: true });
    expect((error as Error).message).toBe('Git LFS files could not be fetched: git lfs pull printed nothing for 2 s (block timeout): stopped');
    expect(lfs.downloads()).toBeGreaterThan(0);
    expect(await settled(() => processesWorkingIn(clone))).toEqual([]);
  });
});

describe('readHeadSha', () => {
  let tmp: TempDir;
  let clone: string;
  let expected: string;
  beforeEach(async () => {
    tmp = await createTempDir('mass-ingest-head-');
    const repo = await createBareRepo(tmp.path, 'acme/refs', { 'README.md': 'x\n' });
    expected = repo.headSha;
    clone = join(tmp.path, 'clone');
    await git(['clone', '--quiet', repo.fileUrl, clone], tmp.path);
  });
  afterEach(async () => {
    await tmp.remove();
  });

  it('reads a loose branch ref', async () => {
    expect(await readHeadSha(clone)).toBe(expected);
  });

  it('reads a packed branch ref', async () => {
    await git(['pack-refs', '--all', '--prune'], clone);

    expect(await readHeadSha(clone)).toBe(expected);
  });

  it('reads a detached HEAD', async () => {
    await git(['checkout', '--quiet', '--detach'], clone);

    expect(await readHeadSha(clone)).toBe(expected);
  });

  it('gives up (and the caller asks git) on anything it does not know', async () => {
    await writeFile(join(clone, '.git', 'HEAD'), 'ref: refs/heads/../../config\n');
    const noGit = join(tmp.path, 'empty');

    expect(await readHeadSha(clone)).toBeUndefined();
    await rm(join(clone, '.git', 'HEAD'));
    expect(await readHeadSha(clone)).toBeUndefined();
    expect(await readHeadSha(noGit)).toBeUndefined();
  });
});

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCommand } from './process.js';
import { createTempDir } from './tmp.js';

/**
 * A file's content, or content plus a mode: 0o755 / 0o100755 executable, 0o120000 symlink (content
 * = target); or a submodule's commit (a gitlink; its URL goes in `.gitmodules`).
 */
export type FixtureFile = string | { content: string; mode: number } | { submoduleCommit: string };
/** `null` deletes the path in commitToBareRepo. */
export type FixtureFiles = Record<string, FixtureFile | null>;

export interface BareRepo {
  path: string;
  fileUrl: string;
  headSha: string;
}

const IDENTITY = {
  GIT_AUTHOR_NAME: 'Fixture Author',
  GIT_AUTHOR_EMAIL: 'fixture@example.test',
  GIT_COMMITTER_NAME: 'Fixture Committer',
  GIT_COMMITTER_EMAIL: 'fixture@example.test',
};

/**
 * Environment for running git in tests: no system or global config (so the machine's settings and
 * credential helpers cannot leak in), no prompts, and a fixed identity and date so shas are stable.
 */
export function isolatedGitEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z',
    GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z',
    ...IDENTITY,
    ...extra,
  };
}

/** Creates `${root}/${name}.git` (name may contain slashes: "acme/widget") with one commit of `files`. */
export async function createBareRepo(
  root: string,
  name: string,
  files: Record<string, FixtureFile>,
  opts: { branch?: string; message?: string } = {},
): Promise<BareRepo> {
  const branch = opts.branch ?? 'main';
  const path = join(root, `${name}.git`);
  await mkdir(dirname(path), { recursive: true });
  await git(['init', '--quiet', '--bare', `--initial-branch=${branch}`, path]);
  const headSha = await commitToBareRepo(path, files, opts.message ?? 'Initial commit');
  return { path, fileUrl: pathToFileURL(path).href, headSha };
}

/**
 * Adds a commit on top of the bare repository's HEAD branch, changing only the given paths, and
 * returns its sha. Built with plumbing on a temporary index, so no work tree or clone is needed.
 */
export async function commitToBareRepo(barePath: string, files: FixtureFiles, message: string): Promise<string> {
  const branchRef = (await git(['symbolic-ref', 'HEAD'], barePath)).trim();
  const parent = await resolveRef(barePath, branchRef);
  const indexDir = await createTempDir('mass-ingest-index-');
  const env = { GIT_INDEX_FILE: join(indexDir.path, 'index') };
  try {
    if (parent) await git(['read-tree', parent], barePath, { env });
    for (const [path, file] of Object.entries(files)) {
      if (file === null) {
        await git(['update-index', '--force-remove', '--', path], barePath, { env });
        continue;
      }
      if (typeof file === 'object' && 'submoduleCommit' in file) {
        await git(['update-index', '--add', '--cacheinfo', `160000,${file.submoduleCommit},${path}`], barePath, { env });
        continue;
      }
      const { content, mode } = typeof file === 'string' ? { content: file, mode: 0o644 } : file;
      const blob = (await git(['hash-object', '-w', '--stdin'], barePath, { input: content })).trim();
      await git(['update-index', '--add', '--cacheinfo', `${gitMode(mode)},${blob},${path}`], barePath, { env });
    }
    const tree = (await git(['write-tree'], barePath, { env })).trim();
    const parentArgs = parent ? ['-p', parent] : [];
    const sha = (await git(['commit-tree', tree, ...parentArgs, '-m', message], barePath)).trim();
    await git(['update-ref', branchRef, sha, ...(parent ? [parent] : [])], barePath);
    return sha;
  } finally {
    await indexDir.remove();
  }
}

function gitMode(mode: number): string {
  if (mode > 0o777) return mode.toString(8);
  return mode & 0o111 ? '100755' : '100644';
}

async function resolveRef(barePath: string, ref: string): Promise<string | undefined> {
  const out = await git(['for-each-ref', '--format=%(objectname)', ref], barePath);
  return out.trim() || undefined;
}

async function git(
  args: string[],
  gitDir?: string,
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<string> {
  const fullArgs = gitDir ? ['--git-dir', gitDir, ...args] : args;
  const { stdout } = await runCommand('git', fullArgs, { env: isolatedGitEnv(options.env), input: options.input });
  return stdout;
}

/**
 * `${root}/${name}.git` with one commit of `files`, every `*.bin` of them stored with Git LFS (the
 * objects beside the bare repository, in its `lfs/`: git-lfs's transfer for file:// remotes), and
 * `submodules` (path → URL) added. Needs git-lfs; git runs with a global config of its own under
 * `root` holding what `git lfs install` writes.
 */
export async function createLfsRepo(root: string, name: string, files: Record<string, string | Buffer>, submodules: Record<string, string> = {}): Promise<BareRepo> {
  const globalConfig = join(root, '.lfs-gitconfig');
  const env = { GIT_CONFIG_GLOBAL: globalConfig };
  const work = join(root, '.lfs-work', name);
  const path = join(root, `${name}.git`);
  await mkdir(work, { recursive: true });
  await writeFile(globalConfig, '', { flag: 'a' });
  const run = (args: string[], cwd = work) => runCommand('git', args, { cwd, env: isolatedGitEnv(env) });
  await run(['lfs', 'install', '--skip-repo']);
  await run(['init', '-q', '-b', 'main']);
  await run(['lfs', 'track', '*.bin']);
  for (const [file, content] of Object.entries(files)) {
    await mkdir(dirname(join(work, file)), { recursive: true });
    await writeFile(join(work, file), content);
  }
  for (const [at, url] of Object.entries(submodules)) await run(['-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', url, at]);
  await run(['add', '-A']);
  await run(['commit', '-q', '-m', 'With LFS files']);
  await mkdir(dirname(path), { recursive: true });
  await run(['init', '-q', '--bare', '-b', 'main', path], root);
  await run(['push', '-q', pathToFileURL(path).href, 'main']);
  const headSha = (await run(['rev-parse', 'HEAD'])).stdout.trim();
  return { path, fileUrl: pathToFileURL(path).href, headSha };
}

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { UsageError } from '../errors.js';

/**
 * Git LFS (opt-in: `LFS=fetch`). A clone checks out LFS pointer files; with LFS on, the clone
 * (and each of its submodules) gets git-lfs's filter in its own configuration, as `git lfs
 * install` would write it in the user's, and `git lfs pull` replaces the pointers with their files.
 * With the filter in the clone's configuration a build's `git status` sees a clean tree.
 */
export const LFS_FILTER: ReadonlyArray<readonly [string, string]> = [
  ['filter.lfs.process', 'git-lfs filter-process'],
  ['filter.lfs.smudge', 'git-lfs smudge -- %f'],
  ['filter.lfs.clean', 'git-lfs clean -- %f'],
  ['filter.lfs.required', 'true'],
];

/**
 * An LFS endpoint on this machine's disk (`file://`, a path): git-lfs reads such a store with its
 * own file transfer, so a repository's `.lfsconfig` (`lfs.url = file:///…`) could make the
 * processor copy another repository's LFS files into its build. Refused, as git refuses
 * submodules on the disk, unless the clone itself comes from the disk.
 */
const LOCAL_ENDPOINT = /^Endpoint[^=]*=(file:|\/|\.\.?\/)(\S*)/gm;

/** The endpoints on this machine's disk in `git lfs env`'s output. */
export function localLfsEndpoints(lfsEnv: string): string[] {
  return [...lfsEnv.matchAll(LOCAL_ENDPOINT)].map((match) => `${match[1]}${match[2]}`);
}

export const isLocalUrl = (url: string) => /^file:/i.test(url) || !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url) && !/^[^/]*@[^/]*:/.test(url);

const PULL_IN_SUBMODULE = [...LFS_FILTER.map(([key, value]) => `git config ${key} '${value}'`), 'git lfs pull'].join(' && ');
const REFUSE_LOCAL_ENDPOINT = `if git lfs env | grep -Eq '^Endpoint[^=]*=(file:|/|[.][.]?/)'; then echo "fatal: refused a Git LFS endpoint on this machine's disk in submodule $displaypath" >&2; exit 1; fi`;

/**
 * The same for every submodule, run by `git submodule foreach --recursive` (a fixed script: nothing
 * of the repository's in it); its LFS endpoint may be on the disk only when the clone's is.
 */
export function lfsInSubmodules(cloneIsLocal: boolean): string {
  return cloneIsLocal ? PULL_IN_SUBMODULE : `${REFUSE_LOCAL_ENDPOINT}; ${PULL_IN_SUBMODULE}`;
}

/**
 * git-lfs prints its progress only to a terminal: forced, a long download keeps saying something,
 * so the silence limit cuts only a stalled one.
 */
export const LFS_PULL_ENV = { GIT_LFS_FORCE_PROGRESS: '1' } as const;

/**
 * For every other git command: a machine with git-lfs installed has its filter in the system
 * configuration (Debian's package runs `git lfs install --system`), which would download every
 * LFS file at checkout whatever LFS says. Pointers stay pointers until `git lfs pull`.
 */
export const SKIP_LFS_ENV = { GIT_LFS_SKIP_SMUDGE: '1' } as const;

/** LFS=fetch needs git-lfs where git finds it: checked before any repository starts. */
export async function assertGitLfsInstalled(env: Readonly<Record<string, string>>): Promise<void> {
  try {
    await promisify(execFile)('git', ['lfs', 'version'], { env: { ...env, GIT_CONFIG_GLOBAL: '/dev/null' }, timeout: 30_000 });
  } catch {
    throw new UsageError('git_lfs_missing', 'LFS=fetch (--lfs fetch) needs git-lfs, and `git lfs version` fails here: install it (Debian: apt-get install git-lfs; the image: docker build --build-arg INSTALL_GIT_LFS=true), or leave LFS files as pointers (LFS=skip)');
  }
}

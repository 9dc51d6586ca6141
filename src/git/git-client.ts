import fs from 'node:fs/promises';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { StepError } from '../errors.js';
import type { Scrubber } from '../logging/scrub.js';
import { classifyGitError, partFailure } from './classify.js';
import { withSpawnErrors } from './spawn-errors.js';
import { GIT_TRANSPORT } from '../config/build-env.js';
import { isLocalUrl, LFS_FILTER, lfsInSubmodules, LFS_PULL_ENV, localLfsEndpoints, SKIP_LFS_ENV } from './lfs.js';
import { sameHostOverHttp } from './submodule-urls.js';
import { BUILD_MARKER, killMarked, newBuildMarker } from '../build/process-tree.js';
import { SILENCE_TIMEOUT_MS, watchSilence, type SilenceWatch } from './silence-watch.js';

/** The seam the pipeline depends on; tests pass a fake (STYLE 22). */
export interface GitClient {
  /** The sha the remote branch (or HEAD when `branch` is empty) points at. */
  headSha(url: string, branch: string, signal: AbortSignal): Promise<string>;
  /** Shallow, single-branch clone into `dir` (which must not exist); returns the checked-out sha. */
  clone(url: string, branch: string, dir: string, signal: AbortSignal): Promise<string>;
}

export interface SimpleGitClientOptions {
  env: Readonly<Record<string, string>>;
  scrub: Scrubber;
  /** Kill git when it prints nothing for this long. */
  silenceTimeoutMs?: number;
  /**
   * A clone, its submodules and LFS files included, ends within this (CLONE_TIMEOUT): a server
   * that trickles, or submodules that pin each other into thousands of clones, keep git talking.
   */
  cloneTimeoutMs?: number;
  /** After the clone, its submodules (recursively, shallow) when it has a `.gitmodules`. */
  submodules?: boolean;
  /**
   * What changes in `env` for the submodules (and their LFS files): the credentials withheld
   * (GitCredentialSetup.anonymousEnv). Undefined: they get the clone's own.
   */
  submoduleEnv?: Readonly<Record<string, string>>;
  /** After the clone and its submodules, the files of their Git LFS pointers (src/git/lfs.ts). */
  lfs?: boolean;
  /** Submodules of a clone, nested ones included, past which it fails (default MAX_SUBMODULES). */
  maxSubmodules?: number;
}

/** GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n of our own entries (credentials, submodules' URL rewrite, tests). */
const GIT_CONFIG_ENTRIES = Array.from({ length: 16 }, (_, index) => [`GIT_CONFIG_KEY_${index}`, `GIT_CONFIG_VALUE_${index}`]).flat();
const GIT_ENV_ALLOWED = ['GIT_CONFIG_GLOBAL', 'GIT_TERMINAL_PROMPT', ...Object.keys(LFS_PULL_ENV), ...Object.keys(SKIP_LFS_ENV), 'GIT_CONFIG_COUNT', ...GIT_CONFIG_ENTRIES, 'GCM_INTERACTIVE', ...GIT_TRANSPORT];

/**
 * Variables simple-git refuses to hand to git (it guards against git running a program of an
 * attacker's choosing) that a non-interactive clone never needs. Users' shells often set them, and
 * `npm run` / `npx` set EDITOR: they are left out of git's environment instead of failing every
 * clone. (GIT_* variables never get here: the build environment drops them.)
 */
const NOT_FOR_GIT = new Set(['editor', 'visual', 'pager', 'prefix', 'ssh_askpass']);

/** ssh for `ssh://` and `user@host:path` clones when GIT_SSH_COMMAND is not set. */
export const SSH_WITHOUT_PROMPTS = 'ssh -o BatchMode=yes';

export class SimpleGitClient implements GitClient {
  private readonly env: Record<string, string>;

  constructor(private readonly options: SimpleGitClientOptions) {
    const kept = Object.entries(options.env).filter(([name]) => !NOT_FOR_GIT.has(name.toLowerCase()));
    // Builds run as this user and may write ~/.gitconfig (core.hooksPath, a filter, an include):
    // our own git reads the system configuration only, so no build runs code in a later clone.
    // ssh must fail rather than ask (a passphrase, an unknown host key) on the user's terminal.
    this.env = { GIT_SSH_COMMAND: SSH_WITHOUT_PROMPTS, ...Object.fromEntries(kept), GIT_CONFIG_GLOBAL: '/dev/null', ...SKIP_LFS_ENV };
  }

  async headSha(url: string, branch: string, signal: AbortSignal): Promise<string> {
    const ref = branch ? `refs/heads/${branch}` : 'HEAD';
    const marker = newBuildMarker();
    let output: string;
    try {
      output = await withSpawnErrors(() => this.git(signal, marker).listRemote([url, ref]));
    } catch (err) {
      killMarked(marker);
      throw classifyGitError(err, this.options.scrub);
    }
    const sha = output.split(/\r?\n/).map((line) => line.split('\t')).find(([, name]) => name === ref)?.[0];
    if (!sha || !/^[0-9a-f]{40,64}$/.test(sha)) {
      throw new StepError('git_branch_not_found', branch ? `Branch "${branch}" not found on the remote` : 'The remote has no HEAD');
    }
    return sha;
  }

  async clone(url: string, branch: string, dir: string, signal: AbortSignal): Promise<string> {
    const timeoutMs = this.options.cloneTimeoutMs;
    if (timeoutMs === undefined) return this.cloneWithin(url, branch, dir, signal);
    const deadline = AbortSignal.timeout(timeoutMs);
    try {
      return await this.cloneWithin(url, branch, dir, AbortSignal.any([signal, deadline]));
    } catch (err) {
      if (!deadline.aborted || signal.aborted) throw err;
      throw new StepError('git_clone_timeout', `The clone took longer than CLONE_TIMEOUT (${Math.round(timeoutMs / 1000)} s), submodules and LFS files included: stopped; raise CLONE_TIMEOUT for a repository this large or a link this slow`);
    }
  }

  private async cloneWithin(url: string, branch: string, dir: string, signal: AbortSignal): Promise<string> {
    // --progress: without a terminal git prints nothing while it receives, so a clone longer than
    // the silence allowed (a big repository, a slow link) would be killed while its data flows.
    // (No --quiet either: simple-git waits 50 ms more after a command that wrote nothing.)
    // An empty template: no hook samples to write and delete (a third of a small clone's files),
    // and no hooks from the machine's template directory in our clones.
    const options = ['--progress', '--template=', '--depth', '1', '--single-branch', '--no-tags'];
    if (branch) options.push('--branch', branch);
    const marker = newBuildMarker();
    let sha: string;
    try {
      sha = await withSpawnErrors(async () => {
        await this.git(signal, marker).clone(url, dir, options);
        return (await readHeadSha(dir)) ?? (await simpleGit({ baseDir: dir, ...this.gitOptions(signal) }).env(this.env).revparse(['HEAD'])).trim();
      });
    } catch (err) {
      killMarked(marker);
      throw classifyGitError(err, this.options.scrub);
    }
    const submodules = this.options.submodules === true && (await isFile(path.join(dir, '.gitmodules')));
    if (submodules) await this.cloneSubmodules(url, dir, signal);
    if (this.options.lfs) await this.pullLfsFiles(url, dir, submodules, signal);
    return sha;
  }

  /**
   * Git LFS files, fetched with the clone's credentials; any failure but the network's is
   * `git_lfs_failed`. Silence stops git-lfs with every process of its command, in the submodules
   * too (`git submodule foreach` runs it there), as it stops the submodules' clones.
   */
  private async pullLfsFiles(url: string, dir: string, submodules: boolean, signal: AbortSignal): Promise<void> {
    const { GIT_LFS_SKIP_SMUDGE: _skip, ...env } = this.env;
    const watch = watchSilence(signal, this.silenceMs);
    const git = (extra: Readonly<Record<string, string>> = {}) => this.watchedGit(dir, { ...env, ...extra, ...LFS_PULL_ENV }, watch);
    let running = 'git lfs pull';
    try {
      await withSpawnErrors(async () => {
        const local = isLocalUrl(url);
        const refused = local ? [] : localLfsEndpoints(await git().raw(['lfs', 'env']));
        if (refused.length > 0) throw new StepError('git_lfs_failed', `refused a Git LFS endpoint on this machine's disk (${refused.join(', ')}), which the repository's .lfsconfig names`);
        for (const [key, value] of LFS_FILTER) await git().addConfig(key, value);
        await git().raw(['lfs', 'pull']);
        if (submodules) {
          running = 'git lfs pull in the submodules';
          // The submodules' own way in: their credentials, their ssh URLs on this host over http(s).
          await git(sameHostOverHttp({ ...env, ...this.options.submoduleEnv }, url)).raw(['submodule', 'foreach', '--quiet', '--recursive', lfsInSubmodules(local)]);
        }
      });
    } catch (err) {
      watch.kill();
      const cause = watch.silent()
        ? new StepError('git_network', `${running} printed nothing for ${Math.round(this.silenceMs / 1000)} s (block timeout): stopped`, { retryable: true })
        : classifyGitError(err, this.options.scrub);
      throw partFailure(cause, 'git_lfs_failed', `Git LFS files could not be fetched: ${cause.message}`);
    } finally {
      watch.stop();
    }
  }

  /**
   * The commits the clone's submodules are pinned to, shallow, and theirs in turn. Their URLs are
   * resolved against the clone's own, ssh ones on its host fetched as it was (sameHostOverHttp),
   * with `submoduleEnv`'s credentials (none by default) or the clone's (git offers a credential
   * only to the host it names). git refuses `file://` and local paths in submodules
   * (protocol.file.allow=user) unless the system's git configuration allows them. A submodule
   * that cannot be cloned fails the clone: network trouble is retried like the clone's own,
   * anything else is `git_submodule_failed`.
   */
  private async cloneSubmodules(url: string, dir: string, signal: AbortSignal): Promise<void> {
    const limit = this.options.maxSubmodules ?? MAX_SUBMODULES;
    const tooMany = new AbortController();
    const counting = setInterval(() => void countSubmodules(dir).then((count) => count > limit && tooMany.abort(), () => undefined), 500);
    // `git submodule update` is a shell script: its stalled clones would outlive a SIGINT to it.
    const watch = watchSilence(AbortSignal.any([signal, tooMany.signal]), this.silenceMs);
    try {
      await withSpawnErrors(() => this.updateSubmodules(url, dir, watch));
    } catch (err) {
      watch.kill();
      if (tooMany.signal.aborted && !signal.aborted) {
        throw new StepError('git_submodule_failed', `A submodule could not be cloned: the repository has more than ${limit} submodules, nested ones included (submodules that pin each other multiply): stopped`);
      }
      if (watch.silent()) {
        throw new StepError('git_network', `A submodule could not be cloned: git printed nothing for ${Math.round(this.silenceMs / 1000)} s (block timeout): stopped`, { retryable: true });
      }
      const cause = classifyGitError(err, this.options.scrub);
      const withheld = this.options.submoduleEnv !== undefined && ['git_auth_failed', 'git_host_key_unknown'].includes(cause.code);
      throw partFailure(cause, 'git_submodule_failed', `A submodule could not be cloned${withheld ? ' without credentials (SUBMODULES=recursive-with-credentials lends it the clone\'s)' : ''}: ${cause.message}`);
    } finally {
      clearInterval(counting);
      watch.stop();
    }
  }

  private async updateSubmodules(url: string, dir: string, watch: SilenceWatch): Promise<void> {
    // No template here either: a machine's template hooks would run as the submodules check out.
    const git = this.watchedGit(dir, sameHostOverHttp({ ...this.env, ...this.options.submoduleEnv }, url), watch, ['init.templateDir=']);
    const update = (shallow: boolean) =>
      git.raw(['submodule', 'update', '--init', '--recursive', ...(shallow ? ['--depth', '1', '--single-branch'] : []), '--jobs', String(SUBMODULE_JOBS), '--progress']);
    try {
      await update(true);
    } catch (err) {
      // A server that gives only the commits its refs point at (protocol v0/v1, no
      // allowReachableSHA1InWant) cannot send a pinned commit alone: the submodules are
      // cloned again whole, where it is among their history.
      if (classifyGitError(err, this.options.scrub).code !== 'git_commit_not_advertised') throw err;
      await git.raw(['submodule', 'deinit', '--all', '--force']);
      await fs.rm(path.join(dir, '.git', 'modules'), { recursive: true, force: true });
      await update(false);
    }
  }

  /**
   * `marker`: carried by git and the transport helpers it starts (git-remote-http), which outlive
   * a git stopped for its silence, each holding a connection, unless killed by it.
   */
  private git(signal: AbortSignal, marker: string): SimpleGit {
    return simpleGit(this.gitOptions(signal)).env({ ...this.env, [BUILD_MARKER]: marker });
  }

  /** git in `dir` under `watch`: its processes carry the watch's marker, and what they print is heard. */
  private watchedGit(dir: string, env: Readonly<Record<string, string>>, watch: SilenceWatch, config: string[] = []): SimpleGit {
    return simpleGit({ baseDir: dir, ...this.gitOptions(watch.signal), config })
      .env({ ...env, [BUILD_MARKER]: watch.marker })
      .outputHandler((_command, stdout, stderr) => {
        watch.heard();
        stdout.on('data', watch.heard);
        stderr.on('data', watch.heard);
      });
  }

  private get silenceMs(): number {
    return this.options.silenceTimeoutMs ?? SILENCE_TIMEOUT_MS;
  }

  private gitOptions(signal: AbortSignal) {
    return {
      abort: signal,
      timeout: { block: this.silenceMs },
      allowEnvironment: GIT_ENV_ALLOWED,
      // GIT_SSH_COMMAND is ours or the operator's, GIT_CONFIG_* ours (GIT_* never comes from a
      // build or a row): credential helpers, the submodules' URL rewrite (submodule-urls.ts), and
      // in tests protocol.file.allow. The only filter configured is git-lfs's own (lfs.ts).
      unsafe: { allowUnsafeCredentialHelper: true, allowUnsafeConfigEnvCount: true, allowUnsafeTemplateDir: true, allowUnsafeConfigPaths: true, allowUnsafeSshCommand: true, allowUnsafeProtocolOverride: true, allowUnsafeFilter: true, allowUnsafeUrlRewrite: true },
    };
  }
}

/** Submodules fetched at once, per clone. */
const SUBMODULE_JOBS = 4;

/** More than any real repository pins; a repository whose submodules pin each other (2^depth clones) passes it in a minute or two. */
export const MAX_SUBMODULES = 500;

/** Submodules cloned so far, nested ones included: their git directories under `.git/modules`, one `config` each. */
async function countSubmodules(dir: string): Promise<number> {
  const entries = await fs.readdir(path.join(dir, '.git', 'modules'), { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile() && entry.name === 'config').length;
}

async function isFile(file: string): Promise<boolean> {
  return (await fs.lstat(file).catch(() => undefined))?.isFile() ?? false;
}

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * The checked-out sha of a fresh clone, read from its files (HEAD, then the loose ref or
 * packed-refs) instead of starting `git rev-parse`; undefined when the layout is anything else
 * (reftable, a symref chain), and the caller asks git.
 */
export async function readHeadSha(dir: string): Promise<string | undefined> {
  const gitDir = path.join(dir, '.git');
  const read = (file: string) => fs.readFile(path.join(gitDir, file), 'utf8').then((text) => text.trim(), () => undefined);
  const head = await read('HEAD');
  if (head === undefined) return undefined;
  if (SHA.test(head)) return head;
  const ref = /^ref: (refs\/heads\/[^\s]+)$/.exec(head)?.[1];
  if (!ref || ref.split('/').includes('..')) return undefined;
  const loose = await read(ref);
  if (loose !== undefined) return SHA.test(loose) ? loose : undefined;
  const packed = (await read('packed-refs'))?.split('\n').find((line) => line.endsWith(` ${ref}`));
  const sha = packed?.split(' ')[0];
  return sha && SHA.test(sha) ? sha : undefined;
}

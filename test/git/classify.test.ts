import { describe, expect, it } from 'vitest';
import { classifyGitError, partFailure } from '../../src/git/classify.js';
import { createScrubber } from '../../src/logging/scrub.js';

const scrub = createScrubber(['tok-secret']);
const classify = (text: string) => {
  const error = classifyGitError(new Error(text), scrub);
  return { code: error.code, retryable: error.retryable };
};

describe('classifyGitError', () => {
  it('treats network failures, 5xx and 429 as retryable', () => {
    expect(classify("fatal: unable to access 'https://h/a.git/': Could not resolve host: h")).toEqual({ code: 'git_network', retryable: true });
    expect(classify("fatal: unable to access 'https://h/a.git/': The requested URL returned error: 503")).toEqual({ code: 'git_network', retryable: true });
    expect(classify('error: RPC failed; curl 18 transfer closed with outstanding read data remaining')).toEqual({ code: 'git_network', retryable: true });
    expect(classify("fatal: unable to access 'https://h/a.git/': The requested URL returned error: 429")).toEqual({ code: 'git_network', retryable: true });
    expect(classify("fatal: unable to access 'https://h/': Failed to connect to h port 443: Connection refused")).toEqual({ code: 'git_network', retryable: true });
  });

  it('treats git-lfs giving up on a download that stopped coming as a network failure', () => {
    const stderr = "cannot write data to temporary file \"/w/row-1/src/.git/lfs/incomplete/b910765\": LFS: read tcp 127.0.0.1:56108->127.0.0.1:38123: i/o timeout\nFailed to fetch some objects from 'http://127.0.0.1:38123/acme/lib.git/info/lfs'";

    expect(classify(stderr)).toEqual({ code: 'git_network', retryable: true });
  });

  it('treats authentication and missing repositories or branches as permanent', () => {
    expect(classify("fatal: Authentication failed for 'https://h/a.git/'")).toEqual({ code: 'git_auth_failed', retryable: false });
    expect(classify("fatal: could not read Username for 'https://h': terminal prompts disabled")).toEqual({ code: 'git_auth_failed', retryable: false });
    expect(classify("fatal: unable to access 'https://h/a.git/': The requested URL returned error: 403")).toEqual({ code: 'git_auth_failed', retryable: false });
    expect(classify("remote: Repository not found.\nfatal: repository 'https://h/a.git/' not found")).toEqual({ code: 'git_repository_not_found', retryable: false });
    expect(classify("fatal: repository 'http://127.0.0.1:4/acme/absent.git/' not found")).toEqual({ code: 'git_repository_not_found', retryable: false });
    expect(classify("fatal: '/tmp/none.git' does not appear to be a git repository")).toEqual({ code: 'git_repository_not_found', retryable: false });
    expect(classify('warning: Could not find remote branch dev to clone.\nfatal: Remote branch dev not found in upstream origin')).toEqual({ code: 'git_branch_not_found', retryable: false });
  });

  it('tells ssh that cannot run and an unknown host key from a missing repository', () => {
    const noAccess = '\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.';
    expect(classify(`ssh -o BatchMode=yes: 1: ssh: not found${noAccess}`)).toEqual({ code: 'git_ssh_unavailable', retryable: false });
    expect(classify(`error: cannot run ssh: No such file or directory\nfatal: unable to fork`)).toEqual({ code: 'git_ssh_unavailable', retryable: false });
    expect(classify(`Host key verification failed.${noAccess}`)).toEqual({ code: 'git_host_key_unknown', retryable: false });
    expect(classify(`git@h: Permission denied (publickey).${noAccess}`)).toEqual({ code: 'git_auth_failed', retryable: false });
    expect(classify(`ssh: connect to host h port 22: Connection refused${noAccess}`)).toEqual({ code: 'git_network', retryable: true });
  });

  it('tells a pinned commit the server would not send alone (protocol v0) from a missing repository', () => {
    expect(classify('error: Server does not allow request for unadvertised object 6f757c1\nfatal: Fetched in submodule path \'lib\', but it did not contain 6f757c1. Direct fetching of that commit failed.')).toEqual({ code: 'git_commit_not_advertised', retryable: false });
  });

  it('tells a pinned commit that is gone (protocol v2: not our ref) from one the server would not send alone', () => {
    expect(classify("fatal: remote error: upload-pack: not our ref 1234567890123456789012345678901234567890\nfatal: Fetched in submodule path 'lib', but it did not contain 1234567890123456789012345678901234567890. Direct fetching of that commit failed.")).toEqual({ code: 'git_failed', retryable: false });
  });

  it('leaves git\'s narration of a submodule clone out of its message, and says a repeated line once: the reason comes first', () => {
    const attempt = (ending: string) =>
      `Cloning into '/w/row-1/src/vendor/lib'...\nremote: Enumerating objects: 3, done.        \nremote: Total 3 (delta 0), reused 0 (delta 0), pack-reused 0        \nfatal: could not read Username for 'http://h:1': terminal prompts disabled\nfatal: clone of 'http://h:1/lib.git' into submodule path '/w/row-1/src/vendor/lib' failed\n${ending}\n`;
    const stderr = `Submodule 'vendor/lib' (http://h:1/lib.git) registered for path 'vendor/lib'\n${attempt("Failed to clone 'vendor/lib'. Retry scheduled")}${attempt("Failed to clone 'vendor/lib' a second time, aborting")}`;

    const error = classifyGitError(new Error(stderr), scrub);

    expect(error.message).toBe(
      "fatal: could not read Username for 'http://h:1': terminal prompts disabled\nfatal: clone of 'http://h:1/lib.git' into submodule path '/w/row-1/src/vendor/lib' failed\nFailed to clone 'vendor/lib' a second time, aborting",
    );
  });

  it('leaves the progress counters of a clone out of its message', () => {
    const progress = Array.from({ length: 40 }, (_, i) => `Receiving objects:  ${i}% (${i * 10}/400), ${i * 3} KiB | 100.00 KiB/s`).join('\r');
    const stderr = `Cloning into 'src'...\nremote: Enumerating objects: 3, done.\nremote: Counting objects:  33% (1/3)\rremote: Counting objects: 100% (3/3), done.\n${progress}\rerror: RPC failed; curl 18 transfer closed with outstanding read data remaining\nfatal: early EOF\nfatal: fetch-pack: invalid index-pack output\n`;

    const error = classifyGitError(new Error(stderr), scrub);

    expect(error.code).toBe('git_network');
    expect(error.message).toBe(
      "error: RPC failed; curl 18 transfer closed with outstanding read data remaining\nfatal: early EOF\nfatal: fetch-pack: invalid index-pack output",
    );
  });

  it('tells a clone that filled the work directory from a failing repository, saying so first', () => {
    const local = "warning: --depth is ignored in local clones; use file:// instead.\nerror: copy-fd: write returned: No space left on device\nfatal: failed to copy file to '/work/row-2/src/.git/objects/bd/ae57': No space left on device";
    const remote = 'fatal: write error: No space left on device\nfatal: fetch-pack: invalid index-pack output';

    expect([classify(local), classify(remote), classify('error: unable to write file x: Disk quota exceeded')]).toEqual([
      { code: 'workdir_full', retryable: false },
      { code: 'workdir_full', retryable: false },
      { code: 'workdir_full', retryable: false },
    ]);
    expect(classifyGitError(new Error(remote), scrub).message).toBe(`The work directory is full: free space there or give MASS_INGEST_WORKDIR (--workdir) more room\n${remote}`);
    // The server's disk is not ours to free.
    expect(classify('remote: fatal: write error: No space left on device\nfatal: early EOF')).toEqual({ code: 'git_network', retryable: true });
  });

  it('tells git that could not start, or ran out of file descriptors itself, from a failing repository', () => {
    const notStarted = Object.assign(new Error('spawn git EMFILE'), { code: 'EMFILE', syscall: 'spawn git' });
    const stderr = "fatal: could not open '/work/row-3/src/.git/objects/pack/tmp_pack_x' for reading: Too many open files";

    const errors = [classifyGitError(notStarted, scrub), classifyGitError(new Error(stderr), scrub)];

    expect(errors.map((error) => [error.code, error.retryable, error.message])).toEqual([
      ['fd_exhausted', false, "git could not start: the processor ran out of file descriptors (spawn git EMFILE): raise the limit on open files (ulimit -n; nofile in a container's ulimits) or lower --concurrency and --clone-ahead"],
      ['fd_exhausted', false, `git ran out of file descriptors: raise the limit on open files (ulimit -n; nofile in a container's ulimits) or lower --concurrency and --clone-ahead\n${stderr}`],
    ]);
  });

  it('falls back to a permanent generic code', () => {
    expect(classify('fatal: something unexpected')).toEqual({ code: 'git_failed', retryable: false });
  });

  it('scrubs credentials from the message', () => {
    const error = classifyGitError(new Error("fatal: unable to access 'https://u:tok-secret@h/a.git/': returned error: 500"), scrub);

    expect(error.message).not.toContain('tok-secret');
    expect(error.message).toContain('https://***@h/a.git/');
  });
});

describe('partFailure', () => {
  it('keeps network trouble retried, and a full work directory or no file descriptor left as such; anything else is the part\'s code', () => {
    const scrub = (text: string) => text;
    const cause = (message: string) => classifyGitError(new Error(message), scrub);

    const network = partFailure(cause('fatal: unable to access: Could not resolve host: lfs.test'), 'git_lfs_failed', 'Git LFS files could not be fetched');
    const full = partFailure(cause('error: unable to write file model.bin: No space left on device'), 'git_lfs_failed', 'Git LFS files could not be fetched');
    const other = partFailure(cause('fatal: transport \'ext\' not allowed'), 'git_submodule_failed', 'A submodule could not be cloned');
    const descriptors = partFailure(cause('fatal: unable to create temporary file: Too many open files'), 'git_submodule_failed', 'A submodule could not be cloned');

    expect([network.code, network.retryable]).toEqual(['git_network', true]);
    expect([full.code, full.retryable]).toEqual(['workdir_full', false]);
    expect([descriptors.code, descriptors.retryable]).toEqual(['fd_exhausted', false]);
    expect([other.code, other.retryable]).toEqual(['git_submodule_failed', false]);
  });
});

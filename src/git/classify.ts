import { FD_EXHAUSTED, FD_EXHAUSTED_REMEDY, StepError, isOutOfDescriptors, outOfDescriptors } from '../errors.js';
import type { Scrubber } from '../logging/scrub.js';

/** The code of a clone that filled the work directory, and what its message starts with. */
const WORKDIR_FULL = 'workdir_full';
/** What to do about a full work directory, however it was found (here, or src/pipeline/process-repository.ts). */
export const WORKDIR_FULL_REMEDY = 'free space there or give MASS_INGEST_WORKDIR (--workdir) more room';
/**
 * The machine's trouble, not the repository's nor the part's (src/pipeline/process-repository.ts
 * counts them): their codes are kept through partFailure, and git's lines, which name the file it
 * could not write rather than what to do, are led by what to do.
 */
const MACHINE_TROUBLE: Readonly<Record<string, string>> = {
  [WORKDIR_FULL]: `The work directory is full: ${WORKDIR_FULL_REMEDY}`,
  [FD_EXHAUSTED]: `git ran out of file descriptors: ${FD_EXHAUSTED_REMEDY}`,
};

/**
 * The one place that reads git's stderr (STYLE 11): everything after works with codes.
 * Network trouble, 5xx/429 and timeouts are retryable; the rest is permanent.
 */
const RULES: ReadonlyArray<{ pattern: RegExp; code: string; retryable: boolean }> = [
  // Our disk, not the repository: git's own lines, not the server's (`remote: …`), which come with a network error.
  { pattern: /^(?!remote:).*(No space left on device|Disk quota exceeded)/im, code: WORKDIR_FULL, retryable: false },
  // git (or a helper it starts) out of file descriptors: the limit it inherits from the processor.
  { pattern: /^(?!remote:).*Too many open files/im, code: FD_EXHAUSTED, retryable: false },
  // ssh itself cannot run (no ssh client, a GIT_SSH_COMMAND naming a missing program).
  { pattern: /ssh[^\n]*: not found|cannot run ssh/i, code: 'git_ssh_unavailable', retryable: false },
  { pattern: /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i, code: 'git_host_key_unknown', retryable: false },
  { pattern: /returned error: 40[13]|Authentication failed|could not read (Username|Password)|terminal prompts disabled|Permission denied \(publickey/i, code: 'git_auth_failed', retryable: false },
  { pattern: /returned error: 404|Repository not found|repository '[^']*' not found|does not appear to be a git repository|not found: did you run git update-server-info|No such file or directory|does not exist/i, code: 'git_repository_not_found', retryable: false },
  { pattern: /Remote branch .* not found|couldn't find remote ref|branch_not_found/i, code: 'git_branch_not_found', retryable: false },
  // A shallow fetch of a commit no ref points at, from a server that only gives what it advertises (protocol v0/v1).
  // (A server that sends any commit, protocol v2, says `not our ref` of one it lacks: no such commit.)
  { pattern: /unadvertised object/i, code: 'git_commit_not_advertised', retryable: false },
  // `i/o timeout`: git-lfs (Go) giving up on a server that stopped sending (lfs.activitytimeout, every retry).
  { pattern: /returned error: (5\d\d|429)|Could not resolve host|Connection refused|Connection reset|Connection timed out|Operation timed out|timed out|early EOF|unexpected disconnect|RPC failed|the remote end hung up|Failed to connect|Couldn't connect to server|Temporary failure|SSL_ERROR_SYSCALL|GnuTLS recv error|transfer closed|block timeout|i\/o timeout/i, code: 'git_network', retryable: true },
];

/**
 * A failure of a part of a clone (its submodules, its LFS files), saying which in `message`:
 * network trouble keeps its code and is retried like the clone's own, a full work directory keeps
 * its code (the disk, not the part), and so does a processor out of file descriptors; anything
 * else is `code`.
 */
export function partFailure(cause: StepError, code: string, message: string): StepError {
  if (cause.retryable) return new StepError(cause.code, message, { retryable: true });
  return new StepError(Object.hasOwn(MACHINE_TROUBLE, cause.code) ? cause.code : code, message);
}

export function classifyGitError(err: unknown, scrub: Scrubber): StepError {
  if (err instanceof StepError) return err;
  // git that could not start (src/git/spawn-errors.ts).
  if (isOutOfDescriptors(err)) return outOfDescriptors('git could not start', err);
  const raw = err instanceof Error ? err.message : String(err);
  const message = scrub(lastLines(raw, 6));
  const rule = RULES.find((candidate) => candidate.pattern.test(raw));
  // The final log line quotes the first line: what to do.
  const advice = rule ? MACHINE_TROUBLE[rule.code] : undefined;
  const said = advice ? `${advice}\n${message}` : message;
  return new StepError(rule?.code ?? 'git_failed', said, { retryable: rule?.retryable ?? false });
}

/**
 * Clones run with --progress: its counters ("Receiving objects:  45% (450/1000), 1.20 MiB | …"),
 * rewritten in place with carriage returns, say nothing about why git stopped.
 */
const PROGRESS = /^(remote: )?[A-Za-z][A-Za-z ]*: +\d+% \(\d+\/\d+\)/;

/**
 * git's narration of a clone, and of `submodule update` (which tries a failed submodule clone
 * twice, saying the same thing each time), crowds the reason out of the lines kept.
 */
const NARRATION = /^(Cloning into '[^']*'\.\.\.$|Submodule '[^']*' \([^)]*\) registered for path '[^']*'$|Failed to clone '[^']*'\. Retry scheduled$|remote: (Enumerating|Counting|Compressing) objects: |remote: Total \d+ )/;

/** The last `count` lines that say something, each once (a repeated line where it last appears). */
function lastLines(text: string, count: number): string {
  const lines = text.split(/\r\n|\r|\n/);
  const kept: string[] = [];
  for (let index = lines.length - 1; index >= 0 && kept.length < count; index--) {
    const line = (lines[index] ?? '').trimEnd();
    if (line.trim() === '' || PROGRESS.test(line) || NARRATION.test(line) || kept.includes(line)) continue;
    kept.unshift(line);
  }
  return kept.join('\n');
}

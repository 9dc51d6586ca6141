/**
 * GIT_SSH_KEY: a private key for `ssh://` and `git@host:path` clones, given as a value (Batch hands
 * secrets over as environment variables, not files); GIT_SSH_KNOWN_HOSTS: the servers' host keys,
 * known_hosts lines. src/git/credentials.ts writes both to private files for our git's ssh.
 */
export interface GitSshKey {
  readonly key: string | undefined;
  readonly knownHosts: string | undefined;
}

const KEY_BLOCK = /^-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----\n[\s\S]+\n-----END \1PRIVATE KEY-----$/;

/**
 * The key as ssh reads it: real line ends (a value pasted into a secret with `\n` escapes is
 * common), no carriage returns, and the final line end ssh needs.
 */
export function normalizeSshKey(value: string): string {
  const text = value.includes('\n') ? value : value.replaceAll('\\n', '\n');
  return `${text.replaceAll('\r', '').trim()}\n`;
}

/** What is wrong with GIT_SSH_KEY and its companions, never quoting the key. */
export function sshKeyProblems(key: string | undefined, knownHosts: string | undefined, sshCommand: string | undefined): string[] {
  const problems: string[] = [];
  if (key !== undefined && !KEY_BLOCK.test(normalizeSshKey(key).trim())) {
    problems.push('GIT_SSH_KEY is not a private key in OpenSSH or PEM form, as ssh-keygen writes it: a BEGIN … PRIVATE KEY line, the key, an END line (the value is not shown: it is a secret)');
  }
  const given = [key === undefined ? undefined : 'GIT_SSH_KEY', knownHosts === undefined ? undefined : 'GIT_SSH_KNOWN_HOSTS'].filter(Boolean);
  if (given.length > 0 && sshCommand !== undefined) problems.push(`${given.length === 1 ? `${given[0]} and GIT_SSH_COMMAND are both set` : `${given.join(', ')} and GIT_SSH_COMMAND are all set`}: give ssh its key and host keys with one or the other`);
  return problems;
}

/** The key and each of its lines long enough to be recognised: kept out of every log and row. */
export function secretsOfSshKey(key: string | undefined): string[] {
  if (!key) return [];
  const lines = normalizeSshKey(key)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length >= 16 && !line.startsWith('-----'));
  return [key, ...lines];
}

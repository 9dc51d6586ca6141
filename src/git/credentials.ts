import fs from 'node:fs/promises';
import path from 'node:path';
import type { GitSshKey } from '../config/ssh-key.js';
import { makeOwnedTempDir } from '../build/owned-temp-dir.js';
import { publicForgesOverHttps } from './submodule-urls.js';

export interface GitCredentialSetup {
  /** Variables that make git ask our helper; no secret is among them. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * The same, lending git none of the credentials: no helper, ssh with no key and no agent (the
   * known hosts still checked). What a repository names itself, its submodules, is fetched so
   * unless the operator says otherwise (SUBMODULES=recursive-with-credentials).
   */
  readonly anonymousEnv: Readonly<Record<string, string>>;
  dispose(): Promise<void>;
}

/**
 * GIT_CREDENTIALS lines (git-credential-store form) are written to a 0600 file in a private
 * directory outside every workspace, and git is pointed at it through GIT_CONFIG_* variables:
 * the secrets never appear in a URL, argv, .git/config or a build's environment. The helper
 * answers only `get`, so a failed login cannot make git erase or rewrite the file. GIT_SSH_KEY
 * and GIT_SSH_KNOWN_HOSTS go to the same directory, and git's ssh is pointed at them.
 */
export async function prepareGitCredentials(lines: string | undefined, ssh?: GitSshKey): Promise<GitCredentialSetup> {
  const base = { GIT_TERMINAL_PROMPT: '0', GCM_INTERACTIVE: 'never' };
  const noHelper = { ...base, GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'credential.helper', GIT_CONFIG_VALUE_0: '' };
  const hasLines = lines !== undefined && lines.trim() !== '';
  const anonymous = (knownHosts: readonly string[] = []) => publicForgesOverHttps({ ...noHelper, GIT_SSH_COMMAND: ['ssh', ...ANONYMOUS_SSH, ...knownHosts].join(' ') });
  if (!hasLines && !ssh) return { env: noHelper, anonymousEnv: anonymous(), dispose: async () => undefined };
  // Named by its owner: a later processor removes it if this one is killed (run-workdir.ts).
  const dir = await makeOwnedTempDir('cred');
  const dispose = () => fs.rm(dir, { recursive: true, force: true });
  try {
    const written = ssh ? await writeSshFiles(dir, ssh) : undefined;
    const sshEnv: Record<string, string> = written ? { GIT_SSH_COMMAND: written.command } : {};
    const anonymousEnv = anonymous(written?.knownHosts);
    if (!hasLines) return { env: { ...noHelper, ...sshEnv }, anonymousEnv, dispose };
    const file = path.join(dir, 'credentials');
    const normalized = lines
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter(Boolean)
      .join('\n');
    await fs.writeFile(file, `${normalized}\n`, { mode: 0o600 });
    const helper = `!f() { test "$1" = get && exec git credential-store --file=${shellQuote(file)} get; }; f`;
    return {
      env: {
        ...base,
        ...sshEnv,
        // The empty first value resets helpers from system/global config, then ours is the only one.
        GIT_CONFIG_COUNT: '2',
        GIT_CONFIG_KEY_0: 'credential.helper',
        GIT_CONFIG_VALUE_0: '',
        GIT_CONFIG_KEY_1: 'credential.helper',
        GIT_CONFIG_VALUE_1: helper,
      },
      anonymousEnv,
      dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/**
 * The key (0600: ssh refuses a readable one) and the host keys, either or both; ssh uses this key
 * only, and, with host keys given, trusts those hosts only.
 */
async function writeSshFiles(dir: string, ssh: GitSshKey): Promise<{ command: string; knownHosts: string[] }> {
  const options = ['-o', 'BatchMode=yes'];
  const knownHosts: string[] = [];
  if (ssh.key !== undefined) {
    const keyFile = path.join(dir, 'ssh-key');
    await fs.writeFile(keyFile, ssh.key, { mode: 0o600 });
    options.unshift('-o', sshFileOption('IdentityFile', keyFile), '-o', 'IdentitiesOnly=yes');
  }
  if (ssh.knownHosts !== undefined) {
    const hostsFile = path.join(dir, 'known_hosts');
    await fs.writeFile(hostsFile, `${ssh.knownHosts.replaceAll('\r', '').trim()}\n`, { mode: 0o600 });
    // Not the machine's /etc/ssh/ssh_known_hosts either: those hosts only.
    knownHosts.push('-o', sshFileOption('UserKnownHostsFile', hostsFile), '-o', 'StrictHostKeyChecking=yes', '-o', 'GlobalKnownHostsFile=/dev/null');
  }
  return { command: `ssh ${[...options, ...knownHosts].join(' ')}`, knownHosts };
}

/** ssh that offers no key: neither a file nor the agent's (SSH_AUTH_SOCK). */
const ANONYMOUS_SSH = ['-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'IdentityFile=none', '-o', 'IdentityAgent=none'];

/**
 * `-o Name="path"` for the shell: ssh splits an option's value at spaces (UserKnownHostsFile
 * takes a list) unless it is double-quoted, and expands `%` tokens in both (`-i` cannot escape
 * them): a temporary directory such as `/tmp/build 100%` must still name one file.
 */
function sshFileOption(name: string, file: string): string {
  return shellQuote(`${name}="${file.replace(/[\\"]/g, '\\$&').replaceAll('%', '%%')}"`);
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * A clone URL with `user:token@` in it: the userinfo moves into the credential store. Other
 * schemes keep their user name (`ssh://git@host/…`) but lose a password, which ssh never takes
 * from a URL: it would only reach git's argv and `.git/config`.
 */
export function splitUserinfo(cloneUrl: string): { url: string; credentialLine: string | undefined } {
  let parsed: URL;
  try {
    parsed = new URL(cloneUrl);
  } catch {
    return { url: cloneUrl, credentialLine: undefined };
  }
  if (!/^https?:$/i.test(parsed.protocol)) {
    if (!parsed.password) return { url: cloneUrl, credentialLine: undefined };
    parsed.password = '';
    return { url: parsed.toString(), credentialLine: undefined };
  }
  if (!parsed.username && !parsed.password) return { url: cloneUrl, credentialLine: undefined };
  const line = `${parsed.protocol}//${parsed.username}:${parsed.password}@${parsed.host}`;
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), credentialLine: line };
}

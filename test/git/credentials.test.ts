import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareGitCredentials, splitUserinfo } from '../../src/git/credentials.js';
import { createTempDir } from '../harness/tmp.js';

describe('splitUserinfo', () => {
  it('moves the userinfo of an http(s) cloneUrl into a credential line', () => {
    expect(splitUserinfo('https://bob:tok%40en@git.test/a/b.git')).toEqual({ url: 'https://git.test/a/b.git', credentialLine: 'https://bob:tok%40en@git.test' });
  });

  it('keeps the user name of an ssh cloneUrl and drops its password, which would only reach argv and .git/config', () => {
    expect(splitUserinfo('ssh://deploy:s3cret@git.test:2222/a/b.git')).toEqual({ url: 'ssh://deploy@git.test:2222/a/b.git', credentialLine: undefined });
  });

  it('leaves URLs without a password, scp-like addresses and paths as they are', () => {
    for (const url of ['ssh://git@git.test/a/b.git', 'git://git.test/a/b.git', 'git@git.test:a/b.git', '/srv/git/a.git', 'file:///srv/git/a.git']) {
      expect(splitUserinfo(url)).toEqual({ url, credentialLine: undefined });
    }
  });
});

/** What ssh, run as GIT_SSH_COMMAND says, prints about its key and host keys on meeting a server that sends its banner only. */
async function sshDebugOutput(sshCommand: string): Promise<string> {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end('SSH-2.0-OpenSSH_9.2\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  try {
    return await new Promise((resolve) => {
      execFile('sh', ['-c', `${sshCommand} "$@"`, 'ssh', '-vvv', '-p', String(port), '127.0.0.1', 'true'], { timeout: 10_000 }, (_err, _stdout, stderr) => resolve(stderr));
    });
  } finally {
    server.close();
  }
}

describe('prepareGitCredentials with GIT_SSH_KEY and GIT_SSH_KNOWN_HOSTS', () => {
  it('gives ssh the key and host key files whole when the temporary directory has a space and a percent sign in its name, and no other host keys', async () => {
    const tmp = await createTempDir('mass-ingest-cred-test-');
    const tmpdir = path.join(tmp.path, 'build 100%d');
    await fs.mkdir(tmpdir);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(tmp.path, 'key')]);
    const key = await fs.readFile(path.join(tmp.path, 'key'), 'utf8');
    const publicKey = (await fs.readFile(path.join(tmp.path, 'key.pub'), 'utf8')).split(' ').slice(0, 2).join(' ');
    const savedTmpdir = process.env.TMPDIR;
    process.env.TMPDIR = tmpdir;
    const setup = await prepareGitCredentials(undefined, { key, knownHosts: `127.0.0.1 ${publicKey}\n[127.0.0.1]:* ${publicKey}` }).finally(() => {
      if (savedTmpdir === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmpdir;
    });

    const output = await sshDebugOutput(setup.env.GIT_SSH_COMMAND!);
    const anonymous = await sshDebugOutput(setup.anonymousEnv.GIT_SSH_COMMAND!);

    await setup.dispose();
    await tmp.remove();
    const escaped = tmpdir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(output).toMatch(new RegExp(`identity file ${escaped}/mass-ingest-cred-[\\w-]+/ssh-key type (?!-1)`));
    expect(output).not.toMatch(/load_hostkeys: fopen/);
    expect(output).toContain('order_hostkeyalgs: have matching best-preference key type');
    // What submodules get by default: the same host keys, no key file, no agent.
    expect(anonymous).not.toMatch(/identity file .*ssh-key/);
    expect(anonymous).toContain('order_hostkeyalgs: have matching best-preference key type');
    expect(setup.anonymousEnv).toMatchObject({ GIT_CONFIG_KEY_0: 'credential.helper', GIT_CONFIG_VALUE_0: '' });
    expect(Object.values(setup.anonymousEnv).join('\n')).not.toContain('credential-store');
    expect(setup.anonymousEnv.GIT_SSH_COMMAND).toContain('IdentityAgent=none');
  }, 30_000);
});

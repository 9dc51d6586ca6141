import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareGitCredentials, removeStaleCredentialDirs, splitUserinfo } from '../../src/git/credentials.js';
import { PID_NAMESPACE } from '../../src/build/process-tree.js';
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
    expect(setup.anonymousEnv).toMatchObject({ GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'credential.helper', GIT_CONFIG_VALUE_0: '' });
    expect(setup.anonymousEnv.GIT_SSH_COMMAND).toContain('IdentityAgent=none');
  }, 30_000);
});

describe('removeStaleCredentialDirs', () => {
  it("removes the directories of this namespace's dead processors only", async () => {
    const tmp = await createTempDir('mass-ingest-cred-sweep-');
    const dead = Number(execFileSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).trim());
    const names = {
      dead: `mass-ingest-cred-${PID_NAMESPACE}-${dead}-AbC123`,
      live: `mass-ingest-cred-${PID_NAMESPACE}-${process.pid}-AbC123`,
      otherNamespace: `mass-ingest-cred-${Number(PID_NAMESPACE) + 1}-${dead}-AbC123`,
      older: 'mass-ingest-cred-AbC123',
      unrelated: `other-${PID_NAMESPACE}-${dead}-AbC123`,
    };
    for (const name of Object.values(names)) await fs.mkdir(path.join(tmp.path, name, 'inner'), { recursive: true });
    await fs.writeFile(path.join(tmp.path, names.dead, 'credentials'), 'https://u:p@h\n');

    try {
      const removed = await removeStaleCredentialDirs(tmp.path);

      expect(removed).toBe(1);
      expect((await fs.readdir(tmp.path)).sort()).toEqual([names.live, names.older, names.otherNamespace, names.unrelated].sort());
    } finally {
      await tmp.remove();
    }
  });

  it.skipIf(process.getuid?.() !== 0)('leaves alone a directory of that name made by another user, whose contents it could swap while they are removed', async () => {
    const tmp = await createTempDir('mass-ingest-cred-sweep-');
    const dead = Number(execFileSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).trim());
    const planted = path.join(tmp.path, `mass-ingest-cred-${PID_NAMESPACE}-${dead}-AbC123`);
    await fs.mkdir(path.join(planted, 'inner'), { recursive: true });
    await fs.chown(planted, 65534, 65534);
    await fs.chown(path.join(planted, 'inner'), 65534, 65534);

    try {
      const removed = await removeStaleCredentialDirs(tmp.path);

      expect(removed).toBe(0);
      expect(await fs.readdir(planted)).toEqual(['inner']);
    } finally {
      await tmp.remove();
    }
  });
});

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { prepareGitCredentials } from '../../src/git/credentials.js';
import { PUBLIC_FORGES, sameHostOverHttp } from '../../src/git/submodule-urls.js';

const execFileAsync = promisify(execFile);

/** The URL git would fetch for `url` in `env` (`git ls-remote --get-url`: url.*.insteadOf applied, nothing asked of the network). */
async function fetchedUrl(env: Readonly<Record<string, string>>, url: string): Promise<string> {
  const { stdout } = await execFileAsync('git', ['ls-remote', '--get-url', url], { env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', GIT_CONFIG_NOSYSTEM: '1', ...env } });
  return stdout.trim();
}

describe('sameHostOverHttp', () => {
  it('has ssh URLs of the clone\'s host fetched over its http(s), after the configuration entries already there', () => {
    const env = { PATH: '/usr/bin', GIT_CONFIG_COUNT: '2', GIT_CONFIG_KEY_0: 'credential.helper', GIT_CONFIG_VALUE_0: '', GIT_CONFIG_KEY_1: 'credential.helper', GIT_CONFIG_VALUE_1: '!helper' };

    const rewritten = sameHostOverHttp(env, 'https://github.com/acme/app.git');

    expect(rewritten).toEqual({
      ...env,
      GIT_CONFIG_COUNT: '4',
      GIT_CONFIG_KEY_2: 'url.https://github.com/.insteadOf',
      GIT_CONFIG_VALUE_2: 'git@github.com:',
      GIT_CONFIG_KEY_3: 'url.https://github.com/.insteadOf',
      GIT_CONFIG_VALUE_3: 'ssh://git@github.com/',
    });
  });

  it('keeps the port of the clone\'s URL and starts counting at 0 without entries', () => {
    expect(sameHostOverHttp({}, 'http://127.0.0.1:8080/acme/app.git')).toMatchObject({ GIT_CONFIG_COUNT: '2', GIT_CONFIG_KEY_0: 'url.http://127.0.0.1:8080/.insteadOf', GIT_CONFIG_VALUE_0: 'git@127.0.0.1:' });
  });

  it('leaves a clone over ssh or from the disk as it is', () => {
    for (const url of ['ssh://git@github.com/acme/app.git', 'git@github.com:acme/app.git', 'file:///srv/app.git', '/srv/app.git']) {
      expect(sameHostOverHttp({ GIT_CONFIG_COUNT: '1' }, url)).toEqual({ GIT_CONFIG_COUNT: '1' });
    }
  });
});

describe('submodules fetched without the credentials (the default)', () => {
  it('fetch ssh URLs of the public forges over https, ssh URLs of other hosts as they are', async () => {
    const { env, anonymousEnv, dispose } = await prepareGitCredentials('https://bob:s3cret@github.com');
    try {
      for (const host of PUBLIC_FORGES) {
        expect(await fetchedUrl(anonymousEnv, `git@${host}:acme/lib.git`)).toBe(`https://${host}/acme/lib.git`);
        expect(await fetchedUrl(anonymousEnv, `ssh://git@${host}/acme/lib.git`)).toBe(`https://${host}/acme/lib.git`);
      }
      expect(await fetchedUrl(anonymousEnv, 'git@git.example.org:acme/lib.git')).toBe('git@git.example.org:acme/lib.git');
      // With the clone's host added for its own submodules: both rewrites hold.
      const both = sameHostOverHttp(anonymousEnv, 'http://127.0.0.1:8080/acme/app.git');
      expect(await fetchedUrl(both, 'git@127.0.0.1:acme/lib.git')).toBe('http://127.0.0.1:8080/acme/lib.git');
      expect(await fetchedUrl(both, 'git@gitlab.com:acme/lib.git')).toBe('https://gitlab.com/acme/lib.git');
      // Credentials lent (SUBMODULES=recursive-with-credentials): an operator's ssh key may be what opens them.
      expect(await fetchedUrl(env, 'git@gitlab.com:acme/lib.git')).toBe('git@gitlab.com:acme/lib.git');
    } finally {
      await dispose();
    }
  });
});

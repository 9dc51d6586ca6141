import { describe, expect, it } from 'vitest';
import { splitUserinfo } from '../../src/git/credentials.js';

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

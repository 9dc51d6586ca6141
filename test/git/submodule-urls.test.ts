import { describe, expect, it } from 'vitest';
import { sameHostOverHttp } from '../../src/git/submodule-urls.js';

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

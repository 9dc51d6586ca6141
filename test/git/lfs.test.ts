import { describe, expect, it } from 'vitest';
import { isLocalUrl, localLfsEndpoints } from '../../src/git/lfs.js';

describe('localLfsEndpoints', () => {
  it('finds the endpoints on this machine\'s disk in git lfs env, for any remote, and only those', () => {
    const env = [
      'git-lfs/3.3.0 (GitHub; linux amd64; go 1.19.8)',
      '',
      'Endpoint=file:///srv/private.git (auth=none)',
      'Endpoint (mirror)=/srv/other.git (auth=none)',
      'Endpoint (up)=../sibling.git (auth=none)',
      'Endpoint (gh)=https://github.com/acme/app.git/info/lfs (auth=none)',
      'LocalWorkingDir=/work/src',
    ].join('\n');

    expect(localLfsEndpoints(env)).toEqual(['file:///srv/private.git', '/srv/other.git', '../sibling.git']);
  });
});

describe('isLocalUrl', () => {
  it('tells a clone from the disk from one over the network', () => {
    expect(['file:///srv/a.git', '/srv/a.git', 'repos/a.git'].map(isLocalUrl)).toEqual([true, true, true]);
    expect(['https://h/a.git', 'ssh://git@h/a.git', 'git@h:acme/a.git'].map(isLocalUrl)).toEqual([false, false, false]);
  });
});

import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeDirectories, handOver, prepareBuildUsers, takeBack, type BuildUserProbe } from '../../src/build/build-user.js';
import { BuildUserPool, buildUserSpecs } from '../../src/build/build-user-pool.js';

const prepareBuildUser = async (spec: string, workdir: string, runDir: string, probe?: BuildUserProbe) => (await prepareBuildUsers(spec, workdir, runDir, probe)).users[0]!;
import { createTempDir, type TempDir } from '../harness/tmp.js';

const IS_ROOT = process.getuid?.() === 0;

describe('the build user', () => {
  let tmp: TempDir;
  beforeEach(async () => {
    tmp = await createTempDir('mass-ingest-build-user-unit-');
  });
  afterEach(async () => {
    await tmp.remove();
  });

  it('is refused when the processor does not run as root', async () => {
    await expect(prepareBuildUser('nobody', tmp.path, tmp.path, { currentUid: 1000 })).rejects.toMatchObject({
      code: 'build_user_needs_root',
      exitCode: 2,
      message: expect.stringContaining('BUILD_USER=nobody needs the processor to run as root'),
    });
  });

  it.skipIf(!IS_ROOT)('is refused when it is root', async () => {
    await expect(prepareBuildUser('root', tmp.path, tmp.path)).rejects.toMatchObject({ code: 'build_user_is_root', exitCode: 2 });
    await expect(prepareBuildUser('0', tmp.path, tmp.path)).rejects.toMatchObject({ code: 'build_user_is_root' });
  });

  it.skipIf(!IS_ROOT)('takes a bare uid:gid without a passwd entry, with a home in the work directory', async () => {
    await fs.chmod(tmp.path, 0o711);

    const user = await prepareBuildUser('48213:48214', tmp.path, tmp.path);

    expect(user).toEqual({ name: '48213', uid: 48213, gid: 48214, home: path.join(tmp.path, '.build-home-48213') });
    const home = await fs.stat(user.home);
    expect([home.uid, home.gid, home.mode & 0o777]).toEqual([48213, 48214, 0o700]);
  });

  it.skipIf(!IS_ROOT)('is refused with a work directory that another user owns or can write, where a build could swap the run directory', async () => {
    await fs.chmod(tmp.path, 0o711);
    const theirs = path.join(tmp.path, 'theirs');
    const open = path.join(tmp.path, 'open');
    await fs.mkdir(path.join(theirs, 'work'), { recursive: true });
    await fs.chown(theirs, 65534, 65534);
    await fs.mkdir(open);
    await fs.chmod(open, 0o777);

    await expect(prepareBuildUser('48213', path.join(theirs, 'work'), path.join(theirs, 'work'))).rejects.toMatchObject({
      code: 'build_user_workdir_unsafe',
      exitCode: 2,
      message: expect.stringContaining(`${theirs} is owned by uid 65534`),
    });
    await expect(prepareBuildUser('48213', open, open)).rejects.toMatchObject({ message: expect.stringContaining(`${open} is writable by group or others`) });
  });

  it.skipIf(!IS_ROOT)('replaces a home of another owner, such as a link planted in the work directory', async () => {
    await fs.chmod(tmp.path, 0o711);
    await fs.symlink('/etc', path.join(tmp.path, '.build-home-48213'));

    const user = await prepareBuildUser('48213', tmp.path, tmp.path);

    const home = await fs.lstat(user.home);
    expect([home.isDirectory(), home.uid]).toEqual([true, 48213]);
    expect((await fs.stat('/etc')).uid).toBe(0);
  });

  it.skipIf(!IS_ROOT)('takes back only what the build user owns, not a file of someone else linked into the clone', async () => {
    const dir = path.join(tmp.path, 'src');
    await fs.mkdir(dir);
    const foreign = path.join(tmp.path, 'foreign.txt');
    await fs.writeFile(foreign, 'theirs');
    await fs.chown(foreign, 48999, 48999);
    await handOver(dir, { uid: 48213, gid: 48214 });
    await fs.link(foreign, path.join(dir, 'linked.txt'));
    await fs.writeFile(path.join(dir, 'made.txt'), 'x');
    await fs.chown(path.join(dir, 'made.txt'), 48213, 48214);

    await takeBack(dir, { uid: 48213 });

    expect((await fs.stat(foreign)).uid).toBe(48999);
    expect((await fs.stat(path.join(dir, 'made.txt'))).uid).toBe(0);
  });

  it.skipIf(!IS_ROOT)('takes back no directory the build left writable by others, keeping its other mode bits', async () => {
    const dir = path.join(tmp.path, 'src');
    await fs.mkdir(path.join(dir, 'dist', 'deep'), { recursive: true });
    await handOver(dir, { uid: 48213, gid: 48214 });
    await fs.chmod(path.join(dir, 'dist'), 0o777);
    await fs.chmod(path.join(dir, 'dist', 'deep'), 0o3777);

    await takeBack(dir, { uid: 48213 });

    const modes = await Promise.all(['dist', 'dist/deep'].map(async (name) => (await fs.lstat(path.join(dir, name))).mode & 0o7777));
    expect(modes).toEqual([0o755, 0o3755]);
  });

  it.skipIf(!IS_ROOT)('closes, top down, a directory still the build user\'s after chown (made while it ran) and those below it, leaving files as they are', async () => {
    const dir = path.join(tmp.path, 'src');
    await fs.mkdir(path.join(dir, 'dist', 'late', 'inner'), { recursive: true });
    await fs.writeFile(path.join(dir, 'dist', 'late', 'file.txt'), 'x');
    for (const name of ['dist/late', 'dist/late/inner', 'dist/late/file.txt']) await fs.chown(path.join(dir, name), 48213, 48214);
    await fs.chmod(path.join(dir, 'dist', 'late', 'inner'), 0o777);

    await closeDirectories(dir, { uid: 48213 });

    const owners = await Promise.all(['dist/late', 'dist/late/inner', 'dist/late/file.txt'].map(async (name) => {
      const stat = await fs.lstat(path.join(dir, name));
      return [name, stat.uid, stat.mode & 0o777];
    }));
    expect(owners).toEqual([['dist/late', 0, 0o755], ['dist/late/inner', 0, 0o755], ['dist/late/file.txt', 48213, 0o644]]);
  });

  it.skipIf(!IS_ROOT)('hands a clone over and back without following its symbolic links', async () => {
    const dir = path.join(tmp.path, 'src');
    await fs.mkdir(path.join(dir, 'sub'), { recursive: true });
    await fs.writeFile(path.join(dir, 'sub', 'file.txt'), 'x');
    const outside = path.join(tmp.path, 'outside.txt');
    await fs.writeFile(outside, 'not theirs');
    await fs.symlink(outside, path.join(dir, 'link'));

    await handOver(dir, { uid: 48213, gid: 48214 });
    const during = await Promise.all(['sub/file.txt', 'sub', 'link'].map((name) => fs.lstat(path.join(dir, name)).then((s) => s.uid)));
    const outsideDuring = (await fs.stat(outside)).uid;
    await takeBack(dir, { uid: 48213 });
    const after = await Promise.all(['sub/file.txt', 'sub', 'link'].map((name) => fs.lstat(path.join(dir, name)).then((s) => s.uid)));

    expect(during).toEqual([48213, 48213, 48213]);
    expect(outsideDuring).toBe(0);
    expect(after).toEqual([0, 0, 0]);
  });
});

describe('BUILD_USER naming several users', () => {
  it('reads names, uids, uid:gid and uid ranges, and refuses anything else', () => {
    const specs = ['node', '1000:1000', 'a,b', '10001-10003', 'node, 10001-10002', '10-5', '1-300', 'a,,b', 'x;y', ''].map(buildUserSpecs);

    expect(specs).toEqual([['node'], ['1000:1000'], ['a', 'b'], ['10001', '10002', '10003'], ['node', '10001', '10002'], undefined, undefined, undefined, undefined, undefined]);
  });

  it('hands each build a user no other build holds, and a waiting build the next one released', async () => {
    const users = [1, 2].map((uid) => ({ name: String(uid), uid, gid: uid, home: '/tmp' }));
    const pool = new BuildUserPool(users);

    const first = await pool.acquire();
    const second = await pool.acquire();
    const third = pool.acquire();
    pool.release(first);

    expect([first.uid, second.uid, (await third).uid]).toEqual([1, 2, 1]);
  });

  it('gives the user back when a build fails with an exception, to the build waiting for one', async () => {
    const users = [1, 2].map((uid) => ({ name: String(uid), uid, gid: uid, home: '/tmp' }));
    const pool = new BuildUserPool(users);
    const held = await pool.acquire();

    const failed = await pool.withUser(async () => {
      throw new Error('handOver failed');
    }).catch((err: Error) => err.message);
    const next = await pool.withUser(async (user) => user.uid);

    expect([held.uid, failed, next]).toEqual([1, 'handOver failed', 2]);
  });

  it('never hands one user to two builds at once, however their work ends', async () => {
    const users = [1, 2, 3].map((uid) => ({ name: String(uid), uid, gid: uid, home: '/tmp' }));
    const pool = new BuildUserPool(users);
    const running = new Set<number>();
    let overlaps = 0;

    await Promise.allSettled(
      Array.from({ length: 30 }, (_, index) =>
        pool.withUser(async (user) => {
          if (running.has(user.uid)) overlaps += 1;
          running.add(user.uid);
          await new Promise((resolve) => setImmediate(resolve));
          running.delete(user.uid);
          if (index % 3 === 0) throw new Error('build crashed');
        }),
      ),
    );
    const afterwards = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);

    expect(overlaps).toBe(0);
    expect(afterwards.map((user) => user.uid).sort()).toEqual([1, 2, 3]);
  });

  it('lets every build share a single user', async () => {
    const pool = new BuildUserPool([{ name: 'node', uid: 1000, gid: 1000, home: '/home/node' }]);

    const taken = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);

    expect(taken.map((user) => user.uid)).toEqual([1000, 1000, 1000]);
  });
});

import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStore } from '../../src/artifacts/file-store.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { canMountTmpfs, mountTmpfs, unmountTmpfs } from '../harness/tmpfs.js';

describe('FileStore', () => {
  let tmp: TempDir;
  let root: string;

  beforeEach(async () => {
    tmp = await createTempDir('file-store-');
    root = path.join(tmp.path, 'artifacts');
  });

  afterEach(async () => {
    await tmp.remove();
  });

  /** Every file under the root, temporary ones included. */
  async function files(): Promise<string[]> {
    const entries = await fs.readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
    return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(root, path.join(entry.parentPath, entry.name))).sort();
  }

  it('keeps the published file whole and leaves no temporary file when the file to publish has gone', async () => {
    const store = new FileStore(`file://${root}`);
    await store.putBytes('acme/widget/build.log', Buffer.from('first run'));

    const err = await store.putFile('acme/widget/build.log', path.join(tmp.path, 'gone.log')).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'publish_io', retryable: false, message: expect.stringContaining('(ENOENT)') });
    expect(await files()).toEqual(['acme/widget/build.log']);
    expect((await store.read('acme/widget/build.log'))?.toString()).toBe('first run');
  });

  it('writes a put only-if-absent when the file is absent and keeps the file that is there, leaving no temporary file', async () => {
    const store = new FileStore(root);

    const first = await store.putBytes('acme/widget/manifest.json', Buffer.from('first'), 'application/json', { ifAbsent: true });
    const second = await store.putBytes('acme/widget/manifest.json', Buffer.from('second'), 'application/json', { ifAbsent: true });

    expect([first, second]).toEqual([true, false]);
    expect((await store.read('acme/widget/manifest.json'))?.toString()).toBe('first');
    expect(await files()).toEqual(['acme/widget/manifest.json']);
  });

  it('reports a file where a directory must be as publish_not_found, writing nothing', async () => {
    const store = new FileStore(root);
    await fs.mkdir(path.join(root, 'acme'), { recursive: true });
    await fs.writeFile(path.join(root, 'acme', 'widget'), 'in the way');

    const err = await store.putBytes('acme/widget/manifest.json', Buffer.from('{}')).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'publish_not_found', message: expect.stringContaining('acme/widget/manifest.json') });
    expect(await files()).toEqual(['acme/widget']);
  });

  it.skipIf(!canMountTmpfs)('says the target is full, and leaves no partial or temporary file, when its file system fills up', async () => {
    mountTmpfs(root, '64k');
    try {
      const store = new FileStore(root);
      const big = path.join(tmp.path, 'big.bin');
      await fs.writeFile(big, Buffer.alloc(256 * 1024, 1));

      const failure = await store.putFile('acme/x/big.bin', big).catch((err: unknown) => err);

      expect(failure).toMatchObject({
        code: 'publish_io',
        retryable: false,
        message: `Cannot write ${path.join(root, 'acme/x/big.bin')} (ENOSPC): the file system of ${root} is full; free space there or publish elsewhere`,
      });
      expect(await files()).toEqual([]);
    } finally {
      unmountTmpfs(root);
    }
  });

  it('refuses a key that leads outside its directory, and answers absent keys as absent', async () => {
    const store = new FileStore(root);

    const err = await store.putBytes('../outside.txt', Buffer.from('x')).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'publish_bad_key' });
    await expect(fs.access(path.join(tmp.path, 'outside.txt'))).rejects.toThrow();
    expect(await store.exists('acme/none')).toBe(false);
    expect(await store.read('acme/none')).toBeUndefined();
  });

  it('answers a key under a file as absent, and fails a read it cannot make rather than answer absent', async () => {
    const store = new FileStore(root);
    await store.putBytes('acme/widget', Buffer.from('a file'));
    await fs.mkdir(path.join(root, 'acme/lib/maven-metadata.xml'), { recursive: true });

    const err = await store.read('acme/lib/maven-metadata.xml').catch((e: unknown) => e);

    expect(await store.read('acme/widget/manifest.json')).toBeUndefined();
    expect(err).toMatchObject({ code: 'publish_io', message: expect.stringContaining('acme/lib/maven-metadata.xml (EISDIR)') });
  });
});

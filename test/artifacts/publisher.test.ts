import { describe, expect, it } from 'vitest';
import { ChecksumSidecarStore } from '../../src/artifacts/checksum-sidecars.js';
import { FileStore } from '../../src/artifacts/file-store.js';
import { HttpStore } from '../../src/artifacts/http-store.js';
import { DefaultLayout } from '../../src/artifacts/layout.js';
import { MavenLayout } from '../../src/artifacts/maven-layout.js';
import { createLayout, createStore } from '../../src/artifacts/publisher.js';
import { RefusingTargetGuard } from '../../src/artifacts/refusing-target.js';
import { S3Store } from '../../src/artifacts/s3-store.js';
import { loadConfig } from '../../src/config/config.js';
import { UsageError } from '../../src/errors.js';
import { MemoryStore } from '../fakes/memory-store.js';

function config(env: Record<string, string>, flags: Record<string, unknown> = {}) {
  return loadConfig({ flags, env: { AWS_REGION: 'us-east-1', ...env }, cwd: '/tmp/work', stdoutIsTty: false });
}

function innerOf(store: unknown): unknown {
  return store instanceof ChecksumSidecarStore ? (store as unknown as { inner: unknown }).inner : undefined;
}

describe('createStore', () => {
  it('picks the store by PUBLISH_URL scheme and adds checksum sidecars for HTTP', async () => {
    const stores = await Promise.all([
      createStore(config({ PUBLISH_URL: '/srv/artifacts' })),
      createStore(config({ PUBLISH_URL: 'https://repo.example.test/libs', PUBLISH_USER: 'u', PUBLISH_PASSWORD: 'p' })),
      createStore(config({ PUBLISH_URL: 's3://bucket/prefix' })),
    ]);

    expect(stores[0]).toBeInstanceOf(FileStore);
    expect(innerOf(stores[1])).toBeInstanceOf(HttpStore);
    expect(stores[2]).toBeInstanceOf(S3Store);
  });

  it('adds checksum sidecars to every store under the maven layout', async () => {
    const stores = await Promise.all([createStore(config({ PUBLISH_URL: 's3://bucket/m2' }, { layout: 'maven' })), createStore(config({ PUBLISH_URL: '/srv/m2' }, { layout: 'maven' }))]);

    expect(stores.map((store) => innerOf(store)?.constructor.name)).toEqual(['S3Store', 'FileStore']);
  });

  it('refuses a PUBLISH_URL with credentials in it, without echoing the password', async () => {
    const error = await createStore(config({ PUBLISH_URL: 'https://deployer:pa55word@repo.example.test/libs' })).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).not.toMatch(/pa55word/);
  });
});

describe('the publish limits in Config', () => {
  it('default to 30 s without progress, 4 attempts in a row before failing fast and 60 s before trying again', () => {
    const { publish } = config({});

    expect([publish.timeoutMs, publish.failFastAfter, publish.failFastForMs]).toEqual([30_000, 4, 60_000]);
  });

  it('read PUBLISH_TIMEOUT, PUBLISH_FAIL_FAST_AFTER (0 never fails fast) and PUBLISH_FAIL_FAST_FOR in seconds', () => {
    const { publish } = config({ PUBLISH_TIMEOUT: '5', PUBLISH_FAIL_FAST_AFTER: '0', PUBLISH_FAIL_FAST_FOR: '900' });

    expect([publish.timeoutMs, publish.failFastAfter, publish.failFastForMs]).toEqual([5000, 0, 900_000]);
  });

  it('refuses values that are not whole seconds or counts, listing each', () => {
    const load = () => config({ PUBLISH_TIMEOUT: '0.5', PUBLISH_FAIL_FAST_AFTER: '-1', PUBLISH_FAIL_FAST_FOR: '0' });

    expect(load).toThrow(UsageError);
    expect(load).toThrow(/PUBLISH_TIMEOUT must be an integer ≥ 1, got "0.5"[\s\S]*PUBLISH_FAIL_FAST_AFTER must be an integer ≥ 0, got "-1"[\s\S]*PUBLISH_FAIL_FAST_FOR must be an integer ≥ 1, got "0"/);
  });
});

describe('createLayout', () => {
  it('builds the layout named by --layout over the given store, watched for a target refusing every repository', () => {
    const store = new MemoryStore();

    const layouts = [createLayout(config({}), store), createLayout(config({}, { layout: 'maven' }), store)];

    expect(layouts.map((layout) => layout instanceof RefusingTargetGuard)).toEqual([true, true]);
    expect((layouts[0] as RefusingTargetGuard).inner).toBeInstanceOf(DefaultLayout);
    expect((layouts[1] as RefusingTargetGuard).inner).toBeInstanceOf(MavenLayout);
  });
});

describe('ChecksumSidecarStore', () => {
  it('writes .sha1, .md5 and .sha256 after the bytes they describe', async () => {
    const memory = new MemoryStore();
    const store = new ChecksumSidecarStore(memory);

    await store.putBytes('a/maven-metadata.xml', Buffer.from('abc'), 'application/xml');

    expect(memory.puts).toEqual(['a/maven-metadata.xml', 'a/maven-metadata.xml.sha1', 'a/maven-metadata.xml.md5', 'a/maven-metadata.xml.sha256']);
    expect(memory.files.get('a/maven-metadata.xml.sha1')?.toString()).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(memory.files.get('a/maven-metadata.xml.md5')?.toString()).toBe('900150983cd24fb0d6963f7d28e17f72');
  });

  it('writes the checksums of a manifest before it, so a manifest never exists without them', async () => {
    const memory = new MemoryStore();
    const store = new ChecksumSidecarStore(memory);
    memory.failOn = (key) => key === 'c/manifest.json';

    const put = store.putBytes('c/manifest.json', Buffer.from('abc'), 'application/json', { ifAbsent: true });

    await expect(put).rejects.toThrow('put failed on purpose');
    expect(memory.puts).toEqual(['c/manifest.json.sha1', 'c/manifest.json.md5', 'c/manifest.json.sha256']);
    expect(memory.files.has('c/manifest.json')).toBe(false);
  });
});

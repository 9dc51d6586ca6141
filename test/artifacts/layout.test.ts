import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefaultLayout, type PublishRequest } from '../../src/artifacts/layout.js';
import { StepError } from '../../src/errors.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { MemoryStore } from '../fakes/memory-store.js';

const SHA = 'abcdef0123456789abcdef0123456789abcdef01';
const DIR = `github.com/acme/widget/${SHA}`;
const REPOSITORY = { cloneUrl: 'https://github.com/acme/widget.git', branch: 'main', origin: 'github.com', path: 'acme/widget' };

let tmp: TempDir;
let request: PublishRequest;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-layout-');
  const jar = path.join(tmp.path, 'widget.jar');
  const log = path.join(tmp.path, 'build.log');
  await fs.writeFile(jar, 'jar bytes');
  await fs.writeFile(log, 'BUILD SUCCESS\n');
  request = { repository: REPOSITORY, commitSha: SHA, builder: 'make', artifacts: [{ name: 'widget.jar', file: jar, size: 9 }], logFile: log, startedAt: new Date('2026-03-04T05:06:07Z'), runId: 'run-1' };
});

afterAll(async () => {
  await tmp.remove();
});

describe('DefaultLayout', () => {
  it('writes the artifacts, build.log and manifest.json last, and then counts the commit as published', async () => {
    const store = new MemoryStore();
    const layout = new DefaultLayout(store);

    const before = await layout.isPublished(REPOSITORY, SHA);
    const published = await layout.publish(request);

    expect(before).toBe(false);
    expect(store.puts).toEqual([`${DIR}/widget.jar`, `${DIR}/build.log`, `${DIR}/manifest.json`]);
    expect(published.alreadyPublished).toBe(false);
    expect(await layout.isPublished(REPOSITORY, SHA)).toBe(true);
  });

  it('uploads nothing for a commit whose manifest exists, and returns the manifest artifacts', async () => {
    const store = new MemoryStore();
    const layout = new DefaultLayout(store);
    const first = await layout.publish(request);
    store.puts.length = 0;

    const second = await layout.publish(request);

    expect(store.puts).toEqual([]);
    expect(second).toEqual({ ...first, alreadyPublished: true });
  });

  it('refuses a target that answers a web page for the manifest instead of taking the commit as published', async () => {
    const store = new MemoryStore();
    // A repository manager's UI or a login page: 200 and HTML for every path.
    store.read = async () => Buffer.from('<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>…</body></html>\n');
    const layout = new DefaultLayout(store);

    const checked = await layout.isPublished(REPOSITORY, SHA).catch((err: unknown) => err);
    const published = await layout.publish(request).catch((err: unknown) => err);

    for (const error of [checked, published]) {
      expect(error).toBeInstanceOf(StepError);
      expect((error as StepError).code).toBe('publish_not_a_repository');
      expect((error as StepError).message).toContain(`memory://${DIR}/manifest.json answered "<!DOCTYPE html> <html><head><title>Sign in</title></head><bo…", not the manifest of commit ${SHA}`);
    }
    expect(store.puts).toEqual([]);
  });
});

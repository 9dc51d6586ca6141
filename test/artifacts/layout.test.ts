import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStore } from '../../src/artifacts/file-store.js';
import { DefaultLayout, type PublishRequest } from '../../src/artifacts/layout.js';
import type { ArtifactStore } from '../../src/artifacts/store.js';
import { StepError } from '../../src/errors.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { MemoryStore } from '../fakes/memory-store.js';
import { mismatchedArtifacts, publishTwoAtOnce, RACED_DIR, twoBuildsOfOneCommit, type ManifestOrder, type TwoBuilds } from '../fakes/interleaving-store.js';

const SHA = 'abcdef0123456789abcdef0123456789abcdef01';
const DIR = `github.com/acme/widget/${SHA}`;
const REPOSITORY = { cloneUrl: 'https://github.com/acme/widget.git', branch: 'main', origin: 'github.com', path: 'acme/widget' };

let tmp: TempDir;
let request: PublishRequest;
let builds: TwoBuilds;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-layout-');
  const jar = path.join(tmp.path, 'widget.jar');
  const log = path.join(tmp.path, 'build.log');
  await fs.writeFile(jar, 'jar bytes');
  await fs.writeFile(log, 'BUILD SUCCESS\n');
  request = { repository: REPOSITORY, commitSha: SHA, builder: 'make', artifacts: [{ name: 'widget.jar', file: jar, size: 9 }], logFile: log, startedAt: new Date('2026-03-04T05:06:07Z'), runId: 'run-1' };
  // Two branches at one commit, built twice by a build that is not byte-reproducible.
  builds = await twoBuildsOfOneCommit(path.join(tmp.path, 'builds'));
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

  it('leaves a published commit\'s build.log as it is when a failed build of that commit publishes its log (DESIGN §6)', async () => {
    const store = new MemoryStore();
    const layout = new DefaultLayout(store);
    const failedLog = path.join(tmp.path, 'failed-build.log');
    await fs.writeFile(failedLog, 'BUILD FAILED\n');
    await layout.publish(request);

    const url = await layout.publishLog(REPOSITORY, SHA, failedLog);

    expect(url).toBeUndefined();
    expect((await store.read(`${DIR}/build.log`))?.toString()).toBe('BUILD SUCCESS\n');
  });

  it('lets a failed build\'s log wait for a publish of the same commit under way, then leaves the published files', async () => {
    const store = new MemoryStore();
    const layout = new DefaultLayout(store);
    const failedLog = path.join(tmp.path, 'failed-build-at-once.log');
    await fs.writeFile(failedLog, 'BUILD FAILED\n');

    const [, url] = await Promise.all([layout.publish(request), layout.publishLog(REPOSITORY, SHA, failedLog)]);

    expect(url).toBeUndefined();
    expect(store.puts).toEqual([`${DIR}/widget.jar`, `${DIR}/build.log`, `${DIR}/manifest.json`]);
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

const ORDERS: ManifestOrder[] = ['first-manifest-first', 'second-manifest-first'];
const STORES: Array<[string, () => Promise<ArtifactStore>]> = [
  ['a directory', async () => new FileStore((await fs.mkdtemp(path.join(tmp.path, 'target-'))))],
  ['memory', async () => new MemoryStore()],
];
const CASES = STORES.flatMap(([name, create]) => ORDERS.map((order) => [name, order, create] as const));

describe('DefaultLayout, two publishes of one commit at once', () => {
  it.each(CASES)('in one processor, publishes the first and keeps its artifacts for the second (%s, %s)', async (_name, order, createStore) => {
    const store = await createStore();

    const [first, second] = await publishTwoAtOnce(store, builds.main, builds.release, { processors: 1, order });

    expect(await mismatchedArtifacts(store, RACED_DIR)).toEqual([]);
    expect((await store.read(`${RACED_DIR}/widget.jar`))?.toString()).toBe('jar built on main');
    expect(first.alreadyPublished).toBe(false);
    expect(second).toEqual({ ...first, alreadyPublished: true });
  });

  it.each(CASES)('in two processors, leaves a manifest that describes the files beside it (%s, %s)', async (_name, order, createStore) => {
    const store = await createStore();

    const [first, second] = await publishTwoAtOnce(store, builds.main, builds.release, { processors: 2, order });

    // The publish whose manifest came second uploads its files again with its manifest.
    const [winner, loser] = order === 'first-manifest-first' ? [first, second] : [second, first];
    expect(await mismatchedArtifacts(store, RACED_DIR)).toEqual([]);
    expect(await store.read(`${RACED_DIR}/manifest.json`).then((body) => JSON.parse(body!.toString()).artifacts)).toEqual(loser.artifacts);
    expect([winner.replacedConcurrent, loser.replacedConcurrent, loser.alreadyPublished]).toEqual([undefined, true, false]);
  });

  it.each(STORES)('in two processors, takes the same bytes published by the other as already published (%s)', async (_name, createStore) => {
    const store = await createStore();

    const [first, second] = await publishTwoAtOnce(store, builds.main, builds.releaseReproduced, { processors: 2, order: 'first-manifest-first' });

    expect(await mismatchedArtifacts(store, RACED_DIR)).toEqual([]);
    expect(JSON.parse((await store.read(`${RACED_DIR}/manifest.json`))!.toString()).repository.branch).toBe('main');
    expect([first.alreadyPublished, second.alreadyPublished, second.replacedConcurrent]).toEqual([false, true, undefined]);
  });
});

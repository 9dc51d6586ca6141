import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChecksumSidecarStore } from '../../src/artifacts/checksum-sidecars.js';
import type { PublishRequest } from '../../src/artifacts/layout.js';
import { MavenLayout } from '../../src/artifacts/maven-layout.js';
import { parseMetadataVersions } from '../../src/artifacts/maven-metadata.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { MemoryStore } from '../fakes/memory-store.js';

const SHA = 'abcdef0123456789abcdef0123456789abcdef01';
const SHA2 = '1234567890abcdef1234567890abcdef12345678';
const DIR = 'com/github/acme/widget';
const VERSION = '20260304.050607-abcdef0';
const NOW = () => new Date('2026-03-04T05:06:30Z');

let tmp: TempDir;
let jar: string;
let sources: string;
let log: string;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-maven-');
  jar = path.join(tmp.path, 'widget.jar');
  sources = path.join(tmp.path, 'widget-sources.jar');
  log = path.join(tmp.path, 'build.log');
  await fs.writeFile(jar, 'jar bytes');
  await fs.writeFile(sources, 'sources bytes');
  await fs.writeFile(log, 'BUILD SUCCESS\n');
});

afterAll(async () => {
  await tmp.remove();
});

function request(overrides: Partial<PublishRequest> = {}): PublishRequest {
  return {
    repository: { cloneUrl: 'https://github.com/acme/widget.git', branch: 'main', origin: 'github.com', path: 'acme/widget' },
    commitSha: SHA,
    builder: 'maven',
    artifacts: [{ name: 'widget.jar', file: jar, size: 9 }],
    logFile: log,
    startedAt: new Date('2026-03-04T05:06:07Z'),
    runId: 'run-1',
    ...overrides,
  };
}

function setUp() {
  const memory = new MemoryStore();
  return { memory, layout: new MavenLayout(new ChecksumSidecarStore(memory), NOW) };
}

const sha1 = (body: Buffer | string) => createHash('sha1').update(body).digest('hex');

describe('MavenLayout', () => {
  it('writes the artifact, POM, build log and manifest with sidecars, and maven-metadata.xml last', async () => {
    const { memory, layout } = setUp();

    const published = await layout.publish(request());

    const v = `${DIR}/${VERSION}/widget-${VERSION}`;
    const withSidecars = (key: string) => [key, `${key}.sha1`, `${key}.md5`, `${key}.sha256`];
    expect(memory.puts).toEqual([
      ...withSidecars(`${v}.jar`),
      ...withSidecars(`${v}.pom`),
      ...withSidecars(`${v}-build.log`),
      ...withSidecars(`${v}-manifest.json`),
      ...withSidecars(`${DIR}/maven-metadata.xml`),
    ]);
    expect(memory.files.get(`${v}.jar.sha1`)?.toString()).toBe(sha1('jar bytes'));
    expect(memory.files.get(`${DIR}/maven-metadata.xml.sha1`)?.toString()).toBe(sha1(memory.files.get(`${DIR}/maven-metadata.xml`)!));
    expect(published).toEqual({
      logUrl: `memory://${v}-build.log`,
      artifacts: [{ name: `widget-${VERSION}.jar`, size: 9, sha256: createHash('sha256').update('jar bytes').digest('hex') }],
      alreadyPublished: false,
    });
  });

  it('writes a POM whose packaging is the single artifact extension', async () => {
    const { memory, layout } = setUp();

    await layout.publish(request());

    const pom = memory.files.get(`${DIR}/${VERSION}/widget-${VERSION}.pom`)?.toString() ?? '';
    expect(pom).toContain('<groupId>com.github.acme</groupId>');
    expect(pom).toContain('<artifactId>widget</artifactId>');
    expect(pom).toContain(`<version>${VERSION}</version>`);
    expect(pom).toContain('<packaging>jar</packaging>');
  });

  it('classifies several artifacts by base name and writes a pom-packaged POM', async () => {
    const { memory, layout } = setUp();

    const published = await layout.publish(request({ artifacts: [{ name: 'widget.jar', file: jar, size: 9 }, { name: 'widget-sources.jar', file: sources, size: 13 }] }));

    expect(published.artifacts.map((artifact) => artifact.name)).toEqual([`widget-${VERSION}-widget.jar`, `widget-${VERSION}-widget-sources.jar`]);
    expect(memory.files.get(`${DIR}/${VERSION}/widget-${VERSION}.pom`)?.toString()).toContain('<packaging>pom</packaging>');
  });

  it('counts a commit as published once a version ending in its sha7 is listed, and then uploads nothing', async () => {
    const { memory, layout } = setUp();
    const before = await layout.isPublished(request().repository, SHA);
    await layout.publish(request());
    const puts = memory.puts.length;

    const again = await layout.publish(request({ startedAt: new Date('2026-05-05T00:00:00Z') }));

    expect([before, await layout.isPublished(request().repository, SHA)]).toEqual([false, true]);
    expect(memory.puts).toHaveLength(puts);
    expect(again.alreadyPublished).toBe(true);
    expect(again.logUrl).toBe(`memory://${DIR}/${VERSION}/widget-${VERSION}-build.log`);
    expect(again.artifacts.map((artifact) => artifact.name)).toEqual([`widget-${VERSION}.jar`]);
  });

  it('keeps earlier versions in maven-metadata.xml and makes the new one latest', async () => {
    const { memory, layout } = setUp();
    await layout.publish(request());

    await layout.publish(request({ commitSha: SHA2, startedAt: new Date('2026-03-05T00:00:00Z') }));

    const xml = memory.files.get(`${DIR}/maven-metadata.xml`)!.toString();
    expect(parseMetadataVersions(xml)).toEqual([VERSION, '20260305.000000-1234567']);
    expect(xml).toContain('<latest>20260305.000000-1234567</latest>');
  });

  it('leaves the commit unpublished when interrupted before the metadata, and the rerun completes a new version', async () => {
    const { memory, layout } = setUp();
    memory.failOn = (key) => key.endsWith('maven-metadata.xml');
    await expect(layout.publish(request())).rejects.toThrow('put failed on purpose');
    memory.failOn = undefined;

    const published = await layout.publish(request({ startedAt: new Date('2026-03-04T06:00:00Z') }));

    expect(published.alreadyPublished).toBe(false);
    expect(parseMetadataVersions(memory.files.get(`${DIR}/maven-metadata.xml`)!.toString())).toEqual(['20260304.060000-abcdef0']);
    expect(memory.files.has(`${DIR}/20260304.060000-abcdef0/widget-20260304.060000-abcdef0-manifest.json`)).toBe(true);
  });

  it('writes the metadata again when a concurrent writer overwrote its version', async () => {
    const { memory, layout } = setUp();
    let overwritten = false;
    memory.afterPut = (key) => {
      if (key.endsWith('maven-metadata.xml') && !overwritten) {
        overwritten = true;
        memory.files.set(key, Buffer.from('<metadata><versioning><versions><version>other-1234567</version></versions></versioning></metadata>'));
      }
    };

    await layout.publish(request());

    expect(parseMetadataVersions(memory.files.get(`${DIR}/maven-metadata.xml`)!.toString())).toEqual(['other-1234567', VERSION]);
  });

  it('publishes one version when two rows of one processor publish a commit at once (two branches), the second keeping its files', async () => {
    const { memory, layout } = setUp();
    const otherJar = path.join(tmp.path, 'release', 'widget.jar');
    await fs.mkdir(path.dirname(otherJar), { recursive: true });
    await fs.writeFile(otherJar, 'jar bytes built on release');
    const onRelease = request({ repository: { ...request().repository, branch: 'release' }, artifacts: [{ name: 'widget.jar', file: otherJar, size: 26 }] });

    const [first, second] = await Promise.all([layout.publish(request()), layout.publish(onRelease)]);

    const manifest = JSON.parse(memory.files.get(`${DIR}/${VERSION}/widget-${VERSION}-manifest.json`)!.toString()) as { artifacts: Array<{ name: string; sha256: string }> };
    const stored = memory.files.get(`${DIR}/${VERSION}/widget-${VERSION}.jar`)!;
    expect(parseMetadataVersions(memory.files.get(`${DIR}/maven-metadata.xml`)!.toString())).toEqual([VERSION]);
    expect(manifest.artifacts.map((artifact) => artifact.sha256)).toEqual([createHash('sha256').update(stored).digest('hex')]);
    expect(stored.toString()).toBe('jar bytes');
    expect([first.alreadyPublished, second.alreadyPublished]).toEqual([false, true]);
  });

  it('publishes a failed build log in a version directory without listing the version', async () => {
    const { memory, layout } = setUp();

    const url = await layout.publishLog(request().repository, SHA, log);

    expect(url).toBe(`memory://${DIR}/20260304.050630-abcdef0/widget-20260304.050630-abcdef0-build.log`);
    expect(memory.files.has(`${DIR}/maven-metadata.xml`)).toBe(false);
  });

  it('keeps the build.log of a version published in the same second when a failed build of that commit publishes its log', async () => {
    const { memory, layout } = setUp();
    const failedLog = path.join(tmp.path, 'failed-same-second.log');
    await fs.writeFile(failedLog, 'BUILD FAILED\n');
    // Another row at this commit started in the very second this build fails: both name version 050630.
    const sameSecond = request({ startedAt: NOW() });
    const logKey = `${DIR}/20260304.050630-abcdef0/widget-20260304.050630-abcdef0-build.log`;

    const [, url] = await Promise.all([layout.publish(sameSecond), layout.publishLog(request().repository, SHA, failedLog)]);

    expect(url).toBeUndefined();
    expect(memory.files.get(logKey)?.toString()).toBe('BUILD SUCCESS\n');
  });
});

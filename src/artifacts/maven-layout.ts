import { StepError } from '../errors.js';
import { digestFile } from './digests.js';
import { KeyedLock } from './keyed-lock.js';
import { manifestBytes, type Manifest, type PublishedSet, type PublishLayout, type PublishRequest, type RepositoryKey } from './layout.js';
import {
  artifactDirOf,
  artifactFileNames,
  coordinatesOf,
  parseMetadataVersions,
  pomFileName,
  renderMetadata,
  renderPom,
  splitExtension,
  versionOf,
  type MavenCoordinates,
} from './maven-metadata.js';
import type { ArtifactStore } from './store.js';

// Read-back rounds when another processor rewrites maven-metadata.xml between our read and write.
const METADATA_ATTEMPTS = 3;

/**
 * `--layout maven` (DESIGN §6): `<group path>/<artifactId>/<version>/<artifactId>-<version>[-<classifier>].<ext>`
 * plus a POM, `-build.log` and `-manifest.json`; `maven-metadata.xml` is written last. A commit is
 * published when a version ending in its sha7 is listed there, so a half-finished publish is
 * invisible to readers and the rerun publishes a complete new version.
 */
export class MavenLayout implements PublishLayout {
  constructor(
    private readonly store: ArtifactStore,
    private readonly now: () => Date = () => new Date(),
    private readonly artifactDirs = new KeyedLock(),
  ) {}

  down(): StepError | undefined {
    return this.store.down?.();
  }

  async isPublished(repository: RepositoryKey, commitSha: string): Promise<boolean> {
    return (await this.publishedVersion(coordinatesOf(repository), commitSha)) !== undefined;
  }

  /**
   * One publish per artifact at a time in this processor: two branches at one commit would each
   * publish a version of it (both into one directory within one second); the second finds the
   * first's version listed instead.
   */
  async publish(request: PublishRequest): Promise<PublishedSet> {
    const coordinates = coordinatesOf(request.repository);
    return this.artifactDirs.hold(artifactDirOf(coordinates), () => this.publishUnlessListed(request, coordinates));
  }

  private async publishUnlessListed(request: PublishRequest, coordinates: MavenCoordinates): Promise<PublishedSet> {
    const existing = await this.publishedVersion(coordinates, request.commitSha);
    if (existing !== undefined) return this.alreadyPublished(coordinates, existing);

    const version = versionOf(request.startedAt, request.commitSha);
    const dir = `${artifactDirOf(coordinates)}/${version}`;
    const fileNames = artifactFileNames(
      request.artifacts.map((artifact) => artifact.name),
      coordinates.artifactId,
      version,
    );
    const artifacts: Array<Manifest['artifacts'][number]> = [];
    for (const artifact of request.artifacts) {
      const name = fileNames.get(artifact.name) ?? artifact.name;
      const digests = await digestFile(artifact.file);
      await this.store.putFile(`${dir}/${name}`, artifact.file, digests);
      artifacts.push({ name, size: digests.size, sha256: digests.sha256 });
    }
    const pom = renderPom(coordinates, version, packagingOf(request), `Built by mass-ingest from ${request.repository.cloneUrl} at ${request.commitSha}`);
    await this.store.putBytes(`${dir}/${pomFileName(coordinates.artifactId, version)}`, Buffer.from(pom), 'application/xml');
    const logKey = this.logKey(coordinates, version);
    await this.store.putFile(logKey, request.logFile, await digestFile(request.logFile));
    await this.store.putBytes(this.manifestKey(coordinates, version), manifestBytes(request, artifacts, this.now()), 'application/json');
    await this.listVersion(coordinates, version);
    return { logUrl: this.store.url(logKey), artifacts, alreadyPublished: false };
  }

  /**
   * A failed build's log, in a version of its own (this second's). Under the artifact's lock: a
   * version of the same second and commit published by another row (two branches at one commit)
   * keeps its build.log, and this log is not published (undefined, as DefaultLayout does).
   */
  async publishLog(repository: RepositoryKey, commitSha: string, logFile: string): Promise<string | undefined> {
    const coordinates = coordinatesOf(repository);
    return this.artifactDirs.hold(artifactDirOf(coordinates), async () => {
      const version = versionOf(this.now(), commitSha);
      if (await this.store.exists(this.manifestKey(coordinates, version))) return undefined;
      const key = this.logKey(coordinates, version);
      await this.store.putFile(key, logFile, await digestFile(logFile));
      return this.store.url(key);
    });
  }

  private async alreadyPublished(coordinates: MavenCoordinates, version: string): Promise<PublishedSet> {
    const body = await this.store.read(this.manifestKey(coordinates, version));
    const manifest = body ? (JSON.parse(body.toString('utf8')) as Manifest) : undefined;
    return { logUrl: this.store.url(this.logKey(coordinates, version)), artifacts: manifest?.artifacts ?? [], alreadyPublished: true };
  }

  /** The newest listed version of this commit, if any. */
  private async publishedVersion(coordinates: MavenCoordinates, commitSha: string): Promise<string | undefined> {
    const suffix = `-${commitSha.slice(0, 7)}`;
    return (await this.listedVersions(coordinates)).filter((version) => version.endsWith(suffix)).pop();
  }

  private async listedVersions(coordinates: MavenCoordinates): Promise<string[]> {
    const body = await this.store.read(this.metadataKey(coordinates));
    return body ? parseMetadataVersions(body.toString('utf8')) : [];
  }

  /**
   * Read, add, write, read back: two processors publishing the same artifact (two branches of
   * one repository) can overwrite each other's write; the one that lost sees it and writes again.
   */
  private async listVersion(coordinates: MavenCoordinates, version: string): Promise<void> {
    for (let attempt = 1; attempt <= METADATA_ATTEMPTS; attempt += 1) {
      const xml = renderMetadata(coordinates, await this.listedVersions(coordinates), version, this.now());
      await this.store.putBytes(this.metadataKey(coordinates), Buffer.from(xml), 'application/xml');
      if ((await this.listedVersions(coordinates)).includes(version)) return;
    }
    throw new StepError(
      'publish_metadata_conflict',
      `${this.store.url(this.metadataKey(coordinates))} kept losing version ${version} to concurrent writers after ${METADATA_ATTEMPTS} attempts`,
      { retryable: true },
    );
  }

  private metadataKey(coordinates: MavenCoordinates): string {
    return `${artifactDirOf(coordinates)}/maven-metadata.xml`;
  }

  private logKey(coordinates: MavenCoordinates, version: string): string {
    return `${artifactDirOf(coordinates)}/${version}/${coordinates.artifactId}-${version}-build.log`;
  }

  private manifestKey(coordinates: MavenCoordinates, version: string): string {
    return `${artifactDirOf(coordinates)}/${version}/${coordinates.artifactId}-${version}-manifest.json`;
  }
}

/** A single artifact is the main one (`jar`, `war`, `tgz`…); several are all classified, so `pom`. */
function packagingOf(request: PublishRequest): string {
  const [only, ...others] = request.artifacts;
  return only && others.length === 0 ? splitExtension(only.name).extension : 'pom';
}

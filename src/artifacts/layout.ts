import { StepError } from '../errors.js';
import { digestFile } from './digests.js';
import { PUBLISH_CODES } from './publish-errors.js';
import type { ArtifactStore } from './store.js';
import type { CollectedArtifact } from './collect.js';

export interface RepositoryKey {
  readonly cloneUrl: string;
  readonly branch: string;
  readonly origin: string;
  readonly path: string;
}

export interface Manifest {
  readonly schema: 1;
  readonly repository: RepositoryKey;
  readonly commitSha: string;
  readonly builder: string;
  readonly artifacts: ReadonlyArray<{ name: string; size: number; sha256: string }>;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly runId: string;
}

export interface PublishRequest {
  readonly repository: RepositoryKey;
  readonly commitSha: string;
  readonly builder: string;
  readonly artifacts: readonly CollectedArtifact[];
  readonly logFile: string;
  readonly startedAt: Date;
  readonly runId: string;
}

export interface PublishedSet {
  readonly logUrl: string;
  readonly artifacts: Manifest['artifacts'];
  readonly alreadyPublished: boolean;
}

/** The manifest (DESIGN §6) of a publish whose artifacts are uploaded, as the bytes to store. */
export function manifestBytes(request: PublishRequest, artifacts: Manifest['artifacts'], finishedAt = new Date()): Buffer {
  const { repository } = request;
  const manifest: Manifest = {
    schema: 1,
    repository: { cloneUrl: repository.cloneUrl, branch: repository.branch, origin: repository.origin, path: repository.path },
    commitSha: request.commitSha,
    builder: request.builder,
    artifacts,
    startedAt: request.startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    runId: request.runId,
  };
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
}

/** How keys are laid out in a store (DESIGN §6); `default` and `maven`. */
export interface PublishLayout {
  isPublished(repository: RepositoryKey, commitSha: string): Promise<boolean>;
  /** Artifacts, build log, manifest last; a no-op when the manifest already exists. */
  publish(request: PublishRequest): Promise<PublishedSet>;
  /** A failed build's log, without a manifest; returns its URL. */
  publishLog(repository: RepositoryKey, commitSha: string, logFile: string): Promise<string>;
  /** The error every publish gets now, while the target is skipped (ArtifactStore.down). */
  down?(): StepError | undefined;
}

/** `<origin>/<path>/<sha>/{artifacts, build.log, manifest.json}`. */
export class DefaultLayout implements PublishLayout {
  constructor(private readonly store: ArtifactStore) {}

  down(): StepError | undefined {
    return this.store.down?.();
  }

  async isPublished(repository: RepositoryKey, commitSha: string): Promise<boolean> {
    return (await this.publishedManifest(repository, commitSha)) !== undefined;
  }

  async publish(request: PublishRequest): Promise<PublishedSet> {
    const { repository, commitSha } = request;
    const logKey = this.key(repository, commitSha, 'build.log');
    const existing = await this.publishedManifest(repository, commitSha);
    if (existing) return { logUrl: this.store.url(logKey), artifacts: existing.artifacts, alreadyPublished: true };
    const artifacts: Array<{ name: string; size: number; sha256: string }> = [];
    for (const artifact of request.artifacts) {
      const digests = await digestFile(artifact.file);
      await this.store.putFile(this.key(repository, commitSha, artifact.name), artifact.file, digests);
      artifacts.push({ name: artifact.name, size: digests.size, sha256: digests.sha256 });
    }
    await this.store.putFile(logKey, request.logFile, await digestFile(request.logFile));
    // Conditional where the store can (S3 If-None-Match): a concurrent publisher's manifest stays.
    await this.store.putBytes(this.key(repository, commitSha, 'manifest.json'), manifestBytes(request, artifacts), 'application/json', { ifAbsent: true });
    return { logUrl: this.store.url(logKey), artifacts, alreadyPublished: false };
  }

  async publishLog(repository: RepositoryKey, commitSha: string, logFile: string): Promise<string> {
    const key = this.key(repository, commitSha, 'build.log');
    await this.store.putFile(key, logFile, await digestFile(logFile));
    return this.store.url(key);
  }

  /**
   * The commit's manifest, read and checked rather than only asked for: a PUBLISH_URL naming a web
   * page (a repository manager's UI, a login page) answers 200 for every path, and a bare
   * existence check would take every commit as published while nothing ever was uploaded.
   */
  private async publishedManifest(repository: RepositoryKey, commitSha: string): Promise<Manifest | undefined> {
    const key = this.key(repository, commitSha, 'manifest.json');
    const body = await this.store.read(key);
    if (body === undefined) return undefined;
    const manifest = parseManifest(body);
    if (manifest?.commitSha === commitSha) return manifest;
    throw new StepError(
      PUBLISH_CODES.notARepository,
      `${this.store.url(key)} answered ${describeBody(body)}, not the manifest of commit ${commitSha}: PUBLISH_URL must name the repository itself (Artifactory: https://host/artifactory/<repository>, Nexus: https://host/repository/<repository>), not a web page`,
    );
  }

  private key(repository: RepositoryKey, commitSha: string, name: string): string {
    return `${repository.origin}/${repository.path}/${commitSha}/${name}`;
  }
}

function parseManifest(body: Buffer): Manifest | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as Partial<Manifest> | null;
    return parsed && typeof parsed === 'object' && Array.isArray(parsed.artifacts) ? (parsed as Manifest) : undefined;
  } catch {
    return undefined;
  }
}

/** A short, one-line excerpt of what the target answered, for the message. */
function describeBody(body: Buffer): string {
  const text = body.toString('utf8', 0, 200).replace(/\s+/g, ' ').trim();
  return text ? `"${text.length > 60 ? `${text.slice(0, 60)}…` : text}"` : 'an empty body';
}

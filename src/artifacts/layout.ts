import { StepError } from '../errors.js';
import { digestFile } from './digests.js';
import { KeyedLock } from './keyed-lock.js';
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
  /**
   * Another processor published the commit while this one uploaded, and built other bytes: this
   * one's files and manifest replaced its (DefaultLayout.afterConcurrentPublish).
   */
  readonly replacedConcurrent?: boolean;
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
  /**
   * A failed build's log, without a manifest; returns its URL, or undefined when the commit is
   * published already (another row of it, or --force): the published files stay (DESIGN §6).
   */
  publishLog(repository: RepositoryKey, commitSha: string, logFile: string): Promise<string | undefined>;
  /** The error every publish gets now, while the target is skipped (ArtifactStore.down). */
  down?(): StepError | undefined;
}

/** `<origin>/<path>/<sha>/{artifacts, build.log, manifest.json}`. */
export class DefaultLayout implements PublishLayout {
  constructor(
    private readonly store: ArtifactStore,
    private readonly destinations = new KeyedLock(),
  ) {}

  down(): StepError | undefined {
    return this.store.down?.();
  }

  async isPublished(repository: RepositoryKey, commitSha: string): Promise<boolean> {
    return (await this.publishedManifest(repository, commitSha)) !== undefined;
  }

  /**
   * One publish per commit directory at a time in this processor (two branches at one commit):
   * the second finds the first's manifest and uploads nothing.
   */
  async publish(request: PublishRequest): Promise<PublishedSet> {
    return this.destinations.hold(this.key(request.repository, request.commitSha, ''), () => this.publishUnlessPublished(request));
  }

  private async publishUnlessPublished(request: PublishRequest): Promise<PublishedSet> {
    const { repository, commitSha } = request;
    const logUrl = this.store.url(this.key(repository, commitSha, 'build.log'));
    const existing = await this.publishedManifest(repository, commitSha);
    if (existing) return { logUrl, artifacts: existing.artifacts, alreadyPublished: true };
    const artifacts = await this.upload(request);
    const manifest = manifestBytes(request, artifacts);
    // Conditional: of two processors publishing the commit at once, the one that comes second learns it here.
    const written = await this.store.putBytes(this.key(repository, commitSha, 'manifest.json'), manifest, 'application/json', { ifAbsent: true });
    if (written) return { logUrl, artifacts, alreadyPublished: false };
    return this.afterConcurrentPublish(request, artifacts, manifest);
  }

  /** The artifacts, then build.log; what the manifest lists. */
  private async upload(request: PublishRequest): Promise<Manifest['artifacts']> {
    const { repository, commitSha } = request;
    const artifacts: Array<Manifest['artifacts'][number]> = [];
    for (const artifact of request.artifacts) {
      const digests = await digestFile(artifact.file);
      await this.store.putFile(this.key(repository, commitSha, artifact.name), artifact.file, digests);
      artifacts.push({ name: artifact.name, size: digests.size, sha256: digests.sha256 });
    }
    const logFile = request.logFile;
    await this.store.putFile(this.key(repository, commitSha, 'build.log'), logFile, await digestFile(logFile));
    return artifacts;
  }

  /**
   * Another processor (another Batch partition) wrote the commit's manifest while this one
   * uploaded. Its uploads had ended (its manifest goes last); ours replaced some of its files.
   * Same bytes (a reproducible build): the target stands, as already published. Other bytes:
   * which file is whose is unknown, so ours go up again, all of them, with our manifest, and the
   * manifest describes the files beside it. (A third processor at once is not covered.)
   */
  private async afterConcurrentPublish(request: PublishRequest, artifacts: Manifest['artifacts'], manifest: Buffer): Promise<PublishedSet> {
    const { repository, commitSha } = request;
    const key = this.key(repository, commitSha, 'manifest.json');
    const logUrl = this.store.url(this.key(repository, commitSha, 'build.log'));
    const stored = await this.store.read(key);
    // Our own put, answered 412 on a retry after its first answer was lost.
    if (stored?.equals(manifest)) return { logUrl, artifacts, alreadyPublished: false };
    const theirs = stored && parseManifest(stored);
    if (theirs && sameArtifacts(theirs.artifacts, artifacts)) return { logUrl, artifacts: theirs.artifacts, alreadyPublished: true };
    await this.upload(request);
    await this.store.putBytes(key, manifest, 'application/json');
    return { logUrl, artifacts, alreadyPublished: false, replacedConcurrent: true };
  }

  /**
   * In the commit directory's turn, as publish: a failed build of a commit another row publishes
   * or published (two branches at one commit, --force) would put its log beside that manifest.
   */
  async publishLog(repository: RepositoryKey, commitSha: string, logFile: string): Promise<string | undefined> {
    return this.destinations.hold(this.key(repository, commitSha, ''), async () => {
      if ((await this.publishedManifest(repository, commitSha)) !== undefined) return undefined;
      const key = this.key(repository, commitSha, 'build.log');
      await this.store.putFile(key, logFile, await digestFile(logFile));
      return this.store.url(key);
    });
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

function sameArtifacts(a: Manifest['artifacts'], b: Manifest['artifacts']): boolean {
  const listed = (artifacts: Manifest['artifacts']) => JSON.stringify(artifacts.map(({ name, sha256 }) => [name, sha256]).sort());
  return listed(a) === listed(b);
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

import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactStore, FileDigests, PutOptions } from '../../src/artifacts/store.js';
import { DefaultLayout, type PublishedSet, type PublishRequest } from '../../src/artifacts/layout.js';

/** Which of the two publishes writes its manifest first. */
export type ManifestOrder = 'first-manifest-first' | 'second-manifest-first';

export interface InterleavingOptions {
  /** The first publish's artifact file and the second's: who puts what. */
  readonly firstArtifact: string;
  readonly secondArtifact: string;
  /** The branch of the second publish's repository, as its manifest names it. */
  readonly secondBranch: string;
  readonly order: ManifestOrder;
  /** Called when the first publish first asks for a manifest: start the second publish there. */
  readonly onFirstRead: () => void;
}

/**
 * Interleaves two publishes of one commit as two processors would if nothing kept them apart: the
 * second starts once the first has asked whether the commit is published, uploads its artifact
 * over the first's, and the manifests go in the order asked. A second publish held back from
 * even asking (a lock held by the first until it is done) is not waited for, so nothing here
 * waits on a publish that cannot move. Only the first conditional manifest put of each is
 * ordered; later puts (a loser uploading again) pass straight through.
 */
export class InterleavingStore implements ArtifactStore {
  readonly description: string;
  private manifestReads = 0;
  private readonly firstArtifactPut = signal();
  private readonly secondArtifactPut = signal();
  private readonly firstManifestPut = signal();
  private readonly secondManifestPut = signal();

  constructor(
    private readonly inner: ArtifactStore,
    private readonly options: InterleavingOptions,
  ) {
    this.description = inner.description;
  }

  exists(key: string): Promise<boolean> {
    return this.inner.exists(key);
  }

  async read(key: string): Promise<Buffer | undefined> {
    if (isManifest(key) && ++this.manifestReads === 1) this.options.onFirstRead();
    return this.inner.read(key);
  }

  async putFile(key: string, file: string, digests: FileDigests): Promise<void> {
    if (file === this.options.secondArtifact) await this.firstArtifactPut.done;
    await this.inner.putFile(key, file, digests);
    if (file === this.options.firstArtifact) this.firstArtifactPut.fire();
    if (file === this.options.secondArtifact) this.secondArtifactPut.fire();
  }

  async putBytes(key: string, body: Buffer, contentType: string, options?: PutOptions): Promise<boolean> {
    if (!isManifest(key) || !options?.ifAbsent) return this.inner.putBytes(key, body, contentType, options);
    const second = (JSON.parse(body.toString('utf8')) as { repository: { branch: string } }).repository.branch === this.options.secondBranch;
    // The second publish got past its own check: the two overlap.
    const overlapping = this.manifestReads >= 2;
    if (this.options.order === 'first-manifest-first') {
      if (second) await this.firstManifestPut.done;
      else if (overlapping) await this.secondArtifactPut.done;
    } else if (!second && overlapping) {
      await this.secondManifestPut.done;
    }
    const written = await this.inner.putBytes(key, body, contentType, options);
    (second ? this.secondManifestPut : this.firstManifestPut).fire();
    return written;
  }

  url(key: string): string {
    return this.inner.url(key);
  }
}

function isManifest(key: string): boolean {
  return key.endsWith('manifest.json');
}

function signal(): { done: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const done = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { done, fire };
}

/**
 * The names of the manifest's artifacts whose stored bytes are not the ones it describes (empty:
 * the manifest and the files beside it agree).
 */
export async function mismatchedArtifacts(store: ArtifactStore, dir: string): Promise<string[]> {
  const body = await store.read(`${dir}/manifest.json`);
  if (!body) return ['(no manifest)'];
  const manifest = JSON.parse(body.toString('utf8')) as { artifacts: Array<{ name: string; sha256: string }> };
  const mismatched: string[] = [];
  for (const { name, sha256 } of manifest.artifacts) {
    const stored = await store.read(`${dir}/${name}`);
    if (!stored || createHash('sha256').update(stored).digest('hex') !== sha256) mismatched.push(name);
  }
  return mismatched;
}

/**
 * Publishes `first` and `second` (one commit, two branches, other bytes) under the default layout,
 * interleaved as above: through one layout (one processor, two rows) or one layout each (two
 * processors, as two Batch partitions).
 */
export async function publishTwoAtOnce(
  store: ArtifactStore,
  first: PublishRequest,
  second: PublishRequest,
  { processors, order }: { processors: 1 | 2; order: ManifestOrder },
): Promise<[PublishedSet, PublishedSet]> {
  let secondPublish: Promise<PublishedSet> | undefined;
  const interleaving = new InterleavingStore(store, {
    firstArtifact: first.artifacts[0]!.file,
    secondArtifact: second.artifacts[0]!.file,
    secondBranch: second.repository.branch,
    order,
    onFirstRead: () => {
      secondPublish = secondLayout.publish(second);
      // Awaited below, after the first: a failure meanwhile is not unhandled.
      secondPublish.catch(() => undefined);
    },
  });
  const firstLayout = new DefaultLayout(interleaving);
  const secondLayout = processors === 1 ? firstLayout : new DefaultLayout(interleaving);

  const firstPublished = await firstLayout.publish(first);
  return [firstPublished, await secondPublish!];
}

export const RACED_SHA = 'abcdef0123456789abcdef0123456789abcdef01';
/** The commit directory of the requests below under the default layout. */
export const RACED_DIR = `github.com/acme/widget/${RACED_SHA}`;

export interface TwoBuilds {
  readonly main: PublishRequest;
  /** Other bytes of one artifact name: a build that is not byte-reproducible. */
  readonly release: PublishRequest;
  /** The bytes of `main`, from a file of its own. */
  readonly releaseReproduced: PublishRequest;
}

/** Publish requests of one commit reached by two branches, with their files under `dir`. */
export async function twoBuildsOfOneCommit(dir: string): Promise<TwoBuilds> {
  const build = async (name: string, branch: string, jarBytes: string): Promise<PublishRequest> => {
    await fs.mkdir(path.join(dir, name), { recursive: true });
    const jar = path.join(dir, name, 'widget.jar');
    const log = path.join(dir, name, 'build.log');
    await fs.writeFile(jar, jarBytes);
    await fs.writeFile(log, `BUILD SUCCESS on ${branch}\n`);
    return {
      repository: { cloneUrl: 'https://github.com/acme/widget.git', branch, origin: 'github.com', path: 'acme/widget' },
      commitSha: RACED_SHA,
      builder: 'make',
      artifacts: [{ name: 'widget.jar', file: jar, size: jarBytes.length }],
      logFile: log,
      startedAt: new Date('2026-03-04T05:06:07Z'),
      runId: 'run-1',
    };
  };
  return { main: await build('main', 'main', 'jar built on main'), release: await build('release', 'release', 'jar built on release'), releaseReproduced: await build('reproduced', 'release', 'jar built on main') };
}

import type { StepError } from '../errors.js';
import { digestBytes } from './digests.js';
import type { ArtifactStore, FileDigests, PutOptions } from './store.js';

const SIDECARS = ['sha1', 'md5', 'sha256'] as const;

/**
 * Writes `<key>.sha1`, `.md5` and `.sha256` (bare hex, as Maven writes them) after each file, for
 * plain HTTP servers and Maven repositories that verify downloads against them. The file goes
 * first, then its checksums, the order `mvn deploy` uses and Artifactory expects.
 * The exception is a put that marks a publish complete (`ifAbsent`: the default layout's
 * manifest, which is conditional on S3 only, where this decorator is used with the maven layout
 * alone: see createStore). Its checksums go first: a processor stopped between the two would
 * leave a manifest without them, and the next run skips a commit whose manifest exists.
 */
export class ChecksumSidecarStore implements ArtifactStore {
  readonly description: string;

  constructor(private readonly inner: ArtifactStore) {
    this.description = inner.description;
  }

  down(): StepError | undefined {
    return this.inner.down?.();
  }

  exists(key: string): Promise<boolean> {
    return this.inner.exists(key);
  }

  read(key: string): Promise<Buffer | undefined> {
    return this.inner.read(key);
  }

  async putFile(key: string, file: string, digests: FileDigests): Promise<void> {
    await this.inner.putFile(key, file, digests);
    await this.putSidecars(key, digests);
  }

  async putBytes(key: string, body: Buffer, contentType: string, options?: PutOptions): Promise<void> {
    const marksCompletion = options?.ifAbsent === true;
    if (marksCompletion) await this.putSidecars(key, digestBytes(body));
    await this.inner.putBytes(key, body, contentType, options);
    if (!marksCompletion) await this.putSidecars(key, digestBytes(body));
  }

  url(key: string): string {
    return this.inner.url(key);
  }

  private async putSidecars(key: string, digests: FileDigests): Promise<void> {
    for (const algorithm of SIDECARS) {
      await this.inner.putBytes(`${key}.${algorithm}`, Buffer.from(digests[algorithm]), 'text/plain');
    }
  }
}

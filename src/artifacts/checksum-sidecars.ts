import type { StepError } from '../errors.js';
import { digestBytes } from './digests.js';
import type { ArtifactStore, FileDigests, PutOptions } from './store.js';

const SIDECARS = ['sha1', 'md5', 'sha256'] as const;

/**
 * Writes `<key>.sha1`, `.md5` and `.sha256` (bare hex, as Maven writes them) after each file, for
 * plain HTTP servers and Maven repositories that verify downloads against them. The file goes
 * first, then its checksums, the order `mvn deploy` uses and Artifactory expects.
 * The exception is a put that marks a publish complete (`ifAbsent`: the default layout's
 * manifest). Its checksums go first: a processor stopped between the two would leave a manifest
 * without them, and the next run skips a commit whose manifest exists. When another processor's
 * manifest was there first, its checksums are written again from it.
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

  async putBytes(key: string, body: Buffer, contentType: string, options?: PutOptions): Promise<boolean> {
    const marksCompletion = options?.ifAbsent === true;
    if (marksCompletion) await this.putSidecars(key, digestBytes(body));
    const written = await this.inner.putBytes(key, body, contentType, options);
    if (!marksCompletion) await this.putSidecars(key, digestBytes(body));
    // Another processor's manifest got there first: its checksums, not ours, describe it.
    else if (!written) await this.putSidecarsOfStored(key);
    return written;
  }

  url(key: string): string {
    return this.inner.url(key);
  }

  private async putSidecarsOfStored(key: string): Promise<void> {
    const stored = await this.inner.read(key);
    if (stored) await this.putSidecars(key, digestBytes(stored));
  }

  private async putSidecars(key: string, digests: FileDigests): Promise<void> {
    for (const algorithm of SIDECARS) {
      await this.inner.putBytes(`${key}.${algorithm}`, Buffer.from(digests[algorithm]), 'text/plain');
    }
  }
}
